"""OGC API Tiles: Mapbox Vector Tiles per collection on WebMercatorQuad, TileJSON, tilesets.

Two tile routes share one handler: the OGC one under /ogc,
``.../WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`` (row = y, then column = x), which the
tilesets' templated links give, and the XYZ one at the root, ``.../WebMercatorQuad/{z}/{x}/{y}``
(column first), which the map pages and TileJSON use. A zoom outside the tileset's limits is a
404 (OGC API Tiles /req/core/tc-error); an empty tile inside them is a 204.

Tiles carry an ETag derived from the database's identity and the collection's ``layer_version``
rows (version and bump time, bumped by ingest and re-scoring), so caches invalidate themselves
and a restored database never gives an old tag to new content; a matching ``If-None-Match`` gets
a 304.
"""

from __future__ import annotations

from typing import Annotated

import morecantile
from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import ReaderDep
from api.collections import Collection, get_collection
from api.db import PoolDep
from api.params import TILE_PARAMS, check_format, check_params, feature_query
from api.query import Binder, etag_tile_sql, tile_sql
from api.route_params import PROPERTY_FILTERS, TILE_FORMATS, CollectionId, TileQuery
from api.routes.features import OGC_PREFIX, json_response, url
from api.schemas import MVT, MVT_TILE
from config import ApiSettings
from db.errors import InvalidQuery, NotFound

router = APIRouter(tags=["OGC API Tiles"])
# Mounted at the root only: XYZ order, for the map pages (maps/layers.py) and TileJSON.
xyz_router = APIRouter(tags=["OGC API Tiles"])
# Mounted under /ogc only: the OGC API Tiles order; the same numbers as XYZ, y before x.
ogc_tile_router = APIRouter(tags=["OGC API Tiles"])
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
OGC_TEMPLATE = "{tileMatrix}/{tileRow}/{tileCol}"

TMS_ID = "WebMercatorQuad"
TMS = morecantile.tms.get(TMS_ID)
MAX_ZOOM = 24
TmsId = Annotated[
    str,
    Path(description="the tiling scheme (another is a 404)", json_schema_extra={"enum": [TMS_ID]}),
]
# The tile's zoom, and its column or row (below 2^zoom: checked by the route).
Zoom = Annotated[int, Path(ge=0, le=MAX_ZOOM, description="zoom level (tile matrix)")]
Column = Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1, description="column (x), below 2^zoom")]
Row = Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1, description="row (y), below 2^zoom")]


def min_zoom(c: Collection, settings: ApiSettings) -> int:
    """The first zoom with features (parcels: the configured parcel minimum)."""
    return settings.parcel_min_zoom if c.id == "parcels" else c.min_zoom


def if_none_match(request: Request) -> tuple[list[str], bool]:
    """The strong forms of the request's ``If-None-Match`` ETags, and whether it is ``*``."""
    raw = request.headers.get("if-none-match") or ""
    tags = [t.strip().removeprefix("W/") for t in raw.split(",") if t.strip()]
    return tags, "*" in tags


def _tile_url(request: Request, c: Collection) -> str:
    """The OGC tile template; it is served under /ogc, whichever way the tileset was reached."""
    path = f"/collections/{c.id}/tiles/{TMS_ID}/"
    if not request.url.path.startswith(OGC_PREFIX):
        return str(request.base_url).rstrip("/") + OGC_PREFIX + path + OGC_TEMPLATE
    return url(request, path) + OGC_TEMPLATE


def _xyz_url(request: Request, c: Collection) -> str:
    """The TileJSON template: XYZ names, in the order of the route it is served under."""
    order = "{z}/{y}/{x}" if request.url.path.startswith(OGC_PREFIX) else "{z}/{x}/{y}"
    return url(request, f"/collections/{c.id}/tiles/{TMS_ID}/") + order


