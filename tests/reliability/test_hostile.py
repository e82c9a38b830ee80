"""Hostile input: injections, absurd bboxes and limits, deep JSON, oversized bodies, traversal.

Each request gets a clear 4xx problem+json (or, for a value that is only a value, an empty
answer) and changes nothing: the watched tables are fingerprinted before and after the module.
What tests/api already covers (CQL2 injection basics, inverted or out-of-range bbox, clamped
limits, Content-Length above the limit) is not repeated here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.reliability.conftest import snapshot

PROBLEM = "application/problem+json"
LEAF = '{"op": "=", "args": [{"property": "nom"}, "x"]}'


@pytest.fixture(scope="module", autouse=True)
def unchanged(rel_keys: dict[str, str], engine: Engine) -> Iterator[None]:
    """Every hostile request of this module leaves the database exactly as it was."""
    assert rel_keys  # data and keys exist before the first fingerprint
    before = snapshot(engine)
    yield
    assert snapshot(engine) == before


def nested_not(levels: int) -> str:
    """A CQL2-JSON filter of ``levels`` nested NOTs (built as text: json.dumps would recurse)."""
    return '{"op": "not", "args": [' * levels + LEAF + "]}" * levels


def raw_get(client: TestClient, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    """GET through the ASGI app itself, for query strings longer than an HTTP client sends."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    out: dict[str, object] = {"body": b""}

    async def run() -> None:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
                out["type"] = dict(message["headers"]).get(b"content-type", b"").decode()  # type: ignore[call-overload]
            elif message["type"] == "http.response.body":
                out["body"] = out["body"] + message.get("body", b"")  # type: ignore[operator]

        await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None
    client.portal.call(run)
    return int(out["status"]), str(out["type"]), bytes(out["body"])  # type: ignore[call-overload]


def all_routes(routes: list[object], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, walking included routers (FastAPI keeps them nested)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            out += all_routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
            continue
        for method in getattr(route, "methods", None) or ():
            out.append((method, prefix + route.path))  # type: ignore[attr-defined]
    return out


def assert_problem(r, status: int, message: str = "") -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert message in r.json()["detail"]


# --- filters and parameters --------------------------------------------------------------------

INJECTIONS = (
    "x' OR '1'='1",
    "x'; DROP TABLE site; --",
    "x'); DELETE FROM parcel; --",
    "1 UNION SELECT key_hash FROM api_key",
    "\\'; TRUNCATE layer_version; --",
)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injected_values_are_only_values(rel_client: TestClient, value: str) -> None:
    """Property filters, ids and codes are bound parameters: an injection matches nothing."""
    for path, params in (
        ("/collections/sites/items", {"nom": value}),
        ("/collections/parcels/items", {"insee": value, "bbox": "-180,-90,180,90"}),
        ("/collections/sites/export", {"nom": value, "format": "csv"}),
        (
            "/collections/sites/tiles/WebMercatorQuad/10/518/352",
            {
                "filter": json.dumps({"op": "=", "args": [{"property": "nom"}, value]}),
                "filter-lang": "cql2-json",
            },
        ),
        ("/search", {"region": value[:3], "territoire": value[:40]}),
    ):
        r = rel_client.get(path, params=params)
        assert r.status_code in (200, 204), (path, r.text)
        if path.endswith("/items") or path == "/search":
            assert r.json()["numberReturned"] == 0
        elif path.endswith("/export"):
            assert len(r.content.decode("utf-8").splitlines()) == 1  # the header row only
    assert rel_client.get(f"/collections/sites/items/{value}").status_code == 404
    assert rel_client.get(f"/territories/epci/{value}").status_code == 404
    r = rel_client.get("/sites/compare", params={"ids": f"site-athis,{value}"})
    assert_problem(r, 404, "unknown site")


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/collections/sites/items", {"nom) OR (1=1": "x"}, "unknown parameter"),
        ("/collections/sites/items", {"sortby": "nom; DROP TABLE site"}, "sortby"),
        ("/collections/sites/items", {"sortby": "pg_sleep(10)"}, "sortby"),
        (
            "/collections/sites/items",
            {"properties": "nom,(SELECT key_hash FROM api_key)"},
            "properties",
        ),
        ("/collections/sites/items", {"properties": "prix_m2"}, "properties"),  # restricted
        ("/collections/sites/items", {"crs": "EPSG:2154'; DROP TABLE site; --"}, "crs"),
        ("/collections/sites/items", {"filter": "nom = 'x'", "filter-crs": "EPSG:0"}, "filter-crs"),
        ("/collections/sites/items", {"filter-crs": "EPSG:666"}, "filter-crs"),  # even unused
        ("/collections/sites/items", {"filter": "prix_m2 > 0 OR 1 = 1"}, ""),
        ("/collections/sites/tiles/WebMercatorQuad/10/518/352", {"contact": "x"}, "unknown"),
        (
            "/collections/sites/tiles/WebMercatorQuad/10/518/352",
            {"filter": "contact LIKE '%'"},
            "queryable",
        ),
        ("/collections/sites/export", {"format": "csv;rm -rf /"}, "format"),
        ("/collections/parcels/export", {"crs": "EPSG:3857"}, "crs"),
        ("/search", {"epci": "2000' OR 1=1"}, "epci"),
    ],
)
def test_injected_names_and_options_are_400(
    rel_client: TestClient, path: str, params: dict[str, str], message: str
) -> None:
    assert_problem(rel_client.get(path, params=params), 400, message)


