"""The OpenAPI document's parameters are the routes' declarations (api/route_params.py): what
it lists is what the routes accept, its enums are the values they take, and its bounds are
enforced with a 400 naming the value."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.params import ITEM_PARAMS, ITEMS_PARAMS, TILE_PARAMS
from api.routes.exports import FORMATS

ITEMS = "/collections/{collectionId}/items"
EXPORT = "/collections/{collectionId}/export"
TILE = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"
ITEM = "/collections/{collectionId}/items/{featureId}"


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/api").json())


def _params(spec: dict[str, Any], path: str, where: str = "query") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == where}


@pytest.mark.parametrize(
    ("path", "accepted"),
    [(ITEMS, ITEMS_PARAMS), (TILE, TILE_PARAMS), (ITEM, ITEM_PARAMS)],
)
def test_the_document_lists_what_the_route_accepts(
    spec: dict[str, Any], path: str, accepted: frozenset[str]
) -> None:
    # `lang` is accepted everywhere (OGC API Common) and never changes an answer.
    assert set(_params(spec, path)) - {"x-api-key"} == accepted - {"lang"}


def test_a_query_parameter_is_never_nullable(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for op in ops.values():
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    assert not p["schema"].get("nullable"), (path, p["name"])


def test_every_documented_value_is_taken_and_others_refused(
    client: TestClient, spec: dict[str, Any]
) -> None:
    items = _params(spec, ITEMS)
    for name in ("crs", "bbox-crs", "filter-crs", "filter-lang", "f"):
        for value in items[name]["schema"]["enum"]:
            params = {name: value, "limit": "1"}
            if name == "bbox-crs":
                params["bbox"] = "2,48,3,49" if "2154" not in value else "600000,6800000,7e5,7e6"
            r = client.get("/collections/communes/items", params=params)
            assert r.status_code == 200, (name, value, r.text)
        r = client.get("/collections/communes/items", params={name: "nope"})
        assert r.status_code == 400 and name in r.json()["detail"], (name, r.text)
    # The export's format and f take the file formats (f=csv is an export, f=json is not).
    export = _params(spec, EXPORT)
    assert export["format"]["schema"]["enum"] == export["f"]["schema"]["enum"] == list(FORMATS)
    r = client.get("/collections/communes/export", params={"f": "csv", "limit": "1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert _params(spec, TILE)["f"]["schema"]["enum"] == ["mvt"]


def test_declared_bounds_are_400_naming_the_value(client: TestClient, spec: dict[str, Any]) -> None:
    z = _params(spec, TILE, "path")["z"]["schema"]
    assert (z["minimum"], z["maximum"]) == (0, 24)
    r = client.get("/collections/communes/tiles/WebMercatorQuad/25/0/0")
    assert r.status_code == 400 and r.json()["detail"] == "z=25: must be at most 24"
    assert _params(spec, ITEMS)["offset"]["schema"]["minimum"] == 0
    r = client.get("/collections/communes/items", params={"offset": "-3"})
    assert r.json()["detail"] == "offset=-3: must not be negative"
    r = client.get("/collections/communes/items", params={"limit": "ten"})
    assert r.json()["detail"] == "limit='ten': expected an integer"
    # A collection outside the declared list is a 404, as the description says.
    assert "404" in spec["paths"][ITEMS]["get"]["responses"]
    assert client.get("/collections/nope/items").status_code == 404
