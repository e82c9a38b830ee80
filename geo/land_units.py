"""Land unit geometries: the union of each unit's parcels, computed with shapely as a coverage.

Parcels tile the ground, so a unit's parcels form a polygonal coverage and GEOS's CoverageUnion
dissolves them in linear time by dropping the edges two parcels share; PostGIS 3.3 has no
``ST_CoverageUnion`` and its ``ST_Union`` runs a full overlay (about 6x slower on grid parcels).
Real cadastres are not always clean coverages (overlaps, T-junctions): where the coverage union
fails or is not valid, the unit falls back to a full overlay union, so the result is always the
true union.

Each unit's parcels are streamed from PostGIS as one collection (server-side cursor) and the
unions are written back with a binary COPY, so memory stays bounded by a batch of units.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely
from shapely.errors import GEOSException

from geo.geometry import GeometryArray

# Units fetched per round trip (a unit comes as one collection of its parcels).
FETCH_UNITS = 200

# The parcels of each multi-parcel unit of ``score_unit`` (land_units.sql) as one collection: one
# row per unit, one unit in memory at a time, nothing sorted.
_MEMBERS = """
SELECT u.id, (
    SELECT ST_AsBinary(ST_Collect(p.geom))
    FROM unnest(u.idus) AS m(idu) JOIN parcel p ON p.idu = m.idu
)
FROM score_unit u
WHERE u.parcel_count > 1
"""


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


def dissolve_units(conn: psycopg.Connection) -> int:
    """Fill ``score_unit_geom (id, wkb)`` with the union of each multi-parcel unit's parcels.

    ``score_unit`` (id, parcel_count, idus) must exist in the connection's transaction; the
    temporary ``score_unit_geom`` is created here and dropped at commit.

    Args:
        conn: the scoring run's connection (inside its transaction).

    Returns:
        The number of units dissolved.
    """
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE score_unit_geom (id bigint, wkb bytea) ON COMMIT DROP")
    unions: list[tuple[int, bytes]] = []
    with conn.cursor(name="score_unit_members", binary=True) as members:
        members.execute(_MEMBERS)
        while rows := members.fetchmany(FETCH_UNITS):
            for unit_id, wkb in rows:
                parts = shapely.get_parts(shapely.from_wkb(wkb))
                unions.append((unit_id, shapely.to_wkb(union_coverage(parts))))
    # The unions are far smaller than their parcels; written once the stream is closed (a COPY
    # cannot run while the cursor still fetches on the same connection).
    with (
        conn.cursor() as cur,
        cur.copy("COPY score_unit_geom (id, wkb) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int8", "bytea"])
        for row in unions:
            copy.write_row(row)
    return len(unions)
