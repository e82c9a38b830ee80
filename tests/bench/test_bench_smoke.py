"""Smoke run of bench/ingest.py: 2,000 synthetic parcels through our pipeline and ogr2ogr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import ROOT, DatabaseSettings
from tests.conftest import scalar

pytestmark = pytest.mark.slow  # a benchmark smoke: the script run end to end on small data


def test_ingest_benchmark_smoke(
    clean_db: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    out = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "ingest.py"), "--n", "2000", "--seed", "3",
            "--database-url", db_settings.database_url, "--out-dir", str(tmp_path), "--json",
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    ours, peer = figures["ours"], figures["ogr2ogr"]
    assert ours["read"] == peer["loaded"] == 2000
    # Spoiled rows (0.1 %: 2 of 2,000) are repaired or quarantined, never lost.
    assert ours["loaded"] + ours["quarantined"] == 2000
    assert ours["quarantined"] >= 1 and ours["in_table"] == ours["loaded"]
    assert ours["rows_per_s"] > 0 and peer["rows_per_s"] > 0 and figures["ratio"] > 0
    assert 50 < ours["peak_mb"] < 1024  # the load's own VmHWM (2,000 parcels: ~250 MB)
    # The peer's schema is dropped; our parcels stay, with their secondary indexes rebuilt.
    assert scalar(clean_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'bench_peer'") == 0
    assert (
        scalar(clean_db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_parcel_geom'") == 1
    )
