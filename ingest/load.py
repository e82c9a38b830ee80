"""COPY prepared rows into staging, validate them in SQL, merge into the target in one transaction.

Readers see the previous version of a layer or the new one, never a mix: staging, checks,
upserts, deletions, quarantine rows and the run record all commit together.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from psycopg import sql

from ingest.normalize import TableLoad, TableSpec, mark_repeated_keys

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


class PhaseTimes:
    """Seconds spent per phase of a load, summed over batches (logged at DEBUG by the pipeline).

    Worker-thread phases (read, prepare) overlap the main thread's (COPY, SQL): the figures
    say where the time goes, not a partition of the wall clock.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - started

    def summary(self) -> str:
        return ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())


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


_SRID_2154 = (2154).to_bytes(4, "little")


def ewkb(geoms: np.ndarray) -> list[bytes | None]:
    """Little-endian EWKB with SRID 2154 (what PostGIS reads), None for a missing geometry.

    The geometries carry no SRID (setting one would copy each): the SRID flag and value are
    spliced into the WKB header instead, a few bytes per row.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not shapely.is_geometry(geoms).any():  # vectorised: a Python test per row costs 0.5 µs
        return geoms.tolist()  # EWKB already (polygons from ingest.normalize.polygons_ewkb)
    wkb = shapely.to_wkb(geoms, byte_order=1).tolist()
    return [None if w is None else w[:4] + bytes((w[4] | 0x20,)) + _SRID_2154 + w[5:] for w in wkb]


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
        columns.append([_NULL if g is None else g.hex() for g in ewkb(frame[col].to_numpy())])
    columns.append(frame["_feature_index"].to_numpy(dtype="int64").astype(str).tolist())
    return columns


def _valid_column(geometry: str) -> str:
    return f"_valid_{geometry}"


def _create_stage(cur: psycopg.Cursor, spec: TableSpec) -> None:
    cols = [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in spec.columns.items()
    ] + [
        sql.SQL("{} geometry({}, 2154)").format(sql.Identifier(c), sql.SQL(t))
        for c, t in spec.geometries.items()
    ]
    cols.append(sql.SQL("_feature_index integer"))
    # Validity is computed by the server as rows arrive, while the client is still preparing
    # the next batch, rather than in one pass after the last one.
    cols += [
        sql.SQL("{} boolean GENERATED ALWAYS AS (ST_IsValid({})) STORED").format(
            sql.Identifier(_valid_column(c)), sql.Identifier(c)
        )
        for c in spec.geometries
    ]
    # Set by repair_in_sql on the rows whose polygons it made valid (NULL: untouched).
    cols.append(sql.SQL("_repaired boolean"))
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


_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # binary COPY header: no flags, no extension
_TRAILER = b"\xff\xff"
_FIXED = {
    "integer": ">i4",
    "smallint": ">i2",
    "bigint": ">i8",
    "double precision": ">f8",
    "boolean": "?",
}


def _sized(values: pa.Array) -> pa.Array:
    """Binary COPY fields: each value prefixed by its big-endian length (-1 and nothing: null)."""
    lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False)
    header = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), len(values), [None, pa.py_buffer(lengths.astype(">i4").tobytes())]
    )
    return pc.binary_join_element_wise(header.cast(pa.binary()), pc.fill_null(values, b""), b"")


def _fixed_values(series: pd.Series, sql_type: str) -> pa.Array | None:
    """A numeric or boolean column as big-endian binary values (None: not of a plain dtype)."""
    if sql_type == "boolean":
        if not (pd.api.types.is_bool_dtype(series) or series.dtype == "boolean"):
            return None
        data = series.to_numpy(dtype=bool, na_value=False)
    elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        kind = "float64" if sql_type == "double precision" else "int64"
        data = series.to_numpy(dtype=kind, na_value=0)
    else:
        return None
    dtype = np.dtype(_FIXED[sql_type])
    valid = pa.array(~series.isna().to_numpy(dtype=bool))
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(dtype.itemsize),
        len(series),
        [valid.buffers()[1], pa.py_buffer(data.astype(dtype).tobytes())],
    ).cast(pa.binary())


def _text_array(series: pd.Series) -> pa.Array:
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return pa.array(series).cast(pa.large_binary()).cast(pa.binary())
    values = series.to_numpy(dtype=object, na_value=None).tolist()
    texts = [v if v is None or isinstance(v, str) else str(v) for v in values]
    return pa.array(texts, type=pa.string()).cast(pa.binary())


def binary_payload(
    frame: pd.DataFrame, spec: TableSpec, direct: Direct | None = None
) -> pa.Buffer | None:
    """``frame`` as one binary COPY stream (header, rows, trailer), or None if it cannot be.

    Built column by column with Arrow kernels rather than row by row: the bytes are ready
    before the COPY starts, so sending them is pure I/O (no Python work, the GIL released).
    Columns are the spec's, then its geometries (EWKB), then ``_feature_index`` (staging),
    or, with ``direct`` (COPY into the target), ``run_id`` and ``vintage`` if the table has
    provenance columns.
    """
    if not binary_copy(spec):
        return None
    fields: list[pa.Array] = []
    for col, sql_type in spec.columns.items():
        if sql_type == "text":
            fields.append(_sized(_text_array(frame[col])))
            continue
        values = _fixed_values(frame[col], sql_type)
        if values is None:
            return None
        fields.append(_sized(values))
    for col in spec.geometries:
        fields.append(_sized(pa.array(ewkb(frame[col].to_numpy()), type=pa.binary())))
    if direct is None:
        index = _fixed_values(frame["_feature_index"].astype("int64"), "integer")
        assert index is not None
        fields.append(_sized(index))
    elif spec.provenance:
        run = _fixed_values(pd.Series(np.full(len(frame), direct.run_id, dtype="int64")), "bigint")
        assert run is not None
        fields.append(_sized(run))
        vintage = pa.array([direct.vintage] * len(frame), type=pa.string()).cast(pa.binary())
        fields.append(_sized(vintage))
    count = pa.scalar(len(fields).to_bytes(2, "big"), type=pa.binary())
    rows = pc.binary_join_element_wise(count, *fields, b"")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    offsets = offsets[rows.offset : rows.offset + len(rows) + 1]
    body = rows.buffers()[2] if len(rows) else pa.py_buffer(b"")
    body = body.slice(int(offsets[0]), int(offsets[-1] - offsets[0])) if len(rows) else body
    return pa.py_buffer(_SIGNATURE + body.to_pybytes() + _TRAILER)


def binary_copy(spec: TableSpec) -> bool:
    """Whether ``spec``'s rows can be sent as binary COPY (every column of a plain type)."""
    return all(t in _BINARY_TYPES for t in spec.columns.values())


