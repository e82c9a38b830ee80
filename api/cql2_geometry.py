"""CQL2 geometry literals (WKT, GeoJSON, BBOX) checked and turned into Lambert-93 SQL.

The rules, in the filter CRS (``filter-crs``, CRS84 by default):

- z is dropped: every stored geometry is 2D. A 6-number BBOX loses its two elevations.
- Coordinates lie in the CRS's range (CRS84: longitude -180..180, latitude -90..90, both ends
  valid; EPSG:4326 is latitude first), else a 400 names the first one outside.
- A geometry is a valid Simple Features geometry (rings closed and simple, holes inside their
  shell), else a 400 gives the reason and where. A BBOX whose west edge lies east of its east
  edge crosses the antimeridian (in degrees; refused in metres); one of zero width or height is
  the line or point it describes.
- The literal is clipped to Lambert-93's area of use before it is projected (a pole or the far
  side of the globe has no Lambert-93 coordinates) and densified, so edges follow the projected
  curve. That changes no answer, every stored geometry lying inside that area, except where the
  literal must be inside a stored geometry (the inner side of S_CONTAINS or S_WITHIN, either
  side of S_EQUALS): a literal reaching outside the area is then empty, which nothing stored
  contains or equals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from psycopg import sql

from api.collections import Collection
from api.cql2_ast import BBox, Geometry, Property, Spatial, describe, unsupported
from api.query import Binder
from db.errors import InvalidQuery
from geo.crs import LAMBERT93_AREA_LONLAT, Crs

# The names the geometry of every collection answers to (the standard's examples say geometry).
GEOMETRY_NAMES = ("geom", "geometry")
_SPATIAL_SQL = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_contains": "ST_Contains",
    "s_within": "ST_Within",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
    "s_equals": "ST_Equals",
}


def literal_shape(v: Geometry | BBox, crs: Crs) -> shapely.Geometry:
    """The literal as a checked 2D shapely geometry in x/y order (lon/lat in degrees)."""
    if isinstance(v, BBox):
        return _bbox_shape(v, crs)
    label = describe(v)
    shape = shapely.force_2d(v.shape)
    if shape.is_empty:
        raise InvalidQuery(f"filter: the {label} is empty")
    coords = shapely.get_coordinates(shape)
    if not np.isfinite(coords).all():
        raise InvalidQuery(f"filter: the {label} has a coordinate that is not a number")
    check_range(coords, crs, label)
    reason = shapely.is_valid_reason(shape)
    if reason != "Valid Geometry":
        raise InvalidQuery(
            f"filter: the {label} is invalid: {reason} (a Simple Features geometry: rings "
            "closed and not self-intersecting, holes inside their shell)"
        )
    if crs.lat_lon:
        shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
    return shape


def _bbox_shape(v: BBox, crs: Crs) -> shapely.Geometry:
    c = v.coords
    corners = (c[0], c[1], c[3], c[4]) if len(c) == 6 else c  # elevations dropped
    check_range(np.array([corners[:2], corners[2:]], dtype=float), crs, describe(v))
    x0, y0, x1, y1 = (corners[1], corners[0], corners[3], corners[2]) if crs.lat_lon else corners
    if y0 > y1 or (x0 > x1 and not crs.geographic):
        raise InvalidQuery(
            f"filter: {describe(v)}: the lower corner must come first (west, south, east, "
            "north in CRS84)"
        )
    if x0 > x1:  # in degrees: a box across the antimeridian, in two parts
        return shapely.union(_box(x0, y0, 180.0, y1), _box(-180.0, y0, x1, y1))
    return _box(x0, y0, x1, y1)


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    # A bbox of zero width or height is a line or a point, not an invalid polygon.
    return shapely.envelope(shapely.MultiPoint([(x0, y0), (x1, y1)]))


def check_range(coords: np.ndarray, crs: Crs, label: str) -> None:
    """Refuse coordinates (in ``crs``'s axis order) outside ``crs.bounds``."""
    lo0, lo1, hi0, hi1 = crs.bounds
    out = ~((coords[:, 0] >= lo0) & (coords[:, 0] <= hi0) & (coords[:, 1] >= lo1))
    out |= ~(coords[:, 1] <= hi1)
    if out.any():
        a, b = coords[out.argmax()]
        if crs.lat_lon:
            axes = "latitude -90..90, then longitude -180..180"
        elif crs.geographic:
            axes = "longitude -180..180, latitude -90..90"
        else:
            axes = f"x {lo0:g}..{hi0:g}, y {lo1:g}..{hi1:g}"
        raise InvalidQuery(
            f"filter: the coordinate ({a:g} {b:g}) of the {label} is outside the valid range of "
            f"{crs.uri} ({axes}); is it in another CRS? set filter-crs"
        )


def geometry_sql(v: Geometry | BBox, crs: Crs, binder: Binder, inner: bool) -> sql.Composable:
    """The literal as an EPSG:2154 geometry expression (``inner``: see the module docstring)."""
    wkb = binder.bind(shapely.to_wkb(literal_shape(v, crs)))
    if crs.srid == 2154:
        return sql.SQL("ST_GeomFromWKB({}, 2154)").format(wkb)
    lonlat = sql.SQL("ST_GeomFromWKB({}, {})").format(wkb, sql.Literal(crs.srid))
    if crs.srid != 4326:
        lonlat = sql.SQL("ST_Transform({}, 4326)").format(lonlat)
    area = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        *(sql.Literal(x) for x in LAMBERT93_AREA_LONLAT)
    )
    projected = sql.SQL("ST_Transform(ST_Segmentize(ST_Intersection({}, {}), 0.05), 2154)").format(
        lonlat, area
    )
    if not inner:
        return projected
    return sql.SQL(
        "CASE WHEN ST_CoveredBy({}, {}) THEN {} ELSE 'SRID=2154;POINT EMPTY'::geometry END"
    ).format(lonlat, area, projected)


