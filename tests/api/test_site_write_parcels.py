"""Sites written through the API get their parcels (``site_parcel``) in the write itself.

Parcels of tests/fixtures/api_land.sql: 91432000AB0001 to AB0004, four 100 m x 100 m squares in a
row (x from 650,900 to 651,300, y from 6,844,700 to 6,844,800, EPSG:2154). Positions are sent in
CRS84, converted here with pyproj.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, text

from tests.conftest import scalar

TO_CRS84 = Transformer.from_crs(2154, 4326, always_xy=True)
AB = "91432000AB000"  # + 1..4
Y_MID = 6_844_750


def lonlat(x: float, y: float) -> dict[str, float]:
    lon, lat = TO_CRS84.transform(x, y)
    return {"lon": round(lon, 7), "lat": round(lat, 7)}


def outline(x_min: float, y_min: float, x_max: float, y_max: float) -> dict[str, Any]:
    """A GeoJSON Polygon in CRS84 of a Lambert-93 rectangle."""
    corners = [(x_min, y_min), (x_max, y_min), (x_max, y_max), (x_min, y_max), (x_min, y_min)]
    ring = [list(TO_CRS84.transform(x, y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [ring]}


def new_site(site_id: str, **place: object) -> dict[str, object]:
    return {"id": site_id, "nom": "Site posé par l'API", "insee": "91432", **place}


@pytest.fixture
def editor(keys: dict[str, str], engine: Engine) -> Iterator[dict[str, str]]:
    """The Grand Paris editor's key header; the sites the test created are removed afterwards."""
    yield {"X-API-Key": keys["epci_editor"]}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site WHERE id LIKE 'site-test-%'"))


def parcel_ids(client: TestClient, site_id: str) -> list[str]:
    r = client.get(f"/sites/{site_id}/parcels")
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["features"]]


