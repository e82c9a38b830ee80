"""What the routes answer, as pydantic models and route metadata: the OpenAPI document at /api is
generated from them (api/openapi.py only converts it to OpenAPI 3.0 and applies the settings).

The hot routes (items, tiles, exports) build their bodies in SQL and return a raw ``Response``:
FastAPI then neither validates nor serialises them, so a model here costs nothing per request.
Each route lists its success answers in ``responses=`` (:func:`ok` and the constants below).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.errors import PROBLEM

GEOJSON = "application/geo+json"
JSON_SCHEMA = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
REF = "#/components/schemas/"


class Problem(BaseModel):
    """RFC 9457 problem details; `detail` says what to change."""

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = None


class Link(BaseModel):
    model_config = ConfigDict(extra="allow")

    href: str
    rel: str | None = None
    type: str | None = None
    title: str | None = None
    templated: bool | None = None


GeometryType = Literal[
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
]


class Geometry(BaseModel):
    """A GeoJSON geometry (coordinates in the response's CRS)."""

    type: GeometryType
    coordinates: list[Any] | None = None
    geometries: list[Any] | None = None


class Feature(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    id: str | int | None = None
    geometry: Geometry | None
    properties: dict[str, Any] | None
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int | None = Field(None, ge=0)  # noqa: N815 - the OGC name
    numberReturned: int = Field(ge=0)  # noqa: N815
    numberMatchedIsEstimate: bool | None = None  # noqa: N815
    timeStamp: str | None = None  # noqa: N815
    links: list[Link]


class LinksDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]  # noqa: N815 - the OGC name


class Collection(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None = None
    crs: list[str] | None = None
    extent: dict[str, Any] | None = None
    links: list[Link]


class Collections(BaseModel):
    collections: list[Collection]
    links: list[Link]


class Explanation(BaseModel):
    model_config = ConfigDict(extra="allow")

    summary: Any


class SearchResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal["site", "land-unit"]
    id: str
    score: float | None = None
    explanation: Explanation
    link: str


class SearchResults(BaseModel):
    model_config = ConfigDict(extra="allow")

    numberMatched: int | None = Field(None, ge=0)  # noqa: N815 - the OGC name
    numberReturned: int = Field(ge=0)  # noqa: N815
    results: list[SearchResult]


class ComparedSite(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str


class Comparison(BaseModel):
    model_config = ConfigDict(extra="allow")

    ids: list[str] = Field(min_length=2, max_length=5)
    sites: list[ComparedSite]
    criteria: dict[str, Any]
    best: str | None


class AvailableLand(BaseModel):
    model_config = ConfigDict(extra="allow")

    total: Any
    by_zoning_and_score: Any


class Territory(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    code: str
    name: str | None
    communes: int = Field(ge=0)
    zan: dict[str, Any] | None = None
    available_ha: AvailableLand
    sites: list[dict[str, Any]]


class Place(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    code: str
    name: str | None
    label: str
    match: str
    bbox: list[float] | None
    collection: str | None
    link: str


class Places(BaseModel):
    q: str
    key: str
    numberReturned: int = Field(ge=0)  # noqa: N815 - as the other lists
    places: list[Place]


class SiteChange(BaseModel):
    id: str
    changed: dict[str, Any]


class SiteCreated(BaseModel):
    id: str
    href: str
    parcels: list[str] | None = Field(None, description="the site's parcel ids (IDU)")


# --- Route metadata ----------------------------------------------------------------------------

_PROBLEMS = {
    400: "a parameter, the filter or the body is invalid",
    401: "X-API-Key is unknown, revoked or expired (writes: missing)",
    403: "the key's scope does not cover this commune",
    404: "no such collection, feature, site or territory (tiles: outside the tileset's zooms)",
    409: "the site already exists",
    413: "the request body is too large",
    415: "the uploaded file is not of the accepted type (evidence: PDF only)",
    429: "too many exports, or failed keys, from this client (api/ratelimit.py)",
    503: "the database is unavailable or the query timed out",
}
Responses = dict[int | str, dict[str, Any]]


def problems(*statuses: int) -> Responses:
    """The problem+json answers ``statuses`` of a route, each with its usual cause."""
    schema = {"schema": {"$ref": REF + "Problem"}}
    return {s: {"description": _PROBLEMS[s], "content": {PROBLEM: schema}} for s in statuses}


_REFERENCED: list[type[BaseModel]] = []


def ok(
    description: str,
    media: str = "application/json",
    model: type[BaseModel] | None = None,
    schema: dict[str, Any] | None = None,
    status: int = 200,
) -> Responses:
    """A success answer in ``media``: described by ``model`` (a component) or a plain schema.

    A model named here is added to the document's components (``referenced_models``), so a
    route module's own model cannot be referenced without its schema."""
    if model is not None and model not in _REFERENCED:
        _REFERENCED.append(model)
    body = {"$ref": REF + model.__name__} if model is not None else schema or {}
    return {status: {"description": description, "content": {media: {"schema": body}}}}


def referenced_models() -> tuple[type[BaseModel], ...]:
    """Every model of ``MODELS`` and those the routes named in ``ok(model=...)``."""
    return MODELS + tuple(m for m in _REFERENCED if m not in MODELS)


# Routes reading the database, and those also taking X-API-Key (a bad key counts towards 429).
READ = problems(400, 404, 503)
KEYED = problems(400, 401, 404, 429, 503)
# Models the routes reference by name in ``responses`` (their schemas go into the components).
MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    Feature,
    FeatureCollection,
    LinksDocument,
    Conformance,
    Collection,
    Collections,
    SearchResults,
    Comparison,
    Territory,
    Places,
    SiteChange,
    SiteCreated,
)


# JSONResponse subclasses: FastAPI then documents the body by the route's ``responses`` model
# (a plain Response would add a "string" schema beside it). The routes return their own
# Response objects: these classes are never instantiated on the hot path.
class GeoJSONResponse(JSONResponse):
    """A body built elsewhere (SQL), in GeoJSON: ``response_class`` of the feature routes."""

    media_type = GEOJSON


class SchemaResponse(JSONResponse):
    """A JSON Schema document: ``response_class`` of queryables and the feature schemas."""

    media_type = JSON_SCHEMA


JSON_SCHEMA_DOC = ok(
    "JSON Schema (queryables, features' properties or one GeoJSON feature)",
    JSON_SCHEMA,
    schema={"type": "object", "required": ["properties"]},
)
MVT_TILE: Responses = {
    **ok("a Mapbox Vector Tile", MVT, schema={"type": "string", "format": "binary"}),
    204: {"description": "no features in this tile"},
    304: {"description": "If-None-Match matched the tile's ETag"},
}
EXPORT_FILE: Responses = {
    200: {
        "description": "the features as a file",
        "content": {
            GEOJSON: {"schema": {"type": "object", "required": ["type", "features"]}},
            "text/csv": {"schema": {"type": "string"}},
            "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
            "application/geo+json-seq": {"schema": {"type": "string"}},
            "application/flatgeobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
