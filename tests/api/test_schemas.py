"""OGC API Features Part 5 schemas and the GeoJSON feature schema GDAL's OAPIF driver reads."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.collections import COLLECTIONS


def test_collection_links_its_schemas(client: TestClient) -> None:
    links = client.get("/ogc/collections/parcels").json()["links"]
    by_rel = {link["rel"]: link for link in links}
    schema = by_rel["http://www.opengis.net/def/rel/ogc/1.0/schema"]
    assert schema["type"] == "application/schema+json"
    assert schema["href"].endswith("/ogc/collections/parcels/schema")
    assert by_rel["describedBy"]["href"].endswith("/ogc/collections/parcels/feature-schema")


@pytest.mark.parametrize("cid", list(COLLECTIONS))
def test_every_collection_publishes_a_part5_schema(client: TestClient, cid: str) -> None:
    r = client.get(f"/collections/{cid}/schema")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    body = r.json()
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    props = body["properties"]
    assert props["id"]["x-ogc-role"] == "id"
    assert props["geometry"]["x-ogc-role"] == "primary-geometry"
    assert props["geometry"]["format"].startswith("geometry-")
    seqs = [p["x-ogc-propertySeq"] for p in props.values()]
    assert seqs == list(range(len(props)))
    items = client.get(f"/collections/{cid}/items", params={"limit": 1}).json()["features"]
    for feature in items:  # every published property is described
        assert set(feature["properties"]) <= set(props)


def test_parcel_schema_types(client: TestClient) -> None:
    props = client.get("/collections/parcels/schema").json()["properties"]
    assert props["score"]["type"] == "number"
    assert props["excluded"]["type"] == "boolean"
    assert props["contenance_m2"] == {
        "title": "Contenance cadastrale (m²)",
        "type": "integer",
        "x-ogc-propertySeq": props["contenance_m2"]["x-ogc-propertySeq"],
    }
    assert props["zan_cost_ha"]["x-ogc-unit"] == "har"
    assert props["id"]["type"] == "string"
    assert client.get("/collections/land-units/schema").json()["properties"]["id"]["type"] == (
        "integer"
    )


def test_restricted_properties_only_with_a_key(client: TestClient, keys: dict[str, str]) -> None:
    anon = client.get("/collections/sites/schema").json()["properties"]
    assert "prix_m2" not in anon and "contact" not in anon
    key = {"X-API-Key": keys["epci_editor"]}
    private = client.get("/collections/sites/feature-schema", headers=key).json()
    assert private["properties"]["properties"]["properties"]["prix_m2"]["type"] == "number"


def test_feature_schema_is_one_geojson_feature(client: TestClient) -> None:
    body = client.get("/collections/parcels/feature-schema").json()
    assert body["properties"]["type"]["enum"] == ["Feature"]
    props = body["properties"]["properties"]["properties"]
    assert props["score"]["type"] == "number" and props["built"]["type"] == "boolean"
    # GDAL's example builder needs a single type string and local references only.
    assert all(isinstance(p["type"], str) for p in props.values())
    assert body["properties"]["geometry"]["$ref"] == "#/$defs/geometry"


def test_schema_refuses_unknown_parameters_and_collections(client: TestClient) -> None:
    assert client.get("/collections/parcels/schema", params={"x": "1"}).status_code == 400
    r = client.get("/collections/nope/schema")
    assert r.status_code == 404 and "parcels" in r.json()["detail"]
