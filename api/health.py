"""Liveness (/healthz), readiness (/readyz) and the schema gate.

- ``/healthz`` says the process serves HTTP; it never touches the database, so an orchestrator
  does not restart a healthy process because PostgreSQL is away.
- ``/readyz`` says whether requests can be served now: the database answers and its schema is at
  the migrations' head; otherwise 503 with the reason.
- ``SchemaGate`` answers 503 "database schema is at revision X, expected Y: run `foncier db
  migrate`" to every API request while the schema is not at head, instead of the 500s that
  missing tables or columns would give. Once the schema is seen at head it stays open; until
  then it checks again at most every ``RECHECK_S`` seconds, so migrating a database under a
  running server opens it without a restart.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem
from db.migrate import head_revision, schema_problem

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
RECHECK_S = 2.0
READY_TIMEOUT_S = 2.0
# Paths that answer whatever the schema: the probes and the metrics.
UNGATED = ("/healthz", "/readyz", "/metrics")


async def read_revision(conn: psycopg.AsyncConnection[Any]) -> str | None:
    """The database's Alembic revision, None before the first migration."""
    try:
        cur = await conn.execute("SELECT version_num FROM alembic_version")
    except psycopg.errors.UndefinedTable:
        return None
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def check_schema(app: FastAPI) -> str | None:
    """Compare the database's revision with the head; record and return the problem, or None
    (also when the database cannot be reached: the request then meets that itself)."""
    state = app.state
    if not hasattr(state, "head_revision"):
        state.head_revision = head_revision()
    state.schema_checked_at = time.monotonic()
    try:
        async with state.pool.connection(timeout=READY_TIMEOUT_S) as conn:
            current = await read_revision(conn)
    except psycopg.OperationalError as exc:
        log.warning("schema check: database unreachable: %s", exc)
        state.schema_ok, state.schema_problem = False, None
        return None
    _record(app, current)
    return state.schema_problem  # type: ignore[no-any-return]


def _record(app: FastAPI, current: str | None) -> None:
    state = app.state
    was = getattr(state, "schema_problem", None)
    state.schema_problem = schema_problem(current, state.head_revision)
    state.schema_ok = state.schema_problem is None
    state.schema_checked_at = time.monotonic()
    if state.schema_problem and state.schema_problem != was:
        log.error("%s", state.schema_problem)


class SchemaGate:
    """503 on every API request while the database's schema is not at the migrations' head."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGATED:
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        state = app.state
        if getattr(state, "schema_ok", False):
            await self.app(scope, receive, send)
            return
        reason = getattr(state, "schema_problem", None)
        if time.monotonic() - getattr(state, "schema_checked_at", 0.0) > RECHECK_S:
            reason = await check_schema(app)
        if reason:
            response = problem(503, "Service Unavailable", reason, scope["path"])
            response.headers["Retry-After"] = "30"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP (the database is not consulted)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, str]:
    """Readiness: the database answers and its schema is at the migrations' head."""
    app = request.app
    try:
        async with app.state.pool.connection(timeout=READY_TIMEOUT_S) as conn:
            current = await read_revision(conn)
    except psycopg.OperationalError as exc:
        log.warning("not ready: database unreachable: %s", exc)
        return problem(503, "Service Unavailable", "the database is unreachable", request.url.path)
    _record(app, current)
    if app.state.schema_problem:
        return problem(503, "Service Unavailable", app.state.schema_problem, request.url.path)
    return {"status": "ready", "revision": str(current)}