@router.get("/tileMatrixSets", summary="Tiling schemes")
async def tile_matrix_sets(request: Request) -> Response:
    check_params(request.query_params)
    check_format(request.query_params)
    return json_response(
        {
            "tileMatrixSets": [
                {
                    "id": TMS_ID,
                    "title": "Google Maps compatible (EPSG:3857)",
                    "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                    "links": [
                        {
                            "rel": "self",
                            "type": "application/json",
                            "href": url(request, f"/tileMatrixSets/{TMS_ID}"),
                        }
                    ],
                }
            ]
        }
    )


@router.get("/tileMatrixSets/{tms_id}", summary="A tiling scheme")
async def tile_matrix_set(tms_id: TmsId, request: Request) -> Response:
    check_params(request.query_params)
    check_format(request.query_params)
    if tms_id != TMS_ID:
        raise NotFound(f"unknown tile matrix set {tms_id!r}; this server serves {TMS_ID}")
    return Response(TMS.model_dump_json(exclude_none=True), media_type="application/json")


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
async def tilesets(collection_id: CollectionId, request: Request) -> Response:
    c = get_collection(collection_id)
    check_params(request.query_params)
    check_format(request.query_params)
    return json_response(
        {
            "tilesets": [
                {
                    "title": f"{c.title} ({TMS_ID})",
                    "dataType": "vector",
                    "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                    "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/"
                    + TMS_ID,
                    "links": [
                        {
                            "rel": "self",
                            "type": "application/json",
                            "href": url(request, f"/collections/{c.id}/tiles/{TMS_ID}"),
                        },
                        {
                            "rel": TILING_SCHEME,
                            "type": "application/json",
                            "href": url(request, f"/tileMatrixSets/{TMS_ID}"),
                        },
                    ],
                }
            ],
            "links": [
                {
                    "rel": "self",
                    "type": "application/json",
                    "href": url(request, f"/collections/{c.id}/tiles"),
                }
            ],
        }
    )


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="A vector tileset")
async def tileset(collection_id: CollectionId, tms_id: TmsId, request: Request) -> Response:
    c = get_collection(collection_id)
    _check_tms(tms_id)
    check_params(request.query_params)
    check_format(request.query_params)
    settings: ApiSettings = request.app.state.settings
    return json_response(
        {
            "title": c.title,
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/" + TMS_ID,
            "tileMatrixSetLimits": [
                {
                    "tileMatrix": str(z),
                    "minTileRow": 0,
                    "maxTileRow": 2**z - 1,
                    "minTileCol": 0,
                    "maxTileCol": 2**z - 1,
                }
                for z in range(min_zoom(c, settings), c.max_zoom + 1)
            ],
            "layers": [
                {
                    "id": c.id,
                    "dataType": "vector",
                    "geometryType": c.geometry_type.lower(),
                    "minTileMatrix": str(min_zoom(c, settings)),
                    "maxTileMatrix": str(c.max_zoom),
                }
            ],
            "links": [
                {
                    "rel": "self",
                    "type": "application/json",
                    "href": url(request, f"/collections/{c.id}/tiles/{TMS_ID}"),
                },
                {"rel": "item", "type": MVT, "templated": True, "href": _tile_url(request, c)},
                {
                    "rel": TILING_SCHEME,
                    "type": "application/json",
                    "href": url(request, f"/tileMatrixSets/{TMS_ID}"),
                },
                {
                    "rel": "alternate",
                    "type": "application/json",
                    "title": "TileJSON",
                    "href": url(request, f"/collections/{c.id}/tiles/{TMS_ID}/tilejson.json"),
                },
            ],
        }
    )


