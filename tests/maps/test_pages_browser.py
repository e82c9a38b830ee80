"""End-to-end: how the pages look and behave (issue 13) in Debian Chromium, at 1400 x 900 and on a
390 x 844 phone: basemaps and their offline fallback, the layer panel and legend, clicks on every
kind of feature, approximate locations, empty states and errors, French only in French mode.

The harness is tests/maps/conftest.py; the basemaps' tile hosts are blocked in every test (this
machine has no internet anyway). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.maps.conftest import ARTIFACTS, PARCEL_VIEW, TO_4326, click_map, open_page, shot

pytestmark = pytest.mark.browser

DESKTOP = (1400, 900)
PHONE = (390, 844)
SHOTS = ARTIFACTS  # looked at by whoever changes the map controls
# Words that betray an untranslated string on a French page (whole words, any case).
ENGLISH = (
    "the", "and", "with", "of", "none", "error", "loading", "search", "parcels", "brownfields",
    "constraints", "zoning", "layers", "basemap", "unknown", "computed", "excluded", "activity",
    "urban", "agricultural", "natural", "turnkey", "maturity", "size", "please", "http",
    "available", "breakdown", "results", "filters", "sheet", "zoom in", "not found", "apply",
    "compare", "area", "status", "approximate", "vintages",
)  # fmt: skip


@pytest.fixture
def desktop(browser):  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *DESKTOP)
    yield p
    context.close()


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *PHONE)
    yield p
    context.close()


def _point(engine: Engine, sql: str) -> tuple[float, float]:
    """(lat, lon) of the first row's point (EPSG:2154) of ``sql``."""
    with engine.connect() as conn:
        x, y = conn.execute(text(sql)).one()
    lon, lat = TO_4326.transform(x, y)
    return lat, lon


def _ready(p) -> None:  # type: ignore[no-untyped-def]
    p.wait_for_selector(".folium-map[data-ready='1']")


def _english_words(textual: str) -> list[str]:
    return [w for w in ENGLISH if re.search(rf"(?<![\w'-]){re.escape(w)}(?![\w'-])", textual, re.I)]


