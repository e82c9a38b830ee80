"""End-to-end: the map pages in headless Debian Chromium (Playwright), against the real app.

The app runs under uvicorn on a free loopback port against the test database, loaded with the
admin and Territoires d'industrie samples plus tests/fixtures/maps.sql (a scored parcel grid in
Annemasse, two sites). Screenshots go to tests/artifacts/. In CI a missing Chromium fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyproj import Transformer
from sqlalchemy import Engine

from config import ROOT, DatabaseSettings, IngestSettings
from ingest.pipeline import run_ingest
from ingest.sources import SAMPLES
from tests.conftest import FIXTURES, _truncate_all, service_unavailable
from tests.conftest import SAMPLES as SAMPLES_DIR
from tests.live_server import live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TO_4326 = Transformer.from_crs(2154, 4326, always_xy=True)
# Annemasse, over the fixture's parcel grid (EPSG:2154 950000-950320, 6570700-6570940).
_LON, _LAT = TO_4326.transform(950160, 6570820)
PARCEL_VIEW = f"#map=17/{_LAT:.5f}/{_LON:.5f}&layers=epci,parcels,sites&minscore=0"
# The basemaps' tile hosts: this machine has no internet, and the tests block them anyway, so the
# pages' offline fallback is what they see (tests/maps/test_pages_browser.py checks it draws).
TILE_HOSTS = ("https://data.geopf.fr/", "https://tile.openstreetmap.org/")
# Real samples besides the admin ones: brownfields (ARA, with Annemasse's), Megève's PLU, the
# Oise's ZNIEFF and Natura 2000 zones.
EXTRA_SAMPLES = (
    "friches/cartofriches_2023-10_ara.geojson.gz",
    "urbanisme/plu_megeve_74173_zone_urba.geojson.gz",
    "protection/oise_60_znieff_natura2000.geojson.gz",
)


def _load_samples(engine: Engine, db_settings: DatabaseSettings) -> None:
    _truncate_all(engine)
    for sample in SAMPLES:
        if sample.layer not in ("epci", "communes", "territoires") and (
            sample.path not in EXTRA_SAMPLES
        ):
            continue
        options = dataclasses.replace(sample.options, vintage=sample.vintage)
        run_ingest(sample.layer, SAMPLES_DIR / sample.path, options, db_settings, IngestSettings())
    sql = (FIXTURES / "maps.sql").read_text()
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


@pytest.fixture(scope="module")
def app_url(engine: Engine, db_settings: DatabaseSettings) -> Iterator[str]:
    _load_samples(engine, db_settings)
    with live_server(db_settings.database_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        service_unavailable(f"{CHROMIUM} missing: scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _tile_host(url: str) -> bool:
    return url.startswith(TILE_HOSTS)


def _console(p, m) -> None:  # type: ignore[no-untyped-def]
    # A blocked basemap tile is the unreachable network the test simulates, not a page error.
    if m.type == "error" and not _tile_host(m.location.get("url", "")):
        p.errors.append(f"console: {m.text}")


def open_page(browser, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
    """A page that records console errors and requests outside the app (basemap tiles blocked
    and counted apart in ``tile_requests``); the tests assert ``errors`` stays empty."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    p = context.new_page()
    p.errors = []
    p.tile_requests = []
    p.on("console", lambda m: _console(p, m))
    p.on("pageerror", lambda e: p.errors.append(f"pageerror: {e}"))

    def block(route) -> None:  # type: ignore[no-untyped-def]
        p.tile_requests.append(route.request.url)
        route.abort("internetdisconnected")

    for host in TILE_HOSTS:
        p.route(host + "**", block)
    # Anything else outside the app would be a page that needs the internet.
    p.on(
        "request",
        lambda r: (
            r.url.startswith("http://127.0.0.1")
            or _tile_host(r.url)
            or p.errors.append(f"external: {r.url}")
        ),
    )
    return context, p


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A recording page at 1280 x 800 (see ``open_page``)."""
    context, p = open_page(browser)
    yield p
    context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


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
    point = page.evaluate(
        """([lat, lon]) => {
             const m = Foncier.map, p = m.latLngToContainerPoint(L.latLng(lat, lon));
             const r = m.getContainer().getBoundingClientRect();
             return [r.left + p.x, r.top + p.y]; }""",
        [lat, lon],
    )
    page.mouse.click(point[0], point[1])
    info = page.wait_for_selector(".parcel-popup .parcel-info", timeout=10_000)
    text = info.inner_text()
    assert "74012000AB" in text
    assert "88/100" in text and "Coût ZAN" in text
    assert "activités" in text
    _shot(page, "planner_parcel_click")
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
    _shot(page, "planner_search_epci")
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
    _shot(page, "finder_turnkey")
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
    _shot(page, "finder_compare")
    assert page.errors == []


def test_site_sheet_is_printable(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + "/sites/test-site-1")
    page.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    assert page.inner_text("#site-name") == "ZA des Tests"
    assert "82/100" in page.inner_text(".sheet-facts")
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
    _shot(page, "site_sheet_print")
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
    _shot(page, "finder_land_units")
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
    _shot(page, "dashboard_epci")
    assert page.errors == []
