"""Front-end files served by the app itself, so the pages work with no internet.

Leaflet, Leaflet.VectorGrid, Chart.js and Swagger UI come from npm (``scripts/setup`` runs
``npm ci`` into the git-ignored ``node_modules/``); our own JS and CSS live in ``maps/static``.
folium points every map at CDNs by default: ``localize`` rewrites those links to our copies and
drops the ones we do not use (jQuery, Bootstrap, Font Awesome, awesome-markers), so a rendered
page references no other host.
"""

from __future__ import annotations

from pathlib import Path

import folium
from branca.element import Element

from config import ROOT

NODE_MODULES = ROOT / "node_modules"
MAPS_STATIC = Path(__file__).parent / "static"
STATIC_URL = "/static/maps"
VENDOR_URL = "/static/vendor"

# URL prefix -> directory of an npm package's built files (Leaflet's CSS finds images/ beside it).
VENDOR_DIRS: dict[str, Path] = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "leaflet.vectorgrid": NODE_MODULES / "leaflet.vectorgrid" / "dist",
    "chart.js": NODE_MODULES / "chart.js" / "dist",
    "swagger-ui-dist": NODE_MODULES / "swagger-ui-dist",
}

LEAFLET_JS = f"{VENDOR_URL}/leaflet/leaflet.js"
LEAFLET_CSS = f"{VENDOR_URL}/leaflet/leaflet.css"
VECTORGRID_JS = f"{VENDOR_URL}/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"
CHART_JS = f"{VENDOR_URL}/chart.js/chart.umd.min.js"
SWAGGER_JS = f"{VENDOR_URL}/swagger-ui-dist/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR_URL}/swagger-ui-dist/swagger-ui.css"
FONCIER_JS = f"{STATIC_URL}/foncier.js"
FONCIER_CSS = f"{STATIC_URL}/foncier.css"

# folium resource name -> our copy; a folium resource missing here is dropped from the page.
LOCAL_JS: dict[str, str] = {
    "leaflet": LEAFLET_JS,
    "vectorgrid": VECTORGRID_JS,
    "foncier": FONCIER_JS,
}
LOCAL_CSS: dict[str, str] = {"leaflet_css": LEAFLET_CSS, "foncier_css": FONCIER_CSS}


def static_mounts() -> list[tuple[str, Path]]:
    """The (URL prefix, directory) pairs the app mounts for the map pages."""
    mounts = [(f"{VENDOR_URL}/{name}", path) for name, path in VENDOR_DIRS.items()]
    return [*mounts, (STATIC_URL, MAPS_STATIC)]


def missing_vendor_dirs() -> list[Path]:
    """The npm package folders that are not installed (``scripts/setup`` installs them)."""
    return [path for path in VENDOR_DIRS.values() if not path.is_dir()]


def _walk(element: Element) -> list[Element]:
    found = [element]
    for child in element._children.values():
        found.extend(_walk(child))
    return found


def localize(m: folium.Map) -> folium.Map:
    """Point every script and stylesheet of ``m`` at the app's own copies.

    Sets instance attributes only: folium's ``add_js_link`` would mutate the class-level lists
    shared by every map of the process.
    """
    for element in _walk(m):
        if hasattr(element, "default_js"):
            element.default_js = [
                (name, LOCAL_JS[name]) for name, _ in element.default_js if name in LOCAL_JS
            ]
        if hasattr(element, "default_css"):
            element.default_css = [
                (name, LOCAL_CSS[name]) for name, _ in element.default_css if name in LOCAL_CSS
            ]
    return m
