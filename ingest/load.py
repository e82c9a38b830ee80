"""COPY prepared rows into staging, validate them in SQL, merge into the target in one transaction.

Readers see the previous version of a layer or the new one, never a mix: staging, checks,
upserts, deletions, quarantine rows and the run record all commit together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

import shapely

from ingest.normalize import TableLoad, TableSpec

log = logging.getLogger(__name__)

Progress = Callable[[int], None]

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
    repaired: int = 0


@dataclass
class QuarantineRow:
    feature_index: int | None
    key: str | None
    reason: str
    raw: dict[str, object] | None


@dataclass
class MergeResult:
    tables: list[TableCounts] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(t.inserted or t.updated or t.deleted for t in self.tables)


def _stage_name(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"stage_{spec.table}")


def _pg_array(values: object) -> str | None:
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return None
    items = list(values)  # type: ignore[call-overload]
    quoted = ['"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items]
    return "{" + ",".join(quoted) + "}"


_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_values(values: list[object]) -> list[str]:
    """COPY text-format fields: \\N for null, backslash/tab/newline escaped only when present."""
    texts = [v if v is None or isinstance(v, str) else str(v) for v in values]
    joined = "".join([t for t in texts if t is not None])
    if any(c in joined for c in "\\\t\n\r"):
        return [_NULL if t is None else t.translate(_ESCAPES) for t in texts]
    return [_NULL if t is None else t for t in texts]


def _number_values(series: pd.Series, dtype: str) -> list[str]:
    missing = series.isna().to_numpy()
    numbers = series.to_numpy(dtype=dtype, na_value=0).astype(str).tolist()
    if missing.any():
        for i in np.flatnonzero(missing):
            numbers[i] = _NULL
    return numbers


def _copy_columns(frame: pd.DataFrame, spec: TableSpec) -> list[list[str]]:
    """The frame as COPY text-format columns: hex EWKB geometries, literal arrays and JSON.

    Built column by column with vectorised conversions (no per-row pandas work): this is
    the hot loop of a million-row load.
    """
    columns: list[list[str]] = []
    for col, sql_type in spec.columns.items():
        s = frame[col]
        if sql_type == "text[]":
            columns.append(_text_values([_pg_array(v) for v in s]))
        elif sql_type == "jsonb":
            columns.append(
                _text_values([None if v is None else json.dumps(v, default=str) for v in s])
            )
        elif sql_type == "boolean":
            columns.append(_text_values(s.map({True: "t", False: "f"}).tolist()))
        elif sql_type in ("integer", "smallint") and pd.api.types.is_numeric_dtype(s):
            columns.append(_number_values(s, "int64"))
        elif sql_type == "double precision" and pd.api.types.is_numeric_dtype(s):
            columns.append(_number_values(s, "float64"))
        else:
            values = s.to_numpy(dtype=object, na_value=None).tolist()
            columns.append(_text_values(values))
    for col in spec.geometries:
        wkb = shapely.to_wkb(frame[col].to_numpy(), hex=True, include_srid=True)
        columns.append([_NULL if g is None else g for g in wkb.tolist()])
    columns.append(frame["_feature_index"].to_numpy(dtype="int64").astype(str).tolist())
    return columns


def _create_stage(cur: psycopg.Cursor, spec: TableSpec) -> None:
    cols = [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in spec.columns.items()
    ] + [
        sql.SQL("{} geometry({}, 2154)").format(sql.Identifier(c), sql.SQL(t))
        for c, t in spec.geometries.items()
    ]
    cols.append(sql.SQL("_feature_index integer"))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            _stage_name(spec), sql.SQL(", ").join(cols)
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


_BINARY_TYPES = {
    "text": "text",
    "integer": "int4",
    "smallint": "int2",
    "double precision": "float8",
    "boolean": "bool",
}


def _python_values(series: pd.Series, sql_type: str) -> list[object]:
    """Python values for psycopg's binary dumpers: None for null, int/float/bool/str."""
    missing = series.isna().to_numpy()
    if sql_type in ("integer", "smallint") and pd.api.types.is_numeric_dtype(series):
        values: list[object] = series.to_numpy(dtype="int64", na_value=0).tolist()
    elif sql_type == "double precision" and pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=0.0).tolist()
    else:
        values = series.to_numpy(dtype=object, na_value=None).tolist()
        if sql_type == "text":
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    if missing.any():
        for i in np.flatnonzero(missing):
            values[i] = None
    return values


