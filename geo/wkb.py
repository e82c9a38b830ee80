"""Polygons reprojected straight from their WKB bytes, written back as EWKB MultiPolygons.

The loader sends EWKB anyway, so decoding every polygon into a GEOS object, rebuilding it with
new coordinates and encoding it again is wasted work on a million-row file. Here the WKB
structure (little-endian 2D Polygon / MultiPolygon, the layout GDAL writes) is walked with
numpy, every coordinate pair is gathered into one array, transformed by pyproj in place and
scattered back; the header becomes a MultiPolygon's with SRID 2154. Anything else (big-endian,
Z/M, curves, other types, unclosed or short rings without NaN or Infinity) is left to the
caller's shapely path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer

_POLYGON, _MULTIPOLYGON = 3, 6
# Rings and parts walked per geometry at most; beyond, the shapely path is cheaper.
MAX_STEPS = 4096
_SRID_FLAG = 0x20000000
# A None that numpy's stubs accept as the other branch of np.where.
_NONE = np.array(None, dtype=object)


def to_ewkb(geoms: npt.ArrayLike, srid: int = 2154) -> list[bytes | None]:
    """Little-endian EWKB with ``srid`` per geometry (None stays None): the one EWKB encoder.

    The geometries carry no SRID (setting one would copy each): the SRID flag and value are
    spliced into the WKB header instead, a few bytes per row.

    Example:
        >>> to_ewkb([shapely.Point(1, 2)], 2154)[0].hex()[:18]
        '01010000206a080000'
    """
    tag = srid.to_bytes(4, "little")
    flag = _SRID_FLAG >> 24  # its bit in the 4th byte of a little-endian type
    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object), byte_order=1).tolist()
    return [None if w is None else w[:4] + bytes((w[4] | flag,)) + tag + w[5:] for w in wkb]


def ewkb_header(srid: int) -> tuple[bytes, bytes]:
    """EWKB prefixes of a MultiPolygon with ``srid``: for a Polygon body, for a MultiPolygon body.

    Both are followed by the source WKB minus its 5-byte header: a Polygon's body (ring count
    and rings) becomes the one part of a MultiPolygon, a MultiPolygon's body (part count and
    parts) stays as it is.
    """
    kind = (_MULTIPOLYGON | _SRID_FLAG).to_bytes(4, "little")
    multi = bytes((1,)) + kind + srid.to_bytes(4, "little")
    return multi + (1).to_bytes(4, "little") + bytes((1,)) + _POLYGON.to_bytes(4, "little"), multi


@dataclass
class WkbPolygons:
    """Result of :func:`reproject_wkb_polygons`.

    Attributes:
        ewkb: EWKB MultiPolygon (SRID set) per geometry, None where not handled here (an
            Arrow array, null there, when the input was Arrow).
        handled: True where ``ewkb`` is set or ``problem`` is (the others need the caller).
        problems: a reason per geometry that cannot be used, else None.
    """

    ewkb: npt.NDArray[np.object_] | pa.BinaryArray
    handled: npt.NDArray[np.bool_]
    problems: npt.NDArray[np.object_]


def _u32(view: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.asarray(view[offsets].copy().view("<u4").ravel())


def _walk(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rings of the geometries in ``ok``: (geometry, offset of first point, point count).

    Clears ``ok`` for geometries whose bytes are not a little-endian 2D Polygon/MultiPolygon
    that ends exactly where its record does.
    """
    size = len(buf)
    padded = np.concatenate([buf, np.zeros(9, dtype=np.uint8)])
    view4 = np.lib.stride_tricks.as_strided(padded, shape=(size + 5, 4), strides=(1, 1))
    ids = np.flatnonzero(ok)
    cursor = starts[ids].astype(np.int64)
    kind = _u32(view4, cursor + 1)
    simple = (padded[cursor] == 1) & np.isin(kind, (_POLYGON, _MULTIPOLYGON))
    simple &= ends[ids] - cursor >= 9
    ok[ids[~simple]] = False
    ids, cursor, kind = ids[simple], cursor[simple], kind[simple]
    multi = kind == _MULTIPOLYGON
    parts = np.where(multi, _u32(view4, cursor + 5), 1).astype(np.int64)
    cursor = np.where(multi, cursor + 9, cursor)
    rings = np.zeros(len(ids), dtype=np.int64)
    end = ends[ids]
    out_geom, out_first, out_count = [], [], []
    steps = 0
    while len(ids):
        steps += 1
        # A part starts: its header (little-endian Polygon) and its ring count.
        head = (rings == 0) & (parts > 0)
        if head.any():
            at = cursor[head]
            good = (at + 9 <= end[head]) & (padded[at] == 1) & (_u32(view4, at + 1) == _POLYGON)
            bad = np.flatnonzero(head)[~good]
            if len(bad):
                ok[ids[bad]] = False
            rings[head] = np.where(good, _u32(view4, at + 5), 0)
            parts[head] -= 1
            cursor[head] = at + 9
            rings[bad], parts[bad], cursor[bad] = 0, 0, end[bad]
        ring = rings > 0
        if ring.any():
            at = cursor[ring]
            fits = at + 4 <= end[ring]
            count = np.where(fits, _u32(view4, np.minimum(at, size)), 0).astype(np.int64)
            nxt = at + 4 + 16 * count
            fits &= nxt <= end[ring]
            bad = np.flatnonzero(ring)[~fits]
            if len(bad):
                ok[ids[bad]] = False
            keep = fits
            out_geom.append(ids[ring][keep])
            out_first.append(at[keep] + 4)
            out_count.append(count[keep])
            cursor[ring] = np.where(fits, nxt, end[ring])
            rings[ring] -= 1
            rings[bad], parts[bad] = 0, 0
        done = (rings == 0) & (parts == 0)
        if steps >= MAX_STEPS:
            done[:] = True
            ok[ids[(rings > 0) | (parts > 0)]] = False
        if done.any():
            # A record must end where its structure does (no trailing or missing bytes).
            ok[ids[done & (cursor != end)]] = False
            keep = ~done
            ids, cursor, end = ids[keep], cursor[keep], end[keep]
            rings, parts = rings[keep], parts[keep]
    if not out_geom:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(out_geom), np.concatenate(out_first), np.concatenate(out_count)


