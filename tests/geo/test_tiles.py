"""The per-tile affine stand-in for EPSG:2154 -> 3857 (pure: pyproj only, no database)."""

from __future__ import annotations

import morecantile
import numpy as np
import pytest
from pyproj import Transformer

from geo.tiles import AFFINE_MIN_ZOOM, lambert93_to_3857_affine, tile_bounds_3857

TMS = morecantile.tms.get("WebMercatorQuad")
TO_2154 = Transformer.from_crs(3857, 2154, always_xy=True)
# Brest, Strasbourg, Dunkerque, Ajaccio, Biarritz, Morangis.
PLACES = [
    (-4.49, 48.39),
    (7.75, 48.58),
    (2.38, 51.03),
    (8.74, 41.93),
    (-1.56, 43.48),
    (2.33, 48.70),
]


def _worst_error_units(lon: float, lat: float, z: int) -> float:
    """The worst distance (MVT units of 4096 per tile) between the affine and the true mapping,
    over a grid covering the tile and its 64-unit buffer."""
    t = TMS.tile(lon, lat, z)
    xmin, ymin, xmax, ymax = tile_bounds_3857(z, t.x, t.y)
    side = xmax - xmin
    margin = side * 64 / 4096
    gx, gy = np.meshgrid(
        np.linspace(xmin - margin, xmax + margin, 33), np.linspace(ymin - margin, ymax + margin, 33)
    )
    lx, ly = TO_2154.transform(gx.ravel(), gy.ravel())
    a, b, d, e, xoff, yoff = lambert93_to_3857_affine(z, t.x, t.y)
    back_x = a * np.asarray(lx) + b * np.asarray(ly) + xoff
    back_y = d * np.asarray(lx) + e * np.asarray(ly) + yoff
    return float(np.hypot(back_x - gx.ravel(), back_y - gy.ravel()).max() / side * 4096)


def test_tile_bounds_match_morecantile() -> None:
    t = TMS.tile(2.33, 48.70, 14)
    expected = TMS.xy_bounds(t)
    assert tile_bounds_3857(14, t.x, t.y) == pytest.approx(
        (expected.left, expected.bottom, expected.right, expected.top), abs=1e-6
    )


@pytest.mark.parametrize("lonlat", PLACES)
def test_affine_within_half_a_grid_unit_from_the_min_zoom(lonlat: tuple[float, float]) -> None:
    for z in (AFFINE_MIN_ZOOM, AFFINE_MIN_ZOOM + 2, 20):
        assert _worst_error_units(*lonlat, z) < 0.5
    # One zoom lower it no longer is: the threshold is where it should be.
    assert _worst_error_units(*lonlat, AFFINE_MIN_ZOOM - 1) > 0.5
