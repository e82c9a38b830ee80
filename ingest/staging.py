"""Staging tables: created per target table, repaired and checked in SQL before the merge.

A staging table computes each geometry's validity as rows arrive; :func:`repair_in_sql` and
:func:`validate_in_sql` then repair what can be and move what cannot to quarantine.
:class:`Staged` is one table's state across the batches of a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from ingest.jsonb import NUL
from ingest.normalize import TableLoad, TableSpec
from ingest.quarantine import QuarantineRow, raw_record


def stage_name(spec: TableSpec) -> sql.Identifier:
    """The temporary staging table of ``spec``'s target (``stage_<table>``)."""
    return sql.Identifier(f"stage_{spec.table}")


def layer_sql(spec: TableSpec, template: str) -> sql.Composed:
    """One of ``spec``'s SQL steps (psycopg.sql syntax), ``{stage}`` its staging table."""
    return sql.SQL(template).format(stage=stage_name(spec))


def valid_column(geometry: str) -> str:
    """The staging column holding ``ST_IsValid`` of ``geometry``, computed as rows arrive."""
    return f"_valid_{geometry}"


def create_stage(cur: psycopg.Cursor, spec: TableSpec) -> None:
    """Create ``spec``'s staging table and its ``held_<table>`` keys (both drop on commit)."""
    cols: list[sql.Composable] = [
        *(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in spec.columns.items()),
        *(
            sql.SQL("{} geometry({}, 2154)").format(sql.Identifier(c), sql.SQL(t))
            for c, t in spec.geometries.items()
        ),
    ]
    cols.append(sql.SQL("_feature_index integer"))
    # Validity is computed by the server as rows arrive, while the client is still preparing
    # the next batch, rather than in one pass after the last one.
    cols += [
        sql.SQL("{} boolean GENERATED ALWAYS AS (ST_IsValid({})) STORED").format(
            sql.Identifier(valid_column(c)), sql.Identifier(c)
        )
        for c in spec.geometries
    ]
    # Set by repair_in_sql on the rows whose polygons it made valid (NULL: untouched).
    cols.append(sql.SQL("_repaired boolean"))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            stage_name(spec), sql.SQL(", ").join(cols)
        )
    )
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(f"held_{spec.table}"),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(k), sql.SQL(spec.columns[k]))
                for k in spec.key
            ),
        )
    )


_CHECKS = sql.SQL(
    """
    WITH bad AS (
        DELETE FROM {stage} s
        WHERE {conditions}
        RETURNING s._feature_index, {key_text} AS key, {reason} AS reason, {raw} AS raw
    )
    SELECT _feature_index, key, reason, raw FROM bad
    """
)


def stage_raw(spec: TableSpec, target: bool = False) -> sql.Composable:
    """The staging row ``s`` as a raw record: its columns, geometries as (truncated) WKT.

    For rows refused in SQL whose source record is no longer in memory (a file read in
    batches); the geometry is under ``geometry`` as in a source record. ``target``: ``s`` is
    a row of the target table (direct COPY), without staging's extra columns.
    """
    geoms = list(spec.geometries)
    if target:
        hidden = [*geoms, "run_id", "vintage"]
    else:
        hidden = [*geoms, *map(valid_column, geoms), "_feature_index", "_repaired"]
    minus = sql.SQL("").join(sql.SQL(" - {}").format(sql.Literal(c)) for c in hidden)
    pairs = sql.SQL(", ").join(
        sql.SQL("{}, left(ST_AsText(s.{}), 20000)").format(
            sql.Literal("geometry" if i == 0 else c), sql.Identifier(c)
        )
        for i, c in enumerate(geoms)
    )
    built = sql.SQL(" || jsonb_build_object({})").format(pairs) if geoms else sql.SQL("")
    return sql.SQL("(to_jsonb(s){}){}").format(minus, built)


def polygon_columns(spec: TableSpec) -> list[str]:
    """``spec``'s MULTIPOLYGON columns: those repaired in SQL."""
    return [c for c, t in spec.geometries.items() if t == "MULTIPOLYGON"]


