"""The API's database role: it reads every table and writes only what the API's routes write.

``foncier db grant-api ROLE`` runs :func:`grant_api_role` as the schema's owner (the role that
migrates); the server then connects with ``FONCIER_API_DATABASE_URL``. A bug or an injection in
the API can then not touch the loaded layers, the scores, the runs or the keys.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.errors import RoleRefused

# What the API writes, and why (everything else it only reads):
#   site: POST /sites inserts, PATCH /sites/{id} updates (SELECT ... FOR UPDATE needs UPDATE);
#   site_parcel: a site written or moved gets its parcels recomputed (db/site_parcels.py);
#   audit: every write is recorded with the key that made it;
#   layer_version: the 'sites' version is bumped, so tile ETags change;
#   zan_scenario: POST /territories/{kind}/{code}/scenarios saves a simulator scenario;
#   site_checklist, site_evidence, site_readiness: the checklist routes write an item, keep an
#   evidence PDF and rewrite the site's readiness (migration 0007);
#   ti_action_sheet: POST/PATCH /contracts/sheets and the workflow moves (issue 17);
#   history.site, history.site_checklist, history.ti_action_sheet: a site, checklist or
#   action sheet write's trigger keeps the version it replaces (migration 0006), and as_of
#   and /sites/{id}/history read the history schema.
# API keys are created, rotated and revoked by `foncier apikey` as the owner: the API only
# reads them.
API_WRITES: dict[str, tuple[str, ...]] = {
    "site": ("INSERT", "UPDATE"),
    "site_parcel": ("INSERT", "DELETE"),
    "audit": ("INSERT",),
    "layer_version": ("INSERT", "UPDATE"),
    "zan_scenario": ("INSERT",),
    "site_checklist": ("INSERT", "UPDATE", "DELETE"),
    "site_evidence": ("INSERT",),
    "site_readiness": ("INSERT", "UPDATE"),
    "ti_action_sheet": ("INSERT", "UPDATE"),
}
# Sequences the API's inserts draw from (audit.id, zan_scenario.id, site_evidence.id).
API_SEQUENCES = (("audit", "id"), ("zan_scenario", "id"), ("site_evidence", "id"))


def _create_or_check(cur: psycopg.Cursor, role: str, password: str | None) -> bool:
    """Create ``role`` (LOGIN, no other attribute) unless it exists; return whether it was."""
    row = cur.execute(
        "SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    ident = sql.Identifier(role)
    if row is None:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
    elif row[1]:
        raise RoleRefused(
            f"role {role} is the one running this command, which owns the schema: give the API "
            "a role of its own (e.g. foncier_api)"
        )
    elif row[0]:
        raise RoleRefused(
            f"role {role} is a superuser, which may write anything: give the API a role of its "
            "own (e.g. foncier_api)"
        )
    if password is not None:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
    return row is None


def grant_api_role(conn: psycopg.Connection, role: str, password: str | None = None) -> bool:
    """Create ``role`` if needed and give it exactly the API's privileges (idempotent).

    Every table and sequence privilege the role had in the ``public`` schema is revoked first,
    so running it again, after a migration or on a role that had more, gives the same result.
    Tables created later by the connected role (the migrations) are readable by ``role``.

    Args:
        conn: a connection as the schema's owner (a superuser or a role with CREATEROLE to
            create ``role``); committed on success.
        role: the API's role name.
        password: set as the role's password when given.

    Returns:
        Whether the role was created (False: it existed and was brought to the API's grants).

    Raises:
        RoleRefused: ``role`` is a superuser or the connected role itself.
    """
    ident = sql.Identifier(role)
    with conn.cursor() as cur:
        created = _create_or_check(cur, role, password)
        database = sql.Identifier(cur.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
        for statement in (
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
            "REVOKE CREATE ON SCHEMA public FROM {role}",
            # TEMPORARY: the parcels of a written site are listed in a temporary table.
            "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA history FROM {role}",
            "GRANT USAGE ON SCHEMA history TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA history TO {role}",
            "GRANT INSERT ON history.site, history.site_checklist, history.ti_action_sheet "
            "TO {role}",
            "GRANT USAGE ON SEQUENCE history.hist_id_seq TO {role}",
        ):
            cur.execute(sql.SQL(statement).format(role=ident, database=database))
        for table, privileges in API_WRITES.items():
            cur.execute(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                    sql.Identifier(table),
                    ident,
                )
            )
        for table, column in API_SEQUENCES:
            sequence = cur.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", (table, column)
            ).fetchone()[0]  # type: ignore[index]
            # The name comes from the catalogue, already quoted and qualified.
            cur.execute(
                sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(sequence), ident)
            )
    conn.commit()
    return created
