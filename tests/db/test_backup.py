"""Backups: a database with the samples backed up, wiped, restored, and the API answers the same.

The test works on its own database (the session's name + ``_backup``), since it drops it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config import ROOT, ApiSettings, DatabaseSettings, IngestSettings
from db.backup import BackupError, backup, dump_revision, restore
from db.create import create_database
from db.engine import make_engine
from db.migrate import head_revision, upgrade
from ingest.pipeline import run_ingest
from ingest.sources import IngestOptions
from tests.conftest import SAMPLES, _test_url, load_reference_samples, run_sql_fixture

SETTINGS = ApiSettings(key_salt="backup-salt")
# What users read: territory figures, items of reference and land layers, a feature, sites.
PATHS = (
    "/territories/epci/200054781",
    "/territories/territoire-2023/ti-2703",
    "/territories/region/84",
    "/collections/epci/items?limit=50",
    "/collections/communes/items?dep=91&limit=500",
    "/collections/parcels/items?insee=91326&limit=500&sortby=idu",
    "/collections/parcels/items/914320000A0073",
    "/collections/sites/items",
    "/collections/friches/items",
)


@pytest.fixture(scope="module")
def backup_db(db_settings: DatabaseSettings) -> Iterator[DatabaseSettings]:  # noqa: ARG001 - the session database exists
    """A database of its own, migrated, with the reference samples, Morangis' parcels and the
    API fixture rows; dropped at the end."""
    url = _test_url() + "_backup"
    create_database(url, replace=True)
    settings = DatabaseSettings(database_url=url)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    load_reference_samples(settings)
    morangis = SAMPLES / "cadastre" / "etalab" / "cadastre-91432-parcelles.json.gz"
    run_ingest("parcels", morangis, IngestOptions(vintage="2023-04"), settings, IngestSettings())
    run_sql_fixture(settings, "api_land.sql", analyze=True)
    yield settings
    base, name = settings.psycopg_dsn.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def answers(settings: DatabaseSettings) -> dict[str, object]:
    with TestClient(create_app(SETTINGS, settings)) as client:
        out = {}
        for path in PATHS:
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
            body = r.json()
            body.pop("timeStamp", None)  # when the answer was made, not what it says
            out[path] = body
    return out


def test_backup_wipe_restore_serves_the_same(backup_db: DatabaseSettings, tmp_path: Path) -> None:
    before = answers(backup_db)
    assert before["/collections/parcels/items/914320000A0073"]
    report = backup(backup_db, tmp_path / "foncier.dump")
    assert report.revision == head_revision() and report.size_bytes > 100_000
    assert dump_revision(backup_db, report.path) == head_revision()
    assert not (tmp_path / "foncier.dump.partial").exists()

    with pytest.raises(BackupError, match=r"is not empty \(\d+ tables hold rows.*--force"):
        restore(backup_db, report.path)
    create_database(backup_db.database_url, replace=True)  # the disaster: an empty database
    restored = restore(backup_db, report.path)
    assert restored.revision == head_revision() and restored.note is None
    assert answers(backup_db) == before

    restore(backup_db, report.path, force=True)  # over itself: replaced, not doubled
    assert answers(backup_db) == before


def test_restore_refuses_a_newer_schema_and_non_dumps(
    backup_db: DatabaseSettings, tmp_path: Path
) -> None:
    with psycopg.connect(backup_db.psycopg_dsn) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
        conn.commit()
        try:
            future = backup(backup_db, tmp_path / "future.dump").path
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (head_revision(),))
            conn.commit()
    before = answers(backup_db)
    with pytest.raises(BackupError, match="at schema revision 0099, which this version of fon"):
        restore(backup_db, future, force=True)
    not_a_dump = tmp_path / "notes.dump"
    not_a_dump.write_text("hello")
    with pytest.raises(BackupError, match="is not a pg_dump custom-format archive"):
        restore(backup_db, not_a_dump, force=True)
    with pytest.raises(BackupError, match="no such file"):
        restore(backup_db, tmp_path / "missing.dump", force=True)
    assert answers(backup_db) == before  # nothing changed


def test_cli_backup_and_restore_exit_codes(backup_db: DatabaseSettings, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"DATABASE_URL": backup_db.database_url, "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-m", "cli", "db", *args],
            capture_output=True, text=True, cwd=ROOT, env=env, check=False,
        )  # fmt: skip

    done = cli("backup", str(tmp_path / "nightly.dump"))
    assert done.returncode == 0 and f"schema revision {head_revision()}" in done.stderr
    refused = cli("restore", str(tmp_path / "nightly.dump"))
    assert refused.returncode == 1 and "pass --force" in " ".join(refused.stderr.split())
    assert cli("restore", "--force", str(tmp_path / "nightly.dump")).returncode == 0