def repair_in_sql(cur: psycopg.Cursor, spec: TableSpec) -> int:
    """Make the invalid polygons in staging valid, keeping their polygonal parts, as Multi.

    Python no longer checks validity row by row: the staging table already computes
    ``ST_IsValid`` for every row as it arrives, so only the few invalid ones are rewritten
    here (``ST_MakeValid``, polygons extracted, promoted to Multi) and flagged
    ``_repaired``. Those left with no area are quarantined by :func:`validate_in_sql`.

    Returns:
        the number of rows changed (see :func:`count_repaired` for those kept).
    """
    polygons = polygon_columns(spec)
    if not polygons:
        return 0
    sets = [
        sql.SQL(
            "{col} = CASE WHEN s.{valid} THEN s.{col} "
            "ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(s.{col}), 3)) END"
        ).format(col=sql.Identifier(c), valid=sql.Identifier(valid_column(c)))
        for c in polygons
    ]
    invalid = sql.SQL(" OR ").join(
        sql.SQL("NOT s.{}").format(sql.Identifier(valid_column(c))) for c in polygons
    )
    cur.execute(
        sql.SQL("UPDATE {} s SET {}, _repaired = TRUE WHERE {}").format(
            stage_name(spec), sql.SQL(", ").join(sets), invalid
        )
    )
    return cur.rowcount


def count_repaired(cur: psycopg.Cursor, spec: TableSpec, changed: int) -> int:
    """Rows repaired in SQL that are still in staging after the checks (0 when none changed)."""
    if not changed:
        return 0
    stmt = sql.SQL("SELECT count(*) FROM {} WHERE _repaired").format(stage_name(spec))
    return int(cur.execute(stmt).fetchone()[0])  # type: ignore[index]


Check = tuple[sql.Composable, sql.Composable]  # (condition a refused row meets, its reason)


def row_checks(spec: TableSpec, target: bool = False) -> list[Check]:
    """The SQL checks a row of ``spec`` must pass, in the order their reasons are given.

    A geometry problem comes first, as when Python repaired geometries before any check.
    On a staging row ``s`` (default), validity is staging's generated column and a repaired
    polygon with nothing polygonal left is refused. ``target``: on an unqualified row of the
    target itself (direct COPY, also the check index's predicate), validity is computed and
    such a repair wrote an empty geometry (see :func:`ingest.direct.check_direct`).
    """

    def col(name: str) -> sql.Composable:
        ident = sql.Identifier(name)
        return ident if target else sql.SQL("s.{}").format(ident)

    def missing(name: str) -> Check:
        return sql.SQL("{} IS NULL").format(col(name)), sql.Literal(f"missing {name}")

    unrepairable = "(s._repaired AND (ST_IsEmpty({0}) OR foncier_area_m2({0}) = 0))"
    checks: list[Check] = [
        (
            sql.SQL("ST_IsEmpty({})" if target else unrepairable).format(col(c)),
            sql.Literal("unrepairable geometry: nothing polygonal left after make_valid"),
        )
        for c in polygon_columns(spec)
    ]
    checks += [(sql.SQL("({})").format(sql.SQL(c)), sql.SQL(r)) for c, r in spec.checks]
    for name in spec.geometries:
        optional = name in spec.optional_geometries
        invalid = (
            sql.SQL("NOT ST_IsValid({})").format(col(name))
            if target
            else sql.SQL("NOT {}").format(col(valid_column(name)))
        )
        if optional:
            invalid = sql.SQL("{} IS NOT NULL AND {}").format(col(name), invalid)
        checks.append(
            (sql.SQL("({})").format(invalid), sql.Literal(f"invalid geometry in {name} (PostGIS)"))
        )
        if not optional:
            checks.append(missing(name))
    checks += [missing(c) for c in (*spec.key, *spec.required) if c in spec.columns]
    return checks


def any_check(checks: list[Check]) -> sql.Composable:
    """The condition a row failing any of ``checks`` meets."""
    return sql.SQL("({})").format(sql.SQL(" OR ").join(c for c, _ in checks))


def check_reason(checks: list[Check]) -> sql.Composable:
    """The reason of the first of ``checks`` a row fails (a ``CASE`` expression)."""
    cases = sql.SQL(" ").join(sql.SQL("WHEN {} THEN {}").format(c, r) for c, r in checks)
    return sql.SQL("CASE {} END").format(cases)


