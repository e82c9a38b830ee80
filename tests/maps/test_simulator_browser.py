"""End-to-end: the dashboard's ZAN simulator in Chromium (adding a site moves the chart; a click
on the map adds a site or a land unit; save, open the shared link; the printed summary).

Same harness as tests/maps/test_browser.py: tests/fixtures/maps.sql gives EPCI 200011773 a
reference of 120 ha (law envelope 60 ha), 21 ha consumed in 2021-2023 (margin 39 ha), site
test-site-1 (7.68 ha of ENAF), the brownfield test-site-2 (0 ha) and land unit 2 (parcels 7-8,
1.28 ha of ENAF).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from api.auth import create_key
from config import ApiSettings, DatabaseSettings, resolve_key_salt
from tests.maps.conftest import TO_4326, click_map, open_page
from tests.maps.conftest import (  # noqa: F401 - the harness's fixtures, used by name
    shot as _shot,
)

DASHBOARD = "/territoires/epci/200011773"
DESKTOP = (1400, 900)
PHONE = (390, 844)
# Land unit 2's middle, test-site-1's marker, and a point of no unit (EPSG:2154).
UNIT_2 = (950200, 6570780)
SITE_1 = (950160, 6570820)
NO_UNIT = (950040, 6570900)

pytestmark = pytest.mark.browser

SCENARIO_BARS = (
    "Chart.getChart('sim-chart').data.datasets[1].data.reduce((a, b) => a + (b || 0), 0)"
)


def _margin(p) -> float:  # type: ignore[no-untyped-def]
    return float(p.get_attribute("#sim-margin", "data-margin"))


@pytest.fixture
def dashboard(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A recording Chromium page and the live app's URL (the harness's ``page``, ``app_url``)."""
    return request.getfixturevalue("page"), request.getfixturevalue("app_url")


def test_adding_a_site_moves_the_chart_and_the_margin(dashboard) -> None:  # type: ignore[no-untyped-def]
    p, url = dashboard
    p.goto(url + "/territoires/epci/200011773")
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    assert _margin(p) == 39
    assert p.evaluate(SCENARIO_BARS) == 0
    assert "Marge en 2030 : 39" in p.inner_text("#sim-margin")
    p.wait_for_selector("#sim-candidates li[data-id='test-site-1']")
    # Brownfields first in the ranked list.
    first = p.get_attribute("#sim-candidates li:first-child", "data-id")
    assert first == "test-site-2"
    p.fill("#sim-year", "2027")
    p.click("#sim-candidates li[data-id='test-site-1'] button.sim-add")
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    assert _margin(p) == pytest.approx(39 - 7.68)
    assert p.evaluate(SCENARIO_BARS) == pytest.approx(7.68)
    bar_2027 = p.evaluate(
        "(() => { const c = Chart.getChart('sim-chart');"
        " return c.data.datasets[1].data[c.data.labels.indexOf('2027')]; })()"
    )
    assert bar_2027 == pytest.approx(7.68)
    assert "ZA des Tests" in p.inner_text("#sim-projects")
    assert "sim=" in p.evaluate("location.hash")
    _shot(p, "dashboard_simulator")
    # The scenario is in the URL: a reload gives the same margin.
    p.reload()
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    assert _margin(p) == pytest.approx(31.32)
    p.click("#sim-projects button.sim-remove")
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    assert _margin(p) == 39
    assert p.errors == []


@pytest.fixture(scope="module")
def editor_key(request: pytest.FixtureRequest, db_settings: DatabaseSettings) -> str:
    """An editor key of EPCI 200011773, hashed with the salt the live server uses (made after
    the harness loaded the database, which empties it)."""
    request.getfixturevalue("app_url")
    settings = resolve_key_salt(ApiSettings(), db_settings)
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        _, key = create_key(conn, settings, "simulator-browser", "editor", "epci:200011773")
        conn.commit()
    return key


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def sized(request: pytest.FixtureRequest, browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *request.param)
    p.size_name = request.node.callspec.id
    yield p
    context.close()


def _view(p, x: float, y: float, zoom: int = 17) -> None:  # type: ignore[no-untyped-def]
    """Centre the dashboard's map on (x, y) (EPSG:2154) once the page framed the territory."""
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    p.wait_for_load_state("networkidle")
    lon, lat = TO_4326.transform(x, y)
    p.evaluate("([lat, lon, z]) => Foncier.map.setView([lat, lon], z)", [lat, lon, zoom])
    p.wait_for_load_state("networkidle")