@dataclass(frozen=True)
class Direct:
    """Rows COPYed straight into an empty target (no staging): the provenance to write."""

    run_id: int
    vintage: str | None


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
    total = 0
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        write_payload(cur, spec, _payload(chunk, spec))
        total += len(chunk)
        if progress:
            progress(len(chunk))
    return total


@dataclass
class _Payload:
    data: pa.Buffer | bytes
    binary: bool
    direct: bool = False


def _payload(frame: pd.DataFrame, spec: TableSpec, direct: Direct | None = None) -> _Payload:
    data = binary_payload(frame, spec, direct)
    if data is not None:
        return _Payload(data, True, direct is not None)
    assert direct is None, "direct COPY is only chosen for binary-ready tables"
    lines = map("\t".join, zip(*_copy_columns(frame, spec), strict=True))
    return _Payload(("\n".join(lines) + "\n" if len(frame) else "").encode(), False)


def write_payload(cur: psycopg.Cursor, spec: TableSpec, payload: _Payload) -> None:
    """Send prepared COPY bytes into ``spec``'s staging table (or its target: direct COPY)."""
    if payload.direct:
        names = [*spec.all_columns, *(["run_id", "vintage"] if spec.provenance else [])]
        table = sql.Identifier(spec.table)
    else:
        names = [*spec.all_columns, "_feature_index"]
        table = _stage_name(spec)
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    fmt = sql.SQL(" (FORMAT binary)") if payload.binary else sql.SQL("")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN{}").format(table, columns, fmt)
    with cur.copy(stmt) as copy:
        copy.write(memoryview(payload.data))


