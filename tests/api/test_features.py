"""OGC API Features Part 1 and 2: landing, conformance, collections, items, item, CRS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.collections import COLLECTIONS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def test_landing_and_conformance(client: TestClient) -> None:
    body = client.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["data"].endswith("/collections")
    assert rels["conformance"].endswith("/conformance")
    assert rels["service-desc"].endswith("/api")
    conf = client.get("/conformance").json()["conformsTo"]
    assert any("ogcapi-features-2/1.0/conf/crs" in c for c in conf)
    assert any("cql2-json" in c for c in conf)


def test_collections_lists_every_registry_entry(client: TestClient) -> None:
    body = client.get("/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == list(COLLECTIONS)
    for expected in (
        "epci",
        "communes",
        "territoires-2018",
        "territoires-2023",
        "sites",
        "parcels",
        "friches",
        "plu",
        "constraints",
        "land-units",
    ):
        assert expected in ids
    communes = client.get("/collections/communes").json()
    assert f"{EPSG}2154" in communes["crs"]
    assert communes["storageCrs"] == f"{EPSG}2154"
    assert client.get("/collections/nope").status_code == 404


def test_items_property_filter_and_properties(client: TestClient) -> None:
    r = client.get("/collections/communes/items", params={"insee": "91432", "properties": "nom"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    assert r.headers["content-crs"] == f"<{CRS84}>"
    body = r.json()
    assert body["numberMatched"] == 1 and body["numberReturned"] == 1
    feature = body["features"][0]
    assert feature["id"] == "91432"
    assert feature["properties"] == {"nom": "Morangis"}
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 2.2 < lon < 2.4 and 48.6 < lat < 48.8


def test_items_paging_links(client: TestClient) -> None:
    body = client.get("/collections/communes/items", params={"dep": "91", "limit": 5}).json()
    assert body["numberReturned"] == 5 and body["numberMatched"] > 5
    assert body["numberMatchedIsEstimate"] is False
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "prev" not in rels and "offset=5" in rels["next"]
    page2 = client.get(rels["next"].replace("http://testserver", "")).json()
    assert {f["id"] for f in page2["features"]}.isdisjoint({f["id"] for f in body["features"]})
    assert "prev" in {link["rel"] for link in page2["links"]}


def test_items_sortby(client: TestClient) -> None:
    body = client.get(
        "/collections/communes/items",
        params={"dep": "91", "sortby": "-population", "limit": 3, "properties": "population"},
    ).json()
    pops = [f["properties"]["population"] for f in body["features"]]
    assert pops == sorted(pops, reverse=True)
    r = client.get("/collections/communes/items", params={"sortby": "geom"})
    assert r.status_code == 400 and "sortby" in r.json()["detail"]


def test_limit_is_clamped_and_validated(client: TestClient) -> None:
    body = client.get("/collections/communes/items", params={"limit": 100000}).json()
    assert body["numberReturned"] == 500  # API_SETTINGS.max_limit
    for bad in ("0", "-1", "abc"):
        r = client.get("/collections/communes/items", params={"limit": bad})
        assert r.status_code == 400, bad
        assert r.headers["content-type"] == "application/problem+json"


def test_unknown_parameter_is_refused(client: TestClient) -> None:
    r = client.get("/collections/communes/items", params={"inse": "91432"})
    assert r.status_code == 400
    assert "insee" in r.json()["detail"]  # the message lists the valid names
    r = client.get("/collections/communes/items", params={"population": "many"})
    assert r.status_code == 400 and "integer" in r.json()["detail"]


def test_item(client: TestClient) -> None:
    r = client.get("/collections/communes/items/91432")
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "Feature" and body["properties"]["nom"] == "Morangis"
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    missing = client.get("/collections/communes/items/00000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("bbox", "bbox_crs"),
    [
        ("2.30,48.68,2.36,48.72", None),
        ("2.30,48.68,2.36,48.72", CRS84),
        ("48.68,2.30,48.72,2.36", f"{EPSG}4326"),  # EPSG:4326 is latitude first
        ("649000,6843000,653000,6846500", f"{EPSG}2154"),
        ("256000,6220000,262000,6226000", f"{EPSG}3857"),
    ],
)
def test_bbox_in_every_crs_finds_morangis(
    client: TestClient, bbox: str, bbox_crs: str | None
) -> None:
    params = {"bbox": bbox, "properties": "nom", "limit": 200}
    if bbox_crs:
        params["bbox-crs"] = bbox_crs
    body = client.get("/collections/communes/items", params=params).json()
    assert "91432" in {f["id"] for f in body["features"]}


@pytest.mark.parametrize(
    ("crs", "check"),
    [
        (f"{EPSG}2154", lambda x, y: 640_000 < x < 660_000 and 6_830_000 < y < 6_860_000),
        (f"{EPSG}3857", lambda x, y: 250_000 < x < 270_000 and 6_200_000 < y < 6_240_000),
        (f"{EPSG}4326", lambda x, y: 48.6 < x < 48.8 and 2.2 < y < 2.4),  # lat, lon
        (CRS84, lambda x, y: 2.2 < x < 2.4 and 48.6 < y < 48.8),
        ("EPSG:2154", lambda x, y: 640_000 < x < 660_000 and y > 6_800_000),
    ],
)
def test_output_crs(client: TestClient, crs: str, check) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/collections/communes/items/91432", params={"crs": crs})
    assert r.status_code == 200
    assert r.headers["content-crs"].strip("<>").endswith(crs.split(":")[-1].split("/")[-1])
    x, y = r.json()["geometry"]["coordinates"][0][0][0]
    assert check(x, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"crs": "EPSG:27572"}, "not supported"),
        # minx > maxx crosses the antimeridian (tests/api/test_ogc_features.py): only the
        # latitudes must come lower first.
        ({"bbox": "2.30,48.72,2.36,48.68"}, "lower corner"),
        ({"bbox": "200,48,201,49"}, "outside the valid range"),
        ({"bbox": "1,2,3"}, "4 comma-separated"),
        ({"bbox": "a,b,c,d"}, "4 comma-separated"),
        ({"bbox": "2,48,3,49", "bbox-crs": "EPSG:9999"}, "bbox-crs"),
        # A valid datetime selects everything (no temporal property); a malformed one is a 400.
        ({"datetime": "2024-13-01"}, "RFC 3339"),
    ],
)
def test_bad_crs_and_bbox_are_400(client: TestClient, params: dict[str, str], message: str) -> None:
    r = client.get("/collections/communes/items", params=params)
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_world_bbox_is_clipped_not_an_error(client: TestClient) -> None:
    r = client.get("/collections/epci/items", params={"bbox": "-180,-90,180,90", "limit": 1})
    assert r.status_code == 200 and r.json()["numberReturned"] == 1


def test_numbermatched_is_an_estimate_on_large_tables(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from api.routes import features

    monkeypatch.setattr(features, "EXACT_COUNT_MAX", 100)
    r = client.get("/collections/communes/items", params={"limit": 1})
    body = r.json()
    assert body["numberMatchedIsEstimate"] is True
    assert r.headers["x-number-matched-estimate"] == "true"
    assert body["numberMatched"] > 1000


def test_parcels_and_sites_join_their_scores(client: TestClient) -> None:
    body = client.get("/collections/parcels/items", params={"insee": "91432"}).json()
    scores = {f["id"]: f["properties"]["score"] for f in body["features"]}
    assert scores["91432000AB0001"] == 80 and scores["91432000AC0001"] is None
    site = client.get("/collections/sites/items/site-morangis-1").json()
    assert site["properties"]["score"] == 72
    assert site["properties"]["breakdown"][0]["criterion"] == "zoning"


@pytest.mark.parametrize("cid", list(COLLECTIONS))
def test_every_collection_serves_items(client: TestClient, cid: str) -> None:
    r = client.get(f"/collections/{cid}/items", params={"limit": 2})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "FeatureCollection"


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/api").json()
    # The OGC building blocks' parameter names (GDAL reads the limit of this very path).
    assert "/collections/{collectionId}/items" in spec["paths"]
    assert client.get("/api.html").status_code == 200


def test_ogc_prefix_keeps_links_under_ogc(client: TestClient) -> None:
    landing = client.get("/ogc").json()
    data = next(link["href"] for link in landing["links"] if link["rel"] == "data")
    assert data == "http://testserver/ogc/collections"
    body = client.get("/ogc/collections/communes/items", params={"limit": 1}).json()
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert nxt.startswith("http://testserver/ogc/collections/communes/items?")
    coll = client.get("/ogc/collections/communes").json()
    assert all("/ogc/" in link["href"] for link in coll["links"])


def test_numbermatched_with_bbox_short_pages_and_past_the_end(client: TestClient) -> None:
    bbox = {"bbox": "2.2,48.6,2.5,48.8", "properties": "nom"}
    every = client.get("/collections/communes/items", params={**bbox, "limit": 500}).json()
    assert every["numberMatched"] == every["numberReturned"] > 5
    one = client.get("/collections/communes/items", params={**bbox, "limit": 1}).json()
    assert one["numberMatched"] == every["numberReturned"] and one["numberReturned"] == 1
    past = client.get(
        "/collections/communes/items", params={"dep": "91", "offset": 100000, "limit": 5}
    ).json()
    assert past["numberReturned"] == 0 and past["numberMatched"] > 100
    assert "next" not in {link["rel"] for link in past["links"]}


def test_root_serves_the_json_landing_to_json_clients(client: TestClient) -> None:
    for kwargs in ({"headers": {"Accept": "application/json"}}, {"params": {"f": "json"}}):
        r = client.get("/", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert any(link["rel"] == "conformance" for link in r.json()["links"])
