"""A site's parcels: GET /sites/{id}/parcels and the parcel ids in /sites/compare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from db.engine import read_sql

SITE = "site-test-parcels"


@pytest.fixture
def perimeter_site(engine: Engine, api_db: object) -> Iterator[str]:  # noqa: ARG001 - data first
    """A site whose perimeter covers AB0001 and AB0002 (1 ha each) and 60 % of AB0003 of
    tests/fixtures/api_land.sql, its site_parcel rows computed by the ingest's refresh SQL."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO site (id, nom, insee, location_precision, geom, perimeter) VALUES "
                "(:id, 'Test périmètre', '91432', 'polygon', "
                "ST_SetSRID(ST_MakePoint(651000, 6844750), 2154), "
                "ST_Multi(ST_MakeEnvelope(650900, 6844700, 651160, 6844800, 2154)))"
            ),
            {"id": SITE},
        )
        conn.execute(
            text("CREATE TEMP TABLE site_parcel_todo AS SELECT CAST(:id AS text) AS id"),
            {"id": SITE},
        )
        conn.exec_driver_sql(read_sql("db.sql", "site_parcel_refresh.sql"))
    yield SITE
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site WHERE id = :id"), {"id": SITE})


def test_site_parcels_geojson_with_surfaces(client: TestClient, perimeter_site: str) -> None:
    r = client.get(f"/sites/{perimeter_site}/parcels")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert [f["id"] for f in body["features"]] == [
        "91432000AB0001",
        "91432000AB0002",
        "91432000AB0003",
    ]
    props = [f["properties"] for f in body["features"]]
    assert [p["surface_ha"] for p in props] == pytest.approx([1.0, 1.0, 1.0])
    assert [p["inside_ha"] for p in props] == pytest.approx([1.0, 1.0, 0.6])
    assert props[0]["score"] == 80 and props[2]["zone_class"] == "activity"
    assert body["surface_ha"] == pytest.approx(3.0) and body["inside_ha"] == pytest.approx(2.6)
    ring = body["features"][0]["geometry"]["coordinates"][0][0]
    assert 2.3 < ring[0][0] < 2.4 and 48.6 < ring[0][1] < 48.8  # CRS84, Morangis


def test_sites_without_parcels_and_unknown_site(client: TestClient) -> None:
    # Placed at its commune only: no parcel is claimed.
    body = client.get("/sites/site-juvisy/parcels").json()
    assert body["features"] == [] and body["numberReturned"] == 0 and body["inside_ha"] is None
    r = client.get("/sites/nope/parcels")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_compare_lists_parcel_ids(client: TestClient, perimeter_site: str) -> None:
    r = client.get("/sites/compare", params={"ids": f"{perimeter_site},site-juvisy"})
    sites = {s["id"]: s for s in r.json()["sites"]}
    assert sites[perimeter_site]["parcels"] == [
        "91432000AB0001",
        "91432000AB0002",
        "91432000AB0003",
    ]
    assert sites["site-juvisy"]["parcels"] == []
