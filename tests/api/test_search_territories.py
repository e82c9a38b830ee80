"""/search's territory filters are the one membership rule, the view territory_commune.

Each filter (region, département, EPCI, SCoT, Territoire d'industrie of either programme) must
keep exactly the sites and land units whose commune the view lists for that territory.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from config import DatabaseSettings

# A SCoT of two communes of the fixture's Essonne (api_land.sql: sites in Morangis and Athis).
SCOT = "test-scot-nord-essonne"
SCOT_COMMUNES = ("91432", "91027")
# Every item of /search with its commune, by the same union the route reads.
_ITEMS = (
    "SELECT s.id::text, s.insee FROM site s UNION ALL SELECT u.id::text, u.insee FROM land_unit u"
)


@pytest.fixture(scope="module", autouse=True)
def scot(api_db: DatabaseSettings) -> Iterator[None]:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO scot_membre (scot_id, insee, nom_scot) "
            "SELECT %s, i, 'SCoT de test' FROM unnest(%s::text[]) i",
            (SCOT, list(SCOT_COMMUNES)),
        )
        conn.commit()
    yield
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute("DELETE FROM scot_membre WHERE scot_id = %s", (SCOT,))
        conn.commit()


def search_ids(client: TestClient, **params: object) -> set[str]:
    r = client.get("/search", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()["results"]}


def view_ids(settings: DatabaseSettings, kind: str, code: str) -> set[str]:
    with psycopg.connect(settings.psycopg_dsn) as conn:
        rows = conn.execute(
            f"SELECT i.id FROM ({_ITEMS}) i WHERE i.insee IN "
            "(SELECT insee FROM territory_commune WHERE kind = %s AND code = %s)",
            (kind, code),
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize(
    ("params", "kind", "code"),
    [
        ({"region": "84"}, "region", "84"),
        ({"region": "11"}, "region", "11"),
        ({"departement": "91"}, "departement", "91"),
        ({"epci": "200054781"}, "epci", "200054781"),
        ({"scot": SCOT}, "scot", SCOT),
        ({"territoire": "ti-2703"}, "territoire-2023", "ti-2703"),
        ({"territoire": "ti-2703", "territoire_programme": 2018}, "territoire-2018", "ti-2703"),
    ],
)
def test_each_filter_is_the_view(
    client: TestClient, api_db: DatabaseSettings, params: dict[str, object], kind: str, code: str
) -> None:
    assert search_ids(client, **params) == view_ids(api_db, kind, code)


def test_scot_filter(client: TestClient) -> None:
    r = client.get("/search", params={"scot": SCOT, "kind": "sites"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert {x["insee"] for x in results} == set(SCOT_COMMUNES)
    assert {x["id"] for x in results} == {"site-morangis-1", "site-morangis-2", "site-athis"}
    assert search_ids(client, scot="no-such-scot") == set()


def test_filters_combine(client: TestClient) -> None:
    both = search_ids(client, scot=SCOT, departement="91")
    assert both == search_ids(client, scot=SCOT)
    assert search_ids(client, scot=SCOT, region="84") == set()


def test_scot_bound_and_bounded(client: TestClient) -> None:
    assert search_ids(client, scot="x' OR '1'='1") == set()
    r = client.get("/search", params={"scot": "x" * 41})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


def test_a_territory_code_filters_each_branch_of_the_view(api_db: DatabaseSettings) -> None:
    # Migration 0004: the view's branches agree on the type of `code`, so the planner pushes
    # `code = ...` into them instead of computing every territory's communes first.
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT insee FROM territory_commune "
                "WHERE kind = 'territoire-2023' AND code = 'ti-2703'"
            )
        )
    assert "id_ti = 'ti-2703'" in plan, plan
