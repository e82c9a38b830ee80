"""Smoke run of bench/score.py: a tiny synthetic set, both computations, the figures printed."""

from __future__ import annotations

import importlib.util

import pytest

from config import ROOT, DatabaseSettings

pytestmark = pytest.mark.slow  # a benchmark smoke: the script run end to end on small data


def test_score_benchmark_smoke(
    capsys: pytest.CaptureFixture[str], db_settings: DatabaseSettings
) -> None:
    # Its own database next to the test database (the benchmark drops and re-creates it);
    # db_settings has checked that PostGIS answers (a failure in CI, a skip locally).
    url = db_settings.database_url + "_bench"
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "bench" / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--n", "2000", "--sample", "1000", "--constraints", "20", "--database-url", url])
    out = capsys.readouterr().out
    assert "foncier score: 2,000 parcels" in out
    assert "geopandas overlay: 1,000 parcels" in out and "ratio:" in out
