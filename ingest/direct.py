"""Loading into an empty target: an early merge, each batch inserted once checked.

When the target is empty (and locked), batches need no upsert: each is checked and
inserted as it arrives (:func:`merge_early`), or, for tables of plain columns, COPYed
straight into the target and checked there through a partial index (:func:`check_direct`).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.timing import PhaseTimes
from ingest.normalize import TableSpec
from ingest.pgcopy import binary_copy
from ingest.quarantine import QuarantineRow
from ingest.staging import (
    Staged,
    any_check,
    check_reason,
    count_repaired,
    insert_columns,
    polygon_columns,
    repair_in_sql,
    row_checks,
    source_raw,
    stage_name,
    stage_raw,
    valid_column,
    validate_in_sql,
)


def empty_target(cur: psycopg.Cursor, spec: TableSpec) -> bool:
    """Whether ``spec``'s table is empty and stays so for others until commit (early merge).

    An empty target has no row to update or delete: each batch can then be inserted as
    soon as it is checked (plain INSERT, no ON CONFLICT), the server doing it while the next
    batch is prepared, instead of one upsert of the whole file after the last batch. The
    SHARE ROW EXCLUSIVE lock keeps other writers out until commit (readers are not blocked;
    they see the empty table until then); it is only taken when the table looks empty.
    """
    if spec.update_only or spec.post_stage_sql or not spec.delete_missing:
        return False
    target = sql.Identifier(spec.table)
    empty = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(target)
    if not cur.execute(empty).fetchone()[0]:  # type: ignore[index]
        return False
    cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target))
    return bool(cur.execute(empty).fetchone()[0])  # type: ignore[index]


def _insert_stage(cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None) -> int:
    """Insert the checked staging rows into the (empty, locked) target; return the count.

    No ON CONFLICT: the target had no row and the file's keys were made unique in Python
    (a repeat is quarantined), so nothing can conflict; a plain INSERT costs about half
    the speculative insertion of an upsert.
    """
    insert_cols, select_cols = insert_columns(spec, run_id, vintage)
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s").format(
            sql.Identifier(spec.table),
            sql.SQL(", ").join(insert_cols),
            sql.SQL(", ").join(select_cols),
            stage_name(spec),
        )
    )
    return cur.rowcount


def merge_early(
    cur: psycopg.Cursor, table: Staged, run_id: int, vintage: str | None, times: PhaseTimes
) -> None:
    """Check the batch just staged, insert it into the target and empty the staging table."""
    spec = table.spec
    with times("sql repair+checks"):
        changed = repair_in_sql(cur, spec)
        bad = validate_in_sql(cur, spec)
        table.repaired += count_repaired(cur, spec, changed)
    source_raw(table, bad)
    table.sql_bad += bad
    with times("insert into target"):
        table.inserted += _insert_stage(cur, spec, run_id, vintage)
    with times("truncate stage"):
        cur.execute(sql.SQL("TRUNCATE {}").format(stage_name(spec)))


def direct_ok(spec: TableSpec) -> bool:
    """Whether an early merge of ``spec`` can COPY straight into the target (no staging)."""
    return (
        binary_copy(spec)
        and not spec.checks
        and len(spec.key) == 1
        and not spec.optional_geometries
    )


def _check_index(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"_check_{spec.table}")


def _direct_predicate(spec: TableSpec) -> sql.Composable:
    return any_check(row_checks(spec, target=True))


def create_check_index(cur: psycopg.Cursor, spec: TableSpec) -> None:
    """A partial index of the target rows that fail a check, filled by the server during COPY.

    Its predicate (``NOT ST_IsValid(geom) OR ... IS NULL``) is evaluated on every row as it
    arrives, as staging's generated validity column was, so the rows a batch must repair or
    quarantine are then found through it without scanning the table. Dropped before commit.
    """
    cur.execute(
        sql.SQL("CREATE INDEX {} ON {} ({}) WHERE {}").format(
            _check_index(spec),
            sql.Identifier(spec.table),
            sql.Identifier(spec.key[0]),
            _direct_predicate(spec),
        )
    )


def drop_check_index(cur: psycopg.Cursor, spec: TableSpec) -> None:
    """Drop the index of :func:`create_check_index` once the last batch is checked."""
    cur.execute(sql.SQL("DROP INDEX {}").format(_check_index(spec)))


def check_direct(cur: psycopg.Cursor, table: Staged, rows: int, times: PhaseTimes) -> None:
    """Repair, check and quarantine the batch just COPYed into the target (direct COPY).

    The rows that need it are found through the check index; repaired rows left with nothing
    polygonal, and rows still failing a check, are deleted and quarantined, as staging does.
    """
    spec = table.spec
    target = sql.Identifier(spec.table)
    key = sql.Identifier(spec.key[0])
    pred = _direct_predicate(spec)
    polygons = polygon_columns(spec)
    repaired: list[str] = []
    bad: list[QuarantineRow] = []
    raw = stage_raw(spec, target=True)
    with times("sql repair+checks"):
        # Only the check index can serve these (a seq scan would re-read the whole table).
        cur.execute("SET LOCAL enable_seqscan = off")
        if polygons:
            # Nothing polygonal left: an empty geometry, which the check index holds too.
            sets = sql.SQL(", ").join(
                sql.SQL(
                    "{col} = CASE WHEN ST_IsValid({col}) THEN {col} "
                    "ELSE (SELECT CASE WHEN ST_IsEmpty(g) OR foncier_area_m2(g) = 0 "
                    "THEN ST_SetSRID('MULTIPOLYGON EMPTY'::geometry, 2154) ELSE g END "
                    "FROM ST_Multi(ST_CollectionExtract(ST_MakeValid({col}), 3)) g) END"
                ).format(col=sql.Identifier(c))
                for c in polygons
            )
            invalid = sql.SQL(" OR ").join(
                sql.SQL("NOT ST_IsValid({})").format(sql.Identifier(c)) for c in polygons
            )
            cur.execute(
                sql.SQL("UPDATE {} s SET {} WHERE {} AND ({}) RETURNING s.{}::text").format(
                    target, sets, pred, invalid, key
                )
            )
            repaired = [r[0] for r in cur.fetchall()]
        reason = check_reason(row_checks(spec, target=True))
        cur.execute(
            sql.SQL("DELETE FROM {} s WHERE {} RETURNING s.{}::text, {}, {}").format(
                target, pred, key, reason, raw
            )
        )
        bad += [QuarantineRow(None, k, reason, r) for k, reason, r in cur.fetchall()]
        cur.execute("RESET enable_seqscan")
    if bad and table.last is not None:
        frame = table.last.frame
        index = dict(
            zip(frame[spec.key[0]].astype(str), frame["_feature_index"].astype(int), strict=True)
        )
        for row in bad:
            row.feature_index = index.get(row.key) if row.key is not None else None
        source_raw(table, bad)
    table.repaired += len(set(repaired) - {row.key for row in bad})
    table.sql_bad += bad
    table.inserted += rows - len(bad)


def stage_as_target(cur: psycopg.Cursor, spec: TableSpec) -> None:
    """After an early merge, ``stage_<table>`` becomes a view of the target for post-merge SQL.

    The target was empty, so it now holds exactly the file's checked rows: what the staging
    table holds at that point in a regular merge.
    """
    stage = stage_name(spec)
    cur.execute(sql.SQL("DROP TABLE {}").format(stage))
    extra = [sql.SQL("NULL::integer AS _feature_index")] + [
        sql.SQL("TRUE AS {}").format(sql.Identifier(valid_column(c))) for c in spec.geometries
    ]
    cur.execute(
        sql.SQL("CREATE TEMP VIEW {} AS SELECT {} FROM {}").format(
            stage,
            sql.SQL(", ").join([*map(sql.Identifier, spec.all_columns), *extra]),
            sql.Identifier(spec.table),
        )
    )
