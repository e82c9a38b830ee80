"""Operating the service: liveness, readiness, the schema gate and pool checks, on real PostGIS.

Databases that are not the shared test database are throwaway ones named ``*_f``, dropped at the
end; the 'down' case points a server at a closed port instead of stopping PostgreSQL.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from api.health import RECHECK_S
from config import DatabaseSettings
from db.migrate import head_revision
from tests.api.conftest import API_SETTINGS
from tests.live_server import free_port


@pytest.fixture
def bare_db(db_settings: DatabaseSettings) -> Iterator[DatabaseSettings]:
    """A throwaway database with nothing in it (not migrated)."""
    name = f"foncier_bare_{secrets.token_hex(3)}_f"
    base = db_settings.psycopg_dsn.rsplit("/", 1)[0]
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield DatabaseSettings(database_url=db_settings.database_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _set_revision(db: DatabaseSettings, revision: str) -> None:
    with psycopg.connect(db.psycopg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32))")
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES (%s)", (revision,))


def test_healthz_and_readyz_on_a_ready_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "revision": head_revision()}


def test_unmigrated_database_answers_503_saying_what_to_run(bare_db: DatabaseSettings) -> None:
    head = head_revision()
    with TestClient(create_app(API_SETTINGS, bare_db), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        for path in ("/readyz", "/collections/sites/items", "/search"):
            r = c.get(path)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"] == (
                f"database schema is at revision none (not migrated), expected {head}: "
                "run `foncier db migrate`"
            )


def test_outdated_database_answers_503_until_it_is_migrated(bare_db: DatabaseSettings) -> None:
    _set_revision(bare_db, "0003")
    head = head_revision()
    with TestClient(create_app(API_SETTINGS, bare_db), raise_server_exceptions=False) as c:
        r = c.get("/collections")
        assert r.status_code == 503
        assert r.json()["detail"] == (
            f"database schema is at revision 0003, expected {head}: run `foncier db migrate`"
        )
        assert c.get("/readyz").status_code == 503
        _set_revision(bare_db, str(head))  # what `foncier db migrate` ends with
        assert c.get("/readyz").status_code == 200  # readiness checks every time
        time.sleep(RECHECK_S + 0.1)
        assert c.get("/collections").status_code != 503  # the gate opened, no restart


def test_unreachable_database_is_live_but_not_ready() -> None:
    down = DatabaseSettings(
        database_url=f"postgresql+psycopg://foncier@127.0.0.1:{free_port()}/foncier_down_f",
        pool_timeout_s=1.0,
    )
    with TestClient(create_app(API_SETTINGS, down), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        started = time.monotonic()
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["detail"] == "the database is unreachable"
        r = c.get("/collections/sites/items")
        assert r.status_code == 503
        assert "database is unavailable" in r.json()["detail"]
        assert time.monotonic() - started < 10


def test_pool_drops_connections_killed_by_a_restart(bare_db: DatabaseSettings) -> None:
    """Every server connection killed (what a PostgreSQL restart does): the next request is
    served on a fresh connection, not answered 503 with a dead one."""
    _set_revision(bare_db, str(head_revision()))
    db = DatabaseSettings(database_url=bare_db.database_url, pool_size=3)
    with TestClient(create_app(API_SETTINGS, db), raise_server_exceptions=False) as c:
        assert c.get("/readyz").status_code == 200
        with psycopg.connect(db.psycopg_dsn, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        for _ in range(5):
            assert c.get("/readyz").status_code == 200
