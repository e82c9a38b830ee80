"""What loads and API writes replaced: the ``history`` schema (migration 0006).

Every versioned table ``T`` has ``history.T``: the versions that were updated or deleted, with
``hist_op``, ``hist_at`` (when the version stopped being current), ``hist_run_id`` or
``hist_audit_id`` (who replaced it) and then ``T``'s own columns. Statement triggers fill it in
the writer's transaction; a writer says who it is with :func:`set_writer`.

A version's start is its writer's time: the ``started_at`` of the ingest run in its ``run_id``,
else (a site created through the API) the ``audit.at`` of its ``site.create``; ``zan_account``
rows carry their own ``computed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

# The versioned tables and the key that follows one row across its versions (the primary key).
VERSIONED: dict[str, tuple[str, ...]] = {
    "epci": ("siren",),
    "commune": ("insee",),
    "region": ("code",),
    "departement": ("code",),
    "commune_ancienne": ("insee_ancienne",),
    "scot_membre": ("scot_id", "insee"),
    "territoire": ("programme", "id_ti"),
    "territoire_membre": ("programme", "id_ti", "siren"),
    "parcel": ("idu",),
    "building": ("id",),
    "site": ("id",),
    "site_checklist": ("site_id", "item"),
    "friche": ("site_id",),
    "constraint_zone": ("id",),
    "plu_zone": ("id",),
    "enaf_flow": ("insee", "year", "destination"),
    "zan_target": ("territory_type", "territory_code"),
    "zan_account": ("territory_type", "territory_code"),
    "zae": ("id",),
    "parcel_owner": ("idu", "owner_key", "code_droit"),
    "establishment": ("siret",),
    "cfe_premises": ("idu", "local_id"),
    "rail_line": ("id",),
    "freight_port": ("id",),
    # Territoires d'industrie contracts (migration 0012).
    "ti_protocol": ("programme", "id_ti"),
    "ti_governance": ("programme", "id_ti", "role", "rank"),
    "ti_action_sheet": ("id",),
    "ti_action_funding": ("sheet_id", "financer"),
    "ti_action_indicator": ("sheet_id", "label"),
    "ti_action_place": ("sheet_id", "place_type", "place_id"),
}
HIST_COLUMNS = ("hist_id", "hist_op", "hist_at", "hist_run_id", "hist_audit_id")

SET_WRITER_SQL = (
    "SELECT set_config('foncier.run_id', %(run)s, true), "
    "set_config('foncier.audit_id', %(audit)s, true)"
)


def writer_params(run_id: int | None = None, audit_id: int | None = None) -> dict[str, str]:
    """The parameters of :data:`SET_WRITER_SQL` (empty text: nobody)."""
    return {
        "run": "" if run_id is None else str(run_id),
        "audit": "" if audit_id is None else str(audit_id),
    }


def set_writer(cur: Any, run_id: int | None = None, audit_id: int | None = None) -> None:
    """Name the ingest run or the audit row that the current transaction's writes belong to
    (until its commit or rollback); the history triggers record it with what they keep."""
    cur.execute(SET_WRITER_SQL, writer_params(run_id, audit_id))


def _born(table: str, alias: str, at: sql.Composable) -> sql.Composable:
    """The version in ``alias`` had been written by ``at`` (its writer's time, see above)."""
    if table == "zan_account":
        return sql.SQL("{a}.computed_at <= {at}").format(a=sql.Identifier(alias), at=at)
    by_run = sql.SQL(
        "({a}.run_id IN (SELECT r.id FROM ingest_run r WHERE r.started_at <= {at})"
    ).format(a=sql.Identifier(alias), at=at)
    if table != "site":
        return by_run + sql.SQL(" OR {}.run_id IS NULL)").format(sql.Identifier(alias))
    # A site created through the API has no run: its site.create audit row says when.
    return by_run + sql.SQL(
        " OR {a}.run_id IS NULL AND NOT EXISTS (SELECT 1 FROM audit c WHERE c.action = "
        "'site.create' AND c.target = 'site:' || {a}.id AND c.at > {at}))"
    ).format(a=sql.Identifier(alias), at=at)


def table_columns(table: str) -> list[str]:
    """``table``'s columns, as the models describe them (``tests/db`` checks they agree)."""
    from db.models import metadata

    return [c.name for c in metadata.tables[table].columns]


def as_of_sql(table: str, at: sql.Composable, columns: Sequence[str] | None = None) -> sql.Composed:
    """A subquery with ``table``'s rows as they were at the instant bound in ``at``.

    Each row is the version current then: the first one replaced after ``at`` (from
    ``history.<table>``) or, when none was, the live row; either only if written by then.
    Use it as ``FROM (<this>) alias`` in place of the table; ``columns``: the table's (from
    the models when not given).
    """
    key = VERSIONED[table]
    columns = table_columns(table) if columns is None else columns
    hcols = sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(c)) for c in columns)

    def same(a: str, b: str) -> sql.Composable:
        return sql.SQL(" AND ").join(
            sql.SQL("{}.{} = {}.{}").format(
                sql.Identifier(a), sql.Identifier(k), sql.Identifier(b), sql.Identifier(k)
            )
            for k in key
        )

    return sql.SQL(
        "SELECT {tcols} FROM {t} t WHERE {born_t} AND NOT EXISTS (SELECT 1 FROM history.{t} x "
        "WHERE {tx} AND x.hist_at > {at}) "
        "UNION ALL SELECT {hcols} FROM history.{t} h WHERE h.hist_at > {at} AND {born_h} "
        "AND NOT EXISTS (SELECT 1 FROM history.{t} x WHERE {hx} AND x.hist_at > {at} "
        "AND x.hist_id < h.hist_id)"
    ).format(
        tcols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in columns),
        t=sql.Identifier(table),
        born_t=_born(table, "t", at),
        tx=same("t", "x"),
        at=at,
        hcols=hcols,
        born_h=_born(table, "h", at),
        hx=same("h", "x"),
    )
