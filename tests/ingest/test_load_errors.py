"""Database errors during a load, each said as what it is: timeout, lock, data, connection.

A statement timeout during COPY used to be reported as "GEOS isvalid() threw an error" on a
data line: PostGIS reports a GEOS call interrupted by the timeout as an error of its own.
Every class is produced for real here, on the real PostGIS.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from config import ROOT, DatabaseSettings, IngestSettings
from db.engine import connect_raw
from ingest.errors import (
    DatabaseDataError,
    DatabaseUnavailableError,
    IngestError,
    LoadBusyError,
    LoadTimeoutError,
    database_error,
)
from ingest.pipeline import run_ingest
from ingest.sources import IngestOptions
from tests.conftest import SAMPLES, scalar
from tests.ingest.test_streaming import parcel, write

ETALAB_91027 = SAMPLES / "cadastre" / "etalab" / "cadastre-91027-parcelles.json.gz"


def _load(db: DatabaseSettings, **settings: object) -> None:
    run_ingest("parcels", ETALAB_91027, IngestOptions(), db, IngestSettings(**settings))  # type: ignore[arg-type]


def _failed_run(engine: Engine) -> object:
    return scalar(engine, "SELECT message FROM ingest_run WHERE status = 'failed' ORDER BY id DESC")


# Timeouts that land in different phases of a real load, each shorter than the load's longest
# statement on a quiet machine too (120 and 200 ms were longer than every statement there).
@pytest.mark.parametrize("timeout_ms", [5, 15, 30])
def test_a_statement_timeout_is_said_as_such(
    clean_db: Engine, db_settings: DatabaseSettings, timeout_ms: int
) -> None:
    with pytest.raises(LoadTimeoutError) as caught:
        _load(db_settings, statement_timeout_ms=timeout_ms)
    message = str(caught.value)
    assert f"statement_timeout ({timeout_ms} ms)" in message
    assert "FONCIER_INGEST_STATEMENT_TIMEOUT_MS" in message and "split the file" in message
    assert "GEOS" not in message
    assert _failed_run(clean_db) == message
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 0


def test_a_geos_call_cut_by_the_timeout_is_a_timeout_not_a_data_error(
    db_settings: DatabaseSettings,
) -> None:
    """PostGIS says "GEOS isvalid() threw an error!" (XX000) when the timeout lands in GEOS."""
    with connect_raw(db_settings, autocommit=True) as conn:
        conn.execute(
            "CREATE TEMP TABLE big AS SELECT ST_Buffer(ST_MakePoint(0, 0), 1000, 200000) AS g"
        )
        started = time.monotonic()
        conn.execute("SELECT ST_IsValid(g) FROM big")
        full_ms = (time.monotonic() - started) * 1000
        seen = []
        for share in (0.5, 0.6, 0.7, 0.8, 0.9):
            timeout_ms = max(1, int(share * full_ms))
            conn.execute(f"SET statement_timeout = {timeout_ms}")
            started = time.monotonic()
            try:
                conn.execute("SELECT ST_IsValid(g) FROM big")
                continue
            except psycopg.Error as exc:
                elapsed = time.monotonic() - started
                seen.append(exc.sqlstate)
                assert isinstance(
                    database_error(exc, "f.json", timeout_ms, elapsed), LoadTimeoutError
                )
                if exc.sqlstate == "XX000":
                    # The same error with no timeout set is the geometry's: a data error.
                    assert isinstance(database_error(exc, "f.json", 0, elapsed), DatabaseDataError)
    assert "XX000" in seen, seen


def test_a_lock_held_by_another_session_is_said_as_such(
    clean_db: Engine, db_settings: DatabaseSettings
) -> None:
    with connect_raw(db_settings) as other:
        other.execute("LOCK TABLE parcel IN EXCLUSIVE MODE")  # readers pass, writers wait
        with pytest.raises(LoadBusyError) as caught:
            _load(db_settings, lock_wait_s=0.5)
    assert "another session held a lock this load needed" in str(caught.value)
    assert "retry when it ends" in str(caught.value)
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 0


def test_a_deadlock_is_a_lock_error(db_settings: DatabaseSettings) -> None:
    with connect_raw(db_settings) as one, connect_raw(db_settings) as two:
        for conn in (one, two):
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS x (i int)")
        one.execute("SELECT pg_advisory_xact_lock(1, 1)")
        two.execute("SELECT pg_advisory_xact_lock(1, 2)")
        errors: list[psycopg.Error] = []

        def cross(conn: psycopg.Connection, key: int) -> None:
            try:
                conn.execute("SELECT pg_advisory_xact_lock(1, %s)", (key,))
            except psycopg.Error as exc:
                errors.append(exc)
                conn.rollback()  # the other one gets its lock

        threads = [threading.Thread(target=cross, args=a) for a in ((one, 2), (two, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert [e.sqlstate for e in errors] == ["40P01"]
    error = database_error(errors[0], "f.json", 0, None)
    assert isinstance(error, LoadBusyError) and "retry when it ends" in str(error)


def test_a_value_the_database_refuses_is_a_data_error(db_settings: DatabaseSettings) -> None:
    with connect_raw(db_settings) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT 1e12::integer")
    error = database_error(caught.value, "f.json", 0, None)
    assert isinstance(error, DatabaseDataError)
    assert "f.json: the database refused a value of the file" in str(error)
    assert "integer out of range" in str(error)


def test_an_integer_past_its_column_is_quarantined_not_wrapped(
    load,
    clean_db: Engine,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    big = parcel("91027000AB0001", 2.3)
    big["properties"]["contenance"] = 10**12  # type: ignore[index]
    report = load("parcels", write(tmp_path / "p.geojson", [big, parcel("91027000AB0002", 2.31)]))
    assert (report.loaded, report.quarantined) == (1, 1)
    assert scalar(clean_db, "SELECT reason FROM quarantine") == (
        "wrong type: contenance_m2 = 1000000000000.0 is not an integer of at most"
        " 2,147,483,647 in absolute value"
    )


def test_a_lost_connection_is_said_as_such(clean_db: Engine, db_settings: DatabaseSettings) -> None:
    errors: list[IngestError] = []

    def load() -> None:
        try:
            _load(db_settings, batch_rows=500)
        except IngestError as exc:
            errors.append(exc)

    thread = threading.Thread(target=load)
    thread.start()
    with connect_raw(db_settings, autocommit=True) as admin:
        deadline = time.monotonic() + 60
        killed = False
        while not killed and time.monotonic() < deadline and thread.is_alive():
            # The load's session is the one holding the load lock of parcel.
            row = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = hashtext('parcel')::oid"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            killed = bool(row and row[0])
            time.sleep(0.005)
    thread.join(timeout=120)
    assert killed and len(errors) == 1, errors
    assert isinstance(errors[0], DatabaseUnavailableError)
    assert "the connection to the database was lost" in str(errors[0])
    assert "foncier db status" in str(errors[0])
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 0


def test_the_command_exits_with_the_class_code(db_settings: DatabaseSettings) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": db_settings.database_url,
        "FONCIER_INGEST_STATEMENT_TIMEOUT_MS": "5",
    }
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "foncier"), "ingest", "parcels", str(ETALAB_91027)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 7, done.stderr
    said = " ".join(done.stderr.split())  # rich folds long lines
    assert "statement_timeout (5 ms)" in said and "Traceback" not in said
