"""Land unit geometries for a scoring run: each unit's parcels unioned as a coverage.

Each unit's parcels are streamed from PostGIS as one collection (server-side cursor), unioned by
:func:`geo.land_units.union_coverage`, and the unions written back with a binary COPY, so memory
stays bounded by a batch of units.
"""

from __future__ import annotations

import psycopg
import shapely

from geo.land_units import union_coverage

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
