"""``foncier score --changed`` re-scores what the API wrote (sites carry no ingest run id).

The hand-made fixture of tests/fixtures/score_fixture.sql, scored once; then sites are created
and moved through the real app (national admin key) and an incremental run must pick them up.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from config import ApiSettings, DatabaseSettings
from tests.conftest import make_keys
from tests.geo.conftest import rows

TO_CRS84 = Transformer.from_crs(2154, 4326, always_xy=True)
API_SETTINGS = ApiSettings(key_salt="test-salt")


def lonlat(x: float, y: float) -> dict[str, float]:
    lon, lat = TO_CRS84.transform(x, y)
    return {"lon": round(lon, 7), "lat": round(lat, 7)}


@pytest.fixture
def admin(sql_fixture, run_score, db_settings: DatabaseSettings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app on the scored fixture, sending a national admin key."""
    sql_fixture("score_fixture.sql")
    run_score()
    key = make_keys(db_settings, API_SETTINGS)["admin"]
    app = create_app(API_SETTINGS, db_settings)
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as c:
        yield c


def site_score(db_settings: DatabaseSettings, site_id: str) -> tuple[object, ...] | None:
    found = rows(
        db_settings, "SELECT zone_class, zan_cost_ha FROM site_score WHERE site_id = %s", site_id
    )
    return found[0] if found else None


def maturity(db_settings: DatabaseSettings, idu: str) -> float:
    """The maturity contribution in a parcel's score breakdown (0 outside any site)."""
    ((value,),) = rows(
        db_settings,
        "SELECT (b->>'contribution')::float8 FROM parcel_score, json_array_elements(breakdown) b"
        " WHERE idu = %s AND b->>'criterion' = 'maturity'",
        idu,
    )
    return float(value)  # type: ignore[arg-type]


def test_changed_run_scores_sites_written_through_the_api(
    admin: TestClient,
    run_score,  # type: ignore[no-untyped-def]
    db_settings: DatabaseSettings,
) -> None:
    assert maturity(db_settings, "01001000AA0004") == 0
    # A point site on P4 (agricultural zone, 1 ha of ENAF) in commune 01001, ready now.
    place = lonlat(704_550, 6_600_050)
    body = {"id": "api-1", "nom": "Posé par l'API", "insee": "01001", "maturite": "disponible"}
    r = admin.post("/sites", json={**body, **place})
    assert r.status_code == 201 and r.json()["parcels"] == ["01001000AA0004"], r.text
    report = run_score(changed_only=True)
    assert not report.skipped and report.communes == 1
    assert site_score(db_settings, "api-1") == ("agricultural", 1.0)
    # Its parcel is now in a site: the site's maturity counts (profile weight 5 x 1.0).
    assert maturity(db_settings, "01001000AA0004") == 5
    assert run_score(changed_only=True).skipped

    # Moved onto P3 (a brownfield): the next changed run follows it, P4 is no longer in a site.
    r = admin.patch("/sites/api-1", json=lonlat(704_050, 6_600_050))
    new = {"old": ["01001000AA0004"], "new": ["01001000AA0003"]}
    assert r.status_code == 200 and r.json()["changed"]["parcels"] == new, r.text
    report = run_score(changed_only=True)
    assert not report.skipped and report.communes == 1
    assert site_score(db_settings, "api-1") == ("agricultural", 0)
    assert maturity(db_settings, "01001000AA0004") == 0


def test_a_write_during_a_run_is_scored_by_the_next_one(
    admin: TestClient,
    run_score,  # type: ignore[no-untyped-def]
    db_settings: DatabaseSettings,
) -> None:
    body = {"id": "api-2", "nom": "Pendant le calcul", "insee": "01001"}
    r = admin.post("/sites", json={**body, **lonlat(704_550, 6_600_050)})
    assert r.status_code == 201, r.text
    # As if the write committed while a run was scoring: the run's recorded layer versions
    # include the write's 'sites' bump, its audit bound does not include the write.
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        conn.execute(
            "UPDATE score_run SET layer_versions = layer_versions"
            " || (SELECT jsonb_object_agg(layer, version) FROM layer_version)"
            " WHERE id = (SELECT max(id) FROM score_run)"
        )
    report = run_score(changed_only=True)
    assert not report.skipped and report.communes == 1
    assert site_score(db_settings, "api-2") == ("agricultural", 1.0)
