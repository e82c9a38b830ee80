"""The site finder's map (``/sites``): results of the investor search drawn by the page's script."""

from __future__ import annotations

import folium
import geopandas as gpd

from maps.base import base_map, geojson_overlay
from maps.layers import Controls, LayerStyle, PageControls, VectorTiles, add


def finder_map(
    results: gpd.GeoDataFrame | None = None,
    labels: dict[str, str] | None = None,
    basemap_url: str | None = None,
    m: folium.Map | None = None,
) -> folium.Map:
    """The finder's map: EPCI outlines; ``finder.js`` adds the ranked sites it gets from the API.

    Args:
        results: sites to draw up front (any CRS), e.g. from a saved search; usually none.
        labels: translated layer names (see ``maps.i18n``).
        basemap_url: an optional web basemap (the page works without it).
        m: an existing map to draw on.
    """
    t = labels or {}
    m = base_map(m, basemap_url)
    if results is not None and not results.empty:
        geojson_overlay(m, results, t.get("sites", "Sites"), LayerStyle("#0b5394", 2.0), ["nom"])
    add(
        m,
        VectorTiles("epci", t.get("epci", "EPCI"), LayerStyle("#5e3c99", 1.5)),
        VectorTiles(
            "territoires-2023",
            t.get("territoires-2023", "TI 2023"),
            LayerStyle("#e66101", 2.0),
            show=False,
        ),
        PageControls(Controls(legend_title="", bands=(), url_state=False)),
    )
    return m
