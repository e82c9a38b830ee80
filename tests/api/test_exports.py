"""Exports: streamed GeoJSON, `;` CSV with optional BOM, GeoPackage; read back with GDAL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient


def test_geojson_export_opens_in_gdal(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/collections/communes/export", params={"dep": "91"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="communes.geojson"'
    path = tmp_path / "communes.geojson"
    path.write_bytes(r.content)
    info = pyogrio.read_info(path)
    assert (
        info["features"]
        == client.get("/collections/communes/items", params={"dep": "91", "limit": 1}).json()[
            "numberMatched"
        ]
    )
    assert info["crs"] == "EPSG:4326"
    frame = pyogrio.read_dataframe(path)
    assert "Morangis" in set(frame["nom"])


def test_geojson_export_in_lambert93(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/collections/parcels/export", params={"crs": "EPSG:2154", "insee": "91432"})
    path = tmp_path / "parcels.geojson"
    path.write_bytes(r.content)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 2154
    assert len(frame) == 5
    areas = dict(zip(frame["idu"], frame.geometry.area, strict=True))
    assert areas["91432000AB0001"] == pytest.approx(10_000, rel=1e-6)


def test_gpkg_export(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/collections/sites/export", params={"format": "gpkg", "crs": "EPSG:2154"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "sites.gpkg"
    path.write_bytes(r.content)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 2154
    assert len(frame) >= 5
    assert "prix_m2" not in frame.columns and "contact" not in frame.columns
    row = frame.set_index("id").loc["site-morangis-1"]
    assert row["score"] == 72
    assert row.geometry.x == pytest.approx(651100)


def test_gpkg_export_of_an_empty_query(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/collections/sites/export", params={"format": "gpkg", "insee": "00000"})
    path = tmp_path / "empty.gpkg"
    path.write_bytes(r.content)
    assert pyogrio.read_info(path)["features"] == 0


def test_csv_export_semicolon_bom_decimal_comma(client: TestClient) -> None:
    r = client.get(
        "/collections/sites/export",
        params={
            "format": "csv",
            "bom": "true",
            "decimal": "comma",
            "properties": "nom,surface_ha,score",
            "sortby": "-score",
        },
    )
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["id", "geometry_wkt", "nom", "surface_ha", "score"]
    assert rows[1][0] == "site-morangis-1" and rows[1][3] == "12,0" and rows[1][4] == "72,0"
    assert rows[1][1].startswith("POINT(2.33")
    plain = client.get("/collections/sites/export", params={"format": "csv", "limit": 1})
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert len(plain.content.decode().strip().splitlines()) == 2


def test_restricted_fields_only_with_a_key(client: TestClient, keys: dict[str, str]) -> None:
    anon = client.get("/collections/sites/export", params={"format": "csv"})
    assert b"Dupont" not in anon.content and b"prix_m2" not in anon.content
    anon = client.get("/collections/sites/export")
    assert b"Dupont" not in anon.content
    anon = client.get("/collections/friches/items")
    assert b"Martin" not in anon.content
    key = {"X-API-Key": keys["epci_editor"]}
    private = client.get("/collections/sites/export", params={"format": "csv"}, headers=key)
    assert b"Dupont" in private.content
    assert b"Martin" in client.get("/collections/friches/items", headers=key).content


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "shp"}, "format"),
        ({"crs": "EPSG:3857"}, "EPSG:4326"),
        ({"insee": "1", "bogus": "2"}, "bogus"),
    ],
)
def test_bad_export_requests(client: TestClient, params: dict[str, str], message: str) -> None:
    r = client.get("/collections/sites/export", params=params)
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_geojson_export_streams_in_batches(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from api.routes import exports

    monkeypatch.setattr(exports, "BATCH_ROWS", 7)
    with client.stream("GET", "/collections/communes/export", params={"dep": "91"}) as r:
        chunks = list(r.iter_raw())
    assert len(chunks) > 10  # one chunk per batch: the body is never built whole
    assert b"".join(chunks).endswith(b"]}")
