"""bench/match.py times the /search and /search/match statements and prints p50/p95."""

from __future__ import annotations

import importlib.util

import pytest

from config import ROOT, DatabaseSettings


def test_match_bench_smoke(
    capsys: pytest.CaptureFixture[str], db_settings: DatabaseSettings
) -> None:
    spec = importlib.util.spec_from_file_location("bench_match", ROOT / "bench" / "match.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--database-url", db_settings.database_url, "--runs", "3"])
    assert figures["match"]["rows"] == figures["counts"]["sites"]  # every site on offer answered
    assert 0 < figures["search"]["p50_ms"] <= figures["search"]["p95_ms"]
    assert "match: p50" in capsys.readouterr().out
