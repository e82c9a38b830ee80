"""Operating the service safely: headers, CORS, public URL links, request ids and logs, metrics,
the key salt, key expiry/revocation/rotation and the rate limits, on the real test database."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, text

from api.app import create_app
from api.middleware import content_security_policy
from config import ROOT, ApiSettings, DatabaseSettings, resolve_key_salt
from tests.api.conftest import API_SETTINGS

FONCIER = str(ROOT / ".venv" / "bin" / "foncier")
TILEJSON = "/collections/parcels/tiles/WebMercatorQuad/tilejson.json"


@pytest.fixture
def make_client(api_db: DatabaseSettings) -> Iterator:  # type: ignore[type-arg]
    """Build a client on the test database with some settings changed."""
    clients: list[TestClient] = []

    def _make(**changes: object) -> TestClient:
        settings = API_SETTINGS.model_copy(update=changes)
        c = TestClient(create_app(settings, api_db), raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        return c

    yield _make
    for c in clients:
        c.__exit__(None, None, None)


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path, status in (("/collections", 200), ("/", 200), ("/nowhere", 404), ("/api.html", 200)):
        r = client.get(path)
        assert r.status_code == status, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "https://tile.openstreetmap.org" in csp  # the planner's basemap
    assert "cdn.jsdelivr.net" not in client.get("/api.html").headers["content-security-policy"]
    assert "cdn.jsdelivr.net" not in client.get("/").headers["content-security-policy"]
    production = ApiSettings(environment="production", key_salt="s", public_url="https://f.org")
    assert "'unsafe-eval'" not in content_security_policy(production)


def test_no_cross_origin_by_default_and_configured_origins(make_client) -> None:  # type: ignore[no-untyped-def]
    origin = {"Origin": "https://other.example"}
    r = make_client().get("/collections", headers=origin)
    assert "access-control-allow-origin" not in r.headers
    allowed = make_client(cors_origins=["https://other.example"])
    r = allowed.get("/collections", headers=origin)
    assert r.headers["access-control-allow-origin"] == "https://other.example"
    pre = allowed.options(
        "/sites", headers={**origin, "Access-Control-Request-Method": "POST",
                           "Access-Control-Request-Headers": "X-API-Key"},
    )  # fmt: skip
    assert pre.status_code == 200
    assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()


def _bodies(c: TestClient) -> str:
    evil = {"Host": "evil.example"}
    paths = ("/", "/collections", "/ogc/", "/collections/communes/items?limit=1", TILEJSON,
             "/collections/parcels/tiles", "/search?departement=91", "/places?q=evry")  # fmt: skip
    out = []
    for path in paths:
        r = c.get(path, headers={**evil, "Accept": "application/json"})
        assert r.status_code == 200, (path, r.text)
        out.append(r.text)
    return "\n".join(out)


def test_links_ignore_the_host_header(client: TestClient, make_client) -> None:  # type: ignore[no-untyped-def]
    text_ = _bodies(client)
    assert "evil.example" not in text_
    assert "http://testserver/collections" in text_  # the address the server listens on
    public = make_client(public_url="https://foncier.example.org")
    text_ = _bodies(public)
    assert "evil.example" not in text_ and "testserver" not in text_
    tiles = public.get(TILEJSON, headers={"Host": "evil.example"}).json()["tiles"]
    assert all(t.startswith("https://foncier.example.org/") for t in tiles), tiles
    assert "strict-transport-security" in public.get("/healthz").headers


def test_request_id_and_one_json_log_line_per_request(client: TestClient) -> None:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("foncier.access")
    logger.addHandler(handler)
    try:
        r = client.get("/collections/communes/items/91432", headers={"X-Request-ID": "abc-123"})
        generated = client.get("/collections/communes", headers={"X-Request-ID": "bad id\x7f"})
    finally:
        logger.removeHandler(handler)
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["method"] == "GET" and entry["status"] == 200
    assert entry["route"] == "/collections/{collection_id}/items/{feature_id}"
    assert entry["request_id"] == "abc-123"
    assert isinstance(entry["duration_ms"], float) and entry["time"].endswith("+00:00")


def test_metrics(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client()
    for insee in ("91432", "91228", "00000"):
        c.get(f"/collections/communes/items/{insee}")
    body = c.get("/metrics").text
    route = 'route="/collections/{collection_id}/items/{feature_id}"'
    assert f'foncier_http_requests_total{{method="GET",{route},status="200"}} 2.0' in body
    assert f'foncier_http_requests_total{{method="GET",{route},status="404"}} 1.0' in body
    assert "91432" not in body  # templates, never raw paths
    assert (
        f'foncier_http_request_duration_seconds_count{{method="GET",{route},status="200"}}' in body
    )
    assert re.search(r"^foncier_db_pool_size \d", body, re.M)
    assert re.search(r"^foncier_db_pool_available \d", body, re.M)
    assert "foncier_database_up 1.0" in body
    # The samples the fixture loaded went through ingest runs.
    assert re.search(
        r'^foncier_ingest_runs\{layer="communes",status="succeeded"\} [1-9]', body, re.M
    )
    assert re.search(r"^foncier_score_runs \d", body, re.M)


def test_key_salt_has_no_default(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FONCIER_API_KEY_SALT and FONCIER_PUBLIC_URL"):
        ApiSettings(environment="production")
    with pytest.raises(ValidationError, match="change-me"):
        ApiSettings(key_salt="change-me")
    external = DatabaseSettings(database_url="postgresql+psycopg://app@db.example:5432/foncier")
    with pytest.raises(ValueError, match="FONCIER_API_KEY_SALT is not set"):
        resolve_key_salt(ApiSettings(), external)
    local = DatabaseSettings(pg_data_dir=tmp_path / "pg15")
    first = resolve_key_salt(ApiSettings(), local).key_salt
    salt_file = tmp_path / "key_salt"
    assert first and len(first) >= 40 and salt_file.read_text() == first
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert resolve_key_salt(ApiSettings(), local).key_salt == first  # stable across restarts
    assert "key_salt=" not in repr(ApiSettings(key_salt="s3cret"))


def _cli(db: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db.database_url, "COLUMNS": "200",
           "FONCIER_API_KEY_SALT": str(API_SETTINGS.key_salt)}  # fmt: skip
    return subprocess.run([FONCIER, "apikey", *args], env=env, capture_output=True, text=True)


def test_apikey_expiry_list_revoke_rotate(
    api_db: DatabaseSettings, engine: Engine, make_client
) -> None:  # type: ignore[no-untyped-def]
    c = make_client()
    created = _cli(api_db, "create", "--name", "ops-test", "--scope", "national",
                   "--expires", "2099-01-01")  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    key_id = int(re.search(r"key (\d+) created", created.stderr).group(1))  # type: ignore[union-attr]
    items = "/collections/sites/items"
    assert c.get(items, headers={"X-API-Key": key}).status_code == 200

    listed = _cli(api_db, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stderr.splitlines() if "ops-test" in line)
    assert "national" in row and "2099-01-01" in row and "yes" in row
    hashes = [h for (h,) in engine.connect().execute(text("SELECT key_hash FROM api_key"))]
    assert key not in listed.stderr + listed.stdout
    assert not any(h in listed.stderr + listed.stdout for h in hashes)

    rotated = _cli(api_db, "rotate", str(key_id))
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip().splitlines()[-1]
    old = c.get(items, headers={"X-API-Key": key})
    assert old.status_code == 401 and "revoked" in old.json()["detail"]
    assert c.get(items, headers={"X-API-Key": new_key}).status_code == 200

    with engine.begin() as conn:
        conn.execute(
            text("UPDATE api_key SET expires_at = now() - interval '1 day' WHERE name = 'ops-test'")
        )
    expired = c.get(items, headers={"X-API-Key": new_key})
    assert expired.status_code == 401 and expired.json()["detail"].startswith("key expired")

    new_id = re.search(r"replacement is key (\d+)", rotated.stderr).group(1)  # type: ignore[union-attr]
    assert _cli(api_db, "revoke", new_id).returncode == 0
    again = _cli(api_db, "revoke", new_id)
    assert again.returncode == 1 and "no active API key" in again.stderr
    assert _cli(api_db, "create", "--name", "x", "--scope", "national",
                "--expires", "2001-01-01").returncode == 2  # fmt: skip


def test_failed_authentications_are_rate_limited(make_client, keys: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    c = make_client(auth_failures_per_minute=3)
    items = "/collections/sites/items"
    for i in range(3):
        assert c.get(items, headers={"X-API-Key": f"fon_wrong{i}"}).status_code == 401
    r = c.get(items, headers={"X-API-Key": "fon_wrong4"})
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # Blocked even with a good key for a while; reading without a key still works.
    assert c.get(items, headers={"X-API-Key": keys["admin"]}).status_code == 429
    assert c.get(items).status_code == 200


def test_exports_are_rate_limited_per_client(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(exports_per_minute_per_ip=2)
    url = "/collections/communes/export"
    assert c.get(url, params={"dep": "91"}).status_code == 200
    assert c.get("/ogc" + url, params={"dep": "91"}).status_code == 200
    r = c.get(url, params={"dep": "91"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "exports a minute" in r.json()["detail"]
    assert c.get("/collections/communes/items", params={"limit": 1}).status_code == 200