def reproject_wkb_polygons(
    wkb: npt.NDArray[np.object_] | pa.Array | pa.ChunkedArray,
    source: CRS | None,
    target: CRS,
    srid: int = 2154,
    check_extent: Callable[[tuple[float, float, float, float]], None] | None = None,
) -> WkbPolygons:
    """Reproject WKB polygons to ``target`` and write them as EWKB MultiPolygons with ``srid``.

    Missing geometries (None), empty ones and those with a NaN or infinite coordinate get their
    reason (as :func:`geo.geometry.clean_polygons` words it); geometries this reader does not
    handle (not bytes, big-endian, Z/M, other types, rings shorter than 4 points or not closed)
    are left unhandled for the shapely path, except those with a NaN or infinite coordinate,
    which GEOS cannot even read when the NaN is a ring's end point. Validity is not checked:
    the database does it.

    Args:
        wkb: WKB bytes (or anything else, left unhandled) per geometry; or an Arrow binary
            array (as GDAL's Arrow stream gives it), whose EWKB then comes back as Arrow too,
            without a Python object per row either way.
        source: the CRS of the coordinates (None or equal to ``target``: no transformation).
        target: the CRS to transform to.
        srid: the SRID written into the EWKB header.
        check_extent: called with (xmin, ymin, xmax, ymax) of the usable source coordinates
            (finite ones only) before they are transformed (to refuse projected numbers
            declared as degrees).

    Example:
        >>> import shapely
        >>> square = shapely.to_wkb(shapely.box(0, 0, 1, 1))
        >>> r = reproject_wkb_polygons(np.array([square, None], dtype=object), None, CRS(2154))
        >>> shapely.from_wkb(r.ewkb[0]).geom_type, r.problems[1]
        ('MultiPolygon', 'missing geometry')
    """
    n = len(wkb)
    arrow = isinstance(wkb, (pa.Array, pa.ChunkedArray))
    records, is_bytes = _records(wkb)
    missing = ~is_bytes if arrow else wkb == None  # noqa: E711 - elementwise on an object array
    problems = np.full(n, None, dtype=object)
    problems[missing] = "missing geometry"
    handled = missing.copy()
    if records is None:
        nothing = pa.nulls(n, pa.binary())
        return WkbPolygons(nothing if arrow else np.full(n, None, dtype=object), handled, problems)
    body = _Body.of(records)
    ok = is_bytes.copy()
    rings = _rings(body, ok)
    points = np.zeros(n, dtype=np.int64)
    np.add.at(points, rings.geom, rings.count)
    empty = ok & ~rings.odd & (points == 0)
    problems[empty] = "empty geometry"
    xy = _Points.of(body, rings)
    nonfinite = xy.nonfinite(n, ok & ~empty, problems)
    ok &= ~rings.odd | nonfinite
    if source is not None and check_extent is not None and xy.total:
        # Non-finite coordinates say nothing of the CRS: their features are refused alone.
        usable = (ok & ~nonfinite)[xy.owner] if nonfinite.any() or rings.odd.any() else None
        xy.check_extent(check_extent, usable)
    if source is not None and not source.equals(target) and xy.total:
        transform_xy(xy.x, xy.y, source, target)
        body.view16[xy.at] = np.column_stack((xy.x, xy.y)).view(np.uint8).reshape(-1, 16)
    good = ok & ~empty & ~nonfinite
    handled |= ok
    ewkb = body.ewkb(good, srid) if good.any() else pa.nulls(n, pa.binary())
    if arrow:
        return WkbPolygons(ewkb, handled, problems)
    return WkbPolygons(ewkb.to_numpy(zero_copy_only=False), handled, problems)


