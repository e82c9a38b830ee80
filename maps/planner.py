"""The planner map (``/``): boundaries, parcels coloured by score, sites and constraint layers."""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd

from maps.base import base_map, geojson_overlay
from maps.layers import (
    DEFAULT_BANDS,
    ApiPoints,
    Controls,
    LayerStyle,
    PageControls,
    ScoreBand,
    SearchTarget,
    VectorTiles,
    add,
)

# The search box asks /places (names and codes of communes, EPCIs, territories, départements and
# regions); these are the collections whose features it outlines once it has zoomed to a hit.
SEARCH_TARGETS = (
    SearchTarget("epci", "EPCI", "nom"),
    SearchTarget("communes", "Commune", "nom"),
    SearchTarget("territoires-2023", "Territoire d'industrie 2023-2027", "lib"),
    SearchTarget("territoires-2018", "Territoire d'industrie 2018-2022", "lib"),
)


@dataclass(frozen=True)
class PlannerStyle:
    """Colours and thresholds of the planner map."""

    bands: tuple[ScoreBand, ...] = DEFAULT_BANDS
    parcel_min_zoom: int = 13
    epci: LayerStyle = LayerStyle("#5e3c99", 2.0)
    communes: LayerStyle = LayerStyle("#777777", 0.8)
    territoires: LayerStyle = LayerStyle("#e66101", 2.5)
    plu: LayerStyle = LayerStyle("#1f78b4", 0.8, 0.15)
    constraints: LayerStyle = LayerStyle("#b2182b", 0.8, 0.25)
    focus: LayerStyle = LayerStyle("#000000", 3.0)
    site_color: str = "#0b5394"
    friche_color: str = "#7f3b08"
    basemap_url: str | None = None


def planner_map(
    focus: gpd.GeoDataFrame | None = None,
    style: PlannerStyle | None = None,
    labels: dict[str, str] | None = None,
    m: folium.Map | None = None,
) -> folium.Map:
    """The planner map; every layer but ``focus`` is loaded by the browser from the API.

    Args:
        focus: features to outline and frame (any CRS), e.g. a territory; none frames France.
        style: colours, score bands, the parcels' minimum zoom and an optional web basemap.
        labels: translated layer names and control texts (see ``maps.i18n``).
        m: an existing map to draw on.
    """
    style = style or PlannerStyle()
    t = labels or {}
    m = base_map(m, style.basemap_url)
    if focus is not None:
        geojson_overlay(m, focus, t.get("focus", "focus"), style.focus, [])
    add(
        m,
        VectorTiles("epci", t.get("epci", "EPCI"), style.epci),
        VectorTiles("communes", t.get("communes", "Communes"), style.communes, min_zoom=9),
        VectorTiles("territoires-2023", t.get("territoires-2023", "TI 2023"), style.territoires),
        VectorTiles(
            "territoires-2018",
            t.get("territoires-2018", "TI 2018"),
            style.territoires,
            show=False,
        ),
        VectorTiles("plu", t.get("plu", "PLU"), style.plu, min_zoom=11, show=False, clickable=True),
        VectorTiles(
            "constraints",
            t.get("constraints", "Constraints"),
            style.constraints,
            min_zoom=9,
            show=False,
            clickable=True,
        ),
        VectorTiles(
            "parcels",
            t.get("parcels", "Parcels"),
            LayerStyle("#333333", 0.5, 0.7),
            min_zoom=style.parcel_min_zoom,
            bands=style.bands,
            clickable=True,
        ),
        # Vector tiles, not a GeoJSON page of the view: every brownfield is drawn (1,718 in the
        # Lyon view), none capped.
        VectorTiles(
            "friches",
            t.get("friches", "Brownfields"),
            LayerStyle(style.friche_color, 1.0, 0.6),
            min_zoom=8,
            show=False,
            clickable=True,
            points=True,
        ),
        ApiPoints("sites", t.get("sites", "Sites"), style.site_color, "id", "nom", link="/sites/"),
        PageControls(
            Controls(
                legend_title=t.get("legend_title", "Score"),
                bands=style.bands,
                search=SEARCH_TARGETS,
                search_placeholder=t.get("search_places_placeholder", ""),
            )
        ),
    )
    return m
