"""The OGC API Features abstract tests the outside testers ran: datetime, antimeridian bbox,
unknown parameters, f=html, the root's content negotiation and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import OpenAPIV30SpecValidator

from api.negotiation import prefers_html
from tests.api.conftest import API_SETTINGS

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
ITEMS = "/collections/communes/items"


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-31T12:00:00Z",
        "2024-01-31t12:00:00.5+02:00",
        "2024-01-31",
        "2020-01-01T00:00:00Z/2024-01-01T00:00:00Z",
        "../2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z/..",
        "/2024-01-01",
    ],
)
def test_valid_datetime_selects_every_feature(client: TestClient, value: str) -> None:
    # /conf/core/fc-time-response: no temporal property, so the filter does not apply.
    every = client.get(ITEMS, params={"dep": "91", "limit": 1}).json()["numberMatched"]
    r = client.get(ITEMS, params={"dep": "91", "limit": 1, "datetime": value})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == every > 0


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01", "2024-01-31T12:00:00", "2024/2023", "../..", "a/b/c", ""]
)
def test_malformed_datetime_is_400(client: TestClient, value: str) -> None:
    r = client.get(ITEMS, params={"datetime": value})
    assert r.status_code == 400
    assert "datetime" in r.json()["detail"]


def test_datetime_interval_ending_before_it_starts_is_400(client: TestClient) -> None:
    r = client.get(ITEMS, params={"datetime": "2024-01-02/2024-01-01"})
    assert r.status_code == 400 and "ends before" in r.json()["detail"]


def test_antimeridian_bbox_is_two_envelopes(client: TestClient) -> None:
    pacific = client.get(ITEMS, params={"bbox": "170,-50,-170,-40"})
    assert pacific.status_code == 200, pacific.text
    assert pacific.json()["numberReturned"] == 0
    # From 2.30°E eastwards over the antimeridian to 170°W: the same as up to 180°.
    base = {"properties": "nom", "limit": 500}
    wrapped = client.get(ITEMS, params={**base, "bbox": "2.30,48.68,-170,48.72"}).json()
    east = client.get(ITEMS, params={**base, "bbox": "2.30,48.68,180,48.72"}).json()
    names = {f["properties"]["nom"] for f in wrapped["features"]}
    assert "Morangis" in names
    assert names == {f["properties"]["nom"] for f in east["features"]}
    assert wrapped["numberMatched"] == east["numberMatched"]
    # EPSG:4326 is lat,lon: the longitudes are the second and fourth values.
    lat_lon = client.get(
        ITEMS,
        params={**base, "bbox": "48.68,2.30,48.72,-170", "bbox-crs": "EPSG:4326"},
    ).json()
    assert lat_lon["numberMatched"] == east["numberMatched"]


def test_inverted_projected_bbox_is_still_400(client: TestClient) -> None:
    r = client.get(ITEMS, params={"bbox": "660000,6850000,650000,6860000", "bbox-crs": "EPSG:2154"})
    assert r.status_code == 400 and "lower corner" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/ogc",
        "/conformance",
        "/collections",
        "/collections/communes",
        "/collections/communes/queryables",
        "/collections/communes/items",
        "/collections/communes/items/91432",
        "/tileMatrixSets",
        "/collections/communes/tiles",
        "/collections/communes/tiles/WebMercatorQuad",
    ],
)
def test_unknown_parameters_are_400_naming_them(client: TestClient, path: str) -> None:
    r = client.get(path, params={"colour": "red"})
    assert r.status_code == 400, (path, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert "colour" in r.json()["detail"]
    # The generic parameters are accepted everywhere.
    assert client.get(path, params={"f": "json", "lang": "en"}).status_code == 200, path


def test_one_feature_takes_no_filters(client: TestClient) -> None:
    r = client.get("/collections/communes/items/91432", params={"insee": "91432"})
    assert r.status_code == 400 and "insee" in r.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/ogc", "/conformance", "/collections", "/collections/communes/items"]
)
def test_f_html_is_refused_where_there_is_no_html(client: TestClient, path: str) -> None:
    r = client.get(path, params={"f": "html"})
    assert r.status_code == 400
    assert "f=html is not offered for this resource" in r.json()["detail"]


def test_root_negotiates_json_for_star_and_html_for_browsers(client: TestClient) -> None:
    for accept in ("*/*", "application/json", "application/json, text/html", ""):
        r = client.get("/", headers={"Accept": accept})
        assert r.status_code == 200, accept
        assert r.headers["content-type"] == "application/json", accept
        assert any(link["rel"] == "conformance" for link in r.json()["links"])
    for accept in (BROWSER, "text/html", "text/html, application/json"):
        r = client.get("/", headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), accept
    html = client.get("/", params={"f": "html"}, headers={"Accept": "*/*"})
    assert html.headers["content-type"].startswith("text/html")
    json_ = client.get("/", params={"f": "json"}, headers={"Accept": BROWSER})
    assert json_.headers["content-type"] == "application/json"


def test_prefers_html() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("application/json;q=0.5, text/html")
    assert not prefers_html("*/*")
    assert not prefers_html("")
    assert not prefers_html("text/html;q=0, */*")
    assert not prefers_html("application/json, text/html")


def test_landing_links_the_html_page_and_the_typed_openapi(client: TestClient) -> None:
    links = client.get("/ogc").json()["links"]
    by_rel = {link["rel"]: link for link in links}
    assert by_rel["alternate"]["type"] == "text/html"
    assert by_rel["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    served = client.get("/api")
    assert served.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"


def test_openapi_is_valid_3_0_as_the_conformance_says(client: TestClient) -> None:
    spec = client.get("/api").json()
    assert spec["openapi"].startswith("3.0.")
    assert list(OpenAPIV30SpecValidator(spec).iter_errors()) == []
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conf


def test_openapi_limit_states_default_and_maximum(client: TestClient) -> None:
    spec = client.get("/api").json()
    params = spec["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")["schema"]
    assert limit["maximum"] == API_SETTINGS.max_limit == 500
    assert limit["default"] == API_SETTINGS.default_limit
    r = client.get(ITEMS, params={"limit": 10_000, "properties": "nom"})
    assert r.json()["numberReturned"] == API_SETTINGS.max_limit