def _records(
    wkb: npt.NDArray[np.object_] | pa.Array | pa.ChunkedArray,
) -> tuple[pa.BinaryArray | None, npt.NDArray[np.bool_]]:
    """The geometries as one Arrow binary array (None: no bytes at all) and which are bytes."""
    if isinstance(wkb, (pa.Array, pa.ChunkedArray)):
        records = _binary(wkb)
        is_bytes = records.is_valid().to_numpy(zero_copy_only=False)
        return (records if is_bytes.any() else None), is_bytes
    is_bytes = np.fromiter((type(w) is bytes for w in wkb), dtype=bool, count=len(wkb))
    if not is_bytes.any():
        return None, is_bytes
    return pa.array(np.where(is_bytes, wkb, _NONE), type=pa.binary()), is_bytes


@dataclass
class _Body:
    """The WKB records' bytes (a writable copy) and where each record starts and ends."""

    buf: npt.NDArray[np.uint8]
    offsets: npt.NDArray[np.int64]
    view16: npt.NDArray[np.uint8]  # 16 bytes (one x, y point) from every offset

    @classmethod
    def of(cls, records: pa.BinaryArray) -> _Body:
        n = len(records)
        raw = np.frombuffer(records.buffers()[1], dtype=np.int32)
        offsets = raw[records.offset : records.offset + n + 1].astype(np.int64)
        data = records.buffers()[2]
        buf = np.frombuffer(data, np.uint8).copy() if data is not None else np.zeros(0, np.uint8)
        view16 = np.lib.stride_tricks.as_strided(
            buf, shape=(max(len(buf) - 15, 0), 16), strides=(1, 1), writeable=True
        )
        return cls(buf, offsets, view16)

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return self.offsets[:-1]

    @property
    def ends(self) -> npt.NDArray[np.int64]:
        return self.offsets[1:]

    def ewkb(self, good: npt.NDArray[np.bool_], srid: int) -> pa.BinaryArray:
        """The ``good`` records as EWKB MultiPolygons with ``srid`` (null elsewhere)."""
        buf, starts, ends = self.buf, self.starts, self.ends
        n = len(starts)
        # Offsets relative to the copied data buffer (a sliced input starts past zero).
        body = pa.Array.from_buffers(
            pa.binary(), n, [None, pa.py_buffer(self.offsets.astype(np.int32)), pa.py_buffer(buf)]
        )
        polygon_head, multi_head = ewkb_header(srid)
        kinds = buf[np.minimum(starts + 1, max(len(buf) - 1, 0))]
        # An explicit stop: pyarrow 26's open-ended binary_slice miscounts its buffer.
        longest = int((ends - starts)[good].max())
        body = pc.binary_slice(body, 5, longest)
        # A null header where the geometry is not good: the joined value is null there.
        # Object arrays: numpy's bytes dtype would drop the headers' trailing zero bytes.
        choice = np.array([multi_head, polygon_head, None], dtype=object)
        pick = np.where(good, (kinds == _POLYGON).astype(np.intp), 2)
        heads = pa.array(choice[pick], type=pa.binary())
        return pc.binary_join_element_wise(heads, body, b"")