_CHECKS = sql.SQL(
    """
    WITH bad AS (
        DELETE FROM {stage} s
        WHERE {conditions}
        RETURNING s._feature_index, {key_text} AS key, CASE {cases} END AS reason, {raw} AS raw
    )
    SELECT _feature_index, key, reason, raw FROM bad
    """
)


def _stage_raw(spec: TableSpec, target: bool = False) -> sql.Composable:
    """The staging row ``s`` as a raw record: its columns, geometries as (truncated) WKT.

    For rows refused in SQL whose source record is no longer in memory (a file read in
    batches); the geometry is under ``geometry`` as in a source record. ``target``: ``s`` is
    a row of the target table (direct COPY), without staging's extra columns.
    """
    geoms = list(spec.geometries)
    if target:
        hidden = [*geoms, "run_id", "vintage"]
    else:
        hidden = [*geoms, *map(_valid_column, geoms), "_feature_index", "_repaired"]
    minus = sql.SQL("").join(sql.SQL(" - {}").format(sql.Literal(c)) for c in hidden)
    pairs = sql.SQL(", ").join(
        sql.SQL("{}, left(ST_AsText(s.{}), 20000)").format(
            sql.Literal("geometry" if i == 0 else c), sql.Identifier(c)
        )
        for i, c in enumerate(geoms)
    )
    built = sql.SQL(" || jsonb_build_object({})").format(pairs) if geoms else sql.SQL("")
    return sql.SQL("(to_jsonb(s){}){}").format(minus, built)


def _polygon_columns(spec: TableSpec) -> list[str]:
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
    polygons = _polygon_columns(spec)
    if not polygons:
        return 0
    sets = [
        sql.SQL(
            "{col} = CASE WHEN s.{valid} THEN s.{col} "
            "ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(s.{col}), 3)) END"
        ).format(col=sql.Identifier(c), valid=sql.Identifier(_valid_column(c)))
        for c in polygons
    ]
    invalid = sql.SQL(" OR ").join(
        sql.SQL("NOT s.{}").format(sql.Identifier(_valid_column(c))) for c in polygons
    )
    cur.execute(
        sql.SQL("UPDATE {} s SET {}, _repaired = TRUE WHERE {}").format(
            _stage_name(spec), sql.SQL(", ").join(sets), invalid
        )
    )
    return cur.rowcount


def count_repaired(cur: psycopg.Cursor, spec: TableSpec, changed: int) -> int:
    """Rows repaired in SQL that are still in staging after the checks (0 when none changed)."""
    if not changed:
        return 0
    stmt = sql.SQL("SELECT count(*) FROM {} WHERE _repaired").format(_stage_name(spec))
    return int(cur.execute(stmt).fetchone()[0])  # type: ignore[index]


