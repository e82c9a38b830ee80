"""The API's async psycopg pool: JIT off and a statement timeout on every connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import psycopg
from fastapi import Depends, FastAPI, Request
from psycopg_pool import AsyncConnectionPool

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
        open=False,
        name="foncier-api",
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool when the server starts, close it when it stops."""
    pool = make_pool(app.state.db_settings)
    await pool.open()
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


def get_pool(request: Request) -> AsyncConnectionPool:
    """The application's pool."""
    return request.app.state.pool  # type: ignore[no-any-return]


PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
