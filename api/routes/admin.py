"""Read-only administration: ingest and scoring runs, quarantined rows (admin API keys only).

The same records as ``foncier runs`` and ``foncier quarantine`` (db/operations.py), for an
administrator who has no shell on the server.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

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


class RunOut(BaseModel):
    """A run: ``kind`` ingest (a file loaded) or score (``foncier score``, layer ``score``)."""

    kind: str
    run_id: int
    layer: str
    source: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    message: str | None
    sha256: str | None
    vintage: str | None


class RunsOut(BaseModel):
    runs: list[RunOut]


class QuarantineOut(BaseModel):
    """A refused row: ``feature_index`` is its 0-based position in ``source``; ``raw`` the
    record as the file gave it (geometry as WKT in the file's CRS), absent in listings."""

    quarantine_id: int
    run_id: int
    layer: str
    source: str
    feature_index: int | None
    key: str | None
    reason: str
    raw: dict[str, Any] | None = None


class QuarantineListOut(BaseModel):
    rows: list[QuarantineOut]


class RunDetailOut(RunOut):
    quarantine: list[QuarantineOut]


def _run(record: RunRecord) -> RunOut:
    return RunOut(**dataclasses.asdict(record))


def _row(record: QuarantineRecord) -> QuarantineOut:
    return QuarantineOut(**dataclasses.asdict(record))


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
    return RunsOut(runs=[_run(r) for r in newest(records, limit)])


@router.get("/runs/{run_id}", summary="One ingest run and the rows it refused")
async def get_run(pool: PoolDep, _admin: AdminDep, run_id: RunId) -> RunDetailOut:
    """The run's counts and status, and its quarantined rows in file order (no raw record:
    ``/admin/quarantine/{id}`` gives it)."""
    async with pool.connection() as conn:
        cur = await conn.execute(*ingest_run_query(run_id))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no ingest run {run_id}; GET /admin/runs lists them")
        cur = await conn.execute(*quarantine_query(run_id, None, None))
        refused = [QuarantineRecord(*r) for r in await cur.fetchall()]
    run = _run(ingest_record(row))
    return RunDetailOut(**run.model_dump(), quarantine=[_row(q) for q in refused])


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
    return QuarantineListOut(rows=[_row(q) for q in rows])


@router.get("/quarantine/{quarantine_id}", summary="One refused row with its raw record")
async def get_quarantined(
    pool: PoolDep,
    _admin: AdminDep,
    quarantine_id: Annotated[int, Path(ge=1, le=BIGINT, description="the row's id")],
) -> QuarantineOut:
    """The file and row, the reason, and the record as the file gave it."""
    async with pool.connection() as conn:
        cur = await conn.execute(*quarantine_row_query(quarantine_id))
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no quarantined row {quarantine_id}; GET /admin/quarantine lists them")
    return _row(QuarantineRecord(*row))
