"""Creating the project's databases: one place that says how.

Databases are created from ``template0`` with the ``C`` collation. Codes (INSEE, SIREN, IDU)
are ASCII and the cluster's ``C.UTF-8`` already sorts by code point, which for UTF-8 is the
byte order ``C`` uses: no result changes. But PostgreSQL compares ``C`` text with memcmp and
abbreviated keys, while ``C.UTF-8`` goes through the C library, so building the btrees of a
million parcels (primary key, commune) is about a third faster. The character classes
(``LC_CTYPE``: upper/lower, ILIKE) stay the cluster's.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from config import DatabaseSettings

CREATE_OPTIONS = "TEMPLATE template0 LC_COLLATE 'C'"


def create_database(url: str, *, replace: bool = False, owner: str | None = None) -> bool:
    """Create the database ``url`` names (dropping it first if ``replace``), owned by ``owner``.

    Connects to the ``postgres`` database of the same server as ``url``'s user. Returns whether
    a database was created (False: it existed and ``replace`` was not asked).
    """
    dsn = DatabaseSettings(database_url=url).psycopg_dsn
    base, name = dsn.rsplit("/", 1)
    name = name.split("?")[0]
    ident = sql.Identifier(name)
    with psycopg.connect(base + "/postgres", autocommit=True, connect_timeout=5) as conn:
        if replace:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        elif conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        owned = sql.SQL(" OWNER {}").format(sql.Identifier(owner)) if owner else sql.SQL("")
        conn.execute(sql.SQL("CREATE DATABASE {}{} " + CREATE_OPTIONS).format(ident, owned))
    return True
