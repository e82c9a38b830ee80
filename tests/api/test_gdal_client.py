"""GDAL as a real client: ogrinfo/ogr2ogr read our OGC API through the OAPIF driver."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest

from config import DatabaseSettings
from tests.live_server import live_server


@pytest.fixture(scope="module")
def server(api_db: DatabaseSettings) -> Iterator[str]:
    """One uvicorn process on a free 127.0.0.1 port serving create_app on the test database."""
    with live_server(api_db.database_url) as base:
        yield base


def test_ogrinfo_lists_our_collections(server: str) -> None:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{server}/ogc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for cid in ("epci", "communes", "territoires-2023", "sites", "parcels", "land-units"):
        assert f": {cid} " in out or f": {cid}\n" in out or cid in out.split(), out


def test_ogr2ogr_reads_items_with_a_filter(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "communes.geojson"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GeoJSON",
            str(dest),
            f"OAPIF:{server}/ogc",
            "communes",
            "-where",
            "dep = '91'",
            "-spat",
            "2.30",
            "48.68",
            "2.36",
            "48.72",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frame = pyogrio.read_dataframe(dest)
    assert "Morangis" in set(frame["nom"])
    assert set(frame["dep"]) == {"91"}


def test_ogr2ogr_pages_through_a_collection(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "epci.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(dest), f"OAPIF:{server}/ogc", "epci", "-oo", "PAGE_SIZE=50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    count = json.loads(httpx.get(f"{server}/collections/epci/items?limit=1").text)["numberMatched"]
    assert pyogrio.read_info(dest)["features"] == count > 50


def test_ogrinfo_reads_our_geojson_export(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "sites.geojson"
    dest.write_bytes(httpx.get(f"{server}/collections/sites/export?crs=EPSG:2154").content)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(dest)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Lambert" in out or "2154" in out
    assert "Feature Count: " in out


def _field_types(server: str, layer: str, *options: str) -> dict[str, str]:
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", *options, f"OAPIF:{server}/ogc", layer],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    fields = (line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: kind.split(" (")[0] for name, kind in fields}


def test_gdal_types_fields_from_the_schema_not_the_first_page(server: str) -> None:
    # The first parcel (91326000AD0001) has no ZAN cost and no built flag: from that page alone
    # GDAL types them String; the collection's describedBy schema says Real and Boolean.
    guessed = _field_types(server, "parcels", "-oo", "PAGE_SIZE=1", "-oo", "IGNORE_SCHEMA=YES")
    assert guessed["zan_cost_ha"] == "String" and guessed["built"] == "String"
    typed = _field_types(server, "parcels", "-oo", "PAGE_SIZE=1")
    assert typed["score"] == "Real" and typed["zan_cost_ha"] == "Real"
    assert typed["excluded"] == "Integer(Boolean)" and typed["built"] == "Integer(Boolean)"
    assert typed["contenance_m2"] == "Integer" and typed["breakdown"] == "String"
    assert _field_types(server, "sites")["surface_ha"] == "Real"
