"""Land unit geometries: the union of each unit's parcels, computed with shapely as a coverage.

Parcels tile the ground, so a unit's parcels form a polygonal coverage and GEOS's CoverageUnion
dissolves them in linear time by dropping the edges two parcels share; PostGIS 3.3 has no
``ST_CoverageUnion`` and its ``ST_Union`` runs a full overlay (about 6x slower on grid parcels).
Real cadastres are not always clean coverages (overlaps, T-junctions): where the coverage union
fails or is not valid, the unit falls back to a full overlay union, so the result is always the
true union.

The scoring run (``score/land_units.py``) streams each unit's parcels from PostGIS and calls
:func:`union_coverage`; this module is pure geometry.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.errors import GEOSException

from geo.geometry import GeometryArray


def union_coverage(geoms: GeometryArray) -> shapely.Geometry:
    """The union of polygons that should form a coverage (no overlaps, matching edges).

    Args:
        geoms: polygons or multipolygons.

    Returns:
        A Polygon or MultiPolygon: the coverage union when the input is a clean coverage, else
        the overlay union (overlaps and T-junctions make the coverage union fail or be invalid).

    Example:
        >>> from shapely import box
        >>> union_coverage(np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)])).area
        2.0
    """
    try:
        out = shapely.coverage_union_all(geoms)
        if not out.is_valid:
            out = shapely.union_all(geoms)
    except GEOSException:
        out = shapely.union_all(geoms)
    if out.geom_type not in ("Polygon", "MultiPolygon"):
        parts = shapely.get_parts(out)
        out = shapely.multipolygons(
            shapely.get_parts(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
        )
    return out
