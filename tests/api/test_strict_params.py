"""Unknown query parameters outside the OGC routes: /search, /places, /territories, /sites/...,
/sources and the exports answer 400 naming them, by the items' rule (issue 12); the OpenAPI
document says which routes may answer 429."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("/search", {"surface_min_ha": "1"}),
        ("/places", {"q": "morangis"}),
        ("/territories/epci/200054781", {}),
        ("/sites/compare", {"ids": "site-morangis-1,site-morangis-2"}),
        ("/sites/site-morangis-1/parcels", {}),
        ("/sources", {}),
        ("/collections/sites/export", {"format": "csv"}),
    ],
)
def test_unknown_parameters_are_400_naming_them(
    client: TestClient, path: str, valid: dict[str, str]
) -> None:
    assert client.get(path, params=valid).status_code == 200, path
    # The generic parameters are accepted everywhere, as on the OGC routes.
    assert client.get(path, params={**valid, "f": "json", "lang": "en"}).status_code == 200
    r = client.get(path, params={**valid, "surface_min": "1"})  # a typo of surface_min_ha
    assert r.status_code == 400, (path, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert "'surface_min'" in r.json()["detail"]


def test_the_message_lists_what_the_route_accepts(client: TestClient) -> None:
    detail = client.get("/places", params={"q": "lyon", "limt": "3"}).json()["detail"]
    assert detail == "unknown parameter 'limt'; this resource accepts: f, lang, limit, q"


def test_f_html_is_refused_outside_the_pages(client: TestClient) -> None:
    r = client.get("/search", params={"f": "html"})
    assert r.status_code == 400 and "f=html" in r.json()["detail"]


def test_429_documented_on_the_rate_limited_routes(client: TestClient) -> None:
    paths = client.get("/api").json()["paths"]
    assert "429" in paths["/collections/{collectionId}/export"]["get"]["responses"]
    # Routes taking X-API-Key: a wrong key counts towards the per-address limit on failures.
    assert "429" in paths["/collections/{collectionId}/items"]["get"]["responses"]
    assert "429" in paths["/sites"]["post"]["responses"]
    assert "429" not in paths["/places"]["get"]["responses"]
