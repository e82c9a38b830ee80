"""GDAL as a real client: ogrinfo/ogr2ogr read our OGC API through the OAPIF driver."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest

from config import DatabaseSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(api_db: DatabaseSettings) -> Iterator[str]:
    """One uvicorn process on a free 127.0.0.1 port serving create_app on the test database."""
    port = _free_port()
    env = {**__import__("os").environ, "DATABASE_URL": api_db.database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