def validate_in_sql(cur: psycopg.Cursor, spec: TableSpec) -> list[QuarantineRow]:
    """Move rows that fail the SQL checks (validity, SRID, nulls) out of staging.

    Python already repaired the geometries; this is the database's word on it, so a GEOS
    version difference between the two cannot let an invalid geometry into a served table.
    """
    # A geometry problem comes first, as when Python repaired geometries before any check.
    checks: list[tuple[sql.Composable, sql.Composable]] = [
        (
            sql.SQL("(s._repaired AND (ST_IsEmpty(s.{col}) OR ST_Area(s.{col}) = 0))").format(
                col=sql.Identifier(c)
            ),
            sql.Literal("unrepairable geometry: nothing polygonal left after make_valid"),
        )
        for c in _polygon_columns(spec)
    ]
    checks += [(sql.SQL("({})").format(sql.SQL(c)), sql.SQL(r)) for c, r in spec.checks]
    for col in spec.geometries:
        optional = col in spec.optional_geometries
        null_ok = (
            sql.SQL("s.{} IS NOT NULL AND ").format(sql.Identifier(col))
            if optional
            else sql.SQL("")
        )
        checks.append(
            (
                sql.SQL("({}NOT s.{})").format(null_ok, sql.Identifier(_valid_column(col))),
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
    cases = sql.SQL(" ").join(sql.SQL("WHEN {} THEN {}").format(c, r) for c, r in checks)
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("coalesce(s.{}::text, '')").format(sql.Identifier(k)) for k in spec.key
    )
    cur.execute(
        _CHECKS.format(
            stage=_stage_name(spec),
            conditions=conditions,
            cases=cases,
            key_text=key_text,
            raw=_stage_raw(spec),
        )
    )
    return [QuarantineRow(fi, key, reason, raw) for fi, key, reason, raw in cur.fetchall()]


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
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in spec.key
    )
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("s.{}::text").format(sql.Identifier(k)) for k in spec.key
    )
    cur.execute(
        sql.SQL(
            "DELETE FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match}) "
            "RETURNING s._feature_index, {key_text}, {raw}"
        ).format(
            stage=_stage_name(spec),
            target=sql.Identifier(spec.table),
            match=match,
            key_text=key_text,
            raw=_stage_raw(spec),
        )
    )
    return [
        QuarantineRow(fi, key, f"unknown {spec.table} {key}: load it before this table", raw)
        for fi, key, raw in cur.fetchall()
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
    return _drop_indexes(cur, spec)


def _drop_indexes(cur: psycopg.Cursor, spec: TableSpec, gist_only: bool = False) -> list[str]:
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


def _recreate_indexes(cur: psycopg.Cursor, definitions: list[str]) -> None:
    for definition in definitions:
        cur.execute(definition)  # pg_get_indexdef's own text, not built from input


def merge(cur: psycopg.Cursor, spec: TableSpec, run_id: int, vintage: str | None) -> TableCounts:
    """Upsert staging into the target and delete what the file no longer has (within scope)."""
    if spec.update_only:
        return _update_only(cur, spec, run_id, vintage)
    deferred = _drop_secondary_indexes(cur, spec)
    counts = _delete_and_upsert(cur, spec, run_id, vintage)
    _recreate_indexes(cur, deferred)
    return counts


def _delete_and_upsert(
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


def _raw_record(raw: pd.DataFrame, pos: int) -> dict[str, object]:
    record: dict[str, object] = {}
    for col, value in raw.iloc[pos].items():
        if isinstance(value, bytes):  # WKB from a file read in batches
            try:
                value = shapely.from_wkb(value, on_invalid="fix")
            except shapely.errors.GEOSException:
                record[str(col)] = value.hex()
                continue
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


def _hold_keys(cur: psycopg.Cursor, spec: TableSpec, bad: pd.DataFrame) -> None:
    """Keys present in the file but quarantined keep their previous version (no deletion)."""
    if bad.empty:
        return
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(f"held_{spec.table}"), sql.SQL(", ").join(map(sql.Identifier, spec.key))
    )
    with cur.copy(stmt) as copy:
        copy.write(bad.to_csv(header=False, index=False))


T = TypeVar("T")


def ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a worker thread, up to ``depth`` items ahead of the consumer.

    The next batch is then read and prepared (GDAL, shapely and Arrow release the GIL in
    their bulk work) while the server ingests the current COPY. An exception in the worker is
    raised here; stopping early stops the worker after its current item.
    """
    done = object()
    slots: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                slots.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(done, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="ingest-prepare", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


@dataclass
class _Prepared:
    """One table's share of one batch, ready to send."""

    load: TableLoad
    good: pd.DataFrame
    payload: _Payload | None  # None: too many rows, built chunk by chunk when sent
    quarantine: list[QuarantineRow]
    held: pd.DataFrame
    direct: Direct | None = None

    @property
    def rows(self) -> int:
        return len(self.good)

    def send(self, cur: psycopg.Cursor, chunk_rows: int) -> None:
        if self.payload is not None:
            write_payload(cur, self.load.spec, self.payload)
            return
        for start in range(0, len(self.good), chunk_rows):
            chunk = self.good.iloc[start : start + chunk_rows]
            write_payload(cur, self.load.spec, _payload(chunk, self.load.spec, self.direct))


def _prepare(
    loads: list[TableLoad],
    seen: dict[str, dict[str, int]],
    chunk_rows: int,
    direct: dict[str, Direct],
) -> list[_Prepared]:
    out = []
    for load in loads:
        spec = load.spec
        mark_repeated_keys(load, seen.setdefault(spec.table, {}))
        good = load.frame.loc[load.ok]
        held = load.frame.loc[~load.ok, list(spec.key)].dropna()
        # A batch's COPY bytes are built here, in the worker; a whole big file read in one
        # piece is sent in chunks instead, so its bytes never all exist at once.
        into = direct.get(spec.table)
        payload = _payload(good, spec, into) if len(good) <= chunk_rows else None
        out.append(_Prepared(load, good, payload, python_quarantine(load), held, into))
    return out


@dataclass
class _Staged:
    spec: TableSpec
    rows: int = 0
    repaired: int = 0
    quarantine: list[QuarantineRow] = field(default_factory=list)
    held: list[pd.DataFrame] = field(default_factory=list)
    last: TableLoad | None = None  # the latest batch, whose source records are in memory
    # Early merge (the target was empty): each batch is checked and inserted as it arrives.
    early: bool = False
    deferred: list[str] = field(default_factory=list)  # index definitions to re-create
    inserted: int = 0
    sql_bad: list[QuarantineRow] = field(default_factory=list)
    # Direct COPY (an early merge of plain columns): batches go straight into the target.
    direct: bool = False
    started: bool = False


def _empty_target(cur: psycopg.Cursor, spec: TableSpec) -> bool:
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
    ident = [sql.Identifier(c) for c in spec.all_columns]
    insert_cols = list(ident)
    select_cols = [sql.SQL("s.{}").format(i) for i in ident]
    if spec.provenance:
        insert_cols += [sql.Identifier("run_id"), sql.Identifier("vintage")]
        select_cols += [sql.Literal(run_id), sql.Literal(vintage)]
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s").format(
            sql.Identifier(spec.table),
            sql.SQL(", ").join(insert_cols),
            sql.SQL(", ").join(select_cols),
            _stage_name(spec),
        )
    )
    return cur.rowcount


