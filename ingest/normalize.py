"""Turn a layer's prepared frame into rows ready for COPY: types, keys, geometries, problems.

A layer module maps the publisher's columns to ours (strings in, as read); this module then
coerces types, repairs geometries and records one reason per row that cannot be loaded. Rows
with a reason are quarantined by the loader; the others are loaded. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import CRS

from geo.errors import CrsError
from geo.geometry import (
    LAMBERT93,
    Repaired,
    check_geographic_bounds,
    check_geographic_extent,
    clean_lines,
    clean_points,
    clean_polygons,
    reproject,
    to_ewkb,
    wkb_problems,
)
from geo.wkb import reproject_wkb_polygons
from ingest.errors import SourceError
from ingest.jsonb import NUL, number_token
from ingest.read import GEOMETRY_PROBLEM, UNREADABLE_GEOMETRY

SqlType = Literal["text", "integer", "smallint", "double precision", "boolean", "text[]", "jsonb"]
GeometryType = Literal["MULTIPOLYGON", "POINT", "MULTILINESTRING"]


@dataclass(frozen=True)
class TableSpec:
    """How one target table is loaded.

    Attributes:
        table: target table (a name from db.models).
        key: natural key columns (conflict target of the merge).
        columns: non-geometry columns and their SQL types, in COPY order.
        geometries: geometry columns (EPSG:2154) and their types.
        required: columns that must not be null (the key always is).
        scope: column whose values, as found in the file, bound the rows a load may delete
            (``insee`` for parcels: loading one commune leaves the others alone); None means
            the file is the whole table.
        delete_missing: whether rows absent from the file are deleted (False: upsert only).
        update_only: the file only updates columns of existing rows (a membership table);
            rows whose key is not in the target are quarantined.
        optional_geometries: geometry columns that may be null (a site's perimeter).
        provenance: whether the table has run_id/vintage columns.
        post_stage_sql: SQL run on the staging table (``{stage}``) before validation.
        checks: extra SQL checks on staging rows, each a pair (condition on the staging row
            ``s``, SQL text expression giving the reason); static SQL written by the layer,
            never values. A row meeting a condition is quarantined with its reason.
        post_merge_sql: SQL run after the merge, in the same transaction (derived columns
            such as ``parcel.built``); ``{stage}`` is the staging table.
        notes: what the load did beyond its counts, for the summary and ``ingest_run.message``:
            pairs (SQL giving one number, run after ``post_merge_sql``; label with ``{n}``),
            e.g. how many rows were remapped. A note whose number is 0 is left out.
    """

    table: str
    key: tuple[str, ...]
    columns: dict[str, SqlType]
    geometries: dict[str, GeometryType] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    scope: str | None = None
    delete_missing: bool = True
    update_only: bool = False
    optional_geometries: tuple[str, ...] = ()
    provenance: bool = True
    post_stage_sql: str | None = None
    checks: tuple[tuple[str, str], ...] = ()
    post_merge_sql: str | None = None
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def all_columns(self) -> list[str]:
        """The plain columns, then the geometry columns: the order rows are COPYed in."""
        return [*self.columns, *self.geometries]


@dataclass
class TableLoad:
    """The rows for one table from one file, with a problem (or None) per row."""

    spec: TableSpec
    frame: pd.DataFrame  # spec columns + geometry columns (shapely, 2154) + _feature_index
    problems: np.ndarray  # object array: reason or None
    raw: pd.DataFrame  # the source records, aligned with frame, for the quarantine
    repaired: int = 0
    repaired_rows: np.ndarray | None = None  # bool per row: geometry repaired
    # The edition the file itself gives for these rows (latest Etalab `updated` date, the
    # EDIGEO sheet's date): without --vintage, a run's rows get the latest over the file.
    vintage: str | None = None

    @property
    def ok(self) -> np.ndarray:
        """True per row that has no problem (the rows to load)."""
        ok: np.ndarray = self.problems == None  # noqa: E711 - elementwise on an object array
        return ok


GEOMETRY_BATCH_ROWS = 100_000

_INT_RE = re.compile(r"^[+-]?\d+$")


def add_problem(problems: np.ndarray, mask: np.ndarray, reason: str | np.ndarray) -> None:
    """Record ``reason`` for rows in ``mask`` that have no problem yet (the first one wins)."""
    target = mask & (problems == None)  # noqa: E711
    if isinstance(reason, np.ndarray):
        problems[target] = reason[target]
    else:
        problems[target] = reason


def _blank(series: pd.Series) -> np.ndarray:
    blank: np.ndarray
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        blank = series.isna().to_numpy()
    else:
        blank = (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()
    return blank


def _stripped_text(series: pd.Series) -> pd.Series | None:
    """Strings stripped, blank as NA, when every value is a string or missing (else None).

    One pass in plain Python over the values: several times faster than pandas' string
    methods on a million rows, with the same result.
    """
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        # Arrow-backed strings (read in batches): Arrow's own kernels, no Python loop.
        text = series.astype("string").str.strip()
        return text.mask(text == "")
    values = series.to_numpy(dtype=object, na_value=None)
    out: list[object] = []
    for v in values:
        if v is None:
            out.append(None)
        elif type(v) is str:
            v = v.strip()
            out.append(v if v else None)
        else:
            return None
    return pd.Series(pd.array(out, dtype="string"), index=series.index)


def _refuse_nul(text: pd.Series, col: str, problems: np.ndarray) -> None:
    """Refuse the rows whose ``col`` text holds a NUL character (U+0000): PostgreSQL's text
    cannot store one, and COPY would fail the whole file on it.

    One Arrow substring search over the column (the text is Arrow-backed), no Python step
    per row; the message is the same for every such row, so none is built per row either.
    """
    nul = text.str.contains(NUL, regex=False).to_numpy(dtype=bool, na_value=False)
    if nul.any():
        add_problem(problems, nul, f"{col} contains a NUL character (U+0000)")


_NAN_SPELLINGS = frozenset(("nan", "+nan", "-nan"))


# The largest magnitude PostgreSQL's integer types hold (a symmetric bound, the messages say so).
_INTEGER_MAX = {"integer": 2**31 - 1, "smallint": 2**15 - 1}


def _wrong_numbers(
    cells: pd.Series, values: np.ndarray, bad: np.ndarray, col: str, kind: str
) -> np.ndarray:
    """Why each ``bad`` cell of a number column is refused (None elsewhere).

    Text is quoted as the file wrote it; a number read as one is shown as a number, non-finite
    ones with the file's token (``Infinity``). A message is built for the bad rows only.
    """
    reasons = np.full(len(cells), None, dtype=object)
    for pos in np.flatnonzero(bad):
        cell = cells.iat[pos]
        if isinstance(cell, str):
            shown = repr(cell)
            # NaN spelt out: the reader keeps GeoJSON's NaN token as this text (see ingest.read).
            finite = cell.strip().lower() not in _NAN_SPELLINGS and not np.isinf(values[pos])
        elif isinstance(cell, (int, float, np.number)):
            shown, finite = str(number_token(float(cell))), bool(np.isfinite(cell))
        else:
            shown, finite = repr(str(cell)), True
        reasons[pos] = f"wrong type: {col} = {shown} is not {kind if finite else 'a finite number'}"
    return reasons


# How files write booleans, in English and French (compared stripped and lower-cased).
_BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "t", "1", "oui", "yes", "vrai"), True),
    **dict.fromkeys(("false", "f", "0", "non", "no", "faux"), False),
}


def coerce(frame: pd.DataFrame, spec: TableSpec, problems: np.ndarray) -> pd.DataFrame:
    """Coerce each column to its SQL type; a value that does not fit is a row problem.

    Numbers accept a French decimal comma; Infinity and NaN are refused ("not a finite
    number"). Text is stripped; blank text becomes null; text holding a NUL character is
    refused ("nom contains a NUL character (U+0000)").
    """
    out = pd.DataFrame(index=frame.index)
    for col, sql_type in spec.columns.items():
        if col not in frame:
            out[col] = None
            continue
        s = frame[col]
        if sql_type == "text" and (text := _stripped_text(s)) is not None:
            _refuse_nul(text, col, problems)
            out[col] = text
            continue
        blank = _blank(s)
        if sql_type in ("integer", "smallint", "double precision"):
            if pd.api.types.is_numeric_dtype(s):
                num = s.astype("float64")
            else:
                num = pd.to_numeric(
                    s.astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce"
                )
            values = num.to_numpy(dtype="float64", na_value=np.nan)
            # Infinity (a GeoJSON token, a CSV's "inf") is a float too: PostgreSQL would take it.
            bad = ~np.isfinite(values) & ~blank
            wide = np.zeros(len(values), dtype=bool)
            if sql_type != "double precision":
                with np.errstate(invalid="ignore"):  # inf % 1 is NaN: those rows are bad already
                    bad |= values % 1 != 0
                    # Past the column's range an integer would wrap in binary COPY (silently).
                    wide = (np.abs(values) > _INTEGER_MAX[sql_type]) & ~bad & ~blank
                bad &= ~blank
            if bad.any():
                kind = "a number" if sql_type == "double precision" else "an integer"
                add_problem(problems, bad, _wrong_numbers(s, values, bad, col, kind))
            if wide.any():
                kind = f"an integer of at most {_INTEGER_MAX[sql_type]:,} in absolute value"
                add_problem(problems, wide, _wrong_numbers(s, values, wide, col, kind))
                bad |= wide
            num[bad] = np.nan
            if sql_type == "double precision":
                out[col] = num
            else:
                out[col] = num.astype("Int64")
        elif sql_type == "boolean":
            if pd.api.types.is_bool_dtype(s):
                out[col] = s
            else:
                low = s.astype(str).str.strip().str.lower()
                mapped = low.map(_BOOLEAN_WORDS)
                bad = mapped.isna().to_numpy() & ~blank
                add_problem(problems, bad, f"wrong type: {col} is not a boolean")
                out[col] = mapped.astype("boolean")
        elif sql_type in ("text[]", "jsonb"):
            out[col] = s
        else:
            text = s.astype("string").str.strip()
            text[blank] = pd.NA
            _refuse_nul(text, col, problems)
            out[col] = text
    for col in spec.required + spec.key:
        if col in spec.columns:
            missing = out[col].isna().to_numpy()
            add_problem(problems, missing, f"missing {col}")
    return out


def mark_duplicate_keys(frame: pd.DataFrame, spec: TableSpec, problems: np.ndarray) -> None:
    """Quarantine every repeat of a key already seen earlier in the file (the first is kept)."""
    ok = problems == None  # noqa: E711
    key = list(spec.key)
    sub = frame.loc[ok, [*key, "_feature_index"]]
    dup = sub.duplicated(subset=key, keep="first").to_numpy()
    if not dup.any():
        return
    first = sub.groupby(key, sort=False, dropna=False)["_feature_index"].transform("first")
    for pos, first_index in zip(np.flatnonzero(ok)[dup], first.to_numpy()[dup], strict=True):
        label = "/".join(str(frame.at[pos, c]) for c in key)
        problems[pos] = f"duplicate key {label}: already at feature {int(first_index)}"


# Two SipHash keys (16 bytes each): a file key is known by both of its 64-bit hashes.
_HASH_KEYS = ("foncier:seen-k1.", "foncier:seen-k2.")


class SeenKeys:
    """The keys the earlier batches of a file loaded, with the feature index of each.

    Kept as two 64-bit hashes of the key (sorted) and the index: 24 bytes a key, where a
    dict of the key strings took about 170 (1M parcels: 24 MB instead of 170 MB, for the
    whole load). Two keys are the same when both hashes are: a false match has a chance
    of about 1e-27 in a million-row file.
    """

    def __init__(self) -> None:
        self.h1 = np.empty(0, dtype=np.uint64)
        self.h2 = np.empty(0, dtype=np.uint64)
        self.first = np.empty(0, dtype=np.int64)

    @staticmethod
    def hashes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two hashes of each key (an object array of str)."""
        return tuple(pd.util.hash_array(labels, hash_key=k, categorize=False) for k in _HASH_KEYS)

    def earlier(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Per key, the feature index where an earlier batch had it, else -1."""
        out = np.full(len(h1), -1, dtype=np.int64)
        if not len(self.h1) or not len(h1):
            return out
        pos = np.searchsorted(self.h1, h1)
        near = self.h1[np.minimum(pos, len(self.h1) - 1)] == h1
        for i in np.flatnonzero(near).tolist():  # repeats (and first-hash twins) only
            j = int(pos[i])
            while j < len(self.h1) and self.h1[j] == h1[i]:
                if self.h2[j] == h2[i]:
                    out[i] = self.first[j]
                    break
                j += 1
        return out

    def add(self, h1: np.ndarray, h2: np.ndarray, first: np.ndarray) -> None:
        """Take in keys not seen before (their hashes and feature indexes)."""
        order = np.argsort(h1, kind="stable")
        h1, h2, first = h1[order], h2[order], first[order]
        pos = np.searchsorted(self.h1, h1)
        self.h1 = np.insert(self.h1, pos, h1)
        self.h2 = np.insert(self.h2, pos, h2)
        self.first = np.insert(self.first, pos, first)


def mark_repeated_keys(load: TableLoad, seen: SeenKeys) -> None:
    """Quarantine rows of ``load`` whose key an earlier batch of the same file already had.

    ``seen`` holds each key loaded so far (``/``-joined) with its first feature index; this
    batch's own first occurrences are added to it. Within a batch :func:`finish` has already
    marked the repeats, so only keys from earlier batches are looked up here.
    """
    ok = np.flatnonzero(load.ok)
    if not len(ok):
        return
    key = list(load.spec.key)
    # Arrow's cast to text then one array of str: numpy's fixed-width unicode (astype(str))
    # costs more than the hashing below.
    parts = [load.frame[k].astype("string").to_numpy(dtype=object, na_value="")[ok] for k in key]
    labels = (
        parts[0]
        if len(parts) == 1
        else np.array(["/".join(map(str, p)) for p in zip(*parts, strict=True)], dtype=object)
    )
    h1, h2 = seen.hashes(labels)
    first = load.frame["_feature_index"].to_numpy()[ok].astype(np.int64)
    earlier = seen.earlier(h1, h2)
    hit = earlier >= 0
    new = ~hit
    seen.add(h1[new], h2[new], first[new])
    for pos, label, at in zip(ok[hit].tolist(), labels[hit], earlier[hit].tolist(), strict=True):
        load.problems[pos] = f"duplicate key {label}: already at feature {at}"
        if load.repaired_rows is not None and load.repaired_rows[pos]:
            load.repaired -= 1


def to_lambert93(geoms: np.ndarray, crs: CRS | None, source: str) -> np.ndarray:
    """Check and reproject geometries from the file's CRS to EPSG:2154."""
    if crs is None:
        return geoms
    try:
        check_geographic_bounds(geoms, crs, source)
    except CrsError as exc:
        raise SourceError(str(exc)) from exc
    return reproject(geoms, crs, LAMBERT93)


def polygons_ewkb(
    values: np.ndarray | pa.Array | pa.ChunkedArray, crs: CRS | None, source: str
) -> Repaired:
    """Polygons (WKB bytes or shapely objects) as EWKB MultiPolygons in EPSG:2154.

    WKB is reprojected straight from its bytes (:mod:`geo.wkb`); shapely objects are encoded
    first. What that reader does not handle (collections, other types, Z/M, odd rings) takes
    the shapely path. Validity is not checked here: invalid polygons are repaired in SQL in
    staging (:func:`ingest.staging.repair_in_sql`), where PostGIS looks at every row anyway.
    An Arrow binary array of WKB (a file read in batches) gives an Arrow array of EWKB when
    every geometry takes the WKB path, so no Python object is made per row.

    Raises:
        SourceError: projected coordinates in a file that declares degrees.
    """
    arrow = isinstance(values, (pa.Array, pa.ChunkedArray))
    if arrow:
        wkb: np.ndarray | pa.Array | pa.ChunkedArray = values
    else:
        values = np.asarray(values, dtype=object)
        shapes = shapely.is_geometry(values)
        wkb = values.copy()
        if shapes.any():
            wkb[shapes] = shapely.to_wkb(values[shapes], byte_order=1)

    def extent(bounds: tuple[float, float, float, float]) -> None:
        if crs is not None:
            check_geographic_extent(bounds, crs, source)

    try:
        res = reproject_wkb_polygons(wkb, crs, LAMBERT93, check_extent=extent)
    except CrsError as exc:
        raise SourceError(str(exc)) from exc
    repaired = np.zeros(len(values), dtype=bool)
    rest = np.flatnonzero(~res.handled)
    if not len(rest):
        return Repaired(res.ewkb, repaired, res.problems)
    if arrow:  # rare (odd rings, Z, collections): the shapely path works on objects
        values = objects(values)
        shapes = np.zeros(len(values), dtype=bool)
        res.ewkb = objects(res.ewkb)
    others = values[rest].copy()
    raw = ~shapes[rest]
    others[raw] = shapely.from_wkb(others[raw], on_invalid="fix")
    cleaned = clean_polygons(to_lambert93(others, crs, source), repair=False)
    # Bytes GEOS could not build, even with unclosed rings closed: why, not "missing geometry".
    lost = raw & shapely.is_missing(others) & (values[rest] != None)  # noqa: E711
    if lost.any():
        cleaned.problems[lost] = wkb_problems(values[rest][lost])
    res.ewkb[rest] = to_ewkb(cleaned.geoms)
    res.problems[rest] = cleaned.problems
    repaired[rest] = cleaned.repaired
    return Repaired(res.ewkb, repaired, res.problems)


def finish(
    spec: TableSpec,
    frame: pd.DataFrame,
    raw: pd.DataFrame,
    crs: CRS | None,
    source: str,
    problems: np.ndarray | None = None,
) -> TableLoad:
    """Coerce, repair and check a layer's mapped frame; return what the loader needs.

    Args:
        spec: the target table.
        frame: mapped columns (strings as read) plus shapely geometries in the file's CRS for
            each of ``spec.geometries``, and ``_feature_index``.
        raw: the source records aligned with ``frame`` (for the quarantine).
        crs: the CRS of the geometries in ``frame`` (None if already EPSG:2154).
        source: the file name, for error messages.
        problems: reasons already found by the layer (or None).
    """
    frame = frame.reset_index(drop=True)
    raw = raw.reset_index(drop=True)
    # A file only writes the columns it has: a reload never blanks what another file provided.
    absent = [c for c in spec.columns if c not in frame and c not in spec.key]
    if absent:
        spec = replace(spec, columns={c: t for c, t in spec.columns.items() if c not in absent})
    if problems is None:
        problems = np.full(len(frame), None, dtype=object)
    raw = _unreadable_geometries(raw, problems)
    out = coerce(frame, spec, problems)
    out["_feature_index"] = frame["_feature_index"].to_numpy()
    repaired = np.zeros(len(frame), dtype=bool)
    for col, gtype in spec.geometries.items():
        arrow = col in frame and isinstance(frame[col].dtype, pd.ArrowDtype)
        if arrow:  # WKB read in batches, kept in Arrow (see polygons_ewkb)
            geoms: np.ndarray | pa.ChunkedArray = arrow_column(frame[col])
        elif col in frame:
            geoms = np.asarray(frame[col].to_numpy(), dtype=object)
        else:
            geoms = np.full(len(frame), None, dtype=object)
        optional = col in spec.optional_geometries
        parts: list[np.ndarray | pa.Array] = []
        # In batches: the reprojected and repaired copies then live for one batch only, which
        # keeps a million-row load within memory.
        for start in range(0, len(geoms), GEOMETRY_BATCH_ROWS):
            part = slice(start, start + GEOMETRY_BATCH_ROWS)
            if isinstance(geoms, np.ndarray):
                batch = geoms[part]
            else:
                batch = geoms.slice(start, GEOMETRY_BATCH_ROWS)
            if gtype == "MULTIPOLYGON":
                res = polygons_ewkb(batch, crs, source)
                if optional:
                    res.problems[res.problems == "missing geometry"] = None
            else:
                values = batch if isinstance(batch, np.ndarray) else objects(batch)
                values = to_lambert93(values, crs, source)
                if gtype == "MULTILINESTRING":
                    res = clean_lines(values)
                else:
                    res = clean_points(values, allow_missing=optional)
            add_problem(problems[part], res.problems != None, res.problems)  # noqa: E711
            repaired[part] |= res.repaired
            # Polygons come out as EWKB bytes (SRID 2154); points as shapely objects without
            # SRID (setting it copies every geometry): the loader writes their EWKB.
            parts.append(res.geoms)
        out[col] = _geometry_column(parts, len(frame), out.index)
    mark_duplicate_keys(out, spec, problems)
    ok = problems == None  # noqa: E711
    return TableLoad(spec, out, problems, raw, int((repaired & ok).sum()), repaired)


def _unreadable_geometries(raw: pd.DataFrame, problems: np.ndarray) -> pd.DataFrame:
    """Refuse the rows whose geometry could not be built when the file was read whole.

    Their reason (``NaN coordinates`` for a ring whose end points are NaN, GEOS's message for
    a CSV's unreadable WKT...) replaces any the layer found: it is the first cause, and the
    layer saw no geometry at all. The geometry as the file gave it (WKB, WKT text) goes back
    into the raw record's ``geometry`` so the quarantine keeps it (see
    :data:`ingest.read.UNREADABLE_GEOMETRY`).
    """
    if GEOMETRY_PROBLEM not in raw:
        return raw
    reasons = raw[GEOMETRY_PROBLEM].to_numpy(dtype=object)
    lost = raw[GEOMETRY_PROBLEM].notna().to_numpy()
    given = raw[UNREADABLE_GEOMETRY].to_numpy(dtype=object)
    kept = raw[UNREADABLE_GEOMETRY].notna().to_numpy()
    # A plain frame: its geometry column may then hold bytes or text.
    raw = pd.DataFrame(raw.drop(columns=[GEOMETRY_PROBLEM, UNREADABLE_GEOMETRY]))
    problems[lost] = reasons[lost]
    if kept.any() and "geometry" in raw:
        values = raw["geometry"].to_numpy(dtype=object).copy()
        values[kept] = given[kept]
        raw["geometry"] = values
    return raw


def arrow_column(series: pd.Series) -> pa.ChunkedArray:
    """The Arrow data behind an Arrow-backed column (no copy)."""
    values = pa.array(series.array)  # through __arrow_array__
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def objects(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow column as an object array (bytes, None for null)."""
    return np.array([*values.to_pylist()], dtype=object)


def _geometry_column(
    parts: list[np.ndarray | pa.Array], rows: int, index: pd.Index
) -> pd.Series | np.ndarray:
    """One geometry column from its batches: Arrow-backed if every batch stayed in Arrow."""
    if parts and all(isinstance(p, pa.Array) for p in parts):
        column = pa.chunked_array(parts, type=pa.binary())
        return pd.Series(pd.arrays.ArrowExtensionArray(column), index=index)
    cleaned = np.empty(rows, dtype=object)
    start = 0
    for p in parts:
        values = objects(p) if isinstance(p, pa.Array) else p
        cleaned[start : start + len(values)] = values
        start += len(values)
    return cleaned


def pick(frame: pd.DataFrame, *names: str, source: str, required: bool = True) -> pd.Series:
    """The first of ``names`` present in ``frame`` (case-insensitive), as a Series.

    Raises:
        LayoutError: none is present and ``required``; the message lists what was expected.
    """
    from ingest.errors import LayoutError

    lower = {str(c).lower(): c for c in frame.columns}
    for name in names:
        if name.lower() in lower:
            return frame[lower[name.lower()]]
    if required:
        raise LayoutError(
            f"{source}: no column {' / '.join(names)}; columns are: "
            f"{', '.join(str(c) for c in frame.columns if not str(c).startswith('_'))}"
        )
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def has_columns(frame: pd.DataFrame, *names: str) -> bool:
    """Whether every one of ``names`` is a column of ``frame`` (case-insensitive)."""
    lower = {str(c).lower() for c in frame.columns}
    return all(n.lower() in lower for n in names)


def code(series: pd.Series, width: int) -> pd.Series:
    """Official codes as text, left-padded with zeros where a spreadsheet dropped them.

    Example:
        >>> code(pd.Series(["1001", 2004, "2A004", None]), 5).tolist()
        ['01001', '02004', '2A004', None]
    """

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        text = str(v).strip()
        if text.endswith(".0") and text[:-2].isdigit():
            text = text[:-2]
        if not text:
            return None
        return text.zfill(width) if text.isdigit() else text

    # Codes repeat (a million parcels, a few hundred communes): convert each distinct one once.
    index, uniques = pd.factorize(series, use_na_sentinel=True)
    converted = np.array([one(u) for u in uniques] + [None], dtype=object)
    return pd.Series(converted[index], index=series.index, name=series.name, dtype=object)
