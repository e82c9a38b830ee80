"""Geometry hygiene for ingest: CRS checks, repair, promotion to Multi. Vectorised with shapely 2.

Every function works on numpy arrays of shapely geometries and returns, next to the result, one
reason per geometry that could not be used (``None`` when it is fine), so callers can quarantine
exactly those rows and keep the rest.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from geo.errors import CrsError
from geo.wkb import reproject_wkb_polygons, transform_xy
from geo.wkb import to_ewkb as wkb_to_ewkb

LAMBERT93 = CRS.from_epsg(2154)
WGS84 = CRS.from_epsg(4326)
# Square metres in a hectare: areas are measured in m² (EPSG:2154), shown in ha. The one value.
M2_PER_HA = 10_000.0

GeometryArray = npt.NDArray[np.object_]

_POLYGONAL = {"Polygon", "MultiPolygon"}
_POINT = {"Point"}
_POLYGON_ID, _MULTIPOLYGON_ID, _COLLECTION_ID = 3, 6, 7  # shapely.get_type_id codes
_NAN_WORD = re.compile(r"\bnan\b", re.IGNORECASE)  # how WKT writes a NaN coordinate


@dataclass
class Repaired:
    """Result of :func:`clean_polygons` / :func:`clean_points`.

    Attributes:
        geoms: the usable geometries (None where ``problems`` has a reason).
        repaired: True where the geometry had to be changed (made valid, parts dropped).
        problems: a reason per geometry that cannot be used, else None.
    """

    geoms: GeometryArray
    repaired: npt.NDArray[np.bool_]
    problems: npt.NDArray[np.object_]


def check_geographic_bounds(geoms: GeometryArray, crs: CRS, source: str) -> None:
    """Refuse projected numbers declared as longitude/latitude.

    Lambert-93 coordinates written in a GeoJSON (which declares WGS84) would otherwise be
    reprojected into nonsense far outside France.

    Raises:
        CrsError: naming the file and the offending extent, and how to fix it.
    """
    if not crs.is_geographic or len(geoms) == 0:
        return
    bounds = shapely.bounds(geoms)  # NaN for missing and empty geometries
    # A feature with an Infinity says nothing of the CRS: it is refused alone (clean_*).
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    if len(bounds):
        extent = (*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0))
        check_geographic_extent(extent, crs, source)


def check_geographic_extent(
    extent: tuple[float, float, float, float], crs: CRS, source: str
) -> None:
    """:func:`check_geographic_bounds` on an extent (xmin, ymin, xmax, ymax) already computed.

    The extent is of finite coordinates: one with NaN or Infinity (no coordinates) is not judged.

    Raises:
        CrsError: as :func:`check_geographic_bounds`.
    """
    xmin, ymin, xmax, ymax = extent
    if not crs.is_geographic or not np.isfinite(extent).all():
        return  # no coordinates, or non-finite ones (callers leave those out)
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        raise CrsError(
            f"{source}: coordinates up to ({xmax:.0f}, {ymax:.0f}) cannot be longitude/latitude "
            f"as the file declares ({crs.to_string()}); they look projected. "
            "Pass --crs with the real CRS (for Lambert-93: --crs EPSG:2154)."
        )


def _nonfinite(geoms: GeometryArray) -> npt.NDArray[np.object_]:
    """Per geometry: why its coordinates are unusable (NaN first, then Infinity), else None."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    problems = np.full(len(geoms), None, dtype=object)
    if len(coords):
        problems[index[~np.isfinite(coords).all(axis=1)]] = "infinite coordinates"
        problems[index[np.isnan(coords).any(axis=1)]] = "NaN coordinates"
    return problems


def _to_multipolygon(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL and not p.is_empty]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return None
    return shapely.MultiPolygon(polys)