def _click(p, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    lon, lat = TO_4326.transform(x, y)
    p.locator("#sim-chart").scroll_into_view_if_needed()
    p.locator(".folium-map").scroll_into_view_if_needed()
    click_map(p, lat, lon)


def test_a_map_click_adds_a_site_or_a_land_unit(sized, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = sized
    p.goto(app_url + DASHBOARD)
    _view(p, *SITE_1)
    p.wait_for_selector(".leaflet-interactive", timeout=10_000)
    _click(p, *SITE_1)
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    assert _margin(p) == pytest.approx(39 - 7.68)
    assert p.evaluate(SCENARIO_BARS) == pytest.approx(7.68)
    assert "Ajouté au scénario : ZA des Tests" in p.inner_text("#sim-status")
    # The land unit under the pointer (drawn from zoom 13), then a point of no unit.
    _click(p, *UNIT_2)
    p.wait_for_selector("body[data-sim='2']", timeout=10_000)
    assert _margin(p) == pytest.approx(39 - 7.68 - 1.28)
    assert "Unité foncière 2" in p.inner_text("#sim-projects")
    _click(p, *UNIT_2)
    p.wait_for_function(
        "document.getElementById('sim-status').textContent.includes('déjà dans le scénario')"
    )
    _click(p, *NO_UNIT)
    p.wait_for_function(
        "document.getElementById('sim-status').textContent.startsWith('Ni site ni unité')"
    )
    assert p.get_attribute("body", "data-sim") == "2"
    _shot(p, f"dashboard_simulator_map_{p.size_name}")
    # With picking off, a site's click shows its facts and adds nothing.
    p.click("#sim-pick")
    assert p.get_attribute("#sim-pick", "aria-pressed") == "false"
    _click(p, *SITE_1)
    p.wait_for_selector(".point-popup", state="attached", timeout=10_000)
    assert p.get_attribute("body", "data-sim") == "2"
    assert p.errors == []


def test_save_then_open_the_shared_link(page, browser, app_url: str, editor_key: str) -> None:  # type: ignore[no-untyped-def]
    p = page
    p.goto(app_url + DASHBOARD)
    p.wait_for_selector("#sim-candidates li[data-id='test-site-1']")
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    p.fill("#sim-year", "2027")
    p.click("#sim-candidates li[data-id='test-site-1'] button.sim-add")
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    p.fill("#sim-name", "Zone nord")
    # A wrong key is refused in words, nothing saved.
    p.fill("#sim-key", "not-a-key")
    p.click("#sim-save button[type=submit]")
    p.wait_for_function(
        "document.getElementById('sim-error').textContent.startsWith('Clé refusée')"
    )
    assert p.get_attribute("body", "data-saved") is None
    p.fill("#sim-key", editor_key)
    p.click("#sim-save button[type=submit]")
    p.wait_for_selector("body[data-saved]", timeout=10_000)
    link = p.get_attribute("#sim-link", "href")
    assert re.search(r"#scenario=[A-Za-z0-9_-]{16,}$", link), link
    assert editor_key not in link and editor_key not in p.url
    assert "#scenario=" in p.url
    # The key stays in this tab's sessionStorage, never in localStorage.
    assert p.evaluate("sessionStorage.getItem('foncier.editorKey')") == editor_key
    assert p.evaluate("Object.values(localStorage).join()").find(editor_key) < 0
    assert "Scénario « Zone nord » enregistré" in p.inner_text("#sim-status")
    # Another browser (no session, no key) opens the link: the same scenario.
    context, other = open_page(browser)
    try:
        other.goto(link)
        other.wait_for_selector("body[data-sim='1']", timeout=10_000)
        assert _margin(other) == pytest.approx(31.32)
        assert other.evaluate(SCENARIO_BARS) == pytest.approx(7.68)
        assert "ZA des Tests" in other.inner_text("#sim-projects")
        assert "2027" in other.inner_text("#sim-projects")
        assert other.input_value("#sim-name") == "Zone nord"
        assert other.input_value("#sim-key") == ""
        assert other.is_visible("#sim-share")
        assert other.errors == []
    finally:
        context.close()
    # Chromium logs the refused save (the wrong key's 401) as a failed load; nothing else.
    assert p.errors == [
        "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]


def test_the_printed_summary(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = page
    p.goto(app_url + DASHBOARD + "#sim=" + "s%3Atest-site-1%402027%2Cs%3Atest-site-2%402026")
    p.wait_for_selector("body[data-sim='2']", timeout=10_000)
    # The URL names no project: the ranked candidates do.
    p.wait_for_function("document.getElementById('sim-projects').textContent.includes('ZA des')")
    p.emulate_media(media="print")
    # On paper: the chart, the projects table with its total, margin, exhaustion, vintages and
    # assumptions; not the map, the other cards, the forms or the candidate list.
    for shown in ("#sim-chart", "#sim-table", "#sim-margin", "#sim-exhaustion", "#sim-vintages",
                  "#sim-assumptions", "#sim-print-head", "#zan-figures"):  # fmt: skip
        assert p.is_visible(shown), shown
    for hidden in ("#band-chart", ".dash-map", "#territory-sites", "#sim-candidates",
                   "#sim-save", "#sim-pick", "#sim-projects"):  # fmt: skip
        assert not p.is_visible(hidden), hidden
    rows = p.locator("#sim-table tbody tr").all_inner_texts()
    assert len(rows) == 3 and rows[0].startswith("ZA des Tests") and "7,68" in rows[0]
    assert "Total" in rows[2] and "7,68" in rows[2]
    assert "Marge en 2030 : 31,3 ha" in p.inner_text("#sim-margin")
    assert "Cerema 2023" in p.inner_text("#sim-vintages")
    assert "décret n° 2023-1096" in p.inner_text("#sim-assumptions")
    _shot(p, "dashboard_simulator_print")
    # One A4 page.
    pdf = p.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert p.errors == []