def spatial_sql(
    node: Spatial, c: Collection, privileged: bool, binder: Binder, crs: Crs
) -> sql.Composable:
    """The SQL of a spatial function between the geometry property and a literal."""
    name = node.op.upper()
    sides = [_geometry_side(n, name, c, privileged) for n in (node.lhs, node.rhs)]
    if sides == [True, True]:
        raise unsupported(f"{name} of the geometry with itself", "property-property")
    if sides == [False, False]:
        raise unsupported(
            f"{name} of two literals; one side must be the geometry property",
            "property-property",
        )
    geom_first = sides[0]
    literal = node.rhs if geom_first else node.lhs
    # The literal is the contained side: clipping it could make a false answer true.
    inner = node.op == "s_equals" or node.op == ("s_contains" if geom_first else "s_within")
    lit_sql = geometry_sql(literal, crs, binder, inner)
    geom = sql.SQL(c.geom_expr)
    return sql.SQL("{}({}, {})").format(
        sql.SQL(_SPATIAL_SQL[node.op]), *((geom, lit_sql) if geom_first else (lit_sql, geom))
    )


def _geometry_side(n: Any, function: str, c: Collection, privileged: bool) -> bool:
    """True for the geometry property, False for a geometry literal, else a 400."""
    if isinstance(n, Property):
        if n.name in GEOMETRY_NAMES:
            return True
        p = c.prop(n.name)
        if p is None or not p.queryable or (p.restricted and not privileged):
            raise InvalidQuery(
                f"filter: unknown property {n.name!r}: the geometry of {c.id} is "
                "`geom` (or `geometry`)"
            )
        raise InvalidQuery(
            f"filter: {n.name} is a {p.type}, not a geometry; {function} compares "
            f"geometries (the geometry of {c.id} is `geom`)"
        )
    if isinstance(n, Geometry | BBox):
        return False
    raise InvalidQuery(f"filter: {function} compares geometries; {describe(n)} is not one")