@dataclass
class _Rings:
    """Every ring of the usable records: its geometry, first point's offset and point count.

    ``odd``: geometries with a ring GEOS would refuse to read (fewer than 4 points, not
    closed), left to the shapely path unless a NaN or Infinity explains them.
    """

    geom: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    odd: npt.NDArray[np.bool_]


def _rings(body: _Body, ok: npt.NDArray[np.bool_]) -> _Rings:
    """Walk the records' structure (clearing ``ok`` where it is not handled here)."""
    geom, first, count = _walk(body.buf, body.starts, body.ends, ok)
    # A ring whose end points are NaN is never "closed" for GEOS (NaN != NaN), so its reason
    # is found here, where the bytes are still readable.
    short = count < 4
    last = first + 16 * np.maximum(count - 1, 0)
    closed = np.ones(len(count), dtype=bool)
    sized = ~short
    if sized.any():
        closed[sized] = (body.view16[first[sized]] == body.view16[last[sized]]).all(axis=1)
    odd = np.zeros(len(ok), dtype=bool)
    odd[geom[short | ~closed]] = True
    keep = ok[geom]
    return _Rings(geom[keep], first[keep], count[keep], odd)


@dataclass
class _Points:
    """Every point of the rings, as contiguous x and y columns, with its offset and geometry."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    at: npt.NDArray[np.int64]  # offset of the point in the records' bytes
    owner: npt.NDArray[np.int64]  # its geometry

    @classmethod
    def of(cls, body: _Body, rings: _Rings) -> _Points:
        count = rings.count
        total = int(count.sum())
        ring_start = np.repeat(np.cumsum(count) - count, count)
        at = np.repeat(rings.first, count) + 16 * (np.arange(total, dtype=np.int64) - ring_start)
        xy = body.view16[at].copy().view("<f8") if total else np.zeros((0, 2))
        # Contiguous columns: reductions over (n, 2) along axis 0 are several times slower.
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        return cls(x, y, at, np.repeat(rings.geom, count))

    @property
    def total(self) -> int:
        return len(self.x)

    def nonfinite(
        self, n: int, usable: npt.NDArray[np.bool_], problems: npt.NDArray[np.object_]
    ) -> npt.NDArray[np.bool_]:
        """The ``usable`` geometries with a NaN or infinite coordinate, their reason set."""
        # NaN or ±Infinity in either coordinate: a non-finite sum (inf - inf is NaN), one pass.
        with np.errstate(invalid="ignore"):
            unfit = np.flatnonzero(~np.isfinite(self.x + self.y))
        nonfinite = np.zeros(n, dtype=bool)
        if len(unfit):
            nan = np.zeros(n, dtype=bool)
            nan[self.owner[unfit[np.isnan(self.x[unfit]) | np.isnan(self.y[unfit])]]] = True
            nonfinite[self.owner[unfit]] = True
            nonfinite &= usable
            problems[nonfinite] = "infinite coordinates"
            problems[nonfinite & nan] = "NaN coordinates"
        return nonfinite

    def check_extent(
        self,
        check: Callable[[tuple[float, float, float, float]], None],
        usable: npt.NDArray[np.bool_] | None,
    ) -> None:
        """Call ``check`` with the extent of the (``usable``: of those) points."""
        xs, ys = (self.x, self.y) if usable is None else (self.x[usable], self.y[usable])
        if len(xs):
            check((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))


def transform_xy(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], source: CRS, target: CRS
) -> None:
    """Transform coordinate columns from ``source`` to ``target`` in place: the one reprojection.

    Always x = easting/longitude, y = northing/latitude; the transformer is built once per CRS
    pair. Used on WKB coordinates here and on shapely geometries by
    :func:`geo.geometry.reproject`.

    Example:
        >>> x, y = np.array([2.35]), np.array([48.85])
        >>> transform_xy(x, y, CRS(4326), CRS(2154)); round(float(x[0])), round(float(y[0]))
        (652302, 6861303)
    """
    _transformer(source, target).transform(x, y, inplace=True)


def polygon_wkt(wkb: bytes) -> str | None:
    """WKT of a little-endian 2D Polygon or MultiPolygon, read without GEOS (any CRS).

    For the quarantine's raw record of a polygon GEOS refuses to build, such as a ring whose
    end points are NaN (never equal, so never "closed"): its coordinates are written as they
    are, ``NaN`` included. One geometry, in Python: only for the rare rows refused.

    Returns:
        The WKT, or None when the bytes are not such a polygon (truncated, other types, Z/M).

    Example:
        >>> ring = struct.pack("<4d", float("nan"), 47.3, 5.99, 47.3)
        >>> polygon_wkt(struct.pack("<BIII", 1, 3, 1, 2) + ring)
        'POLYGON ((NaN 47.3, 5.99 47.3))'
    """

    def number(v: float) -> str:
        if not np.isfinite(v):  # as GEOS writes them
            return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
        return np.format_float_positional(v, trim="-")

    def polygon(pos: int) -> tuple[str, int]:
        (rings,) = struct.unpack_from("<I", wkb, pos)
        pos += 4
        texts = []
        for _ in range(rings):
            (count,) = struct.unpack_from("<I", wkb, pos)
            xy = struct.unpack_from(f"<{2 * count}d", wkb, pos + 4)
            pos += 4 + 16 * count
            pairs = (f"{number(x)} {number(y)}" for x, y in zip(xy[::2], xy[1::2], strict=True))
            texts.append(f"({', '.join(pairs)})")
        return f"({', '.join(texts)})", pos

    try:
        if wkb[0] != 1:
            return None
        (kind,) = struct.unpack_from("<I", wkb, 1)
        if kind == _POLYGON:
            text, end = polygon(5)
            text = "POLYGON " + text
        elif kind == _MULTIPOLYGON:
            (parts,) = struct.unpack_from("<I", wkb, 5)
            end, texts = 9, []
            for _ in range(parts):
                if wkb[end] != 1 or struct.unpack_from("<I", wkb, end + 1)[0] != _POLYGON:
                    return None
                part, end = polygon(end + 5)
                texts.append(part)
            text = f"MULTIPOLYGON ({', '.join(texts)})"
        else:
            return None
    except (struct.error, IndexError):
        return None
    return text if end == len(wkb) else None


@lru_cache(maxsize=16)
def _transformer(source: CRS, target: CRS) -> Transformer:
    # Built once per CRS pair, not per batch (a few milliseconds each).
    return Transformer.from_crs(source, target, always_xy=True)


def _binary(values: pa.Array | pa.ChunkedArray) -> pa.BinaryArray:
    """One contiguous ``binary`` array (32-bit offsets) from GDAL's Arrow column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if values.type != pa.binary():
        values = values.cast(pa.binary())
    return values
