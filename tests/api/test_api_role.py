"""The API served as its own database role (`foncier db grant-api`, FONCIER_API_DATABASE_URL).

A throwaway role on the test cluster, prepared twice by the command (it is idempotent), dropped
at the end. The app built on it reads items, tiles and territories and still writes a site (with
its parcels, audit row and layer version); the role itself cannot write a parcel, a score or a
key, and cannot create a table.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api.app import create_app
from cli import app as cli_app
from config import DatabaseSettings
from tests.api.conftest import API_SETTINGS
from tests.api.test_tiles import tile_path
from tests.conftest import FIXTURES

SITE = {
    "id": "site-test-api-role",
    "nom": "Parc du rôle",
    "insee": "91432",
    "lon": 2.335,
    "lat": 48.70,
    "surface_ha": 2.0,
}


@pytest.fixture
def api_role(api_db: DatabaseSettings) -> Iterator[tuple[str, str]]:
    """(role, its URL) prepared by `foncier db grant-api`; the role and the site dropped after."""
    role = f"foncier_api_{secrets.token_hex(3)}_f"
    url = make_url(api_db.database_url).set(username=role)
    try:
        yield role, url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(api_db.psycopg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM site WHERE id = %s", (SITE["id"],))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _grant(db: DatabaseSettings, role: str) -> str:
    result = CliRunner().invoke(
        cli_app, ["db", "grant-api", role], env={"DATABASE_URL": db.database_url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_api_served_as_its_role(
    api_db: DatabaseSettings, keys: dict[str, str], api_role: tuple[str, str]
) -> None:
    role, url = api_role
    assert f"role {role} created" in _grant(api_db, role)
    again = _grant(api_db, role)  # idempotent: same grants, no error
    assert f"role {role} updated" in again and f"FONCIER_API_DATABASE_URL={url}" in again

    settings = DatabaseSettings(database_url=api_db.database_url, api_database_url=url)
    with TestClient(create_app(API_SETTINGS, settings), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200
        with psycopg.connect(api_db.psycopg_dsn) as owner:  # the pool connects as the role
            sessions = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s"
            assert owner.execute(sessions, (role,)).fetchone() != (0,)
        items = client.get("/collections/parcels/items?limit=5")
        assert items.status_code == 200 and items.json()["features"], items.text
        assert client.get(tile_path("parcels", 14)).status_code == 200
        territory = client.get("/territories/epci/200054781")
        assert territory.status_code == 200, territory.text
        # The API's own writes still work: a site, its parcels, the audit, the layer version.
        created = client.post("/sites", json=SITE, headers={"X-API-Key": keys["epci_editor"]})
        assert created.status_code == 201, created.text
        moved = client.patch(
            f"/sites/{SITE['id']}",
            json={"lon": 2.336, "lat": 48.70, "maturite": "en_cours"},
            headers={"X-API-Key": keys["epci_editor"]},
        )
        assert moved.status_code == 200, moved.text
        # The PATCH kept the version it replaced (history.site); the role reads it back.
        history = client.get(f"/sites/{SITE['id']}/history")
        assert history.status_code == 200 and len(history.json()["versions"]) == 2, history.text
        before = client.get("/collections/sites/items", params={"as_of": "2001-01-01"})
        assert before.status_code == 200, before.text
        # The ZAN simulator only reads; saving a scenario writes zan_scenario and the audit.
        scenario = client.post(
            "/territories/epci/200054781/scenarios",
            json={"name": "Rôle de l'API", "projects": []},
            headers={"X-API-Key": keys["epci_editor"]},
        )
        assert scenario.status_code == 201, scenario.text
        # The checklist: an evidence PDF, an item written then rewritten (its history kept).
        editor = {"X-API-Key": keys["epci_editor"]}
        pdf = client.post(
            f"/sites/{SITE['id']}/evidence?filename=d.pdf",
            content=(FIXTURES / "evidence_diagnostic.pdf").read_bytes(),
            headers={**editor, "Content-Type": "application/pdf"},
        )
        assert pdf.status_code == 201, pdf.text
        for status in ("in_progress", "done"):
            item = client.put(
                f"/sites/{SITE['id']}/checklist/archaeology",
                json={"status": status, "evidence_id": pdf.json()["evidence_id"]},
                headers=editor,
            )
            assert item.status_code == 200, item.text

    with psycopg.connect(make_url(url).render_as_string().replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        for statement in (
            "INSERT INTO parcel (idu, insee) VALUES ('91432000AA9999', '91432')",
            "DELETE FROM parcel_score",
            "UPDATE api_key SET active = true",
            "CREATE TABLE public.intrus (id int)",
            "DELETE FROM history.site",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


def test_grant_api_refuses_a_superuser(api_db: DatabaseSettings) -> None:
    owner = make_url(api_db.database_url).username
    result = CliRunner().invoke(
        cli_app, ["db", "grant-api", str(owner)], env={"DATABASE_URL": api_db.database_url}
    )
    assert result.exit_code == 1
    assert "give the API a role of its own" in result.output
    assert "Traceback" not in result.output