def key_text(spec: TableSpec) -> sql.Composable:
    """The key of staging row ``s`` as quarantine words it: its parts joined by ``/``."""
    return sql.SQL(" || '/' || ").join(
        sql.SQL("coalesce(s.{}::text, '')").format(sql.Identifier(k)) for k in spec.key
    )


def insert_columns(
    spec: TableSpec, run_id: int, vintage: str | None
) -> tuple[list[sql.Composable], list[sql.Composable]]:
    """The target columns a merge writes and what staging row ``s`` gives them (provenance)."""
    ident = [sql.Identifier(c) for c in spec.all_columns]
    insert_cols: list[sql.Composable] = list(ident)
    select_cols: list[sql.Composable] = [sql.SQL("s.{}").format(i) for i in ident]
    if spec.provenance:
        insert_cols += [sql.Identifier("run_id"), sql.Identifier("vintage")]
        select_cols += [sql.Literal(run_id), sql.Literal(vintage)]
    return insert_cols, select_cols


def validate_in_sql(cur: psycopg.Cursor, spec: TableSpec) -> list[QuarantineRow]:
    """Move rows that fail the SQL checks (validity, SRID, nulls) out of staging.

    Python already repaired the geometries; this is the database's word on it, so a GEOS
    version difference between the two cannot let an invalid geometry into a served table.
    """
    checks = row_checks(spec)
    if not checks:
        return []
    cur.execute(
        _CHECKS.format(
            stage=stage_name(spec),
            conditions=any_check(checks),
            reason=check_reason(checks),
            key_text=key_text(spec),
            raw=stage_raw(spec),
        )
    )
    return [QuarantineRow(fi, key, reason, raw) for fi, key, reason, raw in cur.fetchall()]


def unknown_keys(cur: psycopg.Cursor, spec: TableSpec) -> list[QuarantineRow]:
    """For update-only tables: staging rows whose key the target does not have."""
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in spec.key
    )
    cur.execute(
        sql.SQL(
            "DELETE FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match}) "
            "RETURNING s._feature_index, {key_text}, {raw}"
        ).format(
            stage=stage_name(spec),
            target=sql.Identifier(spec.table),
            match=match,
            key_text=key_text(spec),
            raw=stage_raw(spec),
        )
    )
    return [
        QuarantineRow(fi, key, f"unknown {spec.table} {key}: load it before this table", raw)
        for fi, key, raw in cur.fetchall()
    ]


def hold_keys(cur: psycopg.Cursor, spec: TableSpec, bad: pd.DataFrame) -> None:
    """Keys present in the file but quarantined keep their previous version (no deletion)."""
    if bad.empty:
        return
    # A key holding a NUL matches no stored row (text cannot hold one), and COPY refuses it.
    nul = bad.astype("string").apply(lambda c: c.str.contains(NUL, regex=False)).any(axis=1)
    bad = bad[~nul.to_numpy(dtype=bool, na_value=False)]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(f"held_{spec.table}"), sql.SQL(", ").join(map(sql.Identifier, spec.key))
    )
    with cur.copy(stmt) as copy:
        copy.write(bad.to_csv(header=False, index=False))


@dataclass
class Staged:
    """One table's state across the batches of one file: counts and refused rows.

    Its path (staged, early, direct) is the :class:`ingest.strategy.LoadStrategy` holding it.
    """

    spec: TableSpec
    rows: int = 0
    repaired: int = 0
    quarantine: list[QuarantineRow] = field(default_factory=list)
    held: list[pd.DataFrame] = field(default_factory=list)
    last: TableLoad | None = None  # the latest batch, whose source records are in memory
    # An early or direct load: rows inserted so far and those refused in SQL per batch.
    inserted: int = 0
    sql_bad: list[QuarantineRow] = field(default_factory=list)


def source_raw(staged: Staged, rows: list[QuarantineRow]) -> None:
    """Prefer the source record to the staging row for refused rows still in memory."""
    load = staged.last
    if load is None or not rows:
        return
    by_index = {int(fi): pos for pos, fi in enumerate(load.frame["_feature_index"])}
    for row in rows:
        pos = by_index.get(int(row.feature_index)) if row.feature_index is not None else None
        if pos is not None:
            row.raw = raw_record(load.raw, pos)