def _merge_early(
    cur: psycopg.Cursor, table: _Staged, run_id: int, vintage: str | None, times: PhaseTimes
) -> None:
    """Check the batch just staged, insert it into the target and empty the staging table."""
    spec = table.spec
    with times("sql repair+checks"):
        changed = repair_in_sql(cur, spec)
        bad = validate_in_sql(cur, spec)
        table.repaired += count_repaired(cur, spec, changed)
    _source_raw(table, bad)
    table.sql_bad += bad
    with times("insert into target"):
        table.inserted += _insert_stage(cur, spec, run_id, vintage)
    with times("truncate stage"):
        cur.execute(sql.SQL("TRUNCATE {}").format(_stage_name(spec)))


def _direct_ok(spec: TableSpec) -> bool:
    """Whether an early merge of ``spec`` can COPY straight into the target (no staging)."""
    return (
        binary_copy(spec)
        and not spec.checks
        and len(spec.key) == 1
        and not spec.optional_geometries
    )


def _check_index(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"_check_{spec.table}")


def _direct_checks(spec: TableSpec) -> list[tuple[sql.Composable, sql.Composable]]:
    """The SQL checks of :func:`validate_in_sql` (but repairs) on an unqualified target row."""
    checks: list[tuple[sql.Composable, sql.Composable]] = []
    for col in _polygon_columns(spec):
        # A repair that leaves nothing polygonal writes an empty geometry (NOT NULL columns).
        checks.append(
            (
                sql.SQL("ST_IsEmpty({})").format(sql.Identifier(col)),
                sql.Literal("unrepairable geometry: nothing polygonal left after make_valid"),
            )
        )
    for col in spec.geometries:
        ident = sql.Identifier(col)
        checks.append(
            (
                sql.SQL("NOT ST_IsValid({})").format(ident),
                sql.Literal(f"invalid geometry in {col} (PostGIS)"),
            )
        )
        checks.append((sql.SQL("{} IS NULL").format(ident), sql.Literal(f"missing {col}")))
    for col in (*spec.key, *spec.required):
        if col in spec.columns:
            checks.append(
                (sql.SQL("{} IS NULL").format(sql.Identifier(col)), sql.Literal(f"missing {col}"))
            )
    return checks


