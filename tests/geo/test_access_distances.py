"""Access distances (issue 15): km to the nearest rail line and freight port, measured by hand.

On the hand-made scoring fixture (tests/fixtures/score_fixture.sql, Lambert-93 metres):

- a rail line along y = 6 601 300 (x 690 000 → 730 000), another along x = 740 000 (far);
- a port at (702 100, 6 597 000) and one at (716 000, 6 600 050).

Site s1 (perimeter 702 000-702 200 × 6 600 000-6 600 100): 6 601 300 - 6 600 100 = 1 200 m to
the line, 6 600 000 - 6 597 000 = 3 000 m to the first port. Site s2 (perimeter 715 010-715 090 ×
6 600 010-6 600 090): 1 210 m to the line, 716 000 - 715 090 = 910 m to the second port. Site s3
(a point at 715 000, 6 605 000, placed at its commune): 3 700 m to the line. The land unit of
P5 + P6 has s1's outline: 1.2 km and 3.0 km.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from db.engine import connect_raw
from tests.api.conftest import API_SETTINGS
from tests.geo.conftest import rows

TRANSPORT = """
INSERT INTO rail_line (id, nom, source, geom) VALUES
('r1', 'Ligne fixture', 'fixture', ST_GeomFromText(
    'MULTILINESTRING((690000 6601300, 730000 6601300))', 2154)),
('r2', 'Ligne lointaine', 'fixture', ST_GeomFromText(
    'MULTILINESTRING((740000 6590000, 740000 6620000))', 2154));
INSERT INTO freight_port (id, nom, source, geom) VALUES
('p1', 'Port sud', 'fixture', ST_SetSRID(ST_MakePoint(702100, 6597000), 2154)),
('p2', 'Port est', 'fixture', ST_SetSRID(ST_MakePoint(716000, 6600050), 2154));
"""


@pytest.fixture
def scored_with_transport(sql_fixture, run_score, db_settings):  # type: ignore[no-untyped-def]
    sql_fixture("score_fixture.sql")
    with connect_raw(db_settings) as conn:
        conn.execute(TRANSPORT)
        conn.commit()
    return run_score()


def _sites(db_settings) -> dict[str, tuple[object, object]]:  # type: ignore[no-untyped-def]
    got = rows(db_settings, "SELECT site_id, rail_km, port_km FROM site_score ORDER BY 1")
    return {str(s): (r, p) for s, r, p in got}


@pytest.mark.usefixtures("scored_with_transport")
def test_site_and_land_unit_distances_are_the_hand_measured_ones(db_settings) -> None:  # type: ignore[no-untyped-def]
    sites = _sites(db_settings)
    assert sites["s1"] == pytest.approx((1.2, 3.0))
    assert sites["s2"] == pytest.approx((1.21, 0.91))
    assert sites["s3"][0] == pytest.approx(3.7)
    (unit,) = rows(
        db_settings,
        "SELECT rail_km, port_km FROM land_unit WHERE '01001000AA0005' = ANY(idus)",
    )
    assert unit == pytest.approx((1.2, 3.0))
    nulls = rows(db_settings, "SELECT count(*) FROM land_unit WHERE rail_km IS NULL")
    assert nulls == [(0,)]


def test_without_transport_layers_the_distances_are_unknown(  # type: ignore[no-untyped-def]
    sql_fixture, run_score, db_settings
) -> None:
    sql_fixture("score_fixture.sql")
    run_score()
    assert set(_sites(db_settings).values()) == {(None, None)}


@pytest.mark.usefixtures("scored_with_transport")
def test_search_max_rail_km(db_settings) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(API_SETTINGS, db_settings)) as client:
        near = client.get("/search", params={"kind": "sites", "max_rail_km": 1.205})
        assert near.status_code == 200, near.text
        assert [r["id"] for r in near.json()["results"]] == ["s1"]
        assert near.json()["results"][0]["rail_km"] == pytest.approx(1.2)
        wider = client.get("/search", params={"kind": "sites", "max_rail_km": 5})
        assert sorted(r["id"] for r in wider.json()["results"]) == ["s1", "s2", "s3"]
        ports = client.get("/search", params={"kind": "sites", "max_port_km": 1})
        assert [r["id"] for r in ports.json()["results"]] == ["s2"]
        units = client.get("/search", params={"kind": "land-units", "max_rail_km": 1.2001})
        assert units.json()["numberMatched"] >= 1
        bad = client.get("/search", params={"max_rail_km": -1})
        assert bad.status_code == 400
