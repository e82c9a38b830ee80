"""Saved ZAN scenarios: writing needs an editor key of the territory, reading its link; compare.

The accounts are test_simulate's (EPCI 200054781: 30 ha left of a 50 ha law envelope).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from config import DatabaseSettings
from tests.api.test_simulate import accounts  # noqa: F401 - the module's autouse accounts

URL = "/territories/epci/200054781/scenarios"
BROWNFIELD = {"site_id": "site-morangis-2", "start_year": 2025}
SABLES = {"site_id": "site-morangis-1", "start_year": 2026}
UNKNOWN = {"parcels": ["91326000AD0001"], "start_year": 2027, "label": "Juvisy"}


def save(client: TestClient, key: str, name: str, *projects: dict[str, Any]) -> Any:
    r = client.post(
        URL, json={"name": name, "projects": list(projects)}, headers={"X-API-Key": key}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_saving_needs_an_editor_key_of_the_territory(
    client: TestClient, keys: dict[str, str], api_db: DatabaseSettings
) -> None:
    body = {"name": "Zone nord", "projects": [SABLES]}
    assert client.post(URL, json=body).status_code == 401
    # The region-84 key does not cover the Grand Paris (region 11).
    r = client.post(URL, json=body, headers={"X-API-Key": keys["region_editor"]})
    assert r.status_code == 403 and "hors de ce périmètre" in r.json()["detail"]
    saved = save(client, keys["epci_editor"], "Zone nord", SABLES)
    assert saved["answer"]["summary"]["margin_2030_ha"] == 26.5
    assert saved["vintages"]["zan_account"]["vintage"] == "test"
    assert saved["profile_version"] == "test-1"
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        row = conn.execute(
            "SELECT action FROM audit WHERE target = %s", (f"zan_scenario:{saved['link_id']}",)
        ).fetchone()
    assert row == ("scenario.create",)
    r = client.post(URL, json={"projects": []}, headers={"X-API-Key": keys["epci_editor"]})
    assert r.status_code == 400 and "name: champ obligatoire" in r.json()["detail"]


def test_read_by_link_and_reproduce_after_a_rescore(
    client: TestClient, keys: dict[str, str], api_db: DatabaseSettings
) -> None:
    saved = save(client, keys["epci_editor"], "Avec Juvisy", UNKNOWN)
    link = saved["link_id"]
    read = client.get(f"{URL}/{link}")
    assert read.status_code == 200, read.text
    assert read.json()["answer"] == saved["answer"]
    fresh = client.post(f"{URL[:-10]}/simulate", json={"projects": [UNKNOWN]}).json()
    assert saved["answer"]["summary"] == fresh["summary"]
    same = client.get(f"{URL}/{link}", params={"recompute": "true"}).json()
    assert same["changed"] is False and same["current"]["summary"] == saved["answer"]["summary"]
    # A re-score finds a building layer for Juvisy: the parcel is known ENAF (1 ha).
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "UPDATE parcel_score SET land_status = 'enaf', zan_cost_ha = 1 "
            "WHERE idu = '91326000AD0001'"
        )
        conn.commit()
    try:
        again = client.get(f"{URL}/{link}", params={"recompute": "true"}).json()
    finally:
        with psycopg.connect(api_db.psycopg_dsn) as conn:
            conn.execute(
                "UPDATE parcel_score SET land_status = 'unknown', zan_cost_ha = NULL "
                "WHERE idu = '91326000AD0001'"
            )
            conn.commit()
    # The saved answer is kept as it was; today's says what changed.
    assert again["answer"]["summary"]["margin_2030_ha"] == 30
    assert again["changed"] is True and again["current"]["summary"]["margin_2030_ha"] == 29
    assert again["current_vintages"]["zan_account"]["vintage"] == "test"
    assert client.get(f"{URL}/{'x' * 22}").status_code == 404
    assert client.get(f"/territories/epci/200071884/scenarios/{link}").status_code == 404
    assert client.get(f"{URL}/short").status_code == 400


def test_listing_needs_a_key(client: TestClient, keys: dict[str, str]) -> None:
    save(client, keys["epci_editor"], "Liste", BROWNFIELD)
    assert client.get(URL).status_code == 401
    r = client.get(URL, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200 and "Liste" in [s["name"] for s in r.json()["scenarios"]]


def test_compare_scenarios(client: TestClient, keys: dict[str, str]) -> None:
    a = save(client, keys["epci_editor"], "A", BROWNFIELD, SABLES)
    b = save(client, keys["epci_editor"], "B", BROWNFIELD, UNKNOWN)
    r = client.get(f"{URL}/compare", params={"ids": f"{a['link_id']},{b['link_id']}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["common"] == ["site:site-morangis-2@2025×1.0"]
    first, second = body["scenarios"]
    assert first["only_here"] == ["site:site-morangis-1@2026×1.0"]
    assert second["only_here"] == ["parcels:91326000AD0001@2027×1.0"]
    assert (first["summary"]["margin_2030_ha"], second["summary"]["margin_2030_ha"]) == (26.5, 30)
    assert second["summary"]["margin_2030_worst_ha"] == 29
    one = client.get(f"{URL}/compare", params={"ids": a["link_id"]})
    assert one.status_code == 400 and "de 2 à 4" in one.json()["detail"]
    missing = client.get(f"{URL}/compare", params={"ids": f"{a['link_id']},{'y' * 22}"})
    assert missing.status_code == 404


@pytest.mark.parametrize("kind", ["epci", "region"])
def test_unknown_territory(client: TestClient, keys: dict[str, str], kind: str) -> None:
    r = client.post(
        f"/territories/{kind}/999999999/scenarios",
        json={"name": "x", "projects": []},
        headers={"X-API-Key": keys["admin"]},
    )
    assert r.status_code == 404