def _short_rings(geoms: GeometryArray) -> npt.NDArray[np.bool_]:
    """Whether each geometry has a polygon ring of fewer than 4 points (``POLYGON((0 0, 1 1,
    0 0))``, which GEOS builds from an unclosed two-point ring)."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    short = np.zeros(len(geoms), dtype=bool)
    short[part_of[ring_of[shapely.get_num_coordinates(rings) < 4]]] = True
    return short


def clean_polygons(geoms: GeometryArray, repair: bool = True) -> Repaired:
    """Make polygons valid and promote them to MultiPolygon (any CRS; the shape is kept).

    Invalid geometries go through ``make_valid``; only their polygonal parts are kept.
    Missing, empty, NaN- or infinite-coordinate and non-polygonal geometries are reported as
    problems.
    With ``repair=False`` validity is not checked (invalid polygons are promoted as they
    are): the ingest leaves that to PostGIS, which repairs them in staging.

    Example:
        >>> bowtie = shapely.from_wkt("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))")
        >>> r = clean_polygons(np.array([bowtie], dtype=object))
        >>> r.geoms[0].geom_type, bool(r.repaired[0]), r.problems[0]
        ('MultiPolygon', True, None)
    """
    n = len(geoms)
    out = np.array(geoms, dtype=object, copy=True)
    problems = np.full(n, None, dtype=object)
    repaired = np.zeros(n, dtype=bool)

    missing = shapely.is_missing(out)
    problems[missing] = "missing geometry"
    present = ~missing
    empty = present & shapely.is_empty(out)
    problems[empty] = "empty geometry"
    nonfinite = _nonfinite(out)
    unfit = present & ~empty & (nonfinite != None)  # noqa: E711 - elementwise on an object array
    problems[unfit] = nonfinite[unfit]
    usable = present & ~empty & ~unfit

    type_ids = shapely.get_type_id(out)
    wrong = usable & ~np.isin(type_ids, [_POLYGON_ID, _MULTIPOLYGON_ID, _COLLECTION_ID])
    for i in np.flatnonzero(wrong):
        problems[i] = f"wrong geometry type: {out[i].geom_type} where a polygon is expected"
    usable &= ~wrong

    invalid = np.zeros(n, dtype=bool)
    if repair:
        invalid[usable] = ~shapely.is_valid(out[usable])
    else:
        # PostGIS refuses a ring of fewer than 4 points on input: COPY would fail the whole
        # file, so those few polygons are repaired here, not in staging.
        invalid[usable] = _short_rings(out[usable])
    if invalid.any():
        out[invalid] = shapely.make_valid(out[invalid])
        repaired |= invalid

    # Valid polygons (nearly every row) are promoted in one vectorised call; only repaired
    # geometries and collections need the part-by-part loop below.
    simple = usable & ~invalid & (type_ids == _POLYGON_ID)
    if simple.any():
        out[simple] = shapely.multipolygons(out[simple], indices=np.arange(int(simple.sum())))
    types = np.where(type_ids == _COLLECTION_ID, "GeometryCollection", "")
    for i in np.flatnonzero(usable & (type_ids == _COLLECTION_ID) | invalid):
        if problems[i] is not None:
            continue
        multi = _to_multipolygon(out[i])
        if multi is None or multi.area == 0:
            problems[i] = "unrepairable geometry: nothing polygonal left after make_valid"
            continue
        if types[i] == "GeometryCollection" and not invalid[i]:
            repaired[i] = True
        out[i] = multi
    out[problems != None] = None  # noqa: E711 - elementwise comparison on an object array
    repaired[problems != None] = False  # noqa: E711
    return Repaired(out, repaired, problems)


def _screen(
    geoms: GeometryArray, allow_missing: bool = False
) -> tuple[
    npt.NDArray[np.object_],
    npt.NDArray[np.object_],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
]:
    """What point and line checks share: a copy, its problems so far, and which rows to look at.

    Missing or empty geometries are a problem unless ``allow_missing``; non-finite coordinates
    always are. Returns ``(out, problems, repaired, missing, usable)``.
    """
    n = len(geoms)
    out = np.array(geoms, dtype=object, copy=True)
    problems = np.full(n, None, dtype=object)
    repaired = np.zeros(n, dtype=bool)
    missing = shapely.is_missing(out) | shapely.is_empty(out)
    if not allow_missing:
        problems[missing] = "missing geometry"
    nonfinite = _nonfinite(out)
    unfit = ~missing & (nonfinite != None)  # noqa: E711 - elementwise on an object array
    problems[unfit] = nonfinite[unfit]
    return out, problems, repaired, missing, ~missing & ~unfit


def clean_points(geoms: GeometryArray, allow_missing: bool = False) -> Repaired:
    """Check point geometries: a MultiPoint of one point becomes a Point, others are problems."""
    out, problems, repaired, missing, usable = _screen(geoms, allow_missing)
    for i in np.flatnonzero(usable):
        g = out[i]
        if g.geom_type == "Point":
            continue
        if g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            out[i] = g.geoms[0]
            repaired[i] = True
        else:
            problems[i] = f"wrong geometry type: {g.geom_type} where a point is expected"
    out[problems != None] = None  # noqa: E711
    out[missing] = None
    return Repaired(out, repaired, problems)


def clean_lines(geoms: GeometryArray) -> Repaired:
    """Check line geometries: a LineString becomes a one-part MultiLineString, others are problems.

    A line of zero length (its points all equal) is refused: no distance can be measured to it
    meaningfully and PostGIS would store a degenerate line.

    Example:
        >>> res = clean_lines(np.array([shapely.LineString([(0, 0), (1, 1)]), shapely.Point(0, 0),
        ...     shapely.LineString([(2, 2), (2, 2)])], dtype=object))
        >>> [g and g.geom_type for g in res.geoms], res.problems.tolist()[1:]
        (['MultiLineString', None, None], ['wrong geometry type: Point where a line is expected', \
'zero-length line'])
    """
    out, problems, repaired, _missing, usable = _screen(geoms)
    for i in np.flatnonzero(usable):
        g = out[i]
        if g.geom_type not in ("LineString", "MultiLineString"):
            problems[i] = f"wrong geometry type: {g.geom_type} where a line is expected"
        elif g.length == 0:
            problems[i] = "zero-length line"
        elif g.geom_type == "LineString":
            out[i] = shapely.MultiLineString([g])
    out[problems != None] = None  # noqa: E711
    return Repaired(out, repaired, problems)


def wkb_problems(wkb: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    r"""Why each WKB geometry that GEOS refused to build cannot be used (any CRS).

    A ring whose end points are NaN is "not closed" for GEOS (NaN != NaN): it gets the reason
    a NaN (or an Infinity) anywhere else gets from :func:`clean_polygons`. Anything else gets
    GEOS's message.

    Example:
        >>> import struct
        >>> head, nan = struct.pack("<BIII", 1, 3, 1, 4), struct.pack("<2d", float("nan"), 47.3)
        >>> ring = nan + struct.pack("<4d", 5.99, 47.3, 5.99, 47.31) + nan
        >>> wkb_problems(np.array([head + ring, b"\x01"], dtype=object)).tolist()
        ['NaN coordinates', 'unreadable geometry: ParseException: Unexpected EOF parsing WKB']
    """
    problems = reproject_wkb_polygons(np.asarray(wkb, dtype=object), None, LAMBERT93).problems
    for i in np.flatnonzero(problems == None):  # noqa: E711 - elementwise on an object array
        try:
            shapely.from_wkb(wkb[i])
        except shapely.errors.GEOSException as exc:
            problems[i] = f"unreadable geometry: {exc}"
        else:
            problems[i] = "unreadable geometry"
    return problems


def wkt_problem(wkt: str) -> str:
    """Why GEOS cannot build a geometry from WKT text, even with unclosed rings closed (any CRS).

    As in WKB (:func:`wkb_problems`), a ring whose end points are NaN is "not closed" for GEOS
    (NaN != NaN): when the text reads without its NaNs, the reason is the one a NaN anywhere
    else gets. Anything else gets GEOS's message.

    Example:
        >>> wkt_problem("POLYGON ((NaN 45, 4.8 45, 4.8 45.1, NaN 45))")
        'NaN coordinates'
        >>> wkt_problem("POLYGON ((1 2, 3")
        'unreadable WKT: ParseException: Expected number but encountered end of stream'
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "fix" warns where it cannot
        if (
            _NAN_WORD.search(wkt)
            and shapely.from_wkt(_NAN_WORD.sub("0", wkt), on_invalid="fix") is not None
        ):
            return "NaN coordinates"
    try:
        shapely.from_wkt(wkt)
    except shapely.errors.GEOSException as exc:
        return f"unreadable WKT: {exc}"
    return "unreadable WKT"


def reproject(geoms: GeometryArray, source: CRS, target: CRS = LAMBERT93) -> GeometryArray:
    """Transform geometries between CRSs, by :func:`geo.wkb.transform_xy` (the one reprojection)."""
    if source.equals(target):
        return geoms

    def move(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        transform_xy(x, y, source, target)
        return np.column_stack((x, y))

    out: GeometryArray = shapely.transform(geoms, move)
    return out


def to_ewkb(geoms: GeometryArray, srid: int = 2154) -> npt.NDArray[np.object_]:
    """Little-endian EWKB with ``srid`` per geometry (None stays None), as an object array.

    Encoded by :func:`geo.wkb.to_ewkb`, the one encoder.
    """
    return np.array([*wkb_to_ewkb(geoms, srid), None], dtype=object)[:-1]
