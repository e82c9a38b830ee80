"""OGC API Features Parts 1-3: landing, conformance, collections, queryables, items, item."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from api.auth import ReaderDep
from api.collections import COLLECTIONS, Collection, get_collection
from api.cql2 import CONFORMANCE as CQL2_CONFORMANCE
from api.db import PoolDep
from api.params import ITEM_PARAMS, check_format, check_params, feature_query
from api.query import Binder, FeatureQuery, count_sql, explain_sql, page_sql
from api.route_params import (
    FEATURE_FORMATS,
    PROPERTY_FILTERS,
    CollectionId,
    ItemQuery,
    ItemsQuery,
)
from api.schemas import (
    JSON_SCHEMA_DOC,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    GeoJSONResponse,
    LinksDocument,
    SchemaResponse,
    ok,
)
from api.schemas import (
    Collection as CollectionOut,
)
from config import ApiSettings
from db.errors import NotFound
from geo.crs import CRS84_URI, LAMBERT93_AREA_LONLAT, SUPPORTED

router = APIRouter(tags=["OGC API Features"])

GEOJSON = "application/geo+json"
# Above this many rows a count would be slow: numberMatched becomes an estimate (and says so).
EXACT_COUNT_MAX = 100_000
# Counts kept per filter and layer version: GDAL pages by 10, recounting on every page cost 4 ms
# of each 10-parcel page on the 15,000 samples (and up to 25 ms for 100,000 matches).
COUNT_CACHE_MAX = 1000
_PAGING_PARAMS = frozenset({"limit", "offset", "f", "crs", "properties"})

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    # The CQL2 classes the filter evaluates in full, declared next to their implementation.
    *CQL2_CONFORMANCE,
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]


OGC_PREFIX = "/ogc"
# The media type of the OpenAPI document at /api (the service-desc link says the same).
OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"


async def _one(cur: Any) -> tuple[Any, ...]:
    """The single row of an aggregate query."""
    row = await cur.fetchone()
    assert row is not None  # aggregates always return one row
    return tuple(row)


def url(request: Request, path: str) -> str:
    """An absolute URL on this server, under /ogc when the request came through /ogc.

    The OGC routes are served twice: at the root (map pages use /collections/...) and under
    /ogc, whose landing page clients such as GDAL's OAPIF driver extend with /collections.
    """
    prefix = (
        OGC_PREFIX
        if request.url.path.startswith(OGC_PREFIX) and path != "/api" and (path != "/api.html")
        else ""
    )
    return str(request.base_url).rstrip("/") + prefix + path


def json_response(body: object, media_type: str = "application/json", **headers: str) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, headers=headers or None)


landing_router = APIRouter(tags=["OGC API Features"])


@landing_router.get(
    "/ogc",
    summary="OGC API landing page (JSON; the HTML / is the maps')",
    responses=ok("the landing page", model=LinksDocument),
)
@landing_router.get("/ogc/", include_in_schema=False)
async def landing(request: Request) -> Response:
    check_params(request.query_params)
    check_format(request.query_params)
    return json_response(
        {
            "title": "foncier",
            "description": (
                "Foncier économique disponible en France : parcelles, sites, friches, zonage, "
                "contraintes et comptes ZAN (OGC API Features et Tiles). Every resource is JSON "
                "(GeoJSON for features, MVT for tiles); f=html is a 400 except on / (the planner "
                "page, also given to browsers) and /api.html (the API docs)."
            ),
            "links": [
                {"rel": "self", "type": "application/json", "href": str(request.url)},
                {
                    "rel": "alternate",
                    "type": "text/html",
                    "title": "the planner (HTML, for browsers)",
                    "href": str(request.base_url).rstrip("/") + "/?f=html",
                },
                {"rel": "service-desc", "type": OPENAPI_MEDIA, "href": url(request, "/api")},
                {"rel": "service-doc", "type": "text/html", "href": url(request, "/api.html")},
                {
                    "rel": "conformance",
                    "type": "application/json",
                    "href": url(request, "/conformance"),
                },
                {"rel": "data", "type": "application/json", "href": url(request, "/collections")},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                    "type": "application/json",
                    "href": url(request, "/tileMatrixSets"),
                },
            ],
        }
    )


@router.get(
    "/conformance",
    summary="Conformance classes",
    responses=ok("the conformance classes", model=Conformance),
)
async def conformance(request: Request) -> Response:
    check_params(request.query_params)
    check_format(request.query_params)
    return json_response({"conformsTo": CONFORMANCE})


def collection_json(
    request: Request, c: Collection, extent: list[float] | None
) -> dict[str, object]:
    base = f"/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "keywords": list(c.keywords),
        "itemType": "feature",
        "crs": list(SUPPORTED),
        "storageCrs": "http://www.opengis.net/def/crs/EPSG/0/2154",
        "extent": {"spatial": {"bbox": [extent or list(LAMBERT93_AREA_LONLAT)], "crs": CRS84_URI}},
        "links": [
            {"rel": "self", "type": "application/json", "href": url(request, base)},
            {"rel": "items", "type": GEOJSON, "href": url(request, base + "/items")},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "href": url(request, base + "/queryables"),
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema",
                "type": "application/schema+json",
                "href": url(request, base + "/schema"),
            },
            {
                # JSON Schema's relation for a schema of the instances: GDAL's OAPIF driver
                # reads "describedBy" (RFC 8288: relation types compare case-insensitively).
                "rel": "describedBy",
                "type": "application/schema+json",
                "href": url(request, base + "/feature-schema"),
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": "application/json",
                "href": url(request, base + "/tiles"),
            },
            {
                "rel": "alternate",
                "type": GEOJSON,
                "title": "export GeoJSON",
                "href": url(request, base + "/export?format=geojson"),
            },
            {
                "rel": "alternate",
                "type": "text/csv",
                "title": "export CSV",
                "href": url(request, base + "/export?format=csv"),
            },
            {
                "rel": "alternate",
                "type": "application/geopackage+sqlite3",
                "title": "export GeoPackage",
                "href": url(request, base + "/export?format=gpkg"),
            },
        ],
    }


async def _extents(pool: object, cols: list[Collection]) -> dict[str, list[float] | None]:
    """Spatial extents (CRS84) from the planner's statistics: no scan of large tables."""
    out: dict[str, list[float] | None] = {}
    async with pool.connection() as conn:  # type: ignore[attr-defined]
        for c in cols:
            try:
                cur = await conn.execute(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
                    "SELECT ST_Transform(ST_SetSRID(ST_EstimatedExtent('public', %s, 'geom')"
                    "::geometry, 2154), 4326) AS e) x",
                    (c.table,),
                )
                row = await cur.fetchone()
            except Exception:  # noqa: BLE001 - no statistics yet: the default extent is fine
                row = None
            out[c.id] = [round(v, 6) for v in row] if row and row[0] is not None else None
    return out