def test_values_postgres_cannot_take_are_400_not_500(rel_client: TestClient) -> None:
    """Found by the fuzzing: NUL characters and integers beyond bigint used to be 500s."""
    for path, params in (
        ("/collections/communes/items", {"nom": "\x00"}),
        ("/collections/communes/items", {"filter": "nom = 'a\x00'"}),
        ("/collections/communes/items", {"population": "9" * 25}),
        ("/collections/communes/items", {"filter": "population = 1" + "0" * 30}),
        ("/collections/communes/items", {"offset": "9" * 25}),
        ("/search", {"offset": "9" * 25}),
        ("/search", {"region": "\x00"}),
        ("/sites/compare", {"ids": "a\x00,b"}),
    ):
        r = rel_client.get(path, params=params)
        assert r.status_code == 400, (path, params, r.text)
        assert r.headers["content-type"] == PROBLEM
    assert_problem(rel_client.get("/territories/epci/%00"), 400, "NUL")
    assert_problem(rel_client.get("/collections/sites/items/a%00"), 400)


# --- bboxes, limits, tiles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bbox": "nan,nan,nan,nan"}, "finite"),
        ({"bbox": "-inf,-inf,inf,inf"}, "finite"),
        ({"bbox": "-1e308,-1e308,1e308,1e308"}, "outside the valid range"),
        ({"bbox": "2.36,48.72,2.30,48.68"}, "lower corner"),  # both axes inverted
        ({"bbox": "651000,6844000,650000,6845000", "bbox-crs": "EPSG:2154"}, "lower corner"),
        ({"bbox": "48.68,2.30,48.72,2.36", "bbox-crs": "EPSG:2154"}, ""),
        ({"bbox": "2.30,48.68,2.36"}, "4 comma-separated"),
        ({"bbox": ",".join(["1"] * 10_000)}, "4 comma-separated"),
        ({"bbox": "0x10,1,2,3"}, "4 comma-separated"),
        ({"limit": "1" + "0" * 30}, "at most"),
        ({"limit": "1e3"}, "integer"),
        ({"limit": "0"}, "limit=0"),
        ({"limit": "-1"}, "limit=-1: must be at least 1"),
        ({"offset": "-1"}, "negative"),
        ({"offset": str(2**63)}, "at most"),
    ],
)
def test_absurd_bboxes_and_limits_are_400(
    rel_client: TestClient, params: dict[str, str], message: str
) -> None:
    for path in ("/collections/parcels/items", "/collections/parcels/export"):
        r = rel_client.get(path, params=params)
        if params.get("limit") == "0" and path.endswith("/export"):
            message = "limit=0"
        assert_problem(r, 400, message)