def _copy_rows_binary(
    cur: psycopg.Cursor,
    spec: TableSpec,
    frame: pd.DataFrame,
    columns: list[str],
    chunk_rows: int,
    progress: Progress | None,
) -> int:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        _stage_name(spec), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    # Geometries go as raw EWKB bytes, which PostGIS's binary input reads directly.
    types = [_BINARY_TYPES[t] for t in spec.columns.values()] + ["bytea"] * len(spec.geometries)
    total = 0
    with cur.copy(stmt) as copy:
        copy.set_types([*types, "int4"])
        for start in range(0, len(frame), chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            values = [_python_values(chunk[c], t) for c, t in spec.columns.items()]
            values += [
                shapely.to_wkb(chunk[c].to_numpy(), include_srid=True).tolist()
                for c in spec.geometries
            ]
            values.append(chunk["_feature_index"].to_numpy(dtype="int64").tolist())
            for row in zip(*values, strict=True):
                copy.write_row(row)
            total += len(chunk)
            if progress:
                progress(len(chunk))
    return total


def copy_rows(
    cur: psycopg.Cursor,
    spec: TableSpec,
    frame: pd.DataFrame,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> int:
    """COPY ``frame`` (valid rows only) into the staging table, in chunks.

    Binary COPY (EWKB geometries, native numbers) when every column has a plain type, else
    COPY text with hex EWKB.
    """
    columns = [*spec.all_columns, "_feature_index"]
    if all(t in _BINARY_TYPES for t in spec.columns.values()):
        return _copy_rows_binary(cur, spec, frame, columns, chunk_rows, progress)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        _stage_name(spec), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    total = 0
    with cur.copy(stmt) as copy:
        for start in range(0, len(frame), chunk_rows):
            chunk = frame.iloc[start : start + chunk_rows]
            lines = map("\t".join, zip(*_copy_columns(chunk, spec), strict=True))
            copy.write("\n".join(lines) + "\n" if len(chunk) else "")
            total += len(chunk)
            if progress:
                progress(len(chunk))
    return total


_CHECKS = sql.SQL(
    """
    WITH bad AS (
        DELETE FROM {stage} s
        WHERE {conditions}
        RETURNING s._feature_index, {key_text} AS key, CASE {cases} END AS reason
    )
    SELECT _feature_index, key, reason FROM bad
    """
)


def validate_in_sql(cur: psycopg.Cursor, spec: TableSpec) -> list[QuarantineRow]:
    """Move rows that fail the SQL checks (validity, SRID, nulls) out of staging.

    Python already repaired the geometries; this is the database's word on it, so a GEOS
    version difference between the two cannot let an invalid geometry into a served table.
    """
    checks: list[tuple[sql.Composable, sql.Composable]] = [
        (sql.SQL("({})").format(sql.SQL(c)), sql.SQL(r)) for c, r in spec.checks
    ]
    for col in spec.geometries:
        optional = col in spec.optional_geometries
        null_ok = sql.SQL("s.{} IS NOT NULL AND ").format(sql.Identifier(col)) if optional else sql.SQL("")
        checks.append(
            (
                sql.SQL("({}NOT ST_IsValid(s.{}))").format(null_ok, sql.Identifier(col)),
                sql.Literal(f"invalid geometry in {col} (PostGIS)"),
            )
        )
        if not optional:
            checks.append(
                (sql.SQL("s.{} IS NULL").format(sql.Identifier(col)), sql.Literal(f"missing {col}"))
            )
    for col in (*spec.key, *spec.required):
        if col in spec.columns:
            checks.append(
                (sql.SQL("s.{} IS NULL").format(sql.Identifier(col)), sql.Literal(f"missing {col}"))
            )
    if not checks:
        return []
    conditions = sql.SQL(" OR ").join(c for c, _ in checks)
    cases = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(c, r) for c, r in checks
    )
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("coalesce(s.{}::text, '')").format(sql.Identifier(k)) for k in spec.key
    )
    cur.execute(
        _CHECKS.format(stage=_stage_name(spec), conditions=conditions, cases=cases, key_text=key_text)
    )
    return [QuarantineRow(fi, key, reason, None) for fi, key, reason in cur.fetchall()]


