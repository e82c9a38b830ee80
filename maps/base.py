"""What every map page shares: an offline-safe base map, GeoDataFrame overlays, page fragments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Figure

from maps.assets import localize
from maps.layers import LayerStyle

# Metropolitan France, when a page has nothing to frame yet.
FRANCE_CENTER = (46.6, 2.4)
FRANCE_ZOOM = 6
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def base_map(m: folium.Map | None = None, basemap_url: str | None = None) -> folium.Map:
    """A map with no folium basemap: the page's layer panel adds the web basemaps and the offline
    fallback (``maps.basemaps``), and a metric-only scale (folium's would show miles too)."""
    if m is not None:
        return m
    m = folium.Map(
        location=FRANCE_CENTER,
        zoom_start=FRANCE_ZOOM,
        tiles=None,
        control_scale=False,
        prefer_canvas=False,
    )
    if basemap_url:
        folium.TileLayer(basemap_url, attr=OSM_ATTRIBUTION, name="basemap", control=False).add_to(m)
    return m


def to_map_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 with every non-JSON column stringified (as geopandas' explore does)."""
    if gdf.crs is None:
        raise ValueError("the GeoDataFrame has no CRS: set it before drawing it on a map")
    out = gdf.to_crs(4326)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return out


def geojson_overlay(
    m: folium.Map, gdf: gpd.GeoDataFrame, name: str, style: LayerStyle, tooltip: list[str]
) -> folium.GeoJson:
    """Draw ``gdf`` (any CRS) on ``m`` as an embedded GeoJSON layer, and frame the map on it."""
    frame = to_map_frame(gdf)
    style_dict = {"color": style.color, "weight": style.weight, "fillOpacity": style.fill_opacity}
    layer = folium.GeoJson(
        frame,
        name=name,
        style_function=lambda _feature: style_dict,
        tooltip=folium.GeoJsonTooltip(fields=tooltip) if tooltip else None,
    )
    layer.add_to(m)
    if not frame.empty:
        minx, miny, maxx, maxy = frame.total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return layer


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for embedding in a page: head links, the map div, its script."""

    header: str
    html: str
    script: str


def render_parts(m: folium.Map) -> MapParts:
    """Render ``m`` with local assets only and split it for a page template."""
    localize(m)
    figure = m.get_root()
    assert isinstance(figure, Figure)  # a folium.Map's root is always its Figure
    figure.render()
    return MapParts(
        header=figure.header.render(), html=figure.html.render(), script=figure.script.render()
    )


def json_script(value: Any) -> str:
    """``value`` as JSON safe to put inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
