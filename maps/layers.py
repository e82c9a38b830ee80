"""folium elements for layers the browser loads from the API (vector tiles, GeoJSON by bbox).

Each element renders one call into ``maps/static/foncier.js`` with its options as JSON, so the
Python side stays declarative and the tests assert on those JSON fragments.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.assets import FONCIER_CSS, FONCIER_JS, VECTORGRID_JS
from maps.basemaps import BASEMAPS, DEFAULT_BASEMAP, Basemap, credit


@dataclass(frozen=True)
class ScoreBand:
    """A class of the availability score (0-100) and its colour on the map."""

    min_score: float
    color: str
    label: str


DEFAULT_BANDS: tuple[ScoreBand, ...] = (
    ScoreBand(75, "#1a9850", "75-100"),
    ScoreBand(50, "#91cf60", "50-75"),
    ScoreBand(25, "#fee08b", "25-50"),
    ScoreBand(0, "#d73027", "0-25"),
)


@dataclass(frozen=True)
class LayerStyle:
    """How a layer is drawn: an outline colour, a fill, a line weight."""

    color: str = "#3388ff"
    weight: float = 1.0
    fill_opacity: float = 0.0


class _FoncierElement(JSCSSMixin):
    default_js = [("foncier", FONCIER_JS)]
    default_css = [("foncier_css", FONCIER_CSS)]
    _call = ""
    _template = Template(
        """{% macro script(this, kwargs) %}
Foncier.{{ this._call }}({{ this._parent.get_name() }}, {{ this.options_json }});
{% endmacro %}"""
    )

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's __init__ has no annotations
        self.options = options

    @property
    def options_json(self) -> str:
        # sort_keys: stable output for the tests' string assertions
        return json.dumps(self.options, sort_keys=True, ensure_ascii=False)


class VectorTiles(_FoncierElement):
    """A Mapbox Vector Tiles layer of an API collection (Leaflet.VectorGrid, not interactive).

    VectorGrid 1.3.0 throws on click with Leaflet >= 1.8 (issue #274), so the layer is drawn
    with ``interactive: false`` and clicks ask the API for the feature under the pointer.
    ``points``: the collection holds points (drawn as dots of ``style.color``, and clicked with
    a tolerance of a few pixels).
    """

    default_js = [("vectorgrid", VECTORGRID_JS), ("foncier", FONCIER_JS)]
    _call = "vectorTiles"

    def __init__(
        self,
        collection: str,
        name: str,
        style: LayerStyle | None = None,
        min_zoom: int = 0,
        show: bool = True,
        bands: tuple[ScoreBand, ...] | None = None,
        score_property: str = "score",
        clickable: bool = False,
        points: bool = False,
    ) -> None:
        style = style or LayerStyle()
        super().__init__(
            {
                "collection": collection,
                "name": name,
                "url": f"/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
                "layer": collection,
                "style": asdict(style),
                "minZoom": min_zoom,
                "show": show,
                "bands": [asdict(b) for b in bands] if bands else None,
                "scoreProperty": score_property,
                "clickable": clickable,
                "points": points,
                "attribution": credit(collection),
            }
        )


class ApiPoints(_FoncierElement):
    """Point features of an API collection, reloaded as GeoJSON for the map's bbox on each move."""

    _call = "apiPoints"

    def __init__(
        self,
        collection: str,
        name: str,
        color: str,
        id_property: str,
        label_property: str,
        show: bool = True,
        min_zoom: int = 0,
        link: str | None = None,
    ) -> None:
        super().__init__(
            {
                "collection": collection,
                "name": name,
                "color": color,
                "idProperty": id_property,
                "labelProperty": label_property,
                "show": show,
                "minZoom": min_zoom,
                "link": link,
                "attribution": credit(collection),
            }
        )


@dataclass(frozen=True)
class SearchTarget:
    """A collection the search box looks into: its name property and the shape of its codes."""

    collection: str
    label: str
    name_property: str
    code_pattern: str = ""


@dataclass(frozen=True)
class Controls:
    """The page-level controls: layer panel with legend and basemaps, search, URL state."""

    legend_title: str = ""
    bands: tuple[ScoreBand, ...] = DEFAULT_BANDS
    search: tuple[SearchTarget, ...] = ()
    search_placeholder: str = ""
    url_state: bool = True
    basemaps: tuple[Basemap, ...] = BASEMAPS
    default_basemap: str = DEFAULT_BASEMAP


class PageControls(_FoncierElement):
    """Adds the layer panel (basemaps, layers, legend), the search box, the metric scale, the
    credits, and keeps the map state (view, layers, basemap) in the URL."""

    _call = "controls"
    # The offline basemap is drawn from our own vector tiles: a page with no vector layer of
    # its own (the ZAE inventory) still needs VectorGrid for it.
    default_js = [("vectorgrid", VECTORGRID_JS), ("foncier", FONCIER_JS)]

    def __init__(self, controls: Controls) -> None:
        options = asdict(controls)
        options["bands"] = [asdict(b) for b in controls.bands]
        options["search"] = [asdict(s) for s in controls.search]
        options["basemaps"] = [asdict(b) for b in controls.basemaps]
        super().__init__(options)


def add(m: folium.Map, *elements: MacroElement) -> folium.Map:
    """Add elements to ``m`` in order (the controls last: they list the layers added before)."""
    for element in elements:
        element.add_to(m)
    return m
