"""/sources: the registry of data sources the pages credit and the exports cite."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.collections import COLLECTIONS
from geo.sources import SOURCES, sources_for


def test_sources_lists_every_source_with_its_licence_and_vintage(client: TestClient) -> None:
    r = client.get("/sources")
    assert r.status_code == 200
    sources = {s["id"]: s for s in r.json()["sources"]}
    assert set(sources) == {s.id for s in SOURCES}
    admin = sources["ign-admin-express"]
    assert admin["licence"] == "Licence Ouverte 2.0" and admin["vintage"] == "2022"
    assert admin["attribution"] == "IGN – ADMIN EXPRESS (2022)"
    assert sources["osm"]["licence"] == "ODbL 1.0"
    assert sources["ign-plan"]["attribution"] == "IGN Géoplateforme – Plan IGN v2"


def test_every_collection_has_a_source() -> None:
    for collection in COLLECTIONS:
        assert sources_for([collection]), f"no source credits the collection {collection}"
