"""Land unit geometries: the union of each unit's parcels, computed with shapely as a coverage.

Parcels tile the ground, so a unit's parcels form a polygonal coverage and GEOS's CoverageUnion
dissolves them in linear time by dropping the edges two parcels share; PostGIS 3.3 has no
``ST_CoverageUnion`` and its ``ST_Union`` runs a full overlay (about 6x slower on grid parcels).
Real cadastres are not always clean coverages (overlaps, T-junctions): where the coverage union
fails or is not valid, the unit falls back to a full overlay union, so the result is always the
true union.

Member geometries are streamed from PostGIS in unit order (server-side cursor) and the unions are
written back with a binary COPY, so memory stays bounded by one batch of rows.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely
from shapely.errors import GEOSException

from geo.geometry import GeometryArray

# Rows fetched per round trip; units are cut only at their end, never split between batches.
FETCH_ROWS = 50_000

# Parcels of the multi-parcel units of ``score_unit`` (land_units.sql), in unit order.
_MEMBERS = """
SELECT u.id, ST_AsBinary(p.geom)
FROM score_unit u
CROSS JOIN LATERAL unnest(u.idus) AS m(idu)
JOIN parcel p ON p.idu = m.idu
WHERE u.parcel_count > 1
ORDER BY u.id
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
        ids: list[int] = []
        wkbs: list[bytes] = []
        while True:
            rows = members.fetchmany(FETCH_ROWS)
            for unit_id, wkb in rows:
                ids.append(unit_id)
                wkbs.append(wkb)
            # Union whole units only: the last unit may go on in the next batch.
            cut = len(ids)
            if rows:
                while cut > 0 and ids[cut - 1] == ids[-1]:
                    cut -= 1
            unions.extend(_unions(np.asarray(ids[:cut]), wkbs[:cut]))
            ids, wkbs = ids[cut:], wkbs[cut:]
            if not rows:
                break
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


def _unions(ids: np.ndarray, wkbs: list[bytes]) -> list[tuple[int, bytes]]:
    """One (id, wkb) per unit: the union of consecutive rows with the same unit id."""
    if not len(ids):
        return []
    geoms = shapely.from_wkb(wkbs)
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1]
    ends = np.r_[starts[1:], len(ids)]
    return [
        (int(ids[start]), shapely.to_wkb(union_coverage(geoms[start:end])))
        for start, end in zip(starts, ends, strict=True)
    ]
