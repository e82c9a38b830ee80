"""Investor search, site comparison and territory figures."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def search(client: TestClient, **params: object) -> list[str]:
    r = client.get("/search", params=params)
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["results"]]


def test_search_ranks_by_score_with_explanation(client: TestClient) -> None:
    body = client.get("/search").json()
    scores = [x["score"] for x in body["results"] if x["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    first = body["results"][0]
    assert (first["kind"], first["id"], first["score"]) == ("land-unit", "1", 80)
    assert first["explanation"]["summary"].startswith("score 80/100: zoning +30")
    assert first["explanation"]["breakdown"][0]["criterion"] == "zoning"
    site = next(x for x in body["results"] if x["id"] == "site-morangis-1")
    assert site["geometry"]["type"] == "Point"
    assert site["link"].endswith("/collections/sites/items/site-morangis-1")
    assert body["numberMatched"] == len(body["results"]) == 6


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"turnkey_only": True}, ["site-morangis-1", "site-chassenard"]),
        ({"brownfield_only": True}, ["site-morangis-2"]),
        ({"activity_only": True, "kind": "sites"}, ["site-morangis-1", "site-morangis-2"]),
        ({"kind": "land-units"}, ["1"]),
        ({"surface_min_ha": 10, "surface_max_ha": 20}, ["site-morangis-1"]),
        (
            {"contiguous_min_ha": 5, "kind": "sites"},
            ["site-morangis-1", "site-chassenard", "site-athis"],
        ),
        ({"region": "84"}, ["site-chassenard"]),
        (
            {"departement": "91", "kind": "sites"},
            ["site-morangis-1", "site-morangis-2", "site-athis", "site-juvisy"],
        ),
        ({"epci": "200071884"}, ["site-chassenard"]),
        ({"territoire": "ti-2703"}, ["site-chassenard"]),
        ({"territoire": "ti-2703", "territoire_programme": 2018}, []),
        ({"max_zan_cost_ha": 5, "kind": "sites"}, ["site-morangis-1", "site-morangis-2"]),
        (
            {"no_hard_constraint": True, "kind": "sites"},
            ["site-morangis-1", "site-morangis-2", "site-chassenard"],
        ),
        ({"min_score": 60}, ["1", "site-morangis-1"]),
    ],
)
def test_search_filters(client: TestClient, params: dict[str, object], expected: list[str]) -> None:
    assert search(client, **params) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"surface_min_ha": 10, "surface_max_ha": 5},
        {"min_score": 150},
        {"limit": 1000},
        {"epci": "123"},
        {"kind": "parcels"},
        {"territoire": "ti-2703", "territoire_programme": 2020},
        {"surface_min_ha": "big"},
    ],
)
def test_search_bad_parameters_are_400(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]


def test_compare(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/sites/compare", params={"ids": "site-chassenard,site-morangis-1,site-juvisy"})
    body = r.json()
    assert [s["id"] for s in body["sites"]] == ["site-chassenard", "site-morangis-1", "site-juvisy"]
    assert body["best"] == "site-morangis-1"
    assert body["criteria"]["zoning"] == {"site-chassenard": -20, "site-morangis-1": 30}
    assert "prix_m2" not in body["sites"][0]
    assert body["sites"][2]["explanation"].startswith("pas encore de score")
    # The compare view's readiness, time to permit, access and freshness rows.
    for s in body["sites"]:
        assert {"readiness_level", "time_to_permit_months", "rail_km", "port_km"} <= set(s)
        assert s["a_confirmer"] is True and s["confirmed_at"] is None  # never confirmed
    private = client.get(
        "/sites/compare",
        params={"ids": "site-chassenard,site-morangis-1"},
        headers={"X-API-Key": keys["admin"]},
    ).json()
    assert private["sites"][1]["contact"] == "M. Dupont 06 01 02 03 04"


@pytest.mark.parametrize(
    ("ids", "status"),
    [
        ("site-morangis-1", 400),
        ("a,b,c,d,e,f", 400),
        ("site-morangis-1,site-morangis-1", 400),
        ("site-morangis-1,nope", 404),
    ],
)
def test_compare_errors(client: TestClient, ids: str, status: int) -> None:
    r = client.get("/sites/compare", params={"ids": ids})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"


def test_territory_epci(client: TestClient) -> None:
    body = client.get("/territories/epci/200054781").json()
    assert body["name"] == "Métropole du Grand Paris"
    zan = body["zan"]
    assert (zan["reference_ha"], zan["envelope_ha"], zan["consumed_ha"], zan["remaining_ha"]) == (
        100,
        50,
        20,
        30,
    )
    assert zan["projection_2031_ha"] == 45 and zan["years"]["2021"] == 8
    # Unbuilt, non-excluded scored parcels: 3 ha of activity zoning, one per score band.
    avail = body["available_ha"]
    assert avail["total"] == pytest.approx(3.0)
    assert avail["by_zoning_and_score"]["activity"] == {"25-50": 1.0, "50-75": 1.0, "75-100": 1.0}
    # The parcel of unknown land status is reported apart, never in the total.
    assert avail["to_qualify"] == {
        "total": 1.0,
        "land_status_unknown": 1.0,
        "zoning_unknown": 0.0,
    }
    assert [s["id"] for s in body["sites"]][:2] == ["site-morangis-1", "site-morangis-2"]
    assert "prix_m2" not in body["sites"][0]


def test_territory_kinds(client: TestClient) -> None:
    ti = client.get("/territories/territoire-2023/ti-2703").json()
    assert ti["name"] == "Bourgogne Industrie" and ti["zan"]["remaining_ha"] == 140
    assert [s["id"] for s in ti["sites"]] == ["site-chassenard"]
    dep = client.get("/territories/departement/91").json()
    assert dep["zan"] is None and "foncier ingest enaf" in dep["zan_note"]
    assert dep["available_ha"]["total"] == pytest.approx(3.0)
    reg = client.get("/territories/region/84").json()
    assert "site-chassenard" in [s["id"] for s in reg["sites"]]
    assert client.get("/territories/epci/000000000").status_code == 404
    assert client.get("/territories/commune/91432").status_code == 400
