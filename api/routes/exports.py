"""Exports of any filtered items query: GeoJSON (streamed), CSV (``;``), GeoPackage.

Same parameters as ``/items`` (bbox, property filters, CQL2, sortby, properties), no page limit
unless ``limit`` is given. Rows come from a server-side cursor in batches, so memory stays
constant however large the export (the GeoPackage is written batch by batch into a temp file).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from psycopg_pool import AsyncConnectionPool
from starlette.background import BackgroundTask

from api.auth import ReaderDep
from api.collections import Collection, get_collection
from api.db import PoolDep
from api.params import EXPORT_PARAMS, feature_query
from api.query import Binder, FeatureQuery, rows_sql, stream_sql
from config import ApiSettings
from db.errors import InvalidQuery
from geo.crs import CRS84_URI, SUPPORTED

router = APIRouter(tags=["Exports"])

BATCH_ROWS = 2000
FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
}


async def _batches(
    pool: AsyncConnectionPool, query: object, params: dict[str, object]
) -> AsyncIterator[list[tuple[object, ...]]]:
    """Rows of ``query`` in batches, through a server-side cursor (constant memory)."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(name="foncier_export")
        await cur.execute(query, params)  # type: ignore[arg-type]
        while rows := await cur.fetchmany(BATCH_ROWS):
            yield rows
        await cur.close()


async def _geojson(
    pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder
) -> AsyncIterator[bytes]:
    assert q.crs is not None
    crs_member = (
        ""
        if q.crs.srid == 4326
        else (
            f',"crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::{q.crs.srid}"}}}}'
        )
    )
    head = f'{{"type":"FeatureCollection","name":"{q.collection.id}"{crs_member},"features":['
    yield head.encode()
    first = True
    async for rows in _batches(pool, stream_sql(q, binder), binder.params):
        text = ",".join(str(r[0]) for r in rows)
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}"


def _cell(value: object, decimal_comma: bool) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and decimal_comma:
        return repr(value).replace(".", ",")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


async def _csv(
    pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder, bom: bool, decimal_comma: bool
) -> AsyncIterator[bytes]:
    names = ["id", "geometry_wkt", *(p.name for p in q.output_props())]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(names)
    yield (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")
    async for rows in _batches(pool, rows_sql(q, binder, wkt=True), binder.params):
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cell(v, decimal_comma) for v in r] for r in rows)
        yield buf.getvalue().encode("utf-8")


def _write_gpkg_batch(
    path: str, c: Collection, q: FeatureQuery, rows: list[tuple[object, ...]], append: bool
) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely

    assert q.crs is not None
    props = q.output_props()
    frame = pd.DataFrame([r[2:] for r in rows], columns=[p.name for p in props])
    for p in props:
        if p.type == "object":  # nested JSON (score breakdown) as text
            frame[p.name] = frame[p.name].map(lambda v: None if v is None else json.dumps(v))
        elif p.type == "integer":
            frame[p.name] = frame[p.name].astype("Int64")
        elif p.type == "number":
            frame[p.name] = frame[p.name].astype("float64")
    frame.insert(0, "fid_source", [r[0] for r in rows])
    geoms = shapely.from_wkb([r[1] for r in rows])  # bytes or None
    gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=f"EPSG:{q.crs.srid}")
    gdf.to_file(
        path,
        layer=c.id,
        driver="GPKG",
        engine="pyogrio",
        append=append,
        promote_to_multi=c.geometry_type.startswith("Multi"),
    )


async def _gpkg(pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder) -> str:
    fd, path = tempfile.mkstemp(suffix=".gpkg", prefix="foncier-")
    os.close(fd)
    os.unlink(path)  # the driver creates the file itself
    append = False
    try:
        async for rows in _batches(pool, rows_sql(q, binder), binder.params):
            await anyio.to_thread.run_sync(_write_gpkg_batch, path, q.collection, q, rows, append)
            append = True
        if not append:
            await anyio.to_thread.run_sync(_write_gpkg_batch, path, q.collection, q, [], False)
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise
    return path


@router.get("/collections/{collection_id}/export", summary="Export filtered features")
async def export(
    collection_id: str, request: Request, pool: PoolDep, reader: ReaderDep
) -> Response:
    """``format`` = geojson (default) | csv | gpkg; ``crs`` = CRS84/EPSG:4326 (lon, lat) or
    EPSG:2154; ``bom=true`` adds a UTF-8 BOM to CSV and ``decimal=comma`` writes 3,5 (Excel FR)."""
    c = get_collection(collection_id)
    settings: ApiSettings = request.app.state.settings
    params = request.query_params
    fmt = (params.get("format") or params.get("f") or "geojson").lower()
    if fmt not in FORMATS:
        raise InvalidQuery(f"format={fmt!r}: use one of {', '.join(FORMATS)}")
    binder = Binder()
    allowed = EXPORT_PARAMS | {"decimal"}
    q = feature_query(c, params, settings, reader is not None, binder, allowed, paged=False)
    assert q.crs is not None
    if q.crs.srid == 4326:
        q.crs = SUPPORTED[CRS84_URI]  # files are written in the usual lon, lat order
    elif q.crs.srid != 2154:
        raise InvalidQuery("crs: exports are written in EPSG:4326 (lon, lat) or EPSG:2154")
    media, ext = FORMATS[fmt]
    headers = {
        "Content-Disposition": f'attachment; filename="{c.id}.{ext}"',
        "Content-Crs": f"<{q.crs.uri}>",
    }
    if fmt == "geojson":
        return StreamingResponse(_geojson(pool, q, binder), media_type=media, headers=headers)
    if fmt == "csv":
        bom = (params.get("bom") or "").lower() in ("1", "true", "yes")
        comma = (params.get("decimal") or "").lower() == "comma"
        return StreamingResponse(
            _csv(pool, q, binder, bom, comma), media_type=media, headers=headers
        )
    path = await _gpkg(pool, q, binder)
    return FileResponse(
        path, media_type=media, headers=headers, background=BackgroundTask(os.unlink, path)
    )