def test_offline_fallback_draws_when_the_tile_host_is_blocked(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    p.goto(app_url + "/#map=11/46.19/6.24&layers=epci,communes,sites")
    _ready(p)
    # Plan IGN was asked for, failed, and the communes basemap took over with the names.
    p.wait_for_selector(".folium-map[data-basemap='offline']", timeout=15_000)
    assert any("GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in u for u in p.tile_requests)
    p.wait_for_selector("[data-collection='basemap-offline'] path", timeout=15_000)
    p.wait_for_selector(".commune-label", timeout=15_000)
    assert "Annemasse" in p.locator(".commune-label").all_inner_texts()
    # Rail lines from our own layer, with their key in the panel and their producer credited.
    p.wait_for_selector("[data-collection='basemap-rail'] path", timeout=15_000)
    assert "voie ferrée (réseau ferré national)" in p.inner_text(".basemap-legend")
    notice = p.inner_text(".basemap-notice")
    assert notice.startswith("Plan IGN injoignable : fond hors ligne affiché")
    assert "basemap=offline" in p.url
    attribution = p.inner_text(".leaflet-control-attribution")
    assert "IGN – ADMIN EXPRESS (2022)" in attribution and "Sources" in attribution
    assert "SNCF Réseau" in attribution
    shot(p, "desktop_planner_offline_basemap")
    assert p.errors == []


def test_basemap_switch_is_kept_in_the_url(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
        b"5\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    # The IGN answers in this test (a blank tile): the chosen basemap stays.
    p.route("https://data.geopf.fr/**", lambda r: r.fulfill(body=png, content_type="image/png"))
    p.goto(app_url + "/#map=12/46.19/6.24&layers=epci&basemap=ortho")
    _ready(p)
    p.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 0")
    assert p.get_attribute(".folium-map", "data-basemap") == "ortho"
    assert p.is_checked("input[name=basemap][value=ortho]")
    assert "Orthophotographies" in p.inner_text(".leaflet-control-attribution")
    p.check("input[name=basemap][value=plan-ign]")
    p.wait_for_function("location.hash.includes('basemap=plan-ign')")
    assert "IGN Géoplateforme – Plan IGN v2" in p.inner_text(".leaflet-control-attribution")
    # OpenStreetMap is blocked: the page says so and falls back rather than showing grey. A
    # click, not check(): the fallback may select "offline" before check() reads the radio back.
    p.click("input[name=basemap][value=osm]")
    p.wait_for_selector(".folium-map[data-basemap='offline']", timeout=15_000)
    assert "OpenStreetMap injoignable" in p.inner_text(".basemap-notice")
    assert p.errors == []


def test_every_layer_has_a_key_and_its_minimum_zoom_in_words(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    p.goto(app_url + "/#map=8/46.19/6.24&layers=epci,parcels,sites")
    _ready(p)
    rows = p.locator(".layer-list > li")
    collections = [rows.nth(i).get_attribute("data-collection") for i in range(rows.count())]
    assert set(collections) == {
        "epci", "communes", "territoires-2023", "territoires-2018", "plu", "constraints",
        "parcels", "friches", "sites",
    }  # fmt: skip
    assert p.locator(".layer-list > li .swatch").count() == len(collections)
    parcels = p.locator(".layer-list > li[data-collection='parcels']")
    assert "out-of-zoom" in (parcels.get_attribute("class") or "")
    hint = parcels.locator(".min-zoom").inner_text()
    assert hint.startswith("masqué à cette échelle : zoomez encore 5 fois (zoom 13, 1:")
    assert "Score de disponibilité" in parcels.locator(".legend").inner_text()
    scale = p.inner_text(".leaflet-control-scale")
    assert "km" in scale and "mi" not in scale and "ft" not in scale
    p.evaluate("Foncier.map.setZoom(13)")
    p.wait_for_function(
        "!document.querySelector(\".layer-list li[data-collection='parcels']\")"
        ".classList.contains('out-of-zoom')"
    )
    assert parcels.locator(".min-zoom").inner_text().startswith("visible dès le zoom 13 (environ")
    shot(p, "desktop_planner_layer_panel")
    assert p.errors == []


def test_a_click_shows_a_brownfield_with_its_facts(desktop, engine: Engine, app_url: str) -> None:  # type: ignore[no-untyped-def]
    lat, lon = _point(
        engine,
        "SELECT ST_X(geom), ST_Y(geom) FROM friche WHERE insee = '74012' AND statut IS NOT NULL "
        "ORDER BY site_id LIMIT 1",
    )
    p = desktop
    p.goto(app_url + f"/#map=17/{lat:.6f}/{lon:.6f}&layers=friches")
    _ready(p)
    p.wait_for_selector("[data-collection='friches'] path", timeout=15_000)
    click_map(p, lat, lon)
    info = p.wait_for_selector(".friche-info", timeout=10_000)
    facts = info.inner_text()
    labels = ("Friche ·", "Statut", "Type", "Surface (ha)", "Pollution", "Type de propriétaire")
    for label in (*labels, "Fiche producteur"):
        assert label in facts, (label, facts)
    assert info.query_selector("a[href^='https://cartofriches.cerema.fr']")
    shot(p, "desktop_planner_brownfield_click")
    assert p.errors == []


def test_brownfields_are_not_capped(desktop, engine: Engine, app_url: str) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM friche")).scalar_one()
    assert total > 500
    p = desktop
    # The whole ARA region at zoom 8: every brownfield in its tiles, not a page of 500.
    p.goto(app_url + "/#map=8/45.6/4.6&layers=friches")
    _ready(p)
    p.wait_for_function(
        "document.querySelectorAll(\"[data-collection='friches'] path\").length > 600",
        timeout=20_000,
    )
    assert p.errors == []


def test_a_click_shows_a_plu_zone_where_there_is_no_parcel(
    desktop, engine: Engine, app_url: str
) -> None:  # type: ignore[no-untyped-def]
    lat, lon = _point(
        engine,
        "SELECT ST_X(pt), ST_Y(pt) FROM (SELECT ST_PointOnSurface(geom) pt FROM plu_zone "
        "WHERE insee = '74173' ORDER BY ST_Area(geom) DESC LIMIT 1) x",
    )
    p = desktop
    p.goto(app_url + f"/#map=15/{lat:.6f}/{lon:.6f}&layers=plu,parcels")
    _ready(p)
    click_map(p, lat, lon)
    info = p.wait_for_selector(".plu-info", timeout=10_000).inner_text()
    assert info.startswith("Zone PLU")
    assert "Type de zone" in info and "Classe" in info
    shot(p, "desktop_planner_plu_click")
    assert p.errors == []


def test_a_click_shows_a_constraint_zone(desktop, engine: Engine, app_url: str) -> None:  # type: ignore[no-untyped-def]
    lat, lon = _point(
        engine,
        "SELECT ST_X(pt), ST_Y(pt) FROM (SELECT ST_PointOnSurface(geom) pt FROM constraint_zone "
        "WHERE kind = 'znieff1' ORDER BY ST_Area(geom) DESC LIMIT 1) x",
    )
    p = desktop
    p.goto(app_url + f"/#map=13/{lat:.6f}/{lon:.6f}&layers=constraints")
    _ready(p)
    click_map(p, lat, lon)
    p.wait_for_selector(".constraint-info", timeout=10_000)
    info = "\n".join(p.locator(".constraint-info").all_inner_texts())
    assert "ZNIEFF de type I" in info and "Source" in info and "Millésime" in info
    assert p.errors == []


def test_an_approximate_site_looks_approximate(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    p.goto(app_url + "/#map=14/46.19/6.24&layers=sites")
    _ready(p)
    marker = p.wait_for_selector("path.approx-marker", timeout=10_000)
    marker.click()
    popup = p.wait_for_selector(".point-popup", timeout=10_000).inner_text()
    assert "Zone du Centre-Ville" in popup and "localisation approximative" in popup
    p.wait_for_selector("path.commune-outline", timeout=10_000)
    shot(p, "desktop_planner_approximate_site")
    # The finder's list and the sheet say it too, and the sheet frames the commune.
    p.goto(app_url + "/sites")
    badge = p.wait_for_selector("li.approximate[data-site-id='test-site-3'] .approx-badge")
    assert badge.inner_text() == "localisation approximative"
    p.goto(app_url + "/sites/test-site-3")
    p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    assert "localisation approximative" in p.inner_text("#site-name")
    assert p.locator("path.commune-outline").count() == 1
    assert p.evaluate("Foncier.map.getZoom()") <= 14
    shot(p, "desktop_sheet_approximate_site")
    assert p.errors == []


def test_finder_says_when_nothing_matches_and_what_is_wrong(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    p.goto(app_url + "/sites")
    p.wait_for_selector("#results li.result", timeout=10_000)
    p.fill("input[name=surface_min]", "10")
    p.fill("input[name=surface_max]", "2")
    p.click("#filters button[type=submit]")
    assert p.inner_text("#filters-error") == "La surface minimale dépasse la surface maximale."
    p.fill("input[name=surface_max]", "")
    p.fill("input[name=surface_min]", "5000")
    p.click("#filters button[type=submit]")
    empty = p.wait_for_selector("#finder-empty", timeout=10_000).inner_text()
    assert empty.startswith("Aucun résultat pour ces filtres.")
    assert p.locator("#filters-error").is_hidden()
    p.fill("input[name=territory]", "xyz")
    p.click("#filters button[type=submit]")
    assert p.inner_text("#filters-error").startswith("Code de territoire non reconnu")
    shot(p, "desktop_finder_empty")
    assert p.errors == []


def test_unknown_site_is_a_404_page(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    response = p.goto(app_url + "/sites/no-such-site")
    assert response is not None and response.status == 404
    assert p.inner_text("h1") == "Page introuvable"
    assert "no-such-site" in p.inner_text("#not-found-message")
    p.click("text=Retour à la recherche de sites")
    p.wait_for_selector("#results li.result", timeout=10_000)


def _french_text(p, app_url: str) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    p.goto(app_url + "/" + PARCEL_VIEW)
    _ready(p)
    p.wait_for_function(
        "document.querySelectorAll('.leaflet-pane-parcels-pane path').length >= 10",
        timeout=15_000,
    )
    lon, lat = TO_4326.transform(950280, 6570820)
    click_map(p, lat, lon)
    p.wait_for_selector(".parcel-info", timeout=10_000)
    yield "planner with a parcel", p.inner_text("body")
    p.goto(app_url + "/sites")
    p.wait_for_selector("#results li.result", timeout=10_000)
    yield "finder", p.inner_text("body")
    p.click("#kind-toggle label:has(input[value=land-units])")
    p.wait_for_selector("#results li.land-unit", timeout=10_000)
    yield "finder land units", p.inner_text("body")
    for site in ("test-site-1", "test-site-3"):
        p.goto(app_url + f"/sites/{site}")
        p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
        yield f"sheet {site}", p.inner_text("body")
    # Region 84 has no ZAN account in this fixture: its simulator says so without a 404.
    for path in ("/territoires/epci/200011773", "/territoires/region/84"):
        p.goto(app_url + path)
        p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
        yield path, p.inner_text("body")


def test_french_pages_show_no_english(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    found = {
        where: words
        for where, body in _french_text(desktop, app_url)
        if (words := _english_words(body.replace("foncier", "")))
    }
    assert found == {}
    assert desktop.errors == []


def test_english_mode_is_complete(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    p.goto(app_url + "/sites?lang=en")
    p.wait_for_selector("#results li.result", timeout=10_000)
    body = p.inner_text("body")
    assert "Site finder" in body and "approximate location" in body
    assert "Score " in body and "zonage" not in body and "Recherche" not in body
    p.goto(app_url + "/?lang=en")
    _ready(p)
    assert "Layers and legend" in p.inner_text(".layer-panel")
    assert p.errors == []


def test_phone_planner_keeps_the_map_usable(phone, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = phone
    p.goto(app_url + "/" + PARCEL_VIEW)
    _ready(p)
    # The panel starts collapsed: the search button and the map stay free.
    assert "collapsed" in (p.get_attribute(".layer-panel", "class") or "")
    panel = p.locator(".layer-panel").bounding_box()
    search = p.locator(".search-box button[type=submit]").bounding_box()
    assert panel and search and panel["width"] < 220 and panel["height"] < 60
    assert (
        search["x"] + search["width"] <= panel["x"] or search["y"] >= panel["y"] + panel["height"]
    )
    p.wait_for_function(
        "document.querySelectorAll('.leaflet-pane-parcels-pane path').length >= 10",
        timeout=15_000,
    )
    shot(p, "phone_planner")
    lon, lat = TO_4326.transform(950280, 6570820)
    click_map(p, lat, lon)
    sheet = p.wait_for_selector(".bottom-sheet.parcel-popup .parcel-info", timeout=10_000)
    assert "74012000AB0011" in sheet.inner_text()
    box = p.locator(".bottom-sheet").bounding_box()
    assert box and box["width"] == PHONE[0] and box["y"] > PHONE[1] * 0.4
    assert p.locator(".leaflet-popup").count() == 0
    shot(p, "phone_planner_parcel_sheet")
    p.click(".bottom-sheet .sheet-close")
    assert p.locator(".bottom-sheet").is_hidden()
    p.click(".layer-panel .panel-toggle")
    assert p.locator(".layer-list").is_visible()
    shot(p, "phone_planner_panel_open")
    assert p.errors == []


def test_phone_finder_sheet_and_dashboard_fit_the_screen(phone, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = phone
    p.goto(app_url + "/sites")
    p.wait_for_selector("#results li.result", timeout=10_000)
    map_box = p.locator(".finder-map").bounding_box()
    list_box = p.locator("#results").bounding_box()
    assert map_box and list_box and map_box["y"] + map_box["height"] <= list_box["y"]
    assert map_box["width"] == PHONE[0]
    assert p.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0]
    shot(p, "phone_finder")
    for path, name in (
        ("/sites/test-site-1", "phone_sheet"),
        ("/territoires/epci/200011773", "phone_dashboard"),
    ):
        p.goto(app_url + path)
        p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
        assert p.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], path
        shot(p, name)
    assert p.errors == []


def test_desktop_pages_at_1400(desktop, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = desktop
    for path, name in (
        ("/" + PARCEL_VIEW, "desktop_planner"),
        ("/sites", "desktop_finder"),
        ("/sites/test-site-1", "desktop_sheet"),
        ("/territoires/epci/200011773", "desktop_dashboard"),
    ):
        p.goto(app_url + path)
        _ready(p)
        if "territoires" in path or path.startswith("/sites/"):
            p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
        else:
            p.wait_for_timeout(800)
        shot(p, name)
    assert p.errors == []


def test_phone_sheet_credits_leave_the_scale_bar_readable(phone, app_url: str) -> None:  # type: ignore[no-untyped-def]
    p = phone
    p.goto(app_url + "/sites/test-site-1")
    p.wait_for_selector("body[data-loaded='1']", timeout=10_000)
    credits = p.locator(".leaflet-control-attribution").bounding_box()
    scale = p.locator(".leaflet-control-scale").bounding_box()
    assert credits and scale and credits["height"] > 0 and scale["width"] > 0
    apart = (
        scale["x"] + scale["width"] <= credits["x"]
        or credits["x"] + credits["width"] <= scale["x"]
        or scale["y"] + scale["height"] <= credits["y"]
        or credits["y"] + credits["height"] <= scale["y"]
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    p.locator(".sheet-map").screenshot(path=str(SHOTS / "phone_sheet_credits.png"))
    assert apart, (credits, scale)
    # Both on screen: the sheet's map (hence its credits) used to run 127 px past the phone's edge.
    shown = p.locator(".sheet-map").bounding_box()
    assert shown and shown["x"] + shown["width"] <= PHONE[0], shown
    assert credits["x"] >= shown["x"] and credits["x"] + credits["width"] <= PHONE[0], credits
    assert p.errors == []
