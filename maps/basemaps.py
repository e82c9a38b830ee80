"""The basemaps offered by every map page, and the credit line of each layer from the sources.

The IGN Géoplateforme's Plan IGN v2 and orthophotos (public WMTS, no key) and OpenStreetMap are
web tiles; ``offline`` is drawn by the page from our own layers (communes, their names and the
rail lines of ``rail-lines``, issue 13), so a
map is never blank when the tile hosts do not answer. The page switches to it by itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from geo.sources import sources_for

GEOPF_WMTS = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&STYLE=normal"
    "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
OFFLINE = "offline"


@dataclass(frozen=True)
class Basemap:
    """A background the layer panel offers: its id (kept in the URL), label key, tiles."""

    id: str
    label_key: str
    url: str | None
    max_zoom: int
    attribution: str


def credit(*layers: str) -> str:
    """The credit line of ``layers`` (collections or ``basemap:<id>``), from ``geo.sources``."""
    return " · ".join(s.attribution for s in sources_for(layers))


def _wmts(layer: str, fmt: str) -> str:
    return f"{GEOPF_WMTS}&LAYER={layer}&FORMAT={fmt}"


BASEMAPS: tuple[Basemap, ...] = (
    Basemap(
        "plan-ign",
        "basemap_plan",
        _wmts("GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2", "image/png"),
        19,
        credit("basemap:plan-ign"),
    ),
    Basemap(
        "ortho",
        "basemap_ortho",
        _wmts("ORTHOIMAGERY.ORTHOPHOTOS", "image/jpeg"),
        19,
        credit("basemap:ortho"),
    ),
    Basemap(
        "osm",
        "basemap_osm",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        19,
        credit("basemap:osm"),
    ),
    Basemap(OFFLINE, "basemap_offline", None, 22, credit("basemap:offline")),
)
DEFAULT_BASEMAP = "plan-ign"


def basemaps_json(labels: dict[str, str]) -> list[dict[str, object]]:
    """The basemaps as the page's layer panel reads them, with their translated names."""
    return [{**asdict(b), "name": labels.get(b.label_key, b.id)} for b in BASEMAPS]
