"""The site sheet's map (``/sites/{id}``): the site, its parcels coloured by score."""

from __future__ import annotations

import folium
import geopandas as gpd

from maps.base import base_map, geojson_overlay
from maps.layers import DEFAULT_BANDS, Controls, LayerStyle, PageControls, VectorTiles, add


def site_map(
    site: gpd.GeoDataFrame | None = None,
    labels: dict[str, str] | None = None,
    parcel_min_zoom: int = 13,
    basemap_url: str | None = None,
    m: folium.Map | None = None,
) -> folium.Map:
    """The sheet's map; ``sheet.js`` draws the site it reads from the API and frames it.

    Args:
        site: the site's perimeter or point (any CRS) when the caller already has it.
        labels: translated layer names (see ``maps.i18n``).
        parcel_min_zoom: the zoom from which the API serves parcel tiles.
        basemap_url: an optional web basemap (the page works without it).
        m: an existing map to draw on.
    """
    t = labels or {}
    m = base_map(m, basemap_url)
    if site is not None and not site.empty:
        geojson_overlay(m, site, t.get("sites", "Site"), LayerStyle("#0b5394", 3.0, 0.1), [])
    add(
        m,
        VectorTiles(
            "parcels",
            t.get("parcels", "Parcels"),
            LayerStyle("#333333", 0.5, 0.6),
            min_zoom=parcel_min_zoom,
            bands=DEFAULT_BANDS,
            clickable=True,
        ),
        VectorTiles(
            "constraints",
            t.get("constraints", "Constraints"),
            LayerStyle("#b2182b", 0.8, 0.2),
            min_zoom=9,
            show=False,
        ),
        PageControls(Controls(legend_title=t.get("legend_title", "Score"), url_state=False)),
    )
    return m