@router.get(
    "/collections/{collection_id}/tiles/{tms_id}/tilejson.json", summary="TileJSON 3.0 document"
)
async def tilejson(
    collection_id: CollectionId, tms_id: TmsId, request: Request, reader: ReaderDep
) -> Response:
    c = get_collection(collection_id)
    _check_tms(tms_id)
    settings: ApiSettings = request.app.state.settings
    tiles = _xyz_url(request, c)
    if request.url.query:  # the same filters apply to every tile
        tiles += "?" + request.url.query
    fields = {p.name: p.type for p in c.visible_props(reader is not None) if p.in_tiles}
    return json_response(
        {
            "tilejson": "3.0.0",
            "name": c.id,
            "description": c.description,
            "scheme": "xyz",
            "tiles": [tiles],
            "minzoom": min_zoom(c, settings),
            "maxzoom": c.max_zoom,
            "bounds": [-5.5, 41.2, 9.8, 51.2],
            "vector_layers": [
                {
                    "id": c.id,
                    "fields": fields,
                    "minzoom": min_zoom(c, settings),
                    "maxzoom": c.max_zoom,
                }
            ],
        }
    )


def _check_tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFound(f"unknown tile matrix set {tms_id!r}; this server serves {TMS_ID}")


_TILE_RESPONSES = MVT_TILE


@ogc_tile_router.get(
    "/collections/{collection_id}/tiles/{tms_id}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A Mapbox Vector Tile (OGC order: tile matrix, row = y, column = x)",
    description=PROPERTY_FILTERS,
    response_class=Response,
    responses=_TILE_RESPONSES,
    dependencies=[Depends(TileQuery)],
)
async def ogc_tile(
    collection_id: CollectionId,
    tms_id: TmsId,
    tileMatrix: Zoom,  # noqa: N803 - the OGC API Tiles template variable names
    tileRow: Row,  # noqa: N803
    tileCol: Column,  # noqa: N803
    request: Request,
    pool: PoolDep,
    reader: ReaderDep,
) -> Response:
    return await tile(collection_id, tms_id, tileMatrix, tileCol, tileRow, request, pool, reader)


@xyz_router.get(
    "/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}",
    summary="A Mapbox Vector Tile (XYZ order: x = column, y = row)",
    description=PROPERTY_FILTERS,
    response_class=Response,
    responses=_TILE_RESPONSES,
    dependencies=[Depends(TileQuery)],
)
async def tile(
    collection_id: CollectionId,
    tms_id: TmsId,
    z: Zoom,
    x: Column,
    y: Row,
    request: Request,
    pool: PoolDep,
    reader: ReaderDep,
) -> Response:
    c = get_collection(collection_id)
    _check_tms(tms_id)
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidQuery(f"tile {z}/{x}/{y} does not exist: 0 <= x, y < 2^z and z <= {MAX_ZOOM}")
    settings: ApiSettings = request.app.state.settings
    binder = Binder()
    q = feature_query(
        c, request.query_params, settings, reader is not None, binder, TILE_PARAMS, paged=False
    )
    check_format(request.query_params, TILE_FORMATS)
    if not min_zoom(c, settings) <= z <= c.max_zoom:
        raise NotFound(
            f"{c.id} has no tiles at zoom {z}: its tileset covers zooms "
            f"{min_zoom(c, settings)} to {c.max_zoom}"
        )
    privileged = reader is not None
    tags, any_match = if_none_match(request)
    tile_query = tile_sql(q, binder, z, x, y, settings.tile_max_features)
    key = (f"{c.id}|", f"|{z}/{x}/{y}?{request.url.query}|{privileged}")
    statement = etag_tile_sql(binder, c.versions, key, tags, any_match, tile_query)
    async with pool.connection() as conn:
        cur = await conn.execute(statement, binder.params, prepare=True)
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns a row
    etag = row[0]
    headers = {
        # Keys see restricted fields: their tiles must not land in shared caches.
        "Cache-Control": "private, max-age=60" if privileged else "public, max-age=300",
        "ETag": etag,
        "Vary": "X-API-Key",
    }
    if any_match or etag in tags:
        return Response(status_code=304, headers=headers)
    data = bytes(row[1]) if row[1] else b""
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
