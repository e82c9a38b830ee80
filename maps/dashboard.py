"""The territory dashboard's map (``/territoires/{kind}/{code}``): the territory and its sites."""

from __future__ import annotations

import folium
import geopandas as gpd
from branca.element import MacroElement

from maps.base import base_map, geojson_overlay
from maps.layers import ApiPoints, Controls, LayerStyle, PageControls, VectorTiles, add

# Land units are a few parcels wide: drawn (and picked by a click) from this zoom on.
LAND_UNIT_MIN_ZOOM = 13
# Dashboard kinds -> the collection holding their outline (départements and regions have none).
OUTLINE_COLLECTIONS = {
    "epci": "epci",
    "territoire-2023": "territoires-2023",
    "territoire-2018": "territoires-2018",
}


def territory_map(
    territory: gpd.GeoDataFrame | None = None,
    kind: str = "epci",
    labels: dict[str, str] | None = None,
    basemap_url: str | None = None,
    m: folium.Map | None = None,
) -> folium.Map:
    """The dashboard's map: communes, land units, the sites; ``dashboard.js`` frames it.

    Args:
        territory: the territory's outline (any CRS) when the caller already has it.
        kind: the territory kind (epci, territoire-2023, territoire-2018, departement, region),
            for the outline collection.
        labels: translated layer names (see ``maps.i18n``).
        basemap_url: an optional web basemap (the page works without it).
        m: an existing map to draw on.
    """
    t = labels or {}
    m = base_map(m, basemap_url)
    if territory is not None and not territory.empty:
        geojson_overlay(m, territory, t.get("focus", "Territory"), LayerStyle("#000000", 3.0), [])
    outline = OUTLINE_COLLECTIONS.get(kind)
    elements: list[MacroElement] = [
        VectorTiles("communes", t.get("communes", "Communes"), LayerStyle("#777777", 0.8))
    ]
    if outline:
        elements.append(VectorTiles(outline, t.get(outline, outline), LayerStyle("#5e3c99", 2.0)))
    # The land units a click adds to the simulator's scenario (simulator.js), when zoomed in.
    elements.append(
        VectorTiles(
            "land-units",
            t.get("kind_land_units", "Land units"),
            LayerStyle("#e66101", 1.5, 0.15),
            min_zoom=LAND_UNIT_MIN_ZOOM,
        )
    )
    elements += [
        ApiPoints("sites", t.get("sites", "Sites"), "#0b5394", "id", "nom", link="/sites/"),
        PageControls(Controls(legend_title="", bands=(), url_state=False)),
    ]
    add(m, *elements)
    return m
