"""The ZAE inventory's maps: an EPCI's zones coloured by vacancy rate, a zone's land units."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from maps.base import base_map, to_map_frame
from maps.layers import Controls, PageControls, add

# Vacancy rate bands (percent, lower bound inclusive) and their colours, low to high.
VACANCY_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "#1a9641"),
    (10.0, "#a6d96a"),
    (25.0, "#fdae61"),
    (50.0, "#d7191c"),
)
UNKNOWN_COLOR = "#9e9e9e"


def vacancy_color(rate: float | None) -> str:
    """The colour of a vacancy rate in percent; grey when it cannot be computed.

    Example:
        >>> vacancy_color(33.3), vacancy_color(None)
        ('#fdae61', '#9e9e9e')
    """
    if rate is None:
        return UNKNOWN_COLOR
    color = VACANCY_BANDS[0][1]
    for low, band_color in VACANCY_BANDS:
        if rate >= low:
            color = band_color
    return color


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    color = feature["properties"]["color"]
    return {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.45}


def zae_map(
    features: gpd.GeoDataFrame, name: str, tooltip: list[str], m: folium.Map | None = None
) -> folium.Map:
    """Polygons (any CRS) filled with their ``color`` column, framed, with a tooltip.

    Args:
        features: zones or land units, each with a ``color`` column (see :func:`vacancy_color`).
        name: the layer's name in the layer panel.
        tooltip: the columns shown on hover.
        m: an existing map to draw on.
    """
    m = base_map(m)
    if features.empty:
        return _controls(m)
    frame = to_map_frame(features)
    folium.GeoJson(
        frame,
        name=name,
        style_function=_style,
        tooltip=folium.GeoJsonTooltip(fields=tooltip) if tooltip else None,
    ).add_to(m)
    minx, miny, maxx, maxy = frame.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return _controls(m)


def _controls(m: folium.Map) -> folium.Map:
    """The basemaps (Plan IGN, orthophotos, OSM, the offline fallback), their credits and the
    metric scale of every other map; the vacancy key is the page's own card."""
    return add(m, PageControls(Controls(legend_title="", bands=(), url_state=False)))