@router.get(
    "/collections", summary="The collections", responses=ok("the collections", model=Collections)
)
async def collections(request: Request, pool: PoolDep) -> Response:
    check_params(request.query_params)
    check_format(request.query_params)
    cols = list(COLLECTIONS.values())
    extents = await _extents(pool, cols)
    return json_response(
        {
            "collections": [collection_json(request, c, extents[c.id]) for c in cols],
            "links": [
                {"rel": "self", "type": "application/json", "href": url(request, "/collections")}
            ],
        }
    )


@router.get(
    "/collections/{collection_id}",
    summary="One collection",
    responses=ok("one collection", model=CollectionOut),
)
async def collection(collection_id: CollectionId, request: Request, pool: PoolDep) -> Response:
    c = get_collection(collection_id)
    check_params(request.query_params)
    check_format(request.query_params)
    extents = await _extents(pool, [c])
    return json_response(collection_json(request, c, extents[c.id]))


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties (JSON Schema)",
    response_class=SchemaResponse,
    responses=JSON_SCHEMA_DOC,
)
async def queryables(collection_id: CollectionId, request: Request, reader: ReaderDep) -> Response:
    c = get_collection(collection_id)
    check_params(request.query_params)
    check_format(request.query_params)
    props: dict[str, object] = {
        "geom": {
            "$ref": "https://geojson.org/schema/Geometry.json",
            "x-ogc-role": "primary-geometry",
        }
    }
    for p in c.visible_props(reader is not None):
        if p.queryable:
            props[p.name] = {"title": p.title or p.name, "type": p.type}
    return json_response(
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": url(request, f"/collections/{c.id}/queryables"),
            "type": "object",
            "title": c.title,
            "properties": props,
            "additionalProperties": False,
        },
        media_type="application/schema+json",
    )


