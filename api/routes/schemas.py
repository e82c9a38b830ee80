"""OGC API Features Part 5: the schema of each collection's features (two shapes, see
api/feature_schema.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api import feature_schema
from api.auth import ReaderDep
from api.collections import get_collection
from api.params import check_format, check_params
from api.route_params import CollectionId
from api.routes.features import json_response, url
from api.schemas import JSON_SCHEMA_DOC, SchemaResponse

router = APIRouter(tags=["OGC API Features"])

SCHEMA_MEDIA = "application/schema+json"


@router.get(
    "/collections/{collection_id}/schema",
    summary="Schema of the features (Part 5)",
    response_class=SchemaResponse,
    responses=JSON_SCHEMA_DOC,
)
async def schema(collection_id: CollectionId, request: Request, reader: ReaderDep) -> Response:
    """The properties a reader gets, typed, with the id and geometry roles (JSON Schema)."""
    c = get_collection(collection_id)
    check_params(request.query_params)
    check_format(request.query_params)
    body = feature_schema.part5(c, reader is not None, url(request, f"/collections/{c.id}/schema"))
    return json_response(body, media_type=SCHEMA_MEDIA)


@router.get(
    "/collections/{collection_id}/feature-schema",
    summary="Schema of one GeoJSON feature (describedby, read by GDAL)",
    response_class=SchemaResponse,
    responses=JSON_SCHEMA_DOC,
)
async def geojson_schema(
    collection_id: CollectionId, request: Request, reader: ReaderDep
) -> Response:
    """One GeoJSON feature of the collection as JSON Schema: GDAL types its fields from it."""
    c = get_collection(collection_id)
    check_params(request.query_params)
    check_format(request.query_params)
    body = feature_schema.geojson_feature(
        c, reader is not None, url(request, f"/collections/{c.id}/feature-schema")
    )
    return json_response(body, media_type=SCHEMA_MEDIA)
