"""The shrink guard: a partial file never silently replaces good data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from config import DatabaseSettings
from ingest.errors import ShrinkRefusedError
from tests.conftest import SAMPLES

JUVISY = SAMPLES / "cadastre" / "etalab" / "cadastre-91326-parcelles.json.gz"


def _partial_copy(tmp_path: Path, keep_every: int) -> Path:
    data = json.loads(gzip.decompress(JUVISY.read_bytes()))
    data["features"] = data["features"][::keep_every]
    out = tmp_path / "cadastre-91326-parcelles.json.gz"
    out.write_bytes(gzip.compress(json.dumps(data).encode()))
    return out


def _count(db: DatabaseSettings) -> int:
    with psycopg.connect(db.psycopg_dsn) as conn:
        return int(conn.execute("SELECT count(*) FROM parcel WHERE insee = '91326'").fetchone()[0])  # type: ignore[index]


def test_a_partial_file_is_refused_and_the_parcels_stay(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("parcels", JUVISY)
    assert _count(db_settings) == 2859
    partial = _partial_copy(tmp_path, 100)  # 29 of the 2,859 parcels
    with pytest.raises(ShrinkRefusedError) as err:
        load("parcels", partial)
    message = str(err.value)
    assert "holds 29 parcel rows of insee 91326 where 2,859 are loaded" in message
    assert "would delete 2,830" in message and "--allow-shrink" in message
    assert _count(db_settings) == 2859
    # The user says the commune really lost them: the load goes through.
    report = load("parcels", partial, allow_shrink=True)
    assert _count(db_settings) == 29
    assert sum(t.deleted for t in report.tables if t.table == "parcel") == 2830


def test_a_small_loss_is_not_guarded(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("parcels", JUVISY)
    data = json.loads(gzip.decompress(JUVISY.read_bytes()))
    data["features"] = data["features"][:-100]  # 3.5 % fewer: a normal yearly change
    smaller = tmp_path / "cadastre-91326-parcelles.json.gz"
    smaller.write_bytes(gzip.compress(json.dumps(data).encode()))
    load("parcels", smaller)
    assert _count(db_settings) == 2759


def test_the_cli_says_refused_with_exit_code_4(load, db_settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load("parcels", JUVISY)
    monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    from config import get_database_settings

    get_database_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["ingest", "parcels", str(_partial_copy(tmp_path, 100))])
    finally:
        get_database_settings.cache_clear()
    assert result.exit_code == 4, result.output
    assert "refused" in result.output and _count(db_settings) == 2859
