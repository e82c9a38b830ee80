"""Real clients on a live server: OWSLib as the outside testers ran it, and GDAL's OAPIF driver
paging by the maximum the OpenAPI document states."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest
from owslib.ogcapi.features import Features

from config import DatabaseSettings
from tests.live_server import live_server


@pytest.fixture(scope="module")
def server(api_db: DatabaseSettings) -> Iterator[str]:
    with live_server(api_db.database_url) as base:
        yield base


def test_owslib_reads_the_root_collections_and_items_with_datetime(server: str) -> None:
    # OWSLib sends no Accept header (so */*): the root must be the JSON landing page.
    api = Features(server)
    assert any(link["rel"] == "conformance" for link in api.links)
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    assert api.api()["openapi"].startswith("3.0.")
    ids = api.feature_collections()
    assert {"communes", "parcels", "sites"} <= set(ids)
    assert api.collection("communes")["id"] == "communes"
    items = api.collection_items("communes", datetime_="2024-01-01T00:00:00Z/..", dep="91", limit=5)
    assert items["type"] == "FeatureCollection" and items["numberReturned"] == 5
    every = api.collection_items("communes", dep="91", limit=1)["numberMatched"]
    assert items["numberMatched"] == every
    with pytest.raises(RuntimeError, match="datetime"):
        api.collection_items("communes", datetime_="last tuesday")


def test_ogr2ogr_pages_by_the_stated_maximum(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "epci.gpkg"
    out = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(dest), f"OAPIF:{server}/ogc", "epci",
         "--debug", "on"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    matched = httpx.get(f"{server}/collections/epci/items?limit=1").json()["numberMatched"]
    assert pyogrio.read_info(dest)["features"] == matched
    pages = [line for line in out.stderr.splitlines() if "HTTP: Fetch" in line and "/items" in line]
    spec = httpx.get(f"{server}/api").json()
    maximum = next(
        p["schema"]["maximum"]
        for p in spec["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    version = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True).stdout
    release = version.split()[1].rstrip(",")  # "GDAL 3.6.2, released 2023/01/02"
    if tuple(int(v) for v in release.split(".")[:2]) < (3, 8):
        # GDAL reads the limit's maximum from the OpenAPI document since 3.8 (OSGeo/gdal#8566).
        # Pages of 10 are made cheap instead: tests/bench/test_oapif_paging_bench.py reads
        # every sample parcel with GDAL's defaults, one request per page.
        pytest.xfail(f"GDAL {release} pages by 10 whatever the API states")
    assert f"limit={maximum}" in pages[-1], pages
