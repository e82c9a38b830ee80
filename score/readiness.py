"""Each site's readiness (``site_readiness``): its checklist rows and computed inputs, evaluated.

Rewritten for the sites a checklist write touches (the API, in the write's transaction) and for
every site by ``foncier sites readiness`` (after a zoning or constraints load: the computed
items follow the layers). The evaluation itself is :func:`score.checklist.evaluate`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from score.checklist import Checklist, Readiness, Row, evaluate, load_checklist
from score.sqlfiles import read_sql

INPUTS_SQL = read_sql("site_readiness_inputs.sql")
ROW_COLUMNS = (
    "status",
    "value",
    "quantity",
    "delay_months",
    "done_on",
    "source",
    "evidence_url",
    "evidence_id",
    "reason",
    "actor",
)
ROWS_SQL = (
    f"SELECT site_id, item, {', '.join(ROW_COLUMNS)} FROM site_checklist "
    "WHERE CAST(%(site_ids)s AS text[]) IS NULL OR site_id = ANY(%(site_ids)s)"
)
UPSERT_SQL = (
    "INSERT INTO site_readiness (site_id, level, label, time_to_permit_months, explanation, "
    "items, definition_version, computed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
    "ON CONFLICT (site_id) DO UPDATE SET level = EXCLUDED.level, label = EXCLUDED.label, "
    "time_to_permit_months = EXCLUDED.time_to_permit_months, "
    "explanation = EXCLUDED.explanation, items = EXCLUDED.items, "
    "definition_version = EXCLUDED.definition_version, computed_at = now()"
)


def assemble(
    checklist: Checklist, inputs: Sequence[Sequence[Any]], rows: Sequence[Sequence[Any]]
) -> dict[str, Readiness]:
    """Each site's readiness from the rows of :data:`INPUTS_SQL` and :data:`ROWS_SQL`."""
    by_site: dict[str, dict[str, Row]] = {}
    for site_id, item, *values in rows:
        if item in checklist.items:  # an item a later definition dropped is kept, not counted
            by_site.setdefault(site_id, {})[item] = Row(*values)
    out = {}
    for site_id, zoning, flood, technological in inputs:
        computed = {
            k: v
            for k, v in (("zoning", zoning), ("flood", flood), ("technological", technological))
            if v is not None
        }
        out[site_id] = evaluate(checklist, by_site.get(site_id, {}), computed)
    return out


def _upsert_params(checklist: Checklist, found: dict[str, Readiness]) -> list[tuple[Any, ...]]:
    return [
        (
            site_id,
            r.level,
            r.label,
            r.time_to_permit_months,
            r.explanation,
            json.dumps(r.items, ensure_ascii=False),
            checklist.version,
        )
        for site_id, r in found.items()
    ]


async def refresh_readiness_async(
    conn: psycopg.AsyncConnection, checklist: Checklist, site_ids: Sequence[str]
) -> dict[str, Readiness]:
    """Recompute and store the readiness of ``site_ids`` in ``conn``'s transaction."""
    params = {"site_ids": list(site_ids)}
    inputs = await (await conn.execute(INPUTS_SQL, params)).fetchall()
    rows = await (await conn.execute(ROWS_SQL, params)).fetchall()
    found = assemble(checklist, inputs, rows)
    async with conn.cursor() as cur:
        await cur.executemany(UPSERT_SQL, _upsert_params(checklist, found))
    return found


def refresh_readiness(
    conn: psycopg.Connection, checklist: Checklist, site_ids: Sequence[str] | None = None
) -> dict[str, Readiness]:
    """Recompute and store the readiness of ``site_ids`` (None: every site); the caller commits."""
    params = {"site_ids": None if site_ids is None else list(site_ids)}
    inputs = conn.execute(INPUTS_SQL, params).fetchall()
    rows = conn.execute(ROWS_SQL, params).fetchall()
    found = assemble(checklist, inputs, rows)
    with conn.cursor() as cur:
        cur.executemany(UPSERT_SQL, _upsert_params(checklist, found))
    return found


def refresh_site_readiness(conn: psycopg.Connection, site_id: str) -> None:
    """Re-evaluate one site with the repository's checklist (``foncier sites undo``)."""
    refresh_readiness(conn, load_checklist(), [site_id])
