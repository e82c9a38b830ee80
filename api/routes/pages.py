"""The map pages (planner map, site finder, site sheet, territory dashboard) and their files.

The pages are HTML shells: folium builds each map, and the browser reads every feature and figure
from the API's own endpoints, so the pages hold no query of their own.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from api.db import PoolDep
from api.negotiation import prefers_html
from db.contracts.axes import axis_codes
from db.errors import NotFound
from geo.sources import sources_for
from maps.assets import CHART_JS, missing_vendor_dirs, static_mounts
from maps.base import MapParts, json_script, render_parts
from maps.basemaps import BASEMAPS
from maps.dashboard import territory_map
from maps.finder import finder_map
from maps.i18n import messages, pick_lang
from maps.layers import DEFAULT_BANDS
from maps.planner import PlannerStyle, planner_map
from maps.sheet import site_map

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
_templates = Environment(
    loader=PackageLoader("maps", "templates"), autoescape=select_autoescape(["html"])
)
LangQuery = Annotated[str | None, Query(pattern="^(fr|en)$", description="fr (default) or en")]
# The kinds of the API's /territories/{kind}/{code}.
TERRITORY_KINDS = ("epci", "territoire-2023", "territoire-2018", "departement", "region")
_CODE = re.compile(r"^[0-9A-Za-z-]{1,20}$")
# The layers each page shows, for its printed list of sources (the map credits what is on it).
PAGE_LAYERS = {
    "planner": ("epci", "communes", "territoires-2023", "parcels", "plu", "constraints", "friches"),
    "finder": ("epci", "communes", "sites", "territoires-2023"),
    "sheet": ("sites", "parcels", "communes", "constraints"),
    "dashboard": ("epci", "communes", "sites", "zan", "parcels"),
}
_BASEMAP_LAYERS = tuple(f"basemap:{b.id}" for b in BASEMAPS)


def _page(
    request: Request,
    template: str,
    page: str,
    lang: str | None,
    parts: MapParts,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    lang = pick_lang(lang)
    other = "en" if lang == "fr" else "fr"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    if other == "en":
        query["lang"] = "en"
    other_url = request.url.path + ("?" + urlencode(query) if query else "")
    t = messages(lang)
    config = {
        "lang": lang,
        "page": page,
        "messages": t,
        "bands": [
            {"min_score": b.min_score, "color": b.color, "label": b.label} for b in DEFAULT_BANDS
        ],
        **{k: v for k, v in context.items() if k in ("site_id", "kind", "code", "axes")},
    }
    credits = [s.attribution for s in sources_for(PAGE_LAYERS.get(page, ()))]
    html = _templates.get_template(template).render(
        credits=credits,
        basemap_credits=[s.attribution for s in sources_for(_BASEMAP_LAYERS)],
        lang=lang,
        other_lang=other,
        other_lang_url=other_url,
        t=t,
        page=page,
        map=parts,
        page_config=json_script(config),
        chart_js=CHART_JS,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _not_found(request: Request, lang: str | None, message: str, back: str) -> HTMLResponse:
    """A real 404 page in the page's language, saying what was not found and where to go.

    Only for browsers: a client that does not ask for HTML (an API client probing the site's
    address) gets the API's problem+json like every other 404.
    """
    if not prefers_html(request.headers.get("accept", "")):
        raise NotFound(message)
    return _page(
        request,
        "not_found.html",
        "not-found",
        lang,
        MapParts("", "", ""),
        status_code=404,
        message=message,
        back=back,
    )


@router.get("/", response_class=HTMLResponse)
def planner_page(request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The planner map: boundaries, parcels by score, sites, zoning and constraints."""
    settings = request.app.state.settings
    m = planner_map(
        style=PlannerStyle(parcel_min_zoom=settings.parcel_min_zoom),
        labels=messages(pick_lang(lang)),
    )
    return _page(request, "planner.html", "planner", lang, render_parts(m))


@router.get("/sites", response_class=HTMLResponse)
def finder_page(request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The site finder: filters, a ranked list beside the map, a compare view."""
    m = finder_map(labels=messages(pick_lang(lang)))
    return _page(request, "finder.html", "finder", lang, render_parts(m))


@router.get("/sites/{site_id}", response_class=HTMLResponse)
async def sheet_page(
    request: Request, pool: PoolDep, site_id: str, lang: LangQuery = None
) -> HTMLResponse:
    """A printable sheet of one site (the page reads the site from the API); 404 if unknown."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM site WHERE id = %s", (site_id,))
        known = await cur.fetchone() is not None
    if not known:
        t = messages(pick_lang(lang))
        message = t["site_not_found"].replace("{id}", site_id)
        return _not_found(request, lang, message, "finder")
    settings = request.app.state.settings
    m = site_map(labels=messages(pick_lang(lang)), parcel_min_zoom=settings.parcel_min_zoom)
    return _page(request, "sheet.html", "sheet", lang, render_parts(m), site_id=site_id)


@router.get("/territoires/{kind}/{code}", response_class=HTMLResponse)
def dashboard_page(request: Request, kind: str, code: str, lang: LangQuery = None) -> HTMLResponse:
    """The territory dashboard: ZAN trajectory, available hectares by score band, sites."""
    if kind not in TERRITORY_KINDS or not _CODE.match(code):
        t = messages(pick_lang(lang))
        message = t["territory_not_found"].replace("{kind}", kind).replace("{code}", code)
        return _not_found(request, lang, message, "planner")
    m = territory_map(kind=kind, labels=messages(pick_lang(lang)))
    # A Territoire d'industrie's edit form offers its programme's axes (the file the API checks).
    axes = list(axis_codes(int(kind[-4:]))) if kind.startswith("territoire") else []
    return _page(
        request,
        "dashboard.html",
        "dashboard",
        lang,
        render_parts(m),
        kind=kind,
        code=code,
        axes=axes,
    )


@router.get("/regions/{code}/contrats", response_class=HTMLResponse)
def region_contracts_page(request: Request, code: str, lang: LangQuery = None) -> HTMLResponse:
    """The regional overview of the Territoires d'industrie contracts (contract report)."""
    if not _CODE.match(code):
        t = messages(pick_lang(lang))
        message = t["territory_not_found"].replace("{kind}", "region").replace("{code}", code)
        return _not_found(request, lang, message, "planner")
    parts = MapParts("", "", "")
    return _page(request, "region_contracts.html", "region_contracts", lang, parts, code=code)


def mount(app: FastAPI) -> None:
    """Register the pages (after the API's routes, so ``/sites/compare`` wins over ``/sites/{id}``)
    and serve the front-end files: ours from maps/static, the libraries from node_modules."""
    app.include_router(router)
    missing = missing_vendor_dirs()
    if missing:
        log.warning("front-end libraries missing (run scripts/setup): %s", missing)
    for url, directory in static_mounts():
        app.mount(url, StaticFiles(directory=directory, check_dir=False), name=url.strip("/"))
