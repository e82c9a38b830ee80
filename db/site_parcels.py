"""Which cadastral parcels a site covers (``site_parcel``): one rule for loads and API writes.

The rule is ``db/sql/site_parcel_refresh.sql``: it recomputes the sites listed in the temporary
table ``site_parcel_todo(id)``. A sites or parcels load lists the sites its staging table touches
(``ingest/sql/site_parcel_after_*.sql``, see ``ingest.layers.sites.site_parcel_sql``); an API
write lists the site it created or moved (:func:`refresh_sites`), in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from db.engine import read_sql

REFRESH_SQL = read_sql("db.sql", "site_parcel_refresh.sql")

# ON COMMIT DROP: a pooled connection never keeps the list, even if the rule did not drop it.
_TODO_SQL = (
    "CREATE TEMP TABLE site_parcel_todo ON COMMIT DROP AS "
    "SELECT DISTINCT unnest(CAST(%(site_ids)s AS text[])) AS id"
)
_PARCELS_SQL = (
    "SELECT site_id, array_agg(idu ORDER BY idu) FROM site_parcel "
    "WHERE site_id = ANY(%(site_ids)s) GROUP BY site_id"
)


async def refresh_sites(
    conn: psycopg.AsyncConnection, site_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Recompute the parcels of ``site_ids`` inside ``conn``'s open transaction.

    Args:
        conn: an async connection in a transaction (the write that created or moved the sites).
        site_ids: the sites to recompute; unknown ids are ignored.

    Returns:
        Each site's parcel ids (IDU, sorted); a site covering no parcel maps to ``[]``.
    """
    ids = list(site_ids)
    await conn.execute("DROP TABLE IF EXISTS site_parcel_todo")
    await conn.execute(_TODO_SQL, {"site_ids": ids})
    # Several statements and no parameter: psycopg sends them in one simple-protocol query.
    await conn.execute(REFRESH_SQL)
    cur = await conn.execute(_PARCELS_SQL, {"site_ids": ids})
    found = {site_id: list(idus) for site_id, idus in await cur.fetchall()}
    return {i: found.get(i, []) for i in ids}