def _update_only(cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None) -> TableCounts:
    counts = TableCounts(spec.table)
    target = sql.Identifier(spec.table)
    data_cols = [c for c in spec.all_columns if c not in spec.key]
    set_cols = [*data_cols, *(["run_id", "vintage"] if spec.provenance else [])]
    values = {"run_id": sql.Literal(run_id), "vintage": sql.Literal(vintage)}
    cur.execute(
        sql.SQL(
            "UPDATE {target} t SET {sets} FROM {stage} s WHERE {match} AND ({old}) IS DISTINCT FROM ({new})"
        ).format(
            target=target,
            stage=_stage_name(spec),
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


def unknown_keys(cur: psycopg.Cursor, spec: TableSpec) -> list[QuarantineRow]:
    """For update-only tables: staging rows whose key the target does not have."""
    match = sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in spec.key)
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("s.{}::text").format(sql.Identifier(k)) for k in spec.key
    )
    cur.execute(
        sql.SQL(
            "DELETE FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match}) "
            "RETURNING s._feature_index, {key_text}"
        ).format(stage=_stage_name(spec), target=sql.Identifier(spec.table), match=match, key_text=key_text)
    )
    return [
        QuarantineRow(fi, key, f"unknown {spec.table} {key}: load it before this table", None)
        for fi, key in cur.fetchall()
    ]


def _drop_secondary_indexes(cur: psycopg.Cursor, spec: TableSpec) -> list[str]:
    """Drop the target's secondary indexes when the load outnumbers the rows it holds.

    Inserting into a GiST index row by row costs several times a sorted bulk build, so a first
    load (or one that dwarfs the table) rebuilds them after the merge, in the same transaction.
    Unique and constraint indexes stay: the upsert needs them. Returns the definitions to
    re-create with :func:`_recreate_indexes`.
    """
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_stage_name(spec)))
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
    cur.execute(
        """
        SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE i.indrelid = to_regclass(%s) AND NOT i.indisunique AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        """,
        (spec.table,),
    )
    definitions = []
    for schema, name, definition in cur.fetchall():
        cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        definitions.append(definition)
    return definitions


def _recreate_indexes(cur: psycopg.Cursor, definitions: list[str]) -> None:
    for definition in definitions:
        cur.execute(definition)  # pg_get_indexdef's own text, not built from input


def merge(cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None) -> TableCounts:
    """Upsert staging into the target and delete what the file no longer has (within scope)."""
    if spec.update_only:
        return _update_only(cur, spec, run_id, vintage)
    deferred = _drop_secondary_indexes(cur, spec)
    counts = _upsert_and_delete(cur, spec, run_id, vintage)
    _recreate_indexes(cur, deferred)
    return counts


def _upsert_and_delete(
    cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None
) -> TableCounts:
    counts = TableCounts(spec.table)
    target = sql.Identifier(spec.table)
    stage = _stage_name(spec)
    cols = spec.all_columns
    ident = [sql.Identifier(c) for c in cols]
    data_cols = [c for c in cols if c not in spec.key]
    insert_cols = list(ident)
    select_cols = [sql.SQL("s.{}").format(i) for i in ident]
    if spec.provenance:
        insert_cols += [sql.Identifier("run_id"), sql.Identifier("vintage")]
        select_cols += [sql.Literal(run_id), sql.Literal(vintage)]
    key = sql.SQL(", ").join(map(sql.Identifier, spec.key))
    if data_cols:
        set_cols = [*data_cols, *(["run_id", "vintage"] if spec.provenance else [])]
        on_conflict = sql.SQL("DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})").format(
            sets=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in set_cols
            ),
            old=sql.SQL(", ").join(
                sql.SQL("t.{}").format(sql.Identifier(c)) for c in data_cols
            ),
            new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in data_cols),
        )
    else:
        on_conflict = sql.SQL("DO NOTHING")
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
    if spec.delete_missing:
        match = sql.SQL(" AND ").join(
            sql.SQL("x.{0} = t.{0}").format(sql.Identifier(k)) for k in spec.key
        )
        scope = sql.SQL("TRUE")
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
    return counts


