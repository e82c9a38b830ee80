"""A site's versions (``GET /sites/{id}/history``): what each load or API write made of it.

The versions come from ``history.site`` (what was replaced, migration 0006) and the live row.
Each version was written by an ingest run or an API write: the first by its own ``run_id`` (or
its ``site.create`` audit row), every later one by whoever replaced the one before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Response

from api.auth import ReaderDep
from api.db import PoolDep
from db.errors import NotFound

router = APIRouter(tags=["Sites"])

FIELDS = (
    "nom",
    "insee",
    "surface_ha",
    "surface_dispo_ha",
    "maturite",
    "cle_en_main",
    "maitrise_fonciere",
    "location_precision",
)
RESTRICTED = ("prix_m2", "contact")  # shown to key holders only, as on the site itself
_POSITION = (
    "round(ST_X(ST_Transform({a}.geom, 4326))::numeric, 7)::float8 AS lon, "
    "round(ST_Y(ST_Transform({a}.geom, 4326))::numeric, 7)::float8 AS lat"
)
_COLUMNS = ", ".join((*FIELDS, *RESTRICTED))
_VERSIONS_SQL = (
    f"SELECT h.hist_id, h.hist_op, h.hist_at, h.hist_run_id, h.hist_audit_id, h.run_id, "
    f"{', '.join('h.' + c for c in (*FIELDS, *RESTRICTED))}, {_POSITION.format(a='h')} "
    "FROM history.site h WHERE h.id = %(id)s "
    "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, s.run_id, "
    f"{', '.join('s.' + c for c in (*FIELDS, *RESTRICTED))}, {_POSITION.format(a='s')} "
    "FROM site s WHERE s.id = %(id)s ORDER BY 1 NULLS LAST"
)
_RUNS_SQL = "SELECT id, layer, source, started_at FROM ingest_run WHERE id = ANY(%(ids)s)"
_AUDITS_SQL = (
    "SELECT id, actor, action, at FROM audit WHERE id = ANY(%(ids)s) "
    "OR action = 'site.create' AND target = 'site:' || %(site)s"
)


def _by_run(runs: dict[int, tuple[Any, ...]], run_id: int) -> dict[str, Any]:
    layer, source, started = runs.get(run_id, (None, None, None))
    return {"kind": "run", "run_id": run_id, "layer": layer, "source": source, "at": started}


def _by_audit(audits: dict[int, tuple[Any, ...]], audit_id: int) -> dict[str, Any]:
    actor, action, at = audits.get(audit_id, (None, None, None))
    return {"kind": "api", "audit_id": audit_id, "api_key": actor, "action": action, "at": at}


def _versions(
    rows: list[tuple[Any, ...]],
    runs: dict[int, tuple[Any, ...]],
    audits: dict[int, tuple[Any, ...]],
    privileged: bool,
) -> list[dict[str, Any]]:
    """The versions, oldest first, each with who wrote it, from when, until when."""
    created = next((i for i, a in audits.items() if a[1] == "site.create"), None)
    out: list[dict[str, Any]] = []
    writer: dict[str, Any] | None = None
    start: datetime | None = None
    for hist_id, op, end, by_run, by_audit, run_id, *values in rows:
        if writer is None:  # the first version: its own run, or the write that created it
            if run_id is not None:
                writer = _by_run(runs, run_id)
            elif created is not None:
                writer = _by_audit(audits, created)
            start = writer["at"] if writer else None
        if hist_id is not None and end == start and out:
            continue  # replaced in the transaction that wrote it (one PATCH, two UPDATEs)
        fields = dict(zip((*FIELDS, *RESTRICTED, "lon", "lat"), values, strict=True))
        if not privileged:
            for name in RESTRICTED:
                fields.pop(name)
        out.append(
            {
                "version": len(out) + 1,
                "current": hist_id is None,
                "valid_from": start,
                "valid_to": end,
                "written_by": writer,
                "ended_by": None if hist_id is None else ("update" if op == "U" else "delete"),
                "site": fields,
            }
        )
        if hist_id is not None:
            writer = _by_run(runs, by_run) if by_run is not None else _by_audit(audits, by_audit)
            start = end
    return out


@router.get("/sites/{site_id}/history", summary="A site's versions: who wrote each, and when")
async def site_history(site_id: str, pool: PoolDep, reader: ReaderDep) -> Response:
    """Every version of the site, oldest first: its fields, when it was current (``valid_from``
    to ``valid_to``; the current one has none), and who wrote it (an ingest run and its file, or
    an API write with the key's name and its audit id, which ``foncier sites undo`` takes)."""
    async with pool.connection() as conn:
        cur = await conn.execute(_VERSIONS_SQL, {"id": site_id})
        rows = list(await cur.fetchall())
        if not rows:
            raise NotFound(f"no site {site_id!r}, now or in its history")
        run_ids = sorted({r[5] for r in rows if r[5] is not None} | {r[3] for r in rows if r[3]})
        audit_ids = sorted({r[4] for r in rows if r[4] is not None})
        cur = await conn.execute(_RUNS_SQL, {"ids": run_ids})
        runs = {r[0]: r[1:] for r in await cur.fetchall()}
        cur = await conn.execute(_AUDITS_SQL, {"ids": audit_ids, "site": site_id})
        audits = {r[0]: r[1:] for r in await cur.fetchall()}
    versions = _versions(rows, runs, audits, reader is not None)
    return Response(
        orjson.dumps({"id": site_id, "versions": versions}), media_type="application/json"
    )