def test_huge_but_valid_bboxes_are_clipped_and_limits_clamped(rel_client: TestClient) -> None:
    for params in (
        {"bbox": "-20037508,-20048966,20037508,20048966", "bbox-crs": "EPSG:3857"},
        {"bbox": "-3000000,3000000,4000000,9000000", "bbox-crs": "EPSG:2154"},
        {"bbox": "-90,-180,90,180", "bbox-crs": "EPSG:4326"},
    ):
        body = rel_client.get(
            "/collections/parcels/items", params={**params, "limit": 10**15}
        ).json()
        assert body["numberReturned"] == body["numberMatched"] == 6 + 142  # fixture + sheet AK01
    r = rel_client.get("/collections/parcels/items", params={"offset": 2**62})
    assert r.status_code == 200 and r.json()["numberReturned"] == 0


@pytest.mark.parametrize(
    "zxy", ["25/0/0", "-1/0/0", "3/8/0", "3/0/8", "3/-1/0", "99999999999999999999/0/0", "1/a/0"]
)
def test_impossible_tiles_are_4xx(rel_client: TestClient, zxy: str) -> None:
    r = rel_client.get(f"/collections/parcels/tiles/WebMercatorQuad/{zxy}")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM


def test_search_bounds(rel_client: TestClient) -> None:
    for params in ({"limit": 10**6}, {"limit": 0}, {"min_score": 1e308}, {"surface_min_ha": -1}):
        assert_problem(rel_client.get("/search", params=params), 400)


# --- deep and long filters ---------------------------------------------------------------------


def test_cql2_json_nested_10000_levels_is_400(rel_client: TestClient) -> None:
    # ~470 KB of query string: HTTP servers refuse such a request line before the app (uvicorn
    # answers 400 itself); the app must refuse it too when a proxy lets it through.
    status, ctype, body = raw_get(
        rel_client,
        "/collections/sites/items",
        {"filter": nested_not(10_000), "filter-lang": "cql2-json"},
    )
    assert (status, ctype) == (400, PROBLEM)
    assert "filter" in json.loads(body)["detail"]


def test_cql2_nesting_is_bounded_but_long_lists_are_fine(rel_client: TestClient) -> None:
    r = rel_client.get(
        "/collections/sites/items", params={"filter": nested_not(150), "filter-lang": "cql2-json"}
    )
    assert_problem(r, 400, "nested more than")
    text = "(" * 150 + "nom = 'x'" + ")" * 150  # parentheses are no nesting of operators
    assert rel_client.get("/collections/sites/items", params={"filter": text}).status_code == 200
    # 2,000 alternatives (left-deep OR tree) used to exhaust Python's recursion: a 500.
    status, ctype, body = raw_get(
        rel_client,
        "/collections/communes/items",
        {"filter": " OR ".join(f"insee = '{91000 + i}'" for i in range(2000)), "limit": "500"},
    )
    assert (status, ctype) == (200, "application/geo+json"), body[:300]
    assert json.loads(body)["numberReturned"] > 100


# --- bodies ------------------------------------------------------------------------------------