def _raw_record(raw: pd.DataFrame, pos: int) -> dict[str, object]:
    record: dict[str, object] = {}
    for col, value in raw.iloc[pos].items():
        if isinstance(value, shapely.Geometry):
            wkt = value.wkt
            record[str(col)] = wkt if len(wkt) <= 20_000 else wkt[:20_000] + "…"
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            record[str(col)] = None
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            record[str(col)] = value.item()
        else:
            record[str(col)] = value if isinstance(value, (int, float, bool, str)) else str(value)
    return record


def python_quarantine(load: TableLoad) -> list[QuarantineRow]:
    """The rows of ``load`` that normalisation refused, with their raw source records."""
    rows = []
    spec = load.spec
    for pos in np.flatnonzero(~load.ok):
        key_parts = [load.frame.at[pos, k] for k in spec.key]
        key = None if any(pd.isna(k) for k in key_parts) else "/".join(map(str, key_parts))
        rows.append(
            QuarantineRow(
                int(load.frame.at[pos, "_feature_index"]),
                key,
                str(load.problems[pos]),
                _raw_record(load.raw, pos),
            )
        )
    return rows


def _hold_quarantined_keys(cur: psycopg.Cursor, load: TableLoad) -> None:
    """Keys present in the file but quarantined keep their previous version (no deletion)."""
    spec = load.spec
    bad = load.frame.loc[~load.ok, list(spec.key)].dropna()
    if bad.empty:
        return
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(f"held_{spec.table}"), sql.SQL(", ").join(map(sql.Identifier, spec.key))
    )
    with cur.copy(stmt) as copy:
        copy.write(bad.to_csv(header=False, index=False))


def stage_and_merge(
    cur: psycopg.Cursor,
    loads: list[TableLoad],
    run_id: int,
    vintage: str | None,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> MergeResult:
    """Stage, check and merge every table of one file, inside the caller's transaction."""
    result = MergeResult()
    for load in loads:
        spec = load.spec
        _create_stage(cur, spec)
        good = load.frame.loc[load.ok]
        copy_rows(cur, spec, good, chunk_rows, progress)
        _hold_quarantined_keys(cur, load)
        if spec.post_stage_sql:
            cur.execute(spec.post_stage_sql.format(stage=f"stage_{spec.table}"))
        quarantined = python_quarantine(load)
        sql_bad = validate_in_sql(cur, spec)
        if spec.update_only:
            sql_bad += unknown_keys(cur, spec)
        if sql_bad:
            raw_by_index = {int(fi): pos for pos, fi in enumerate(load.frame["_feature_index"])}
            for row in sql_bad:
                pos = raw_by_index.get(int(row.feature_index)) if row.feature_index is not None else None
                row.raw = _raw_record(load.raw, pos) if pos is not None else None
            quarantined += sql_bad
        counts = merge(cur, spec, run_id, vintage)
        if spec.post_merge_sql:
            cur.execute(spec.post_merge_sql.format(stage=f"stage_{spec.table}"))
        counts.quarantined = len(quarantined)
        counts.loaded = len(good) - len(sql_bad)
        counts.repaired = load.repaired
        result.tables.append(counts)
        result.quarantine += quarantined
    return result


def write_quarantine(
    cur: psycopg.Cursor, run_id: int, layer: str, source: str, rows: list[QuarantineRow]
) -> None:
    """Insert quarantine rows for a run (COPY: a file of mostly bad rows stays fast)."""
    if not rows:
        return
    with cur.copy(
        "COPY quarantine (run_id, layer, source, feature_index, key, reason, raw) FROM STDIN"
    ) as copy:
        for r in rows:
            copy.write_row(
                (run_id, layer, source, r.feature_index, r.key, r.reason,
                 None if r.raw is None else json.dumps(r.raw, default=str))
            )


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
