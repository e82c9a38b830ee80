"""Smoke run of bench/reload.py: 3,000 parcels re-ingested and re-scored under two readers."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from config import ROOT
from tests.conftest import _test_url

pytestmark = pytest.mark.slow  # a benchmark smoke: readers during re-ingests and re-scores


def test_reload_benchmark_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    base = _test_url()
    url = base.rsplit("/", 1)[0] + "/" + base.rsplit("/", 1)[1] + "_reload"  # its own database
    spec = importlib.util.spec_from_file_location("bench_reload", ROOT / "bench" / "reload.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    status = module.main(
        ["--n", "3000", "--clients", "2", "--reloads", "1", "--baseline-s", "1.5",
         "--database-url", url]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "OK: zero failed reads, no mixed versions" in out
    reload_line = next(line for line in out.splitlines() if line.startswith("reload  "))
    assert "versions seen [0, 1]" in reload_line or "versions seen [1]" in reload_line, out
