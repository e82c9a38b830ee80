"""Land unit unions: the coverage union of clean parcels, the overlay union where it is not one."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import box

from geo.land_units import union_coverage


def test_clean_coverage_dissolves_to_one_polygon() -> None:
    grid = np.array([box(x, y, x + 1, y + 1) for x in range(3) for y in range(2)])
    out = union_coverage(grid)
    assert out.geom_type == "Polygon" and out.area == 6 and out.is_valid


@pytest.mark.parametrize(
    ("parts", "area"),
    [
        ([box(0, 0, 2, 2), box(1, 1, 3, 3)], 7.0),  # overlap: coverage union is invalid
        ([box(0, 0, 2, 2), box(2, 0, 3, 1), box(2, 1, 3, 2)], 6.0),  # T-junction: GEOS refuses
        ([box(0, 0, 1, 1), box(0, 0, 1, 1)], 1.0),  # duplicate parcel
    ],
)
def test_non_coverages_fall_back_to_the_true_union(
    parts: list[shapely.Geometry], area: float
) -> None:
    out = union_coverage(np.array(parts))
    assert out.is_valid and out.area == pytest.approx(area)
    assert out.geom_type in ("Polygon", "MultiPolygon")


def test_gaps_stay_separate_parts() -> None:
    out = union_coverage(np.array([box(0, 0, 1, 1), box(1.5, 0, 2.5, 1)]))
    assert out.geom_type == "MultiPolygon" and out.area == 2
