"""The browser harness of tests/maps: the app served by uvicorn on a free loopback port against
the test database (loaded once for the package: the admin, Territoires d'industrie, brownfield,
PLU and protection samples plus tests/fixtures/maps.sql), Debian's Chromium through Playwright,
and pages that record console errors and block the basemaps' tile hosts.
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
# Oise's ZNIEFF and Natura 2000 zones, the rail lines the offline basemap draws.
EXTRA_SAMPLES = (
    "friches/cartofriches_2023-10_ara.geojson.gz",
    "urbanisme/plu_megeve_74173_zone_urba.geojson.gz",
    "protection/oise_60_znieff_natura2000.geojson.gz",
    "transport/sncf_rfn_lignes_sample.geojson.gz",
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


@pytest.fixture(scope="package")
def app_url(engine: Engine, db_settings: DatabaseSettings) -> Iterator[str]:
    _load_samples(engine, db_settings)
    with live_server(db_settings.database_url) as url:
        yield url


# Per module: modules that start their own Playwright (downloads, docs) cannot share one.
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


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot in tests/artifacts/NAME.png (looked at by whoever changes a page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def click_map(p, lat: float, lon: float) -> None:  # type: ignore[no-untyped-def]
    """Click the page's map (``Foncier.map``) at a WGS84 point, as a user's mouse would."""
    xy = p.evaluate(
        """([lat, lon]) => {
             const m = Foncier.map, q = m.latLngToContainerPoint(L.latLng(lat, lon));
             const r = m.getContainer().getBoundingClientRect();
             return [r.left + q.x, r.top + q.y]; }""",
        [lat, lon],
    )
    p.mouse.click(xy[0], xy[1])
