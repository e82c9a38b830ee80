"""Faults: PostgreSQL restarted under a live API, an ingest killed mid-COPY, a re-score timed out.

The restart test runs its own throwaway PostgreSQL cluster (initdb in a temporary directory, a
free port, PostGIS) so that stopping it disturbs nobody, and a real uvicorn process on
127.0.0.1 against it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from config import ROOT, DatabaseSettings
from db.engine import make_engine
from db.migrate import upgrade
from tests.conftest import run_sql_fixture, scalar
from tests.live_server import free_port, live_server
from tests.reliability.conftest import load_fixture_data

PG_BIN = Path("/usr/lib/postgresql/15/bin")
FONCIER = str(ROOT / ".venv" / "bin" / "foncier")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _pg_ctl(data: Path, *args: str) -> None:
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "60", *args]),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def throwaway_pg() -> Iterator[tuple[Path, DatabaseSettings]]:
    """A private PostGIS cluster on a free port, migrated, with the API fixture rows."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"{PG_BIN}/initdb not found: install postgresql-15 (scripts/setup does)")
    tmp = Path(tempfile.mkdtemp(prefix="foncier-faults-"))
    data = tmp / "pg"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(tmp, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    with (data / "postgresql.conf").open("a") as fh:
        fh.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "fsync = off\nshared_buffers = 32MB\njit = off\n"
        )
    _pg_ctl(data, "-l", str(tmp / "server.log"), "start")
    try:
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE ROLE foncier LOGIN SUPERUSER")
            conn.execute("CREATE DATABASE foncier_faults OWNER foncier")
        settings = DatabaseSettings(
            database_url=f"postgresql+psycopg://foncier@127.0.0.1:{port}/foncier_faults"
        )
        engine = make_engine(settings)
        upgrade(engine)
        engine.dispose()
        run_sql_fixture(settings, "api_land.sql")
        yield data, settings
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def live_api(throwaway_pg: tuple[Path, DatabaseSettings]) -> Iterator[str]:
    """Uvicorn serving the app against the throwaway cluster; yields its base URL."""
    _, settings = throwaway_pg
    with live_server(settings.database_url, env={"FONCIER_API_KEY_SALT": "faults"}) as base:
        yield base


def test_api_survives_a_postgres_restart(
    throwaway_pg: tuple[Path, DatabaseSettings], live_api: str
) -> None:
    """While PostgreSQL is down the API answers 503 problem+json saying so, quickly; once it is
    back the same uvicorn process serves again, without a restart of its own."""
    data, _ = throwaway_pg
    url = live_api + "/collections/sites/items"
    assert httpx.get(url, timeout=10).status_code == 200
    statuses: Counter[int] = Counter()
    problems: list[dict[str, object]] = []
    slowest = [0.0]
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                started = time.monotonic()
                r = client.get(url)
                slowest[0] = max(slowest[0], time.monotonic() - started)
                statuses[r.status_code] += 1
                if r.status_code != 200:
                    assert r.headers["content-type"] == "application/problem+json"
                    problems.append(r.json())
                time.sleep(0.02)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        _pg_ctl(data, "-m", "fast", "stop")  # drops every connection of the pool
        time.sleep(2.0)
        _pg_ctl(data, "-l", str(data.parent / "server.log"), "start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and httpx.get(url, timeout=10).status_code != 200:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0, statuses  # the outage was seen...
    assert all(
        p["status"] == 503 and "database is unavailable" in str(p["detail"]) for p in problems
    )
    assert slowest[0] < 10, slowest  # ...and answered quickly, not after a 30 s pool wait
    # Recovered: every endpoint family answers again from the same process.
    for path in (
        "/collections/sites/items",
        "/collections/parcels/tiles/WebMercatorQuad/15/16597/11289",
        "/search",
    ):
        assert httpx.get(live_api + path, timeout=10).status_code in (200, 204), path


@pytest.fixture
def restore_after(rel_db: DatabaseSettings, engine: Engine) -> Iterator[None]:
    yield
    load_fixture_data(rel_db, engine)  # the other modules expect the shared fixture only


@pytest.mark.usefixtures("restore_after")
def test_killed_ingest_leaves_nothing_and_the_next_run_succeeds(
    rel_db: DatabaseSettings, engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL a `foncier ingest` during the COPY of a large synthetic file: no parcel of it is
    visible, its run is reported failed (interrupted), and loading again succeeds."""
    big = tmp_path / "cadastre-91027-parcelles.json.gz"
    env = {**os.environ, "DATABASE_URL": rel_db.database_url, "COLUMNS": "200"}
    synth = subprocess.run(
        [FONCIER, "synth", "parcels", "--n", "20000", "--out", str(big), "--seed", "3"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert synth.returncode == 0, synth.stderr
    before = scalar(engine, "SELECT count(*) FROM parcel")
    version = scalar(engine, "SELECT version FROM layer_version WHERE layer = 'parcels'")
    proc = subprocess.Popen(
        [FONCIER, "ingest", "parcels", str(big)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # Wait until the load transaction is copying into staging, then kill it without warning.
    deadline = time.monotonic() + 120
    copying = False
    while time.monotonic() < deadline and proc.poll() is None:
        copying = bool(
            scalar(
                engine,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'COPY%' AND state = 'active'",
            )
        )
        if copying:
            break
        time.sleep(0.05)
    assert copying and proc.poll() is None, "the ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # PostgreSQL notices the dead client and rolls its transaction back
    assert scalar(engine, "SELECT count(*) FROM parcel") == before
    assert scalar(engine, "SELECT version FROM layer_version WHERE layer = 'parcels'") == version
    assert scalar(engine, "SELECT count(*) FROM ingest_run WHERE status = 'running'") == 1
    # `foncier db status` reports the interrupted run (and marks it failed).
    status = subprocess.run([FONCIER, "db", "status"], env=env, capture_output=True, text=True)
    assert "interrupted" in status.stderr + status.stdout, status.stderr
    assert scalar(engine, "SELECT count(*) FROM ingest_run WHERE status = 'running'") == 0
    failed = scalar(engine, "SELECT message FROM ingest_run ORDER BY id DESC LIMIT 1")
    assert "interrupted" in str(failed)
    again = subprocess.run(
        [FONCIER, "ingest", "parcels", str(big)], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert scalar(engine, "SELECT count(*) FROM parcel") > before + 15_000  # type: ignore[operator]
    assert scalar(engine, "SELECT status FROM ingest_run ORDER BY id DESC LIMIT 1") == "succeeded"


def test_statement_timeout_during_a_rescore_keeps_the_scores(
    rel_db: DatabaseSettings, engine: Engine
) -> None:
    """`foncier score` under a tiny statement_timeout: a clear error, exit 1, scores unchanged."""
    fingerprint = (
        "SELECT count(*) || ':' || coalesce(md5(string_agg(idu || score::text, ',' ORDER BY idu)),"
        " '') FROM parcel_score"
    )
    before = scalar(engine, fingerprint)
    sites = scalar(engine, "SELECT count(*) FROM site_score")
    env = {**os.environ, "DATABASE_URL": rel_db.database_url, "PGOPTIONS": "-c statement_timeout=5"}
    r = subprocess.run([FONCIER, "score"], env=env, capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "statement timeout" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert scalar(engine, fingerprint) == before
    assert scalar(engine, "SELECT count(*) FROM site_score") == sites
