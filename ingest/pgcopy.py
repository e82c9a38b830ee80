"""COPY encoding and sending: rows of a prepared frame as PostgreSQL COPY bytes.

Binary COPY (EWKB geometries, native numbers) when every column has a plain type, else COPY
text with hex EWKB. The bytes are built column by column before the COPY starts, so sending
them is pure I/O. They go into a table's staging table, or straight into an empty target
(:class:`Direct`, see :mod:`ingest.direct`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from psycopg import sql

from geo.wkb import to_ewkb
from ingest.jsonb import jsonb_text
from ingest.normalize import TableSpec, arrow_column
from ingest.staging import stage_name

Progress = Callable[[int], None]


def _pg_array(values: object) -> str | None:
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return None
    items = list(values)  # type: ignore[call-overload]
    quoted = ['"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items]
    return "{" + ",".join(quoted) + "}"


_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_values(values: list[object]) -> list[str]:
    r"""COPY text-format fields: \N for null, backslash/tab/newline escaped only when present."""
    texts = [v if v is None or isinstance(v, str) else str(v) for v in values]
    joined = "".join([t for t in texts if t is not None])
    if any(c in joined for c in "\\\t\n\r"):
        return [_NULL if t is None else t.translate(_ESCAPES) for t in texts]
    return [_NULL if t is None else t for t in texts]


def _number_values(series: pd.Series, dtype: str) -> list[str]:
    missing = series.isna().to_numpy()
    numbers: list[str] = series.to_numpy(dtype=dtype, na_value=0).astype(str).tolist()
    if missing.any():
        for i in np.flatnonzero(missing):
            numbers[i] = _NULL
    return numbers


def ewkb(geoms: np.ndarray) -> list[bytes | None]:
    """Little-endian EWKB with SRID 2154 (what PostGIS reads), None for a missing geometry.

    Geometries already encoded (polygons from :func:`ingest.normalize.polygons_ewkb`) pass as
    they are; others go through :func:`geo.wkb.to_ewkb`, the one encoder.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not shapely.is_geometry(geoms).any():  # vectorised: a Python test per row costs 0.5 µs
        encoded: list[bytes | None] = geoms.tolist()
        return encoded
    return to_ewkb(geoms, 2154)


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
            columns.append(_text_values([None if v is None else jsonb_text(v) for v in s]))
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
        geoms = frame[col].to_numpy(dtype=object, na_value=None)
        columns.append([_NULL if g is None else g.hex() for g in ewkb(geoms)])
    columns.append(frame["_feature_index"].to_numpy(dtype="int64").astype(str).tolist())
    return columns


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


def _sized(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Binary COPY fields: each value's big-endian length (-1: null), and the value (or b"").

    Returned apart, joined with every other column's in one pass by :func:`binary_payload`.
    """
    lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False)
    header = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), len(values), [None, pa.py_buffer(lengths.astype(">i4").tobytes())]
    )
    return header.cast(pa.binary()), pc.fill_null(values, b"")


def _constant(value: bytes | None) -> bytes:
    """One binary COPY field with the same value on every row (None: null)."""
    return b"\xff\xff\xff\xff" if value is None else len(value).to_bytes(4, "big") + value


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


def _geometry_array(series: pd.Series) -> pa.Array:
    """A geometry column as EWKB in one Arrow array (as is when it is Arrow-backed EWKB)."""
    if isinstance(series.dtype, pd.ArrowDtype):  # polygons read in batches: EWKB already
        return arrow_column(series).combine_chunks().cast(pa.binary())
    return pa.array(ewkb(series.to_numpy()), type=pa.binary())


def binary_payload(
    frame: pd.DataFrame, spec: TableSpec, direct: Direct | None = None
) -> list[pa.Buffer | bytes] | None:
    """``frame`` as a binary COPY stream (header, rows, trailer), or None if it cannot be.

    Built column by column with Arrow kernels rather than row by row: the bytes are ready
    before the COPY starts, so sending them is pure I/O (no Python work, the GIL released).
    Columns are the spec's, then its geometries (EWKB), then ``_feature_index`` (staging),
    or, with ``direct`` (COPY into the target), ``run_id`` and ``vintage`` if the table has
    provenance columns. The rows are one Arrow buffer, sent between the header and trailer
    without being copied into one ``bytes``.
    """
    if not binary_copy(spec):
        return None
    fields: list[pa.Array | pa.Scalar] = []
    columns = 0
    for col, sql_type in spec.columns.items():
        values = (
            _text_array(frame[col]) if sql_type == "text" else _fixed_values(frame[col], sql_type)
        )
        if values is None:
            return None
        fields += _sized(values)
        columns += 1
    for col in spec.geometries:
        fields += _sized(_geometry_array(frame[col]))
        columns += 1
    if direct is None:
        index = _fixed_values(frame["_feature_index"].astype("int64"), "integer")
        assert index is not None
        fields += _sized(index)
        columns += 1
    elif spec.provenance:
        # The same run and vintage on every row: one constant, broadcast by the join.
        vintage = None if direct.vintage is None else direct.vintage.encode()
        tail = _constant(direct.run_id.to_bytes(8, "big", signed=True)) + _constant(vintage)
        fields.append(pa.scalar(tail, type=pa.binary()))
        columns += 2
    count = pa.scalar(columns.to_bytes(2, "big"), type=pa.binary())
    rows = pc.binary_join_element_wise(count, *fields, b"")
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if not len(rows):
        return [_SIGNATURE, _TRAILER]
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    offsets = offsets[rows.offset : rows.offset + len(rows) + 1]
    body = rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    return [_SIGNATURE, body, _TRAILER]


def binary_copy(spec: TableSpec) -> bool:
    """Whether ``spec``'s rows can be sent as binary COPY (every column of a plain type)."""
    return all(t in _BINARY_TYPES for t in spec.columns.values())


@dataclass(frozen=True)
class Direct:
    """Rows COPYed straight into an empty target (no staging): the provenance to write."""

    run_id: int
    vintage: str | None


@dataclass
class Payload:
    """COPY bytes ready to send, and where they go (staging, or the target: ``direct``)."""

    data: list[pa.Buffer | bytes]  # sent one after the other
    binary: bool
    direct: bool = False


def build_payload(frame: pd.DataFrame, spec: TableSpec, direct: Direct | None = None) -> Payload:
    """``frame`` as COPY bytes: binary when every column allows it, else text."""
    data = binary_payload(frame, spec, direct)
    if data is not None:
        return Payload(data, True, direct is not None)
    assert direct is None, "direct COPY is only chosen for binary-ready tables"
    lines = map("\t".join, zip(*_copy_columns(frame, spec), strict=True))
    return Payload([("\n".join(lines) + "\n" if len(frame) else "").encode()], False)


def write_payload(cur: psycopg.Cursor, spec: TableSpec, payload: Payload) -> None:
    """Send prepared COPY bytes into ``spec``'s staging table (or its target: direct COPY)."""
    if payload.direct:
        names = [*spec.all_columns, *(["run_id", "vintage"] if spec.provenance else [])]
        table = sql.Identifier(spec.table)
    else:
        names = [*spec.all_columns, "_feature_index"]
        table = stage_name(spec)
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    fmt = sql.SQL(" (FORMAT binary)") if payload.binary else sql.SQL("")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN{}").format(table, columns, fmt)
    with cur.copy(stmt) as copy:
        for part in payload.data:
            copy.write(memoryview(part))