async def number_matched(conn: object, q: FeatureQuery, binder: Binder) -> tuple[int, bool]:
    """(numberMatched, is_estimate): exact below EXACT_COUNT_MAX, the planner's estimate above."""
    filtered = bool(
        q.bbox or q.equals or q.cql or q.collection.where or q.as_of or q.collection.public_where
    )
    if not filtered:
        cur = await conn.execute(  # type: ignore[attr-defined]
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            (q.collection.table,),
        )
        row = await cur.fetchone()
        if row and row[0] > EXACT_COUNT_MAX:
            return int(row[0]), True
    cur = await conn.execute(count_sql(q, binder, EXACT_COUNT_MAX), binder.params)  # type: ignore[attr-defined]
    count = int((await cur.fetchone())[0])
    if count <= EXACT_COUNT_MAX:
        return count, False
    cur = await conn.execute(explain_sql(q, binder), binder.params)  # type: ignore[attr-defined]
    plan = (await cur.fetchone())[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return max(int(plan[0]["Plan"]["Plan Rows"]), count), True


def _count_key(
    request: Request, q: FeatureQuery, privileged: bool, versions: str | None
) -> tuple[object, ...] | None:
    """The numberMatched cache key of a query: its filters (every parameter but the paging and
    the output's), who reads, and the collection's layer versions, so a load or a re-score
    invalidates it by itself; None (no caching) for history queries or unversioned layers."""
    if versions is None or q.as_of is not None:
        return None
    params = sorted(
        (k, v) for k, v in request.query_params.multi_items() if k not in _PAGING_PARAMS
    )
    return (q.collection.id, privileged, versions, tuple(params))


def _page_links(
    request: Request, q: FeatureQuery, returned: int, matched: int
) -> list[dict[str, str]]:
    params = dict(request.query_params)
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    assert q.limit is not None
    if q.offset + returned < matched:
        params.update(offset=str(q.offset + q.limit), limit=str(q.limit))
        links.append(
            {
                "rel": "next",
                "type": GEOJSON,
                "href": str(request.url.replace_query_params(**params)),
            }
        )
    if q.offset > 0:
        params.update(offset=str(max(q.offset - q.limit, 0)), limit=str(q.limit))
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON,
                "href": str(request.url.replace_query_params(**params)),
            }
        )
    links.append(
        {
            "rel": "collection",
            "type": "application/json",
            "href": url(request, f"/collections/{q.collection.id}"),
        }
    )
    return links


@router.get(
    "/collections/{collection_id}/items",
    summary="Features (GeoJSON)",
    description=PROPERTY_FILTERS,
    response_class=GeoJSONResponse,
    responses=ok("a page of features", GEOJSON, FeatureCollection),
    dependencies=[Depends(ItemsQuery)],
)
async def items(
    collection_id: CollectionId, request: Request, pool: PoolDep, reader: ReaderDep
) -> Response:
    c = get_collection(collection_id)
    check_format(request.query_params, FEATURE_FORMATS)
    settings: ApiSettings = request.app.state.settings
    binder = Binder()
    q = feature_query(c, request.query_params, settings, reader is not None, binder)
    # A bbox query reads every match for the sort anyway: count them in the same statement.
    with_total = q.bbox is not None
    async with pool.connection() as conn:
        cur = await conn.execute(page_sql(q, binder, with_total), binder.params)
        features, returned, total, versions = await _one(cur)
        key = _count_key(request, q, reader is not None, versions)
        cache: dict[tuple[object, ...], tuple[int, bool]] = request.app.state.count_cache
        if total is not None:
            matched, estimate = int(total), False
        elif returned < q.limit and (returned or not q.offset):
            matched, estimate = q.offset + returned, False  # a short page: the rest is known
        elif q.offset and key in cache:
            matched, estimate = cache[key]  # the next pages of a client walking the collection
        else:
            matched, estimate = await number_matched(conn, q, binder)
    if key is not None:
        if len(cache) >= COUNT_CACHE_MAX:
            cache.clear()
        cache[key] = (matched, estimate)
    assert q.crs is not None
    tail = {
        "numberReturned": returned,
        "numberMatched": matched,
        "numberMatchedIsEstimate": estimate,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": _page_links(request, q, returned, matched),
    }
    body = (
        b'{"type":"FeatureCollection","features":['
        + features.encode()
        + b"],"
        + orjson.dumps(tail)[1:]
    )
    headers = {"Content-Crs": f"<{q.crs.uri}>"}
    if estimate:
        headers["X-Number-Matched-Estimate"] = "true"
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=GeoJSONResponse,
    responses=ok("one feature", GEOJSON, Feature),
    dependencies=[Depends(ItemQuery)],
)
async def item(
    collection_id: CollectionId, feature_id: str, request: Request, pool: PoolDep, reader: ReaderDep
) -> Response:
    c = get_collection(collection_id)
    settings: ApiSettings = request.app.state.settings
    binder = Binder()
    # One feature: no filters, so a queryable name here is an unknown parameter too.
    check_params(request.query_params, ITEM_PARAMS)
    check_format(request.query_params, FEATURE_FORMATS)
    q = feature_query(c, request.query_params, settings, reader is not None, binder, ITEM_PARAMS)
    q.feature_id, q.limit, q.offset, q.sortby = feature_id, 1, 0, []
    async with pool.connection() as conn:
        cur = await conn.execute(page_sql(q, binder), binder.params)
        feature, returned, _total, _versions = await _one(cur)
    if not returned:
        raise NotFound(f"no feature {feature_id!r} in collection {c.id}")
    assert q.crs is not None
    links = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url)},
        {
            "rel": "collection",
            "type": "application/json",
            "href": url(request, f"/collections/{c.id}"),
        },
    ]
    body = feature[:-1] + ',"links":' + orjson.dumps(links).decode() + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{q.crs.uri}>"})
