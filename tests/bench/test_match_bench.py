"""bench/match.py times the /search and /search/match statements and prints p50/p95."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from config import ROOT, DatabaseSettings
from tests.conftest import scalar

ETALAB_91027 = (
    ROOT / "data" / "samples" / "cadastre" / "etalab" / "cadastre-91027-parcelles.json.gz"
)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_match", ROOT / "bench" / "match.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_match_bench_smoke(
    capsys: pytest.CaptureFixture[str], db_settings: DatabaseSettings
) -> None:
    figures = _bench().main(["--database-url", db_settings.database_url, "--runs", "3"])
    assert figures["match"]["rows"] == figures["counts"]["sites"]  # every site on offer answered
    assert 0 < figures["search"]["p50_ms"] <= figures["search"]["p95_ms"]
    assert "match: p50" in capsys.readouterr().out


def test_match_bench_synthetic_sites_through_the_app(
    load: Callable[..., Any], engine: Engine, db_settings: DatabaseSettings
) -> None:
    """--sites N places N sites on the real sample parcels, with score, readiness and network
    rows; the same N again keeps them, another N re-creates them; --http times the routes."""
    load("parcels", ETALAB_91027)
    module = _bench()
    url = ["--database-url", db_settings.database_url, "--runs", "2"]
    with socket.socket() as s:  # a free port: the suite may run beside a dev server
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    figures = module.main([*url, "--sites", "12", "--http", "--port", port])
    assert figures["counts"]["sites"] == 12 == figures["match"]["rows"]
    assert 0 < figures["http match"]["p50_ms"] <= figures["http match"]["p95_ms"]
    assert figures["http search"]["p50_ms"] > 0
    synthetic = "SELECT count(*) FROM site WHERE id LIKE 'bench-synth-%' AND insee = '91027'"
    assert scalar(engine, synthetic) == 12
    for table in ("site_score", "site_readiness"):
        assert scalar(engine, f"SELECT count(*) FROM {table}") == 12
    assert scalar(engine, "SELECT count(*) FROM site_checklist WHERE quantity IS NOT NULL") == 24
    assert scalar(engine, "SELECT bool_and((attributes->>'synthetic')::bool) FROM site")
    first = scalar(engine, "SELECT max(computed_at) FROM site_readiness")
    module.main([*url, "--sites", "12"])  # same count: kept as they are
    assert scalar(engine, "SELECT max(computed_at) FROM site_readiness") == first
    assert module.main([*url, "--sites", "5"])["counts"]["sites"] == 5
    assert scalar(engine, "SELECT count(*) FROM site_score") == 5