def test_new_point_site_lists_its_parcel_at_once(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    version = scalar(engine, "SELECT version FROM layer_version WHERE layer = 'sites'")
    body = new_site("site-test-point", **lonlat(651_050, Y_MID))  # middle of AB0002
    r = client.post("/sites", json=body, headers=editor)
    assert r.status_code == 201, r.text
    assert r.json()["parcels"] == [AB + "2"]
    assert parcel_ids(client, "site-test-point") == [AB + "2"]
    # One write, one bump of the sites' caches (the parcels feed no cached response).
    assert scalar(engine, "SELECT version FROM layer_version WHERE layer = 'sites'") == version + 1
    audit = scalar(
        engine, "SELECT changes FROM audit WHERE target = 'site:site-test-point' ORDER BY id DESC"
    )
    assert audit["parcels"] == [AB + "2"]  # type: ignore[index]


def test_new_site_with_a_perimeter_lists_the_parcels_it_covers(
    client: TestClient, editor: dict[str, str]
) -> None:
    # AB0001 and AB0002 whole, a 10 m strip (10 %) of AB0003: not enough to claim it.
    body = new_site("site-test-outline", perimeter=outline(650_890, 6_844_690, 651_110, 6_844_810))
    r = client.post("/sites", json=body, headers=editor)
    assert r.status_code == 201, r.text
    assert r.json()["parcels"] == [AB + "1", AB + "2"]
    got = client.get("/sites/site-test-outline/parcels").json()
    assert [f["id"] for f in got["features"]] == [AB + "1", AB + "2"]
    assert got["inside_ha"] == pytest.approx(2.0, abs=1e-3)
    item = client.get("/collections/sites/items/site-test-outline").json()
    assert item["properties"]["location_precision"] == "polygon"


def test_moving_a_site_changes_its_parcels(client: TestClient, editor: dict[str, str]) -> None:
    site = "site-test-moved"
    r = client.post("/sites", json=new_site(site, **lonlat(651_050, Y_MID)), headers=editor)
    assert r.status_code == 201, r.text

    r = client.patch(f"/sites/{site}", json=lonlat(651_250, Y_MID), headers=editor)  # AB0004
    assert r.status_code == 200, r.text
    changed = r.json()["changed"]
    assert changed["parcels"] == {"old": [AB + "2"], "new": [AB + "4"]}
    assert changed["lon"]["new"] == lonlat(651_250, Y_MID)["lon"]
    assert parcel_ids(client, site) == [AB + "4"]

    # An outline over AB0003 and AB0004 takes over from the point.
    r = client.patch(
        f"/sites/{site}",
        json={"perimeter": outline(651_100, 6_844_700, 651_300, 6_844_800)},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    changed = r.json()["changed"]
    assert changed["parcels"]["new"] == [AB + "3", AB + "4"]
    assert changed["location_precision"] == {"old": "point", "new": "polygon"}
    assert parcel_ids(client, site) == [AB + "3", AB + "4"]

    # Without its outline the site is a point again (a point inside the old outline).
    r = client.patch(
        f"/sites/{site}", json={"perimeter": None, **lonlat(650_950, Y_MID)}, headers=editor
    )
    assert r.status_code == 200, r.text
    assert r.json()["changed"]["location_precision"] == {"old": "polygon", "new": "point"}
    assert parcel_ids(client, site) == [AB + "1"]

    # A change of the site's own fields leaves its parcels alone.
    r = client.patch(f"/sites/{site}", json={"maturite": "disponible"}, headers=editor)
    assert r.status_code == 200 and "parcels" not in r.json()["changed"]
    assert parcel_ids(client, site) == [AB + "1"]


def test_sites_over_no_parcel_get_an_empty_list(client: TestClient, editor: dict[str, str]) -> None:
    # 1 km north of the fixture parcels, still in Morangis.
    away = lonlat(651_050, 6_845_750)
    r = client.post("/sites", json=new_site("site-test-empty", **away), headers=editor)
    assert r.status_code == 201 and r.json()["parcels"] == []
    body = client.get("/sites/site-test-empty/parcels").json()
    assert body["features"] == [] and body["numberReturned"] == 0

    empty_outline = outline(651_000, 6_845_700, 651_100, 6_845_800)
    r = client.post(
        "/sites", json=new_site("site-test-empty-2", perimeter=empty_outline), headers=editor
    )
    assert r.status_code == 201 and r.json()["parcels"] == []

    # Moved away from its parcel, a site loses it.
    r = client.post(
        "/sites", json=new_site("site-test-leaves", **lonlat(651_050, Y_MID)), headers=editor
    )
    assert r.json()["parcels"] == [AB + "2"]
    r = client.patch("/sites/site-test-leaves", json=away, headers=editor)
    assert r.json()["changed"]["parcels"] == {"old": [AB + "2"], "new": []}
    assert parcel_ids(client, "site-test-leaves") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lon": 2.3}, "lon and lat go together"),
        ({"lon": 2.3, "lat": None}, "lon and lat go together"),
        ({"perimeter": outline(0, 0, 100, 100)}, "outside metropolitan France"),
        (
            {"perimeter": {"type": "Polygon", "coordinates": [[[2.3, 48.7], [2.31, 48.7]]]}},
            "perimeter",
        ),
        # A closed ring with no area: there and back along one segment.
        (
            {
                "maturite": "vendu",
                "perimeter": {
                    "type": "Polygon",
                    "coordinates": [[[2.3, 48.7], [2.31, 48.7], [2.3, 48.7], [2.3, 48.7]]],
                },
            },
            "encloses no area",
        ),
    ],
)
def test_bad_places_are_400_and_change_nothing(
    client: TestClient,
    editor: dict[str, str],
    engine: Engine,
    body: dict[str, object],
    message: str,
) -> None:
    site = "site-test-bad"
    r = client.post("/sites", json=new_site(site, **lonlat(651_050, Y_MID)), headers=editor)
    assert r.status_code == 201, r.text
    r = client.patch(f"/sites/{site}", json=body, headers=editor)
    assert r.status_code == 400 and message in r.json()["detail"], r.text
    assert parcel_ids(client, site) == [AB + "2"]
    assert scalar(engine, "SELECT maturite FROM site WHERE id = :id", id=site) is None


def test_a_new_site_needs_a_place(client: TestClient, editor: dict[str, str]) -> None:
    r = client.post("/sites", json=new_site("site-test-nowhere"), headers=editor)
    assert r.status_code == 400 and "give lon and lat, or a perimeter" in r.json()["detail"]


@pytest.mark.parametrize(
    "field, token",
    [
        ("prix_m2", "Infinity"),
        ("surface_ha", "Infinity"),
        ("surface_dispo_ha", "NaN"),
        ("lon", "NaN"),
        ("perimeter", "Infinity"),
        ("perimeter", "NaN"),
    ],
)
def test_non_finite_numbers_are_refused(
    client: TestClient, editor: dict[str, str], engine: Engine, field: str, token: str
) -> None:
    # Python's JSON reader takes the NaN/Infinity tokens; no site may be stored with them.
    body = new_site("site-test-nonfinite", **lonlat(651_050, Y_MID))
    if field == "perimeter":
        ring = outline(650_900, 6_844_700, 651_000, 6_844_800)
        ring["coordinates"][0][1][0] = 0.5  # replaced by the token below
        text_body = json.dumps({**body, "perimeter": ring}).replace("0.5", token)
    else:
        text_body = json.dumps({**body, field: 0.5}).replace("0.5", token)
    r = client.post(
        "/sites", content=text_body, headers={**editor, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(f"{field}:"), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert scalar(engine, "SELECT count(*) FROM site WHERE id = 'site-test-nonfinite'") == 0
