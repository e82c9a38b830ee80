"""Read-only administration: ingest and scoring runs, quarantined rows (admin API keys only).

The same records as ``foncier runs`` and ``foncier quarantine`` (db/operations.py), for an
administrator who has no shell on the server.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.auth import AdminDep
from api.db import PoolDep
from db.errors import NotFound
from db.operations import (
    QuarantineRecord,
    RunRecord,
    ingest_record,
    ingest_run_query,
    ingest_runs_query,
    newest,
    quarantine_query,
    quarantine_row_query,
    score_record,
    score_runs_query,
    wants,
)

router = APIRouter(prefix="/admin", tags=["Administration (admin key)"])

BIGINT = 2**63 - 1
RunId = Annotated[int, Path(ge=1, le=BIGINT, description="an ingest run's id")]
Limit = Annotated[int, Query(ge=1, le=1000, description="how many at most, newest first")]
LayerParam = Annotated[
    str | None,
    Query(max_length=60, description="only this layer (`score`: the scoring runs only)"),
]


class RunsOut(BaseModel):
    runs: list[RunRecord]


class QuarantineListOut(BaseModel):
    rows: list[QuarantineRecord]


@dataclasses.dataclass(frozen=True)
class RunDetail(RunRecord):
    """A run with the rows it refused (the fields are :class:`db.operations.RunRecord`'s)."""

    quarantine: list[QuarantineRecord] = dataclasses.field(default_factory=list)


@router.get("/runs", summary="Recent ingest and scoring runs with their counts")
async def list_runs(
    pool: PoolDep, _admin: AdminDep, layer: LayerParam = None, limit: Limit = 20
) -> RunsOut:
    """Newest first: loads (of ``layer`` if given) and scoring runs, as ``foncier runs``."""
    loads, scores = wants(layer)
    records: list[RunRecord] = []
    async with pool.connection() as conn:
        if loads:
            cur = await conn.execute(*ingest_runs_query(layer, limit))
            records += [ingest_record(r) for r in await cur.fetchall()]
        if scores:
            cur = await conn.execute(*score_runs_query(limit))
            records += [score_record(r) for r in await cur.fetchall()]
    return RunsOut(runs=newest(records, limit))


@router.get("/runs/{run_id}", summary="One ingest run and the rows it refused")
async def get_run(pool: PoolDep, _admin: AdminDep, run_id: RunId) -> RunDetail:
    """The run's counts and status, and its quarantined rows in file order (no raw record:
    ``/admin/quarantine/{id}`` gives it)."""
    async with pool.connection() as conn:
        cur = await conn.execute(*ingest_run_query(run_id))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no ingest run {run_id}; GET /admin/runs lists them")
        cur = await conn.execute(*quarantine_query(run_id, None, None))
        refused = [QuarantineRecord(*r) for r in await cur.fetchall()]
    return RunDetail(**dataclasses.asdict(ingest_record(row)), quarantine=refused)


@router.get("/quarantine", summary="Rows refused by loads, by run and layer")
async def list_quarantine(
    pool: PoolDep,
    _admin: AdminDep,
    run: Annotated[int | None, Query(ge=1, le=BIGINT, description="only this run")] = None,
    layer: Annotated[str | None, Query(max_length=60, description="only this layer")] = None,
    limit: Limit = 100,
) -> QuarantineListOut:
    """Newest run first, in file order within a run, as ``foncier quarantine list``."""
    async with pool.connection() as conn:
        cur = await conn.execute(*quarantine_query(run, layer, limit))
        rows = [QuarantineRecord(*r) for r in await cur.fetchall()]
    return QuarantineListOut(rows=rows)


@router.get("/quarantine/{quarantine_id}", summary="One refused row with its raw record")
async def get_quarantined(
    pool: PoolDep,
    _admin: AdminDep,
    quarantine_id: Annotated[int, Path(ge=1, le=BIGINT, description="the row's id")],
) -> QuarantineRecord:
    """The file and row, the reason, and the record as the file gave it."""
    async with pool.connection() as conn:
        cur = await conn.execute(*quarantine_row_query(quarantine_id))
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no quarantined row {quarantine_id}; GET /admin/quarantine lists them")
    return QuarantineRecord(*row)
