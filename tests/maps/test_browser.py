"""End-to-end: the map pages in headless Debian Chromium (Playwright), against the real app.

The harness (tests/maps/conftest.py) runs the app under uvicorn against the test database, loaded
with the admin, Territoires d'industrie, brownfield, PLU and protection samples plus
tests/fixtures/maps.sql (a scored parcel grid in Annemasse, three sites). Screenshots go to
tests/artifacts/. In CI a missing Chromium fails.
"""

from __future__ import annotations

import pytest

from tests.maps.conftest import PARCEL_VIEW, TO_4326, click_map, shot

pytestmark = pytest.mark.browser


def test_planner_draws_parcels_from_tiles_and_shows_a_score(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/" + PARCEL_VIEW)
    page.wait_for_selector(".folium-map[data-ready='1']")
    paths = page.locator(".leaflet-pane-parcels-pane path")
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-pane-parcels-pane path').length >= 10", timeout=15_000
    )
    assert paths.count() >= 10
    page.wait_for_selector(".legend")
    # The centre of parcel 74012000AB0011 (fixture: column 3, row 1; score 88).
    lon, lat = TO_4326.transform(950280, 6570820)
    click_map(page, lat, lon)
    info = page.wait_for_selector(".parcel-popup .parcel-info", timeout=10_000)
    text = info.inner_text()
    assert "74012000AB" in text
    assert "88/100" in text and "Coût ZAN" in text
    assert "activités" in text
    shot(page, "planner_parcel_click")
    assert page.errors == []
    assert "map=" in page.url and "parcels" in page.url


def test_search_zooms_to_a_named_epci(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/")
    page.wait_for_selector(".folium-map[data-ready='1']")
    zoom_before = page.evaluate("Foncier.map.getZoom()")
    page.fill(".search-box input", "annemasse")
    page.press(".search-box input", "Enter")
    page.wait_for_selector(".search-results button", timeout=10_000)
    assert "Annemasse" in page.inner_text(".search-results")
    page.wait_for_function(f"Foncier.map.getZoom() > {zoom_before}", timeout=10_000)
    center = page.evaluate("[Foncier.map.getCenter().lat, Foncier.map.getCenter().lng]")
    assert 46.0 < center[0] < 46.4 and 6.1 < center[1] < 6.5
    page.wait_for_timeout(500)
    shot(page, "planner_search_epci")
    assert page.errors == []


def test_planner_in_english(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/?lang=en")
    page.wait_for_selector(".folium-map[data-ready='1']")
    assert "Availability score" in page.inner_text(".legend")
    assert page.errors == []


def test_site_finder_filters_change_the_list(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/sites")
    page.wait_for_selector("#results li.result", timeout=10_000)
    before = page.locator("#results li.result").count()
    assert before >= 2
    page.check("input[name=turnkey]")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "(n => { const c = document.querySelectorAll('#results li.result').length;"
        " return c > 0 && c < n; })(" + str(before) + ")",
        timeout=10_000,
    )
    assert "ZA des Tests" in page.inner_text("#results")
    assert "turnkey_only=true" in page.url
    shot(page, "finder_turnkey")
    assert page.errors == []


def test_site_finder_compares_two_sites(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/sites")
    page.wait_for_selector("#results li.result", timeout=10_000)
    boxes = page.locator("#results input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-btn")
    page.wait_for_selector("#compare table", timeout=10_000)
    text = page.inner_text("#compare")
    assert "ZA des Tests" in text and "Friche des Essais" in text
    # Readiness, time to permit, access and freshness lined up (maps.sql: 1.2 km to rail).
    for label in (
        "Niveau de préparation",
        "Délai avant permis (mois)",
        "Voie ferrée la plus proche (km à vol d'oiseau)",
        "Port de fret le plus proche",
        "Disponibilité",
    ):
        assert label in text, label
    rail = page.locator("#compare tr", has_text="Voie ferrée").inner_text()
    assert "1,2" in rail
    assert "à confirmer" in page.locator("#compare tr", has_text="Disponibilité").inner_text()
    shot(page, "finder_compare")
    assert page.errors == []


def test_site_sheet_is_printable(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/sites/test-site-1")
    page.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    assert page.inner_text("#site-name") == "ZA des Tests"
    assert "82/100" in page.inner_text(".sheet-facts")
    # Access distances (issue 15), as the scoring run stored them.
    facts = page.inner_text("#site-facts, .sheet-facts dl.facts")
    assert "Voie ferrée la plus proche (km à vol d'oiseau)" in facts and "1,2" in facts
    assert "Port de fret le plus proche (km à vol d'oiseau)" in facts and "87,5" in facts
    # Its parcels (tests/fixtures/maps.sql: the 12 parcels of 0.64 ha) listed and drawn.
    rows = page.locator("table.site-parcels tbody tr")
    assert rows.count() == 12
    assert rows.nth(0).get_attribute("data-idu") == "74012000AB0001"
    assert "0,64" in rows.nth(0).inner_text()
    total = page.inner_text("table.site-parcels tfoot")
    assert "(12)" in total and "7,68" in total
    assert page.locator("path.site-parcel").count() == 12
    # "Télécharger en PDF" is the browser's print-to-PDF with the print stylesheet.
    button = page.locator("#pdf-btn")
    assert button.inner_text() == "Télécharger en PDF"
    page.evaluate(
        "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"
    )
    button.click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and button.is_hidden()
    shot(page, "site_sheet_print")
    assert page.errors == []


def test_site_finder_kind_toggle_lists_land_units(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/sites")
    page.wait_for_selector("#results li.result", timeout=10_000)
    assert page.locator("#results li.land-unit").count() == 0
    sites = page.inner_text("#results")
    page.click("#kind-toggle label:has(input[value=land-units])")
    page.wait_for_selector("#results li.land-unit", timeout=10_000)
    units = page.locator("#results li.result")
    assert units.count() == 2 == page.locator("#results li.land-unit").count()
    text = page.inner_text("#results")
    assert text != sites and "Unité foncière 1" in text and "1,92" in text
    assert "kind=land-units" in page.url
    assert page.locator("#compare-hint").is_hidden()
    assert page.locator("#results input[type=checkbox]").count() == 0
    shot(page, "finder_land_units")
    page.click("#kind-toggle label:has(input[value=sites])")
    page.wait_for_selector("#results li.result[data-site-id]", timeout=10_000)
    assert "ZA des Tests" in page.inner_text("#results")
    assert page.errors == []


def test_dashboard_chart_renders(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/territoires/epci/200011773")
    page.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    assert page.evaluate("Chart.getChart('zan-chart') !== undefined")
    bars = page.evaluate(
        "Chart.getChart('zan-chart').data.datasets[0].data.filter(v => v != null).length"
    )
    assert bars > 0
    # The chart plots the account's own series: its 2021-2023 bars add up to consumed_ha.
    since = page.evaluate(
        "(() => { const c = Chart.getChart('zan-chart'); return c.data.labels"
        ".map((l, i) => Number(l) >= 2021 ? (c.data.datasets[0].data[i] || 0) : 0)"
        ".reduce((a, b) => a + b, 0); })()"
    )
    assert since == 21
    coverage = page.inner_text("#zan-coverage")
    assert coverage.startswith("Données partielles : 9 communes sur 12"), coverage
    assert "conso_enaf_test.csv (Cerema 2023)" in coverage
    assert "À qualifier" in page.inner_text("#land-figures")
    shot(page, "dashboard_epci")
    assert page.errors == []
