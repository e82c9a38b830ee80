"""The ZAE inventory pages in Chromium (issue 14), at 1400 x 900 and on a 390 x 844 phone: the
EPCI's "Inventaire des ZAE" (zones coloured by vacancy rate, legend, table, downloads, empty
state) and a zone's sheet (land units, owners, occupants, sources), in French and English.

Data: the package's samples plus the Morangis ZAE fixtures (tests/fixtures/zae: twelve real
parcels, owners with one private person, SIRENE, CFE) and three hand-drawn buildings. They are
loaded by this module and stay for the package's later modules (none reads Morangis).
Screenshots go to tests/artifacts/zae_*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import DatabaseSettings, IngestSettings
from ingest.pipeline import run_ingest
from ingest.sources import IngestOptions
from tests.conftest import FIXTURES, SAMPLES
from tests.maps.conftest import open_page, shot

pytestmark = pytest.mark.browser

ZAE = FIXTURES / "zae"
EPCI = "200054781"
ZONE = "91432_SITE-ECO_00001"
NO_ZONE_EPCI = "242504447"
PRIVATE = ("DUPONT", "JEANNE")
SIZES = {"desktop": (1400, 900), "phone": (390, 844)}
# The fixture's loads: (layer, file, vintage).
LOADS = (
    ("parcels", SAMPLES / "cadastre" / "etalab" / "cadastre-91432-parcelles.json.gz", None),
    ("zae", ZAE / "site_eco_morangis.csv", "2025-06-30"),
    ("owners", ZAE / "parcelles_personnes_morales_91.csv", "2025"),
    ("establishments", ZAE / "stock_etablissement_morangis.csv", "2025-11"),
    ("cfe", ZAE / "cfe_locaux_morangis_2025.csv", "2025"),
    ("buildings", ZAE / "cadastre-91432-batiments.json", "2024"),
)


@pytest.fixture(scope="module")
def zae_url(app_url: str, db_settings: DatabaseSettings) -> str:
    for layer, path, vintage in LOADS:
        run_ingest(layer, path, IngestOptions(vintage=vintage), db_settings, IngestSettings())
    return app_url


def _open(browser, size: str, url: str):  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *SIZES[size])
    p.goto(url)
    p.wait_for_selector(".folium-map")
    return context, p


def _no_private_name(textual: str) -> None:
    for part in PRIVATE:
        assert part.lower() not in textual.lower(), part


def _zone_fill(p) -> list[str]:  # type: ignore[no-untyped-def]
    # The map's drawn polygons (Leaflet SVG paths) and their fill colours.
    p.wait_for_selector(".leaflet-overlay-pane path")
    return p.eval_on_selector_all(
        ".leaflet-overlay-pane path", "els => els.map(e => e.getAttribute('fill'))"
    )


@pytest.mark.parametrize("size", SIZES)
def test_inventory_page_colours_zones_by_vacancy_with_table_and_downloads(  # type: ignore[no-untyped-def]
    browser, zae_url: str, size: str, tmp_path: Path
) -> None:
    context, p = _open(browser, size, f"{zae_url}/territoires/epci/{EPCI}/zae")
    # By hand (tests/score/test_zae.py): legal vacancy 2 of 6 units = 33.3 %, band 25-50 %.
    assert _zone_fill(p) == ["#fdae61"]
    row = p.inner_text(f"#zae-table tr[data-zone='{ZONE}']")
    assert "2 / 6" in row and "33.3 %" in row and "légal (CFE)" in row
    assert re.search(r"3\.38 \(2\)", row), row  # densification: 2 units, 33,784 m2
    legend = p.inner_text("#zae-legend")
    assert "taux apparent (proxy)" in legend and "inconnu" in legend
    # The basemap layer panel and credits of every map (Licence Ouverte: sources are named).
    assert "IGN" in p.inner_text(".leaflet-control-attribution")
    _no_private_name(p.content())
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with p.expect_download(timeout=30_000) as info:
        p.click("#dl-csv")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.stat().st_size > 1000 and path.read_bytes()[:2] == b"PK"
    shot(p, f"zae_inventory_{size}")
    assert p.errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_zone_sheet_lists_units_owners_occupants_never_a_private_name(  # type: ignore[no-untyped-def]
    browser, zae_url: str, size: str
) -> None:
    context, p = _open(browser, size, f"{zae_url}/territoires/epci/{EPCI}/zae")
    p.click(f"#zae-table tr[data-zone='{ZONE}'] a")
    p.wait_for_selector("#zae-units")
    fills = _zone_fill(p)
    assert len(fills) == 6 and fills.count("#d7191c") == 2  # two legally vacant units
    units = p.inner_text("#zae-units")
    assert "SOCIETE DES ENTREPOTS DU SECTEUR C" in units and "COMMUNE DE MORANGIS" in units
    assert "personne physique" in units and "10000000900015" in units
    sources = p.inner_text("#zae-sources")
    assert "2025-11" in sources and "2025-06-30" in sources
    _no_private_name(p.content())
    # Nothing wider than the screen: the units' table scrolls inside its box on a phone.
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(p, f"zae_zone_{size}")
    assert p.errors == []
    context.close()


def test_english_page_and_empty_state(browser, zae_url: str) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *SIZES["desktop"])
    p.goto(f"{zae_url}/territoires/epci/{EPCI}/zae?lang=en")
    p.wait_for_selector("#zae-table")
    assert "apparent rate (proxy)" in p.inner_text("#zae-legend")
    assert "Vacancy rate" in p.inner_text("#zae-table")
    p.goto(f"{zae_url}/territoires/epci/{NO_ZONE_EPCI}/zae")
    empty = p.inner_text("#zae-empty")
    assert "Aucune zone" in empty and f"foncier zae draft --epci {NO_ZONE_EPCI}" in empty
    shot(p, "zae_empty")
    assert p.errors == []
    context.close()
