"""The folium maps, rendered and checked as text (geopandas' test_explore style), and the pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config import SAMPLES_DIR, ApiSettings, DatabaseSettings
from maps.assets import localize
from maps.base import to_map_frame
from maps.dashboard import territory_map
from maps.finder import finder_map
from maps.i18n import MESSAGES
from maps.layers import DEFAULT_BANDS
from maps.planner import PlannerStyle, planner_map
from maps.sheet import site_map
from score.simulate import ASSUMPTIONS


def _fetch_map_string(m) -> str:  # type: ignore[no-untyped-def]
    localize(m)
    return m._parent.render() if m._parent else m.get_root().render()


def _options(html: str, call: str) -> list[dict[str, object]]:
    """The JSON options of every ``Foncier.<call>(map, {...})`` in the page."""
    found = re.findall(rf"Foncier\.{call}\(map_\w+, (\{{.*?\}})\);\n", html)
    return [json.loads(f) for f in found]


@pytest.fixture(scope="module")
def epci() -> gpd.GeoDataFrame:
    return gpd.read_file(
        "/vsigzip/" + str(SAMPLES_DIR / "admin" / "epci_2022_sample.geojson.gz")
    ).head(3)


def test_planner_layers_and_parcel_styling() -> None:
    html = _fetch_map_string(planner_map(style=PlannerStyle(parcel_min_zoom=14)))
    tiles = {o["collection"]: o for o in _options(html, "vectorTiles")}
    assert set(tiles) == {
        "epci",
        "communes",
        "territoires-2023",
        "territoires-2018",
        "plu",
        "constraints",
        "parcels",
        "friches",
    }
    parcels = tiles["parcels"]
    assert parcels["url"] == "/collections/parcels/tiles/WebMercatorQuad/{z}/{x}/{y}"
    assert parcels["layer"] == "parcels"
    assert parcels["minZoom"] == 14
    assert parcels["clickable"] is True
    assert [b["color"] for b in parcels["bands"]] == [b.color for b in DEFAULT_BANDS]
    assert tiles["plu"]["show"] is False and tiles["epci"]["show"] is True
    points = {o["collection"]: o for o in _options(html, "apiPoints")}
    assert points["sites"]["link"] == "/sites/"
    controls = _options(html, "controls")[0]
    assert {s["collection"] for s in controls["search"]} >= {"epci", "communes", "territoires-2023"}
    assert controls["url_state"] is True


def test_maps_reference_no_other_host() -> None:
    for m in (planner_map(), finder_map(), site_map(), territory_map(kind="territoire-2023")):
        html = _fetch_map_string(m)
        srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert srcs, "no script or stylesheet at all"
        assert all(s.startswith("/static/") for s in srcs), srcs
        assert "cdn" not in html
        # Web tiles only as basemaps the page offers (it falls back to its own when offline).
        controls = _options(html, "controls")[0]
        hosts = {b["url"].split("/")[2] for b in controls["basemaps"] if b["url"]}
        assert hosts == {"data.geopf.fr", "tile.openstreetmap.org"}
        assert [b["id"] for b in controls["basemaps"]][-1] == "offline"


def test_basemap_only_when_asked() -> None:
    html = _fetch_map_string(
        planner_map(style=PlannerStyle(basemap_url="https://t/{z}/{x}/{y}.png"))
    )
    assert "https://t/{z}/{x}/{y}.png" in html


def test_focus_geodataframe_is_drawn_in_4326(epci: gpd.GeoDataFrame) -> None:
    focus = epci.to_crs(2154)
    html = _fetch_map_string(planner_map(focus=focus, labels={"focus": "Territoire"}))
    data = re.search(r"geo_json_\w+_add\((\{.*?\})\);", html, re.S)
    assert data is not None
    fc = json.loads(data.group(1))
    assert len(fc["features"]) == 3
    assert fc["features"][0]["properties"]["siren_epci"] == epci.iloc[0]["siren_epci"]
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0][0]
    assert -10 < lon < 10 and 40 < lat < 52
    assert "fitBounds" in html


def test_to_map_frame_refuses_no_crs(epci: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="no CRS"):
        to_map_frame(epci.set_crs(None, allow_override=True))


def test_dashboard_outline_depends_on_kind() -> None:
    ti = {
        o["collection"]
        for o in _options(_fetch_map_string(territory_map(kind="territoire-2023")), "vectorTiles")
    }
    assert "territoires-2023" in ti
    dep = {
        o["collection"]
        for o in _options(_fetch_map_string(territory_map(kind="departement")), "vectorTiles")
    }
    assert dep == {"communes", "land-units"}


def test_messages_have_the_same_keys() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])


def test_the_simulator_page_states_the_api_assumptions() -> None:
    # The page shows the assumptions in its language: in French, word for word the API's.
    assert [MESSAGES["fr"][f"sim_assumption_{i}"] for i in range(len(ASSUMPTIONS))] == list(
        ASSUMPTIONS
    )
    assert all(f"sim_assumption_{i}" in MESSAGES["en"] for i in range(len(ASSUMPTIONS)))


def test_every_layer_credits_its_sources() -> None:
    html = _fetch_map_string(planner_map())
    tiles = {o["collection"]: o for o in _options(html, "vectorTiles")}
    assert tiles["parcels"]["attribution"] == "DGFiP, Etalab – Plan cadastral informatisé (2024)"
    assert "Cerema – Cartofriches" in tiles["friches"]["attribution"]
    assert all(o["attribution"] for o in tiles.values())
    basemaps = {b["id"]: b for b in _options(html, "controls")[0]["basemaps"]}
    assert basemaps["plan-ign"]["attribution"] == "IGN Géoplateforme – Plan IGN v2"
    assert "OpenStreetMap" in basemaps["osm"]["attribution"]
    assert "ADMIN EXPRESS" in basemaps["offline"]["attribution"]


def test_brownfields_are_tiles_never_a_capped_page() -> None:
    html = _fetch_map_string(planner_map())
    tiles = {o["collection"]: o for o in _options(html, "vectorTiles")}
    assert tiles["friches"]["points"] is True and tiles["friches"]["clickable"] is True
    assert "friches" not in {o["collection"] for o in _options(html, "apiPoints")}
    assert tiles["plu"]["clickable"] and tiles["constraints"]["clickable"]


def test_scale_is_metric_only() -> None:
    html = _fetch_map_string(planner_map())
    assert "L.control.scale" not in html  # folium's shows miles; foncier.js adds a metric one


@pytest.fixture(scope="module")
def client(db_settings: DatabaseSettings) -> Iterator[TestClient]:
    # The pages read nothing from the database, but the app checks its schema before serving.
    app = create_app(ApiSettings(key_salt="test-salt"), db_settings)
    # As a browser asks: / answers JSON (the OGC landing page) to */* (api/negotiation.py).
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}) as c:
        yield c


@pytest.mark.parametrize(
    "path", ["/", "/sites", "/territoires/epci/200011773", "/territoires/region/84"]
)
def test_pages_render_in_french_and_english(client: TestClient, path: str) -> None:
    fr = client.get(path)
    assert fr.status_code == 200
    assert '<html lang="fr">' in fr.text and 'hreflang="en"' in fr.text
    en = client.get(path, params={"lang": "en"})
    assert en.status_code == 200
    assert '<html lang="en">' in en.text
    assert 'hreflang="fr"' in en.text


def test_page_link_to_other_language_keeps_the_path(client: TestClient) -> None:
    page = client.get("/territoires/epci/200011773")
    assert 'href="/territoires/epci/200011773?lang=en"' in page.text
    assert '"code": "200011773"' in page.text


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_unknown_territory_kind_is_404(client: TestClient) -> None:
    r = client.get("/territoires/planet/1", headers=BROWSER)
    assert r.status_code == 404
    assert "Page introuvable" in r.text and "planet 1" in r.text


def test_unknown_site_is_a_real_404_page(client: TestClient) -> None:
    r = client.get("/sites/nope-404", headers=BROWSER)
    assert r.status_code == 404
    assert '<html lang="fr">' in r.text
    assert "Ce site n&#39;existe pas (ou plus) : nope-404." in r.text
    assert 'href="/sites?lang=fr"' in r.text
    en = client.get("/sites/nope-404", params={"lang": "en"}, headers=BROWSER)
    assert en.status_code == 404 and "This site does not exist" in en.text


def test_unknown_site_is_problem_json_to_an_api_client(client: TestClient) -> None:
    for accept in ("application/json", "*/*", ""):
        r = client.get("/sites/nope-404", headers={"Accept": accept})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert "nope-404" in r.json()["detail"]


def test_static_files_are_served(client: TestClient) -> None:
    for path in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet/images/layers.png",
        "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
        "/static/vendor/chart.js/chart.umd.min.js",
        "/static/maps/foncier.js",
        "/static/maps/print.css",
    ):
        assert client.get(path).status_code == 200, path
