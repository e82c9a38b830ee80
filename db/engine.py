"""SQLAlchemy engines and raw psycopg connections, configured once from DatabaseSettings."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import psycopg
from sqlalchemy import Engine, create_engine, event

from config import DatabaseSettings, get_database_settings


def make_engine(settings: DatabaseSettings, **kwargs: object) -> Engine:
    """A SQLAlchemy engine on ``settings.database_url`` with the session defaults we rely on.

    JIT is switched off on every connection: it slows tile and overlay queries on small machines.
    """
    engine = create_engine(settings.database_url, pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _session_defaults(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_database_settings())


def connect_raw(settings: DatabaseSettings, autocommit: bool = False) -> psycopg.Connection:
    """A plain psycopg connection (COPY, LISTEN, admin statements)."""
    conn = psycopg.connect(settings.psycopg_dsn, autocommit=autocommit)
    conn.execute("SET jit = off")
    return conn


def read_sql(package: str, name: str) -> str:
    """The text of a packaged ``.sql`` file, e.g. ``read_sql("ingest.sql", "merge.sql")``."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
