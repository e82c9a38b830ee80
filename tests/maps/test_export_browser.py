"""The "Exporter" control of the planner and the finder in Chromium: a click downloads the view
and filters, and GDAL opens the file with as many features as the API matches for the same
query."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyogrio
import pytest

from tests.maps.conftest import (  # noqa: F401 - fixtures
    PARCEL_VIEW,
    app_url,
    browser,
    page,
)

pytestmark = pytest.mark.browser


def _download(page, tmp_path: Path, fmt: str) -> tuple[Path, str]:  # type: ignore[no-untyped-def]  # noqa: F811
    page.wait_for_selector("#export-button", timeout=15_000)
    page.select_option("#export-format", fmt)
    with page.expect_download(timeout=30_000) as info:
        page.click("#export-button")
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return path, download.url


def _matched(app_url: str, export_url: str) -> int:  # noqa: F811
    parts = urlsplit(export_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if k not in ("format", "bom")}
    params.pop("decimal", None)
    items = parts.path.replace("/export", "/items")
    body = httpx.get(app_url + items, params={**params, "limit": 1}, timeout=30).json()
    return int(body["numberMatched"])


def test_planner_exports_the_view_as_a_geopackage(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(app_url + "/" + PARCEL_VIEW)
    path, url = _download(page, tmp_path, "gpkg")
    assert path.name == "parcels.gpkg" and "bbox=" in url
    info = pyogrio.read_info(path)
    assert info["features"] == _matched(app_url, url) > 0
    types = dict(zip(info["fields"], info["ogr_subtypes"], strict=True))
    assert types["excluded"] == "OFSTBoolean"
    assert page.errors == []


def test_finder_exports_its_search_as_csv(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(app_url + "/sites")
    page.wait_for_selector("#results li.result", timeout=15_000)
    path, url = _download(page, tmp_path, "csv")
    assert path.name == "sites.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    info = pyogrio.read_info(path)
    assert info["features"] == _matched(app_url, url)
    assert page.errors == []
