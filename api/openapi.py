"""The OpenAPI description at /api: FastAPI's, from the routes' declarations.

The success answers come from each route's ``responses=`` and the models of api/schemas.py; the
parameters from what the routes declare (FastAPI ``Query``/``Path``, the typed dependencies of
api/route_params.py). Completed here: the problem+json answers (validation errors are 400 here,
never FastAPI's 422), the items page size bounds (settings of the running server), the OGC names
of path parameters, and OpenAPI 3.0's spelling. Clients (QGIS, GDAL, code generators) and the
schema fuzzing in tests/reliability rely on this description, so it says the truth.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.routing import Route

from api.errors import PROBLEM
from api.routes.features import OPENAPI_MEDIA
from api.schemas import REF, referenced_models
from config import ApiSettings


def model_schemas() -> dict[str, Any]:
    """The components of the models the routes name in ``responses`` (api/schemas.py)."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in referenced_models()], ref_template=REF + "{model}"
    )
    return dict(defs.get("$defs", {}))


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


def _no_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter's schema without FastAPI's ``null`` alternative: a query
    string cannot carry a null, leaving the parameter out is how it is omitted."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return schema
    rest = [o for o in options if o != {"type": "null"}]
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest[0], **out} if len(rest) == 1 else {**out, "anyOf": rest}


def _page_size(path: str, params: list[dict[str, Any]], settings: ApiSettings) -> None:
    """The items page size's default and maximum: settings of this server, not of the code
    (GDAL's OAPIF driver pages by the maximum when it sees one, by 10 otherwise)."""
    if not path.endswith("/items"):
        return
    for p in params:
        if p["name"] == "limit":
            p["schema"] |= {"maximum": settings.max_limit, "default": settings.default_limit}
            p["description"] = p["schema"]["description"] = (
                f"page size (default {settings.default_limit}, maximum {settings.max_limit}); "
                "above the maximum it is lowered to it"
            )


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


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": REF + "Problem"}}}}


def _complete(path: str, method: str, op: dict[str, Any], settings: ApiSettings) -> None:
    """The problem+json answers of an operation, and its page size bounds: the parameters
    themselves are the routes' declarations (api/route_params.py)."""
    params = op.get("parameters", [])
    for p in params:
        if p.get("in") == "query" and "schema" in p:
            p["schema"] = _no_null(p["schema"])
    _page_size(path, params, settings)
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