def _direct_predicate(spec: TableSpec) -> sql.Composable:
    return sql.SQL("({})").format(sql.SQL(" OR ").join(c for c, _ in _direct_checks(spec)))


def _create_check_index(cur: psycopg.Cursor, spec: TableSpec) -> None:
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


def _check_direct(cur: psycopg.Cursor, table: _Staged, rows: int, times: PhaseTimes) -> None:
    """Repair, check and quarantine the batch just COPYed into the target (direct COPY).

    The rows that need it are found through the check index; repaired rows left with nothing
    polygonal, and rows still failing a check, are deleted and quarantined, as staging does.
    """
    spec = table.spec
    target = sql.Identifier(spec.table)
    key = sql.Identifier(spec.key[0])
    pred = _direct_predicate(spec)
    polygons = _polygon_columns(spec)
    repaired: list[str] = []
    bad: list[QuarantineRow] = []
    raw = _stage_raw(spec, target=True)
    with times("sql repair+checks"):
        # Only the check index can serve these (a seq scan would re-read the whole table).
        cur.execute("SET LOCAL enable_seqscan = off")
        if polygons:
            # Nothing polygonal left: an empty geometry, which the check index holds too.
            sets = sql.SQL(", ").join(
                sql.SQL(
                    "{col} = CASE WHEN ST_IsValid({col}) THEN {col} "
                    "ELSE (SELECT CASE WHEN ST_IsEmpty(g) OR ST_Area(g) = 0 "
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
        cases = sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(c, r) for c, r in _direct_checks(spec)
        )
        cur.execute(
            sql.SQL("DELETE FROM {} s WHERE {} RETURNING s.{}::text, CASE {} END, {}").format(
                target, pred, key, cases, raw
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
        _source_raw(table, bad)
    table.repaired += len(set(repaired) - {row.key for row in bad})
    table.sql_bad += bad
    table.inserted += rows - len(bad)


def _stage_as_target(cur: psycopg.Cursor, spec: TableSpec) -> None:
    """After an early merge, ``stage_<table>`` becomes a view of the target for post-merge SQL.

    The target was empty, so it now holds exactly the file's checked rows: what the staging
    table holds at that point in a regular merge.
    """
    stage = _stage_name(spec)
    cur.execute(sql.SQL("DROP TABLE {}").format(stage))
    extra = [sql.SQL("NULL::integer AS _feature_index")] + [
        sql.SQL("TRUE AS {}").format(sql.Identifier(_valid_column(c))) for c in spec.geometries
    ]
    cur.execute(
        sql.SQL("CREATE TEMP VIEW {} AS SELECT {} FROM {}").format(
            stage,
            sql.SQL(", ").join([*map(sql.Identifier, spec.all_columns), *extra]),
            sql.Identifier(spec.table),
        )
    )


def _source_raw(staged: _Staged, rows: list[QuarantineRow]) -> None:
    """Prefer the source record to the staging row for refused rows still in memory."""
    load = staged.last
    if load is None or not rows:
        return
    by_index = {int(fi): pos for pos, fi in enumerate(load.frame["_feature_index"])}
    for row in rows:
        pos = by_index.get(int(row.feature_index)) if row.feature_index is not None else None
        if pos is not None:
            row.raw = _raw_record(load.raw, pos)


def stage_and_merge_batches(
    cur: psycopg.Cursor,
    batches: Iterable[list[TableLoad]],
    run_id: int,
    vintage: str | None,
    progress: Progress | None = None,
    chunk_rows: int = 100_000,
    times: PhaseTimes | None = None,
) -> MergeResult:
    """Stage every batch of one file, then check and merge each table, in the caller's transaction.

    ``batches`` yields, per batch of the file, the table loads a layer prepared from it. They
    are prepared in a worker thread one batch ahead while the current one is copied; a key
    repeated across batches is quarantined like one repeated within a batch (the first
    occurrence is kept). Checks, merge and derived SQL run once all batches are staged.
    """
    seen: dict[str, dict[str, int]] = {}
    staged: dict[str, _Staged] = {}
    times = times if times is not None else PhaseTimes()
    # The first batch's tables are set up before the worker starts: it builds each batch's
    # COPY bytes for the target itself when a table is loaded by direct COPY.
    direct: dict[str, Direct] = {}
    batches = iter(batches)
    first = next(batches, None)
    for load in first or []:
        spec = load.spec
        if spec.table not in staged:
            _create_stage(cur, spec)
            table = staged[spec.table] = _Staged(spec, early=_empty_target(cur, spec))
            if table.early and _direct_ok(spec):
                table.direct = True
                direct[spec.table] = Direct(run_id, vintage)

    def prepared_batches() -> Iterator[list[_Prepared]]:
        if first is None:
            return
        for loads in itertools.chain([first], batches):
            with times("prepare (worker)"):
                out = _prepare(loads, seen, chunk_rows, direct)
            yield out

    batch_iter = iter(ahead(prepared_batches()))
    while True:
        with times("wait for worker"):
            prepared = next(batch_iter, None)
        if prepared is None:
            break
        copied = 0
        for part in prepared:
            spec = part.load.spec
            table = staged.get(spec.table)
            if table is None:
                _create_stage(cur, spec)
                table = staged[spec.table] = _Staged(spec, early=_empty_target(cur, spec))
            if not table.started:
                table.started = True
                if table.early and part.rows >= BULK_INDEX_MIN_ROWS:
                    # Direct COPY keeps its btrees: maintained while the worker prepares the
                    # next batch they cost less than a rebuild after the last one (200k:
                    # 2.3 s vs 2.8 s); only GiST, costly row by row, is built at the end.
                    table.deferred = _drop_indexes(cur, spec, gist_only=table.direct)
                if table.direct:
                    _create_check_index(cur, spec)
            if part.rows:
                with times("copy"):
                    part.send(cur, chunk_rows)
            table.rows += part.rows
            table.repaired += part.load.repaired
            table.quarantine += part.quarantine
            table.held.append(part.held)
            table.last = part.load
            if table.direct:
                _check_direct(cur, table, part.rows, times)
            elif table.early:
                _merge_early(cur, table, run_id, vintage, times)
            copied += part.rows
        if progress:
            progress(copied)
    result = MergeResult()
    for table in staged.values():
        spec = table.spec
        _hold_keys(cur, spec, pd.concat(table.held) if table.held else pd.DataFrame())
        if table.early:
            if table.direct:
                cur.execute(sql.SQL("DROP INDEX {}").format(_check_index(spec)))
            with times("index rebuild"):
                _recreate_indexes(cur, table.deferred)
            sql_bad = table.sql_bad
            counts = TableCounts(spec.table, inserted=table.inserted)
            _stage_as_target(cur, spec)
        else:
            changed = repair_in_sql(cur, spec)
            if spec.post_stage_sql:
                cur.execute(spec.post_stage_sql.format(stage=f"stage_{spec.table}"))
            sql_bad = validate_in_sql(cur, spec)
            if spec.update_only:
                sql_bad += unknown_keys(cur, spec)
            table.repaired += count_repaired(cur, spec, changed)
            _source_raw(table, sql_bad)
            with times("merge"):
                counts = merge(cur, spec, run_id, vintage)
        if spec.post_merge_sql:
            with times("post-merge sql"):
                cur.execute(spec.post_merge_sql.format(stage=f"stage_{spec.table}"))
        counts.quarantined = len(table.quarantine) + len(sql_bad)
        counts.loaded = table.rows - len(sql_bad)
        counts.repaired = table.repaired
        result.tables.append(counts)
        result.quarantine += table.quarantine + sql_bad
    for table in staged.values():
        if table.early:  # the views stand for staging tables that would drop on commit
            cur.execute(sql.SQL("DROP VIEW {}").format(_stage_name(table.spec)))
    return result


def stage_and_merge(
    cur: psycopg.Cursor,
    loads: list[TableLoad],
    run_id: int,
    vintage: str | None,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> MergeResult:
    """Stage, check and merge every table of one file read whole (one batch)."""
    return stage_and_merge_batches(cur, [loads], run_id, vintage, progress, chunk_rows)


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
                (
                    run_id,
                    layer,
                    source,
                    r.feature_index,
                    r.key,
                    r.reason,
                    None if r.raw is None else json.dumps(r.raw, default=str),
                )
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
