"""The OpenAPI description at /api: FastAPI's, from the routes' ``responses=`` and the models of
api/schemas.py, completed with what cannot be declared on a route yet.

The OGC routes build their responses by hand (GeoJSON assembled in SQL, vector tiles, files) and
read their query string themselves (property filters are per collection), so FastAPI alone would
describe them as ``application/json`` with an empty schema, no query parameters, and a 422 that
never happens (validation errors are 400 problem+json here). Clients (QGIS, code generators) and
the schema fuzzing in tests/reliability rely on this description, so it says the truth: the
parameters, the media types, the GeoJSON shapes and every problem+json status.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.routing import Route

from api.collections import COLLECTIONS
from api.errors import PROBLEM
from api.routes.features import OPENAPI_MEDIA
from api.routes.tiles import TMS_ID
from api.schemas import MODELS, REF
from config import ApiSettings
from geo.crs import SUPPORTED


def model_schemas() -> dict[str, Any]:
    """The components of the models the routes name in ``responses`` (api/schemas.py)."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in MODELS], ref_template=REF + "{model}"
    )
    return dict(defs.get("$defs", {}))


# "" is accepted and means the default (CRS84).
_CRS_VALUES = ["", *SUPPORTED, "CRS84", "EPSG:4326", "EPSG:2154", "EPSG:3857"]


def to_oas30(node: Any) -> Any:
    """A JSON Schema 2020-12 fragment (OpenAPI 3.1, what FastAPI writes) in OpenAPI 3.0's subset.

    The conformance class is OGC API Features' oas30 and GDAL's OAPIF driver reads 3.0: nulls
    become ``nullable``, type lists ``oneOf``, ``prefixItems`` plain ``items``, ``const`` an
    enum and numeric exclusive bounds the 3.0 booleans.
    """
    if isinstance(node, list):
        return [to_oas30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_oas30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            out["nullable"] = True
            if len(rest) == 1 and "$ref" in rest[0]:
                out["allOf"] = rest  # a $ref takes no siblings in 3.0
            elif len(rest) == 1:
                out = {**rest[0], **out}
            else:
                out[key] = rest
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        del out["type"]
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            out["oneOf"] = [{"type": k} for k in kinds]
    if isinstance(out.get("prefixItems"), list):
        first, *more = out.pop("prefixItems")
        out.setdefault("items", first if all(m == first for m in more) else {})
        if "type" in out["items"] and any(m.get("type") != first.get("type") for m in more):
            out["items"] = {}
        elif "title" in out["items"]:
            out["items"] = {k: v for k, v in out["items"].items() if k != "title"}
    if "const" in out and not isinstance(out["const"], dict):
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    if isinstance(out.get("examples"), list) and "example" not in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    return out


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_FILTER_PARAMS = [
    _query("filter", {"type": "string"}, "CQL2 filter (text or JSON, see filter-lang)"),
    _query("filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json"]}, "CQL2 encoding"),
    _query("filter-crs", {"type": "string", "enum": _CRS_VALUES}, "CRS of filter geometries"),
    _query(
        "properties",
        {"type": "string"},
        "comma-separated properties to return (see the collection's queryables)",
    ),
    _query(
        "f",
        {"type": "string", "enum": ["json", "geojson"]},
        "the media type is fixed (GeoJSON, or MVT for tiles); f=html is a 400",
    ),
]


def _items_params(settings: ApiSettings) -> list[dict[str, Any]]:
    """The items parameters, with the page size's default and maximum (GDAL's OAPIF driver pages
    by the maximum when it sees one, by 10 otherwise)."""
    limit = _query(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": settings.max_limit,
            "default": settings.default_limit,
        },
        f"page size (default {settings.default_limit}, maximum {settings.max_limit}); above the "
        "maximum it is lowered to it",
    )
    return [limit if p["name"] == "limit" else p for p in _ITEMS_PARAMS]


