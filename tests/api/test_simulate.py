"""POST /territories/{kind}/{code}/simulate on hand-computed fixtures (tests/fixtures/api_land.sql).

EPCI 200054781 (Grand Paris; its account in api_land.sql): reference 100 ha, law envelope
50 ha, consumed 8 + 7 + 5 = 20 ha in 2021-2023, so 30 ha left before any project.
EPCI 200071884 (Chassenard's; its account below): reference 40 ha, a territorialised target of
60 % (envelope 16 ha), the law's 50 % (20 ha), the pooled communal guarantees 22 ha; consumed
4 + 3 + 3 = 10 ha in 2021-2023.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from config import DatabaseSettings

GRAND_PARIS = "/territories/epci/200054781/simulate"
CHASSENARD = "/territories/epci/200071884/simulate"


@pytest.fixture(scope="module", autouse=True)
def accounts(api_db: DatabaseSettings) -> Iterator[None]:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "UPDATE zan_account SET last_year = 2023, envelope_with_commune_guarantees_ha = 53 "
            "WHERE territory_type = 'epci' AND territory_code = '200054781'"
        )
        conn.execute(
            "INSERT INTO zan_account (territory_type, territory_code, nom, reference_ha, "
            "reduction_pct, envelope_ha, envelope_with_commune_guarantees_ha, consumed_ha, "
            "remaining_ha, years, last_year, vintage, target) VALUES ('epci', '200071884', "
            "'CC test', 40, 60, 16, 22, 10, 6, "
            """'{"2011": 4, "2021": 4, "2022": 3, "2023": 3}', 2023, 'test', """
            """'{"source": "zan_target", "reduction_pct": 60, "territory_type": "epci"}')"""
        )
        conn.commit()
    yield
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "UPDATE zan_account SET last_year = NULL, envelope_with_commune_guarantees_ha = NULL "
            "WHERE territory_type = 'epci' AND territory_code = '200054781'"
        )
        conn.execute("DELETE FROM zan_account WHERE territory_code = '200071884'")
        conn.commit()


def post(client: TestClient, url: str, *projects: dict[str, Any], **extra: Any) -> Any:
    r = client.post(url, json={"projects": list(projects), **extra})
    assert r.status_code == 200, r.text
    return r.json()


def envelope(body: Any, name: str, period: str = "2021-2030") -> Any:
    return next(e for e in body["envelopes"] if e["name"] == name and e["period"] == period)


def test_no_project_is_the_observed_account(client: TestClient) -> None:
    body = post(client, GRAND_PARIS)
    s = body["summary"]
    assert body["main_envelope"] == "law"
    assert (s["envelope_ha"], s["consumed_2030_ha"], s["margin_2030_ha"]) == (50, 20, 30)
    assert s["exhaustion_year"] is None and s["exhaustion_year_worst"] is None
    years = {y["year"]: y for y in body["years"]}
    assert years[2022]["observed_ha"] == 7 and years[2024]["observed_ha"] is None
    assert years[2023]["cumulative_ha"] == 20 and years[2030]["cumulative_ha"] == 20
    assert {e["name"] for e in body["envelopes"]} == {"law", "commune_guarantees"}
    assert envelope(body, "commune_guarantees")["margin_ha"] == 33
    # 2031-2050: the law's path assumed, halved per decade; each decade counted from zero.
    later = envelope(body, "law", "2031-2040")
    assert later["envelope_ha"] == 25 and later["assumed"] is True and later["margin_ha"] == 25
    assert envelope(body, "law", "2041-2050")["envelope_ha"] == 12.5
    assert any("décret n° 2023-1096" in a for a in body["assumptions"])


def test_an_epci_envelope_runs_out_in_a_known_year(client: TestClient) -> None:
    # Chassenard's site costs 30 ha of ENAF; half of it developed over 2024-2026: 5 ha a year.
    # Cumulative: 2023 10, 2024 15, 2025 20, 2026 25 ha.
    project = {"site_id": "site-chassenard", "start_year": 2024, "share": 0.5, "duration_years": 3}
    body = post(client, CHASSENARD, project)
    assert body["main_envelope"] == "territorialised"
    s = body["summary"]
    assert s["envelope_ha"] == 16 and s["consumed_2030_ha"] == 25
    assert s["exhaustion_year"] == 2025 and s["margin_2030_ha"] == -9
    law = envelope(body, "law")
    assert law["envelope_ha"] == 20 and law["exhaustion_year"] == 2026 and law["margin_ha"] == -5
    pooled = envelope(body, "commune_guarantees")
    assert pooled["exhaustion_year"] == 2026 and pooled["margin_ha"] == -3
    remaining = {
        r["year"]: r["remaining_ha"] for r in envelope(body, "territorialised")["remaining"]
    }
    assert (remaining[2024], remaining[2025], remaining[2030]) == (1, -4, -9)
    (p,) = body["projects"]
    assert (p["cost_ha"], p["developed_ha"], p["kind"]) == (30, 15, "site")
    assert envelope(body, "territorialised", "2031-2040")["envelope_ha"] == 8


def test_a_brownfield_costs_nothing(client: TestClient) -> None:
    body = post(client, GRAND_PARIS, {"site_id": "site-morangis-2", "start_year": 2025})
    (p,) = body["projects"]
    assert (p["cost_ha"], p["cost_max_ha"], p["statuses"]) == (0, 0, {"artificialised": 1})
    assert body["summary"]["margin_2030_ha"] == 30 and body["summary"]["margin_2030_worst_ha"] == 30


def test_unknown_land_is_a_range(client: TestClient) -> None:
    # Juvisy's Etalab parcel: 1 ha of unknown status, so 0 to 1 ha of ENAF.
    body = post(client, GRAND_PARIS, {"parcels": ["91326000AD0001"], "start_year": 2026})
    (p,) = body["projects"]
    assert (p["cost_ha"], p["cost_max_ha"], p["statuses"]) == (0, 1, {"unknown": 1})
    s = body["summary"]
    assert (s["margin_2030_ha"], s["margin_2030_worst_ha"]) == (30, 29)
    year = next(y for y in body["years"] if y["year"] == 2026)
    assert (year["projects_ha"], year["projects_worst_ha"]) == (0, 1)


def test_a_pene_site_counts_in_the_national_envelope(
    client: TestClient, api_db: DatabaseSettings
) -> None:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO site (id, nom, insee, surface_ha, pene, location_precision, geom) "
            "VALUES ('site-pene-test', 'Gigafactory', '91432', 6, true, 'point', "
            "ST_SetSRID(ST_MakePoint(651100, 6844750), 2154))"
        )
        conn.commit()
    try:
        # The PENE site has no score: unknown up to its 6 ha, all in the national envelope.
        body = post(
            client,
            GRAND_PARIS,
            {"site_id": "site-pene-test", "start_year": 2027},
            {"site_id": "site-morangis-1", "start_year": 2027, "pene": True},
            {"land_unit_id": 1, "start_year": 2028},
        )
    finally:
        with psycopg.connect(api_db.psycopg_dsn) as conn:
            conn.execute("DELETE FROM site WHERE id = 'site-pene-test'")
            conn.commit()
    pene_site, flagged, unit = body["projects"]
    assert pene_site["pene"] is True and (pene_site["cost_ha"], pene_site["cost_max_ha"]) == (0, 6)
    assert flagged["pene"] is True and flagged["cost_ha"] == 3.5
    # Land unit 1: two ENAF hectares and one artificialised.
    assert unit["pene"] is False and unit["cost_ha"] == 2 and unit["area_ha"] == 3
    assert unit["statuses"] == {"enaf": 2, "artificialised": 1}
    s = body["summary"]
    assert (s["pene_ha"], s["pene_worst_ha"], s["projects_ha"]) == (3.5, 9.5, 2)
    assert (s["margin_2030_ha"], s["margin_2030_worst_ha"]) == (28, 28)
    year = next(y for y in body["years"] if y["year"] == 2027)
    assert (year["pene_ha"], year["projects_ha"]) == (3.5, 0)


def test_a_drawn_polygon(client: TestClient, api_db: DatabaseSettings) -> None:
    # Half of parcel AB0001 (ENAF, 1 ha) and 0.5 ha covered by no parcel (unknown).
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        (geometry,) = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope("
            "650850, 6844700, 650950, 6844800, 2154), 4326), 9)::jsonb"
        ).fetchone()  # type: ignore[misc]
    body = post(client, GRAND_PARIS, {"geometry": geometry, "start_year": 2025})
    (p,) = body["projects"]
    assert p["kind"] == "polygon" and p["area_ha"] == pytest.approx(1.0, abs=1e-3)
    assert p["cost_ha"] == pytest.approx(0.5, abs=1e-3)
    assert p["cost_max_ha"] == pytest.approx(1.0, abs=1e-3)
    assert p["statuses"]["parcels"] == 1


def test_a_polygon_covering_parcels_whole(client: TestClient, api_db: DatabaseSettings) -> None:
    # 120 m x 120 m over AB0002 (1 ha of ENAF, covered whole), 10 m of AB0001 (0.1 ha of ENAF)
    # and of AB0003 (0.1 ha, artificialised: 0), 0.24 ha covered by no parcel (unknown).
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        (geometry,) = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope("
            "650990, 6844690, 651110, 6844810, 2154), 4326), 9)::jsonb"
        ).fetchone()  # type: ignore[misc]
    (p,) = post(client, GRAND_PARIS, {"geometry": geometry, "start_year": 2025})["projects"]
    assert p["area_ha"] == pytest.approx(1.44, abs=1e-3)
    assert p["cost_ha"] == pytest.approx(1.1, abs=1e-3)
    assert p["cost_max_ha"] == pytest.approx(1.34, abs=1e-3)
    assert p["statuses"]["parcels"] == 3 and p["statuses"]["unknown"] == 0


def test_a_land_unit_costs_what_its_parcels_cost(client: TestClient) -> None:
    # Land unit 1's scores all name it (as `foncier score` writes them): it is costed from
    # parcel_score alone; the same three parcels as a list go through the per-parcel path.
    idus = ["91432000AB0001", "91432000AB0002", "91432000AB0003"]
    unit, listed = post(
        client,
        GRAND_PARIS,
        {"land_unit_id": 1, "start_year": 2026},
        {"parcels": idus, "start_year": 2026},
    )["projects"]
    keys = ("area_ha", "cost_ha", "cost_max_ha", "developed_ha", "developed_max_ha", "statuses")
    assert {k: unit[k] for k in keys} == {k: listed[k] for k in keys}
    assert (unit["area_ha"], unit["cost_ha"], unit["cost_max_ha"]) == (3, 2, 2)


def test_a_land_unit_whose_scores_do_not_name_it(
    client: TestClient, api_db: DatabaseSettings
) -> None:
    # A hand-made unit over AB0004 (scored ENAF, 1 ha, no land_unit_id) and the
    # built parcel AC0001 (0.25 ha, no score: unknown): costed parcel by parcel.
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO land_unit (id, insee, parcel_count, area_ha, idus, geom) VALUES (77, "
            "'91432', 2, 1.25, ARRAY['91432000AB0004', '91432000AC0001'], "
            "ST_Multi(ST_MakeEnvelope(651200, 6844700, 651300, 6844800, 2154)))"
        )
        conn.commit()
    try:
        (p,) = post(client, GRAND_PARIS, {"land_unit_id": 77, "start_year": 2026})["projects"]
    finally:
        with psycopg.connect(api_db.psycopg_dsn) as conn:
            conn.execute("DELETE FROM land_unit WHERE id = 77")
            conn.commit()
    assert (p["area_ha"], p["cost_ha"], p["cost_max_ha"]) == (1.25, 1, 1.25)
    assert p["statuses"] == {"enaf": 1, "unknown": 1}


def test_the_pace_background(client: TestClient) -> None:
    # 20 ha in three years: 6.6667 ha a year in 2024-2030, so 20 + 46.6667 > 50 in 2028.
    body = post(client, GRAND_PARIS, background="pace")
    assert body["summary"]["exhaustion_year"] == 2028
    assert body["summary"]["consumed_2030_ha"] == pytest.approx(20 / 3 * 10, abs=1e-3)


@pytest.mark.parametrize(
    ("project", "needle"),
    [
        ({"site_id": "site-morangis-1"}, "projects.0.start_year: champ obligatoire"),
        ({"site_id": "x", "start_year": 2019}, "doit être supérieur ou égal à 2021"),
        ({"site_id": "x", "land_unit_id": 1, "start_year": 2025}, "exactement un de site_id"),
        ({"start_year": 2025}, "exactement un de site_id"),
        ({"site_id": "x", "start_year": 2025, "share": 0}, "projects.0.share: doit être"),
        ({"site_id": "x", "start_year": 2025, "color": 1}, "projects.0.color: champ inconnu"),
        ({"parcels": ["123"], "start_year": 2025}, "un IDU a 14 caractères"),
        ({"site_id": "x", "start_year": 2049, "duration_years": 5}, "dépasse 2050"),
    ],
)
def test_validation_errors_are_french_and_name_the_field(
    client: TestClient, project: dict[str, Any], needle: str
) -> None:
    r = client.post(GRAND_PARIS, json={"projects": [project]})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"]


@pytest.mark.parametrize(
    ("project", "needle"),
    [
        ({"site_id": "nope"}, "projects[0].site_id : site 'nope' introuvable"),
        ({"site_id": "site-chassenard"}, "n'est pas du territoire epci 200054781"),
        ({"land_unit_id": 999}, "projects[0].land_unit_id : unité foncière '999' introuvable"),
        ({"parcels": ["91432000ZZ0001"]}, "introuvable(s) : 91432000ZZ0001"),
    ],
)
def test_unknown_or_outside_projects(
    client: TestClient, project: dict[str, Any], needle: str
) -> None:
    r = client.post(GRAND_PARIS, json={"projects": [{**project, "start_year": 2025}]})
    assert r.status_code == 400, r.text
    assert needle in r.json()["detail"]


def test_a_territory_without_account(client: TestClient) -> None:
    r = client.post("/territories/departement/91/simulate", json={"projects": []})
    assert r.status_code == 404
    assert "aucun compte ZAN" in r.json()["detail"]
    assert client.post("/territories/nope/1/simulate", json={}).status_code == 400


def test_candidates_brownfields_first_then_cost_per_hectare(client: TestClient) -> None:
    r = client.get("/territories/epci/200054781/candidates")
    assert r.status_code == 200, r.text
    rows = r.json()["candidates"]
    # Friche Gallieni (brownfield, 0 ha of ENAF), ZA des Sables (3.5 ha of ENAF on 10 ha
    # available: 0.35 per ha), land unit 1 (2 ha of ENAF on 3 ha: 0.6667 per ha), then the
    # unscored Juvisy site (unknown, up to its 2 ha: 1 per ha). Athis is excluded.
    assert [(c["kind"], c["id"]) for c in rows] == [
        ("site", "site-morangis-2"),
        ("site", "site-morangis-1"),
        ("land_unit", "1"),
        ("site", "site-juvisy"),
    ]
    assert rows[0]["brownfield"] is True and rows[0]["cost_per_ha"] == 0
    assert rows[1]["cost_per_ha"] == 0.35 and rows[2]["cost_per_ha"] == pytest.approx(0.6667)
    assert rows[3]["cost_ha"] is None and rows[3]["cost_max_per_ha"] == 1
    assert rows[2]["project"] == {"land_unit_id": 1}
    # The project of a candidate is accepted as is by the simulator.
    body = post(client, GRAND_PARIS, {**rows[1]["project"], "start_year": 2026})
    assert body["summary"]["margin_2030_ha"] == 26.5
    only_units = client.get("/territories/epci/200054781/candidates", params={"type": "land_unit"})
    assert [c["id"] for c in only_units.json()["candidates"]] == ["1"]
    assert client.get("/territories/epci/000000000/candidates").status_code == 404
    assert client.get("/territories/epci/200054781/candidates?limit=0").status_code == 400
