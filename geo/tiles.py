"""Web Mercator tiles over Lambert-93 data: a per-tile affine stand-in for the reprojection.

Within one tile at zoom 14 or more (2.4 km or less), the EPSG:2154 -> EPSG:3857 mapping is affine
to within half a unit of the 4096-unit MVT grid, which ``ST_AsMVTGeom`` rounds to anyway. One
``ST_Affine`` per row is about 20% cheaper than ``ST_Transform`` through PROJ on a z14 parcel tile
(1,200 parcels), so tiles at those zooms use it; lower zooms keep the exact transform.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer

# Half the side of the EPSG:3857 world square (metres): WebMercatorQuad's tile 0/0/0.
WEB_MERCATOR_HALF_M = 20_037_508.342789244
# From this zoom the affine error stays under half an MVT grid unit (measured with pyproj over
# metropolitan France, 64-unit buffer included: 0.42 unit at z14, 0.84 at z13, 1.7 at z12).
AFFINE_MIN_ZOOM = 14


@lru_cache(maxsize=1)
def _to_lambert93() -> Transformer:
    return Transformer.from_crs(3857, 2154, always_xy=True)


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WebMercatorQuad tile ``z/x/y`` (row ``y`` counted from the north) in EPSG:3857 metres.

    Example:
        >>> tile_bounds_3857(0, 0, 0)[0] == -WEB_MERCATOR_HALF_M
        True
    """
    side = 2 * WEB_MERCATOR_HALF_M / 2**z
    xmin = -WEB_MERCATOR_HALF_M + x * side
    ymax = WEB_MERCATOR_HALF_M - y * side
    return (xmin, ymax - side, xmin + side, ymax)


def lambert93_to_3857_affine(
    z: int, x: int, y: int
) -> tuple[float, float, float, float, float, float]:
    """Coefficients ``(a, b, d, e, xoff, yoff)`` of ``ST_Affine`` taking EPSG:2154 coordinates
    to EPSG:3857 inside tile ``z/x/y``: ``X = a x + b y + xoff``, ``Y = d x + e y + yoff``.

    The map is exact at the tile centre and at the middles of its east and north edges (fitting
    at the centre halves the worst error of a fit at the corners); use it from
    :data:`AFFINE_MIN_ZOOM` on.
    """
    xmin, ymin, xmax, ymax = tile_bounds_3857(z, x, y)
    cx, cy, half = (xmin + xmax) / 2, (ymin + ymax) / 2, (xmax - xmin) / 2
    (x0, xe, xn), (y0, ye, yn) = _to_lambert93().transform([cx, cx + half, cx], [cy, cy, cy + half])
    ux, uy, vx, vy = xe - x0, ye - y0, xn - x0, yn - y0
    # [a b; d e] = diag(half, half) . inverse([ux vx; uy vy])
    f = half / (ux * vy - vx * uy)
    a, b, d, e = f * vy, -f * vx, -f * uy, f * ux
    return (a, b, d, e, cx - (a * x0 + b * y0), cy - (d * x0 + e * y0))
