"""Merge checked staging rows into the target: upserts, deletions, bulk index rebuilds.

Also the last writes of a run's transaction that readers depend on (``layer_version``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ingest.normalize import TableSpec
from ingest.quarantine import QuarantineRow
from ingest.staging import insert_columns, layer_sql, stage_name

# Below this many staged rows, index maintenance row by row is cheap: no index is rebuilt.
BULK_INDEX_MIN_ROWS = 10_000


@dataclass
class TableCounts:
    """What a merge did to one table."""

    table: str
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    # Set when the load would pass the shrink guard: the run refuses it before its commit,
    # once the file-level checks (strict mode, repeated keys) have had their say.
    shrink: str | None = None
    repaired: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class MergeResult:
    """What a load did: counts per table, every row it quarantined, the vintage written."""

    tables: list[TableCounts] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    vintage: str | None = None

    @property
    def changed(self) -> bool:
        """Whether any table got a row inserted, updated or deleted."""
        return any(t.inserted or t.updated or t.deleted for t in self.tables)


@dataclass(frozen=True)
class ShrinkGuard:
    """How much of what a load replaces it may delete (per value of the table's scope).

    Attributes:
        max_share: the largest share of the loaded rows of one scope value (a commune of
            parcels, a kind of constraints, the whole layer otherwise) a load may delete.
        min_rows: scope values holding fewer rows are not guarded (a small commune may lose
            a few parcels).
        allow: the user said the rows are really gone (``--allow-shrink``).
        source: the file, for the message.
    """

    max_share: float = 0.10
    min_rows: int = 20
    allow: bool = False
    source: str = ""


def merge(
    cur: psycopg.Cursor,
    spec: TableSpec,
    run_id: int,
    vintage: str | None,
    guard: ShrinkGuard | None = None,
) -> TableCounts:
    """Upsert staging into the target and delete what the file no longer has (within scope).

    A load that the guard refuses gets ``shrink`` set on its counts (the caller refuses the
    run before committing).
    """
    if spec.update_only:
        return _update_only(cur, spec, run_id, vintage)
    shrink = None
    if guard is not None and spec.delete_missing and not guard.allow:
        shrink = check_shrink(cur, spec, guard)
    deferred = _drop_secondary_indexes(cur, spec)
    counts = _delete_and_upsert(cur, spec, run_id, vintage)
    counts.shrink = shrink
    recreate_indexes(cur, deferred)
    return counts


def check_shrink(cur: psycopg.Cursor, spec: TableSpec, guard: ShrinkGuard) -> str | None:
    """Why the load deletes too much of what it replaces (None when it does not).

    The deletions are those of :func:`_delete_and_upsert`: rows of the file's scope values that
    the file (and its held keys) no longer has. A scope value is refused when the file deletes
    more than ``max_share`` of its loaded rows *and* brings fewer rows than it would keep: a
    file of the same size under new keys (another source's ids) is a replacement, not a loss.
    An empty file of an unscoped layer would delete the whole layer: refused the same way.
    Held rows are not counted as loaded: the load keeps them, it does not replace them (the
    EDIGEO sheets' buildings of a commune whose commune-wide buildings a file replaces).
    """
    stage = stage_name(spec)
    match = sql.SQL(" AND ").join(
        sql.SQL("x.{0} = t.{0}").format(sql.Identifier(k)) for k in spec.key
    )
    scope_col = (
        sql.SQL("t.{}").format(sql.Identifier(spec.scope)) if spec.scope else sql.SQL("NULL")
    )
    scope: sql.Composable = sql.SQL("TRUE")
    if spec.scope:
        scope = sql.SQL("t.{0} IN (SELECT DISTINCT {0} FROM {1})").format(
            sql.Identifier(spec.scope), stage
        )
    stage_col = (
        sql.SQL("x.{}").format(sql.Identifier(spec.scope)) if spec.scope else sql.SQL("NULL")
    )
    cur.execute(
        sql.SQL(
            """
            WITH loaded AS (
                -- A join, not NOT EXISTS inside the FILTER: that one is a subplan run once per
                -- loaded row, scanning staging each time (a 200,000-parcel reload took hours).
                SELECT {scope_col}::text AS value, count(*) AS loaded,
                    count(*) FILTER (WHERE s._kept IS NULL) AS deleted
                FROM {target} t
                LEFT JOIN (SELECT DISTINCT {keys}, TRUE AS _kept FROM {stage}) s ON {stage_match}
                WHERE {scope} AND NOT EXISTS (SELECT 1 FROM {held} x WHERE {match})
                GROUP BY 1
                HAVING count(*) >= %(min_rows)s
            ), incoming AS (
                SELECT {stage_col}::text AS value, count(*) AS incoming FROM {stage} x GROUP BY 1
            )
            SELECT l.value, l.loaded, l.deleted, coalesce(i.incoming, 0)
            FROM loaded l LEFT JOIN incoming i ON i.value IS NOT DISTINCT FROM l.value
            ORDER BY l.deleted DESC
            """
        ).format(
            scope_col=scope_col,
            stage_col=stage_col,
            stage=stage,
            held=sql.Identifier(f"held_{spec.table}"),
            match=match,
            keys=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
            stage_match=sql.SQL(" AND ").join(
                sql.SQL("s.{0} = t.{0}").format(sql.Identifier(k)) for k in spec.key
            ),
            target=sql.Identifier(spec.table),
            scope=scope,
        ),
        {"min_rows": guard.min_rows},
    )
    for value, loaded, deleted, incoming in cur.fetchall():
        if deleted > guard.max_share * loaded and incoming < (1 - guard.max_share) * loaded:
            where = f" of {spec.scope} {value}" if spec.scope else ""
            return (
                f"{guard.source}: this file holds {incoming:,} {spec.table} rows{where} where"
                f" {loaded:,} are loaded: it would delete {deleted:,}"
                f" ({100 * deleted / loaded:.0f} %, more than the {100 * guard.max_share:.0f} %"
                " the shrink guard allows); nothing was changed. Pass --allow-shrink if they"
                " are really gone."
            )
    return None


def _delete_and_upsert(
    cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None
) -> TableCounts:
    counts = TableCounts(spec.table)
    target = sql.Identifier(spec.table)
    stage = stage_name(spec)
    cols = spec.all_columns
    data_cols = [c for c in cols if c not in spec.key]
    insert_cols, select_cols = insert_columns(spec, run_id, vintage)
    key = sql.SQL(", ").join(map(sql.Identifier, spec.key))
    if data_cols:
        set_cols = [*data_cols, *(["run_id", "vintage"] if spec.provenance else [])]
        on_conflict: sql.Composable = sql.SQL(
            "DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
        ).format(
            sets=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in set_cols
            ),
            old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in data_cols),
            new=sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in data_cols
            ),
        )
    else:
        on_conflict = sql.SQL("DO NOTHING")
    # Deleting first: on a first load the scope has nothing yet, so this costs nothing.
    if spec.delete_missing:
        match = sql.SQL(" AND ").join(
            sql.SQL("x.{0} = t.{0}").format(sql.Identifier(k)) for k in spec.key
        )
        scope: sql.Composable = sql.SQL("TRUE")
        if spec.scope:
            scope = sql.SQL("t.{0} IN (SELECT DISTINCT {0} FROM {1})").format(
                sql.Identifier(spec.scope), stage
            )
        cur.execute(
            sql.SQL(
                """
                DELETE FROM {target} t
                WHERE {scope}
                  AND NOT EXISTS (SELECT 1 FROM {stage} x WHERE {match})
                  AND NOT EXISTS (SELECT 1 FROM {held} x WHERE {match})
                """
            ).format(
                target=target,
                scope=scope,
                stage=stage,
                held=sql.Identifier(f"held_{spec.table}"),
                match=match,
            )
        )
        counts.deleted = cur.rowcount
    cur.execute(
        sql.SQL(
            """
            WITH up AS (
                INSERT INTO {target} AS t ({insert_cols})
                SELECT {select_cols} FROM {stage} s
                ON CONFLICT ({key}) {on_conflict}
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
            """
        ).format(
            target=target,
            insert_cols=sql.SQL(", ").join(insert_cols),
            select_cols=sql.SQL(", ").join(select_cols),
            stage=stage,
            key=key,
            on_conflict=on_conflict,
        )
    )
    counts.inserted, counts.updated = cur.fetchone()  # type: ignore[misc]
    return counts


def _update_only(
    cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None
) -> TableCounts:
    counts = TableCounts(spec.table)
    target = sql.Identifier(spec.table)
    data_cols = [c for c in spec.all_columns if c not in spec.key]
    set_cols = [*data_cols, *(["run_id", "vintage"] if spec.provenance else [])]
    values = {"run_id": sql.Literal(run_id), "vintage": sql.Literal(vintage)}
    cur.execute(
        sql.SQL(
            "UPDATE {target} t SET {sets} FROM {stage} s"
            " WHERE {match} AND ({old}) IS DISTINCT FROM ({new})"
        ).format(
            target=target,
            stage=stage_name(spec),
            sets=sql.SQL(", ").join(
                sql.SQL("{} = {}").format(
                    sql.Identifier(c), values.get(c, sql.SQL("s.{}").format(sql.Identifier(c)))
                )
                for c in set_cols
            ),
            match=sql.SQL(" AND ").join(
                sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in spec.key
            ),
            old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in data_cols),
            new=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in data_cols),
        )
    )
    counts.updated = cur.rowcount
    return counts


def _drop_secondary_indexes(cur: psycopg.Cursor, spec: TableSpec) -> list[str]:
    """Drop the target's secondary indexes when the load outnumbers the rows it holds.

    Inserting into a GiST index row by row costs several times a sorted bulk build, so a first
    load (or one that dwarfs the table) rebuilds them after the merge, in the same transaction.
    Unique and constraint indexes stay: the upsert needs them. Returns the definitions to
    re-create with :func:`recreate_indexes`.
    """
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(stage_name(spec)))
    incoming = int(cur.fetchone()[0])  # type: ignore[index]
    if incoming < BULK_INDEX_MIN_ROWS:
        return []
    cur.execute(
        sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) t").format(
            sql.Identifier(spec.table)
        ),
        (incoming,),
    )
    if int(cur.fetchone()[0]) >= incoming:  # type: ignore[index]
        return []
    return drop_indexes(cur, spec)


def drop_indexes(cur: psycopg.Cursor, spec: TableSpec, gist_only: bool = False) -> list[str]:
    """Drop the target's non-unique, non-constraint indexes (``gist_only``: its GiST ones);
    return their definitions."""
    cur.execute(
        """
        SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_am a ON a.oid = c.relam
        WHERE i.indrelid = to_regclass(%s) AND NOT i.indisunique AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          AND (NOT %s OR a.amname = 'gist')
        """,
        (spec.table, gist_only),
    )
    definitions = []
    for schema, name, definition in cur.fetchall():
        cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        definitions.append(definition)
    return definitions


def drop_primary_key(cur: psycopg.Cursor, spec: TableSpec) -> list[sql.Composed]:
    """Drop the (empty, locked) target's primary key, unless a foreign key depends on it.

    COPY would otherwise maintain its btree row by row; the file's keys are unique already
    (repeats are quarantined in Python), and the constraint is added back, built in one
    sorted pass, before commit. Returns the statement that does it.
    """
    cur.execute(
        """
        SELECT k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k
        WHERE k.conrelid = to_regclass(%s) AND k.contype = 'p'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = k.conrelid)
        """,
        (spec.table,),
    )
    row = cur.fetchone()
    if row is None:
        return []
    name, definition = row
    table = sql.Identifier(spec.table)
    cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name)))
    # pg_get_constraintdef's own text (PRIMARY KEY (...)), not built from input.
    add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}")
    return [add.format(table, sql.Identifier(name), sql.SQL(definition))]


def recreate_indexes(cur: psycopg.Cursor, definitions: Sequence[str | sql.Composed]) -> None:
    """Re-create what :func:`drop_indexes` and :func:`drop_primary_key` dropped."""
    for definition in definitions:
        cur.execute(definition)  # catalog text (pg_get_indexdef), not built from input


def table_notes(cur: psycopg.Cursor, spec: TableSpec) -> list[str]:
    """``spec.notes`` worded with their numbers (those that are 0 are left out)."""
    notes = []
    for query, label in spec.notes:
        cur.execute(layer_sql(spec, query))  # static SQL of the layer
        n = int(cur.fetchone()[0] or 0)  # type: ignore[index]
        if n:
            notes.append(label.format(n=n))
    return notes


def fix_vintage(cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None) -> None:
    """Give every row of ``run_id`` the run's final vintage (an early merge wrote some batches
    before the file's latest date was seen)."""
    stmt = "UPDATE {} SET vintage = %s WHERE run_id = %s AND vintage IS DISTINCT FROM %s"
    cur.execute(sql.SQL(stmt).format(sql.Identifier(spec.table)), (vintage, run_id, vintage))


def bump_layer_version(cur: psycopg.Cursor, layer: str) -> None:
    """Invalidate the API caches of ``layer`` (its ETag is derived from this version)."""
    cur.execute(
        """
        INSERT INTO layer_version (layer, version, updated_at) VALUES (%s, 1, now())
        ON CONFLICT (layer) DO UPDATE
        SET version = layer_version.version + 1, updated_at = now()
        """,
        (layer,),
    )
