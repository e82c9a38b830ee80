"""The API's async psycopg pool: JIT off and a statement timeout on every connection.

Every connection is checked when it is taken from the pool (a round trip of a few hundred
microseconds): after a PostgreSQL restart the dead connections are dropped and replaced instead
of failing the requests that draw them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import psycopg
from fastapi import Depends, FastAPI, Request
from psycopg_pool import AsyncConnectionPool

from api.health import check_schema
from config import DatabaseSettings


def make_pool(settings: DatabaseSettings) -> AsyncConnectionPool:
    """A closed pool on ``settings``; the application's lifespan opens and closes it."""

    async def configure(conn: psycopg.AsyncConnection) -> None:
        # JIT makes tile and overlay queries slower on small machines; a timeout bounds any query.
        await conn.execute("SET jit = off")
        # Parallel workers cost ~10 ms to launch, more than our indexed queries take on 2 cores.
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false)",
            (str(settings.statement_timeout_ms),),
        )

    return AsyncConnectionPool(
        settings.psycopg_dsn,
        min_size=1,
        max_size=max(settings.pool_size, 1),
        kwargs={"autocommit": True},
        configure=configure,
        check=AsyncConnectionPool.check_connection,
        # A request waits this long for a connection, then answers 503 (database unavailable).
        timeout=settings.pool_timeout_s,
        open=False,
        name="foncier-api",
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool when the server starts, close it when it stops.

    The server starts even when the database is down or not migrated: /healthz answers, /readyz
    and the API say why they cannot serve (api/health.py).
    """
    pool = make_pool(app.state.db_settings)
    await pool.open()
    app.state.pool = pool
    await check_schema(app)
    try:
        yield
    finally:
        await pool.close()


def get_pool(request: Request) -> AsyncConnectionPool:
    """The application's pool."""
    return request.app.state.pool  # type: ignore[no-any-return]


PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
