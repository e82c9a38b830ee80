"""Access: public reads, key-scoped writes with audit, hashed keys, limits, problem+json."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tests.conftest import scalar

NEW_SITE = {
    "id": "site-test-new",
    "nom": "Nouveau parc",
    "insee": "91432",
    "lon": 2.335,
    "lat": 48.70,
    "surface_ha": 5.5,
    "prix_m2": 60,
    "contact": "x@example.org",
}


def test_keys_are_stored_hashed(engine: Engine, keys: dict[str, str]) -> None:
    key = keys["admin"]
    stored = scalar(engine, "SELECT string_agg(key_hash, ',') FROM api_key")
    assert key not in str(stored)
    assert hashlib.sha256(key.encode()).hexdigest() not in str(stored)  # salted HMAC


def test_writes_need_a_key(client: TestClient) -> None:
    r = client.patch("/sites/site-morangis-1", json={"maturite": "vendu"})
    assert r.status_code == 401
    assert "X-API-Key" in r.json()["detail"]
    r = client.post("/sites", json=NEW_SITE)
    assert r.status_code == 401


def test_unknown_key_is_401_even_for_reads(client: TestClient) -> None:
    r = client.get("/collections/sites/items", headers={"X-API-Key": "fon_forged"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.fixture
def new_site(engine: Engine) -> Iterator[str]:
    """The id of the site a test creates, removed afterwards so other tests see the fixture."""
    yield NEW_SITE["id"]  # type: ignore[misc]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site WHERE id LIKE 'site-test-%'"))


@pytest.mark.usefixtures("new_site")
def test_create_then_update_a_site_with_audit(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    key = {"X-API-Key": keys["epci_editor"]}
    r = client.post("/sites", json=NEW_SITE, headers=key)
    assert r.status_code == 201, r.text
    assert client.post("/sites", json=NEW_SITE, headers=key).status_code == 409
    feature = client.get("/collections/sites/items/site-test-new").json()
    assert feature["properties"]["lib_com"] == "Morangis"
    assert "prix_m2" not in feature["properties"]  # anonymous readers never see the price
    version = scalar(engine, "SELECT version FROM layer_version WHERE layer = 'sites'")
    r = client.patch(
        "/sites/site-test-new",
        headers=key,
        json={"maturite": "en_cours", "prix_m2": 75.5, "surface_dispo_ha": 3},
    )
    assert r.status_code == 200, r.text
    assert r.json()["changed"]["prix_m2"] == {"old": 60, "new": 75.5}
    private = client.get("/collections/sites/items/site-test-new", headers=key).json()
    assert private["properties"]["prix_m2"] == 75.5
    assert private["properties"]["maturite"] == "en_cours"
    assert scalar(engine, "SELECT version FROM layer_version WHERE layer = 'sites'") == version + 1
    audit = scalar(
        engine,
        "SELECT json_agg(json_build_object('actor', actor, 'action', action, 'changes', changes)"
        " ORDER BY id) FROM audit WHERE target = 'site:site-test-new'",
    )
    assert [a["action"] for a in audit] == ["site.create", "site.update"]  # type: ignore[union-attr]
    assert audit[1]["actor"] == "epci_editor"  # type: ignore[index]
    assert audit[1]["changes"]["maturite"] == {"old": None, "new": "en_cours"}  # type: ignore[index]
    assert scalar(engine, "SELECT count(*) FROM audit WHERE at IS NULL") == 0


@pytest.mark.usefixtures("new_site")
def test_scope_is_enforced(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    # Chassenard is in region 84, outside the Grand Paris EPCI key.
    r = client.patch(
        "/sites/site-chassenard",
        json={"maturite": "vendu"},
        headers={"X-API-Key": keys["epci_editor"]},
    )
    assert r.status_code == 403
    assert "200054781" in r.json()["detail"]
    assert scalar(engine, "SELECT maturite FROM site WHERE id = 'site-chassenard'") == "disponible"
    r = client.post(
        "/sites",
        json={**NEW_SITE, "id": "site-test-out"},
        headers={"X-API-Key": keys["region_editor"]},
    )
    assert r.status_code == 403
    # A national admin may write anywhere (a no-op change keeps the fixture intact).
    r = client.patch(
        "/sites/site-chassenard",
        json={"maturite": "disponible"},
        headers={"X-API-Key": keys["admin"]},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"maturite": "x", "owner": "me"}, "owner"),  # unknown fields are refused
        ({"prix_m2": -3}, "prix_m2"),
        ({}, "nothing to change"),
        ({"surface_dispo_ha": "lots"}, "surface_dispo_ha"),
    ],
)
def test_bad_updates_are_400(
    client: TestClient, keys: dict[str, str], body: dict[str, object], message: str
) -> None:
    r = client.patch("/sites/site-morangis-1", json=body, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_update_unknown_site_is_404(client: TestClient, keys: dict[str, str]) -> None:
    r = client.patch("/sites/nope", json={"maturite": "x"}, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 404


def test_bad_new_sites_are_400(client: TestClient, keys: dict[str, str]) -> None:
    key = {"X-API-Key": keys["admin"]}
    for bad in (
        {**NEW_SITE, "lat": 12},
        {**NEW_SITE, "insee": "9143"},
        {**NEW_SITE, "id": "a b; drop"},
        {"nom": "x"},
    ):
        assert client.post("/sites", json=bad, headers=key).status_code == 400
    r = client.post(
        "/sites", content=b"{not json", headers={**key, "content-type": "application/json"}
    )
    assert r.status_code == 400


def test_request_size_limit(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/sites", json={**NEW_SITE, "nom": "x" * 50_000}, headers={"X-API-Key": keys["admin"]}
    )
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_statement_timeout_is_a_503_problem(api_db) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from config import DatabaseSettings
    from tests.api.conftest import API_SETTINGS

    slow = DatabaseSettings(database_url=api_db.database_url, statement_timeout_ms=1)
    with TestClient(create_app(API_SETTINGS, slow), raise_server_exceptions=False) as c:
        r = c.get("/collections/communes/items", params={"limit": 500, "crs": "EPSG:3857"})
    assert r.status_code == 503
    assert "timeout" in r.json()["detail"]


def test_apikey_cli(api_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import config
    from cli import app

    monkeypatch.setenv("DATABASE_URL", api_db.database_url)
    config.get_database_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["apikey", "create", "--name", "cli", "--scope", "region:11", "--role", "admin"]
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().splitlines()[-1].startswith("fon_")
        bad = CliRunner().invoke(app, ["apikey", "create", "--name", "x", "--scope", "city:1"])
        assert bad.exit_code == 2
    finally:
        config.get_database_settings.cache_clear()


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    r = client.get("/collections/communes/nothing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