_TILE_PARAMS = [
    _query("f", {"type": "string", "enum": ["mvt"]}, "the media type is fixed: f=html is a 400")
    if p["name"] == "f"
    else p
    for p in _FILTER_PARAMS
]
_ITEMS_PARAMS = [
    _query(
        "bbox",
        {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
        "minx,miny,maxx,maxy (or 6 values with heights) in bbox-crs; lower corner first",
    )
    | {"style": "form", "explode": False},
    _query("bbox-crs", {"type": "string", "enum": _CRS_VALUES}, "CRS of bbox (default CRS84)"),
    _query("crs", {"type": "string", "enum": _CRS_VALUES}, "CRS of the output (default CRS84)"),
    _query(
        "limit",
        {"type": "integer", "minimum": 1},
        "page size; above the server maximum it is lowered to it",
    ),
    _query("offset", {"type": "integer", "minimum": 0}, "features to skip"),
    _query("sortby", {"type": "string"}, "comma-separated queryables, `-` for descending"),
    _query(
        "datetime",
        {"type": "string"},
        "RFC 3339 instant or interval (`start/end`, `..` for an open end); no collection has a "
        "temporal property yet, so a valid value selects every feature (a malformed one is a 400)",
    ),
    _query(
        "as_of",
        {"type": "string"},
        "ISO date (the state at the end of that day, UTC) or date-time: the features as they "
        "were then, from the layer's history (scores stay today's; derived land-units: a 400)",
    ),
    *_FILTER_PARAMS,
]
_EXPORT_PARAMS = [
    *_ITEMS_PARAMS,
    _query(
        "format",
        {"type": "string", "enum": ["geojson", "geojsonseq", "csv", "gpkg", "fgb", "parquet"]},
        "file format (GeoJSON, GeoJSON text sequence, CSV, GeoPackage, FlatGeobuf, GeoParquet)",
    ),
    _query("bom", {"type": "string"}, "true: a UTF-8 byte order mark on CSV (Excel)"),
    _query("decimal", {"type": "string"}, "comma: decimal commas and VRAI/FAUX in CSV (Excel FR)"),
]

# The routes that never touch the database cannot answer 503.
_STATIC = {
    "/ogc",
    "/conformance",
    "/tileMatrixSets",
    "/tileMatrixSets/{tms_id}",
    "/healthz",
    "/collections/{collection_id}/tiles",
    "/collections/{collection_id}/tiles/{tms_id}",
}


# The tile routes: the OGC Tiles order (row = y, then column = x) and the older z/x/y one.
_TILE_PATHS = ("/{tileMatrix}/{tileRow}/{tileCol}", "/{z}/{x}/{y}")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": REF + "Problem"}}}}


def _complete(path: str, method: str, op: dict[str, Any], settings: ApiSettings) -> None:
    params = op.setdefault("parameters", [])
    for p in params:
        if p["name"] == "collection_id":
            p["schema"] = {"type": "string", "enum": list(COLLECTIONS)}
        elif p["name"] == "tms_id":
            p["schema"] = {"type": "string", "enum": [TMS_ID]}
        elif p["name"] == "territoire_programme":  # checked in the route (int from a query)
            p["schema"] = {"type": "integer", "enum": [2018, 2023], "default": 2023}
        elif p["name"] in ("z", "x", "y", "tileMatrix", "tileRow", "tileCol"):
            p["schema"] = {
                "type": "integer",
                "minimum": 0,
                "maximum": 24 if p["name"] in ("z", "tileMatrix") else 2**24 - 1,
            }
    if path.endswith(("/items", "/export", *_TILE_PATHS)):
        extra = {"/items": _items_params(settings), "/export": _EXPORT_PARAMS}.get(
            path[path.rfind("/") :], _TILE_PARAMS
        )
        params.extend(extra)
        op["description"] = (op.get("description") or "") + (
            "\n\nAny queryable property is also a filter parameter: `?insee=91432`. An unknown "
            "parameter is a 400."
        )
    # Validation errors are 400 problem+json here (api/errors.py), never FastAPI's 422; the
    # success answers are the routes' own (``responses=`` on each decorator).
    responses = op["responses"]
    responses.pop("422", None)
    names = {p["name"] for p in params}
    if params or "requestBody" in op:
        responses["400"] = _problem("a parameter, the filter or the body is invalid")
    if "x-api-key" in names:
        responses["401"] = _problem("X-API-Key is missing (writes) or unknown")
    if method in ("patch", "post"):
        responses["403"] = _problem("the key's scope does not cover this commune")
        responses["413"] = _problem("the request body is too large")
    if path.startswith("/admin"):
        responses["401"] = _problem("X-API-Key is missing or unknown")
        responses["403"] = _problem("the key is not of role admin")
    if path.startswith("/admin/") and "{" in path:
        responses["404"] = _problem("no such ingest run or quarantined row")
    elif "{" in path or method == "patch":
        responses["404"] = _problem(
            "no such collection, feature or territory (tiles: outside the tileset's zoom levels)"
        )
    if path == "/sites" and method == "post":
        responses["409"] = _problem("the site already exists")
    if path.endswith("/export") or "x-api-key" in names:  # api/ratelimit.py, per client IP
        responses["429"] = _problem("too many exports, or failed keys, from this client")
    if path not in _STATIC:
        responses["503"] = _problem("the database is unavailable or the query timed out")


# Path parameters under the names of OGC API Features/Tiles' OpenAPI building blocks: GDAL's OAPIF
# driver (3.8+) reads the page-size maximum from /collections/{collectionId}/items.
OGC_PATH_NAMES = {
    "collection_id": "collectionId",
    "feature_id": "featureId",
    "tms_id": "tileMatrixSetId",
}


def _ogc_names(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with the OGC path parameter names (the routes' own names are Python's)."""
    renamed: dict[str, Any] = {}
    for path, ops in paths.items():
        for old, new in OGC_PATH_NAMES.items():
            path = path.replace("{" + old + "}", "{" + new + "}")
        for op in ops.values():
            for p in op.get("parameters", []):
                if p.get("in") == "path" and p["name"] in OGC_PATH_NAMES:
                    p["name"] = OGC_PATH_NAMES[p["name"]]
        renamed[path] = ops
    return renamed


def install_openapi(app: FastAPI) -> None:
    """Serve the completed description at ``app.openapi_url`` (built once, then cached), as
    OpenAPI 3.0 under its own media type (``application/vnd.oai.openapi+json;version=3.0``)."""
    settings: ApiSettings = app.state.settings

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                routes=app.routes,
                description=app.description,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(model_schemas())
            for name in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(name, None)
            for path, ops in schema.get("paths", {}).items():
                for method, op in ops.items():
                    _complete(path, method, op, settings)
            schema["paths"] = _ogc_names(schema.get("paths", {}))
            schema = to_oas30(schema)
            schema["openapi"] = "3.0.3"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def openapi_document(_request: Request) -> Response:
        return Response(orjson.dumps(app.openapi()), media_type=OPENAPI_MEDIA)

    # FastAPI's own route answers application/json: replace it, keeping its place.
    for i, route in enumerate(app.router.routes):
        if isinstance(route, Route) and route.path == app.openapi_url:
            app.router.routes[i] = Route(
                route.path, openapi_document, methods=["GET"], include_in_schema=False
            )