def test_chunked_body_over_the_limit_is_413(
    rel_client: TestClient, rel_keys: dict[str, str]
) -> None:
    """No Content-Length: the limit is enforced while reading (it used to be a vague 400)."""

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "site-big", "nom": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = rel_client.post(
        "/sites",
        content=chunks(),
        headers={"content-type": "application/json", "X-API-Key": rel_keys["admin"]},
    )
    assert_problem(r, 413, "limit")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 2_000 + b"1" + b"}" * 2_000,
        b'{"id": "s1", "nom": "a\\u0000b", "insee": "91432", "lon": 2.3, "lat": 48.7}',
        b'{"id": "s1", "nom": "\\ud800", "insee": "91432", "lon": 2.3, "lat": 48.7}',
        b'{"id": "../../etc/passwd", "nom": "x", "insee": "91432", "lon": 2.3, "lat": 48.7}',
        b'{"id": "s1", "nom": "x", "insee": "91432", "lon": 1e999, "lat": 48.7}',
        b'{"id": "s1", "nom": "x", "insee": "91432", "lon": NaN, "lat": 48.7}',
        b"\xff\xfe not utf-8",
    ],
)
def test_hostile_write_bodies_are_400(
    rel_client: TestClient, rel_keys: dict[str, str], body: bytes
) -> None:
    r = rel_client.post(
        "/sites",
        content=body,
        headers={"content-type": "application/json", "X-API-Key": rel_keys["admin"]},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    r = rel_client.patch(
        "/sites/site-athis",
        content=body,
        headers={"content-type": "application/json", "X-API-Key": rel_keys["admin"]},
    )
    assert r.status_code == 400, r.text


# --- no ingest through the API, no traversal ---------------------------------------------------


def test_no_ingest_or_upload_endpoint_is_reachable(rel_client: TestClient) -> None:
    """The API offers no way to make the server read a path or load a file: ingest is CLI-only.

    The one upload, a checklist's evidence PDF, is kept as bytes in ``site_evidence`` and served
    back as is; nothing reads a path or a URL from it (tests/api/test_checklist.py).
    """
    writes = sorted(
        (method, path)
        for method, path in all_routes(rel_client.app.routes)  # type: ignore[attr-defined]
        if method not in ("GET", "HEAD")
    )
    # Each write route is mounted once (the /ogc copies only hold read routes).
    assert writes == [
        ("DELETE", "/sites/{site_id}/checklist/{item}"),
        ("PATCH", "/contracts/sheets/{sheet_id}"),
        ("PATCH", "/sites/{site_id}"),
        ("PATCH", "/sites/{site_id}/checklist/{item}"),
        ("POST", "/contracts/sheets"),
        ("POST", "/contracts/sheets/{sheet_id}/send-back"),
        ("POST", "/contracts/sheets/{sheet_id}/submit"),
        ("POST", "/contracts/sheets/{sheet_id}/validate"),
        ("POST", "/disponibilite/{token}"),
        ("POST", "/search/match"),
        ("POST", "/sites"),
        ("POST", "/sites/{site_id}/evidence"),
        ("POST", "/territories/{kind}/{code}/scenarios"),
        ("POST", "/territories/{kind}/{code}/simulate"),
        ("PUT", "/sites/{site_id}/checklist/{item}"),
    ]
    from api.routes.checklist import ChecklistItemPut
    from api.routes.contracts import Move, SheetFields
    from api.routes.match import ProjectProfile
    from api.routes.sites import SiteCreate
    from api.zan_schemas import ProjectIn, ScenarioIn

    for model in (SiteCreate, ScenarioIn, ProjectIn, SheetFields, Move, ProjectProfile):
        assert not {"path", "file", "source", "url", "layer"} & set(model.model_fields), model
    # A checklist item's source is an attribution and its evidence_url a link for readers.
    assert not {"path", "file", "url", "layer"} & set(ChecklistItemPut.model_fields)
    for method, path in (
        ("POST", "/ingest"),
        ("POST", "/ingest/parcels"),
        ("PUT", "/collections/parcels/items"),
        ("POST", "/collections/parcels/items"),
        ("POST", "/collections/parcels/items?path=/etc/passwd"),
        ("DELETE", "/sites/site-athis"),
        ("POST", "/api/ingest"),
        ("POST", "/upload"),
    ):
        r = rel_client.request(method, path, json={"path": "../../../etc/passwd"})
        assert r.status_code in (404, 405), (method, path, r.status_code)
        assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "path",
    [
        "/static/maps/../../pyproject.toml",
        "/static/maps/%2e%2e/%2e%2e/pyproject.toml",
        "/static/maps/..%2F..%2F..%2Fpyproject.toml",
        "/static/vendor/leaflet/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/static/maps/%2e%2e%5c%2e%2e%5cpyproject.toml",
        "/collections/..%2F..%2Fetc%2Fpasswd/items",
        "/collections/sites/items/..%2F..%2F..%2Fetc%2Fpasswd",
        "/territories/epci/..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_path_traversal_reads_nothing(rel_client: TestClient, path: str) -> None:
    r = rel_client.get(path)
    assert r.status_code in (400, 404), r.text
    assert b"[project]" not in r.content and b"root:" not in r.content
