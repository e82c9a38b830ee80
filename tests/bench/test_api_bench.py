"""Smoke run of bench/api.py: a tiny grid, tipg and our API side by side, the figures printed."""

from __future__ import annotations

import importlib.util

import pytest

from config import ROOT, DatabaseSettings

pytestmark = pytest.mark.slow  # a benchmark smoke: the script run end to end on small data


def test_api_benchmark_smoke(
    capsys: pytest.CaptureFixture[str], db_settings: DatabaseSettings
) -> None:
    # Its own database next to the test database (the benchmark re-creates it when needed);
    # db_settings has checked that PostGIS answers (a failure in CI, a skip locally).
    url = db_settings.database_url + "_apibench"
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "bench" / "api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--n", "3000", "--requests", "6", "--concurrency", "2", "--database-url", url])
    out = capsys.readouterr().out
    for scenario in ("items", "tiles z12", "tiles z14"):
        assert f"{scenario:<11} ratio foncier/tipg:" in out
    assert out.count(" foncier ") >= 3 and out.count(" tipg ") >= 3
    # No errors: the z12 404s below our parcels' minimum zoom are the standard's answer.
    rows = [line.split() for line in out.splitlines() if " foncier " in line or " tipg " in line]
    rows = [r for r in rows if r[-1].isdigit() and "ratio" not in r]
    assert rows and all(r[-1] == "0" for r in rows), out
