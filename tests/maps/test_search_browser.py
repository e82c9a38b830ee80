"""End-to-end: the planner's search box in Chromium finds what French users type (/places).

The harness of tests/maps/conftest.py (its fixtures: the admin and Territoires d'industrie
samples behind a live server, a page that records console errors).
"""

from __future__ import annotations

import pytest

from tests.maps.conftest import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def planner(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A recording Chromium page and the live app's URL (the harness's ``page``, ``app_url``)."""
    return request.getfixturevalue("page"), request.getfixturevalue("app_url")


def _search(p, q: str) -> list[str]:  # type: ignore[no-untyped-def]
    p.wait_for_selector(".folium-map[data-ready='1']")
    p.fill(".search-box input", q)
    p.press(".search-box input", "Enter")
    p.wait_for_selector(".search-results button", timeout=10_000)
    return p.locator(".search-results button").all_inner_texts()  # type: ignore[no-any-return]


def _center(p) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    lat, lng = p.evaluate("[Foncier.map.getCenter().lat, Foncier.map.getCenter().lng]")
    return lat, lng


def test_search_saint_etienne_without_accents(planner) -> None:  # type: ignore[no-untyped-def]
    tab, url = planner
    tab.goto(url + "/")
    hits = _search(tab, "saint-etienne")
    assert hits[0] == "Saint-Étienne (commune 42218)"
    assert "Saint-Etienne Métropole (EPCI 244200770)" in hits
    # The first hit is zoomed to and outlined.
    tab.wait_for_function(
        "(() => { const c = Foncier.map.getCenter();"
        " return Math.abs(c.lat - 45.43) < 0.05 && Math.abs(c.lng - 4.37) < 0.1; })()",
        timeout=10_000,
    )
    tab.wait_for_selector("path[stroke-dasharray='6 4']", timeout=10_000)
    zoom_commune = tab.evaluate("Foncier.map.getZoom()")
    # A click on the EPCI zooms out to the metropole.
    tab.click(".search-results button[data-kind='epci'][data-code='244200770']")
    tab.wait_for_function(f"Foncier.map.getZoom() < {zoom_commune}", timeout=10_000)
    lat, lng = _center(tab)
    assert 45.3 < lat < 45.7 and 4.0 < lng < 4.7
    shot(tab, "planner_search_saint_etienne")
    assert tab.errors == []


def test_search_a_departement_code_zooms_to_its_communes(planner) -> None:  # type: ignore[no-untyped-def]
    tab, url = planner
    tab.goto(url + "/?lang=en")
    # Without the COG lists loaded, the département exists through its communes.
    assert _search(tab, "01")[0] in ("Département 01", "Ain (département 01)")
    tab.wait_for_function(
        "(() => { const c = Foncier.map.getCenter();"
        " return c.lat > 45.6 && c.lat < 46.5 && c.lng > 4.7 && c.lng < 6.2; })()",
        timeout=10_000,
    )
    regions = _search(tab, "84")
    assert "Region 84" in regions or "Auvergne-Rhône-Alpes (region 84)" in regions
    assert tab.errors == []
