"""GDAL's OAPIF driver with its defaults (pages of 10 in GDAL 3.6) reads every sample parcel.

The bound is on requests, not seconds (bench/oapif_paging.py prints the seconds): one request
per page of 10, plus GDAL's first page read twice, and nothing else."""

from __future__ import annotations

import importlib.util
import math

import pytest

from config import ROOT, DatabaseSettings

pytestmark = pytest.mark.slow  # ogr2ogr through ~1,500 pages on a live server


def test_ogr2ogr_with_defaults_reads_every_sample_parcel(
    capsys: pytest.CaptureFixture[str], db_settings: DatabaseSettings
) -> None:
    url = db_settings.database_url + "_oapif"  # its own database: the three communes' parcels
    spec = importlib.util.spec_from_file_location("bench_oapif", ROOT / "bench" / "oapif_paging.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--database-url", url])
    assert figures["matched"] > 14_000  # the three communes of data/samples/cadastre/etalab
    assert figures["features"] == figures["matched"]
    assert figures["requests"] <= math.ceil(figures["matched"] / 10) + 2, figures
    assert "ogr2ogr OAPIF defaults:" in capsys.readouterr().out
