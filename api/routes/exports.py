"""Exports of any filtered items query: GeoJSON and GeoJSON text sequences (streamed), CSV
(``;``, streamed), GeoPackage, FlatGeobuf and GeoParquet (typed files, api/export_files.py).

Same parameters as ``/items`` (bbox, property filters, CQL2, sortby, properties), no page limit
unless ``limit`` is given. Rows come from a server-side cursor in batches, so memory stays
constant however large the export (the files are written batch by batch into a temp file).
"""

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from psycopg_pool import AsyncConnectionPool
from starlette.background import BackgroundTask

from api import site_cnig
from api.auth import ReaderDep
from api.collections import Prop, get_collection
from api.db import PoolDep
from api.export_files import (
    append_gpkg,
    arrow_schema,
    cell,
    gpkg_to_flatgeobuf,
    parquet_writer,
    record_batch,
    remove,
)
from api.params import GENERIC_PARAMS, feature_query
from api.query import Binder, FeatureQuery, rows_sql, stream_sql
from api.route_params import CollectionId, ItemsQuery, query_names
from api.schemas import EXPORT_FILE
from config import ApiSettings
from db.errors import InvalidQuery
from geo.crs import CRS84_URI, SUPPORTED

router = APIRouter(tags=["Exports"])

BATCH_ROWS = 2000
FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "geojsonseq": ("application/geo+json-seq", "geojsons"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "fgb": ("application/flatgeobuf", "fgb"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
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


def _csv_cell(p: Prop, value: object, french: bool) -> object:
    value = cell(p, value)
    if value is None:
        return ""
    if isinstance(value, bool):  # French Excel reads VRAI/FAUX as booleans, GDAL true/false
        return ("VRAI" if value else "FAUX") if french else ("true" if value else "false")
    if isinstance(value, float) and french:
        return repr(value).replace(".", ",")
    return value


async def _csv(
    pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder, bom: bool, french: bool
) -> AsyncIterator[bytes]:
    props = q.output_props()
    keep = [i for i, p in enumerate(props) if p.name != "id"]  # the id column comes first
    names = ["id", "geometry_wkt", *(props[i].name for i in keep)]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(names)
    yield (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")
    async for rows in _batches(pool, rows_sql(q, binder, wkt=True), binder.params):
        buf.seek(0)
        buf.truncate()
        writer.writerows(
            [r[0], r[1], *(_csv_cell(props[i], r[2 + i], french) for i in keep)] for r in rows
        )
        yield buf.getvalue().encode("utf-8")


async def _cnig_csv(
    pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder, bom: bool, restricted: bool
) -> AsyncIterator[bytes]:
    """The sites in the CNIG names (api/site_cnig.py), ``,``-separated as the standard's CSV."""
    props = [p.name for p in q.output_props()]
    names = site_cnig.fields(restricted)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(names)
    yield (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")
    items = list(site_cnig.NETWORKS.values())
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(name="foncier_export")
        await cur.execute(rows_sql(q, binder), binder.params)
        while rows := await cur.fetchmany(BATCH_ROWS):
            extra_cur = await conn.execute(
                site_cnig.EXTRAS_SQL, {"ids": [r[0] for r in rows], "items": items}
            )
            cols = [d.name for d in extra_cur.description or []]
            extras = {e[0]: dict(zip(cols, e, strict=True)) for e in await extra_cur.fetchall()}
            buf.seek(0)
            buf.truncate()
            for r in rows:
                values = dict(zip(props, r[2:], strict=True))
                writer.writerow(site_cnig.row(values, extras.get(r[0]), names))
            yield buf.getvalue().encode("utf-8")
        await cur.close()


async def _geojson_seq(
    pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder
) -> AsyncIterator[bytes]:
    """RFC 8142 GeoJSON text sequence: each feature after a record separator, then LF."""
    async for rows in _batches(pool, stream_sql(q, binder), binder.params):
        yield b"".join(b"\x1e" + str(r[0]).encode() + b"\n" for r in rows)


def _temp(suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="foncier-")
    os.close(fd)
    os.unlink(path)  # the writers create the file themselves
    return path


async def _gpkg(pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder) -> str:
    path = _temp(".gpkg")
    schema = arrow_schema(q)
    append = False
    try:
        async for rows in _batches(pool, rows_sql(q, binder), binder.params):
            batch = record_batch(q, schema, rows)
            await anyio.to_thread.run_sync(append_gpkg, path, q, batch, append)
            append = True
        if not append:
            empty = record_batch(q, schema, [])
            await anyio.to_thread.run_sync(append_gpkg, path, q, empty, False)
    except BaseException:
        remove(path)
        raise
    return path


async def _flatgeobuf(pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder) -> str:
    gpkg = await _gpkg(pool, q, binder)
    path = _temp(".fgb")
    try:
        await anyio.to_thread.run_sync(gpkg_to_flatgeobuf, gpkg, path, q)
    except BaseException:
        remove(path)
        raise
    finally:
        remove(gpkg)
    return path


async def _parquet(pool: AsyncConnectionPool, q: FeatureQuery, binder: Binder) -> str:
    path = _temp(".parquet")
    schema = arrow_schema(q)
    writer = await anyio.to_thread.run_sync(parquet_writer, path, q)
    try:
        async for rows in _batches(pool, rows_sql(q, binder), binder.params):
            batch = record_batch(q, schema, rows)
            await anyio.to_thread.run_sync(writer.write_batch, batch)
        await anyio.to_thread.run_sync(writer.close)
    except BaseException:
        writer.close()
        remove(path)
        raise
    return path


def _cnig(collection_id: str, fmt: str, params: Mapping[str, str]) -> bool:
    """Whether ``schema=cnig`` is asked, refused where it does not apply."""
    schema = params.get("schema")
    if schema is None:
        return False
    if schema != "cnig":
        raise InvalidQuery(f"schema={schema!r}: the only schema is cnig (CNIG sites économiques)")
    if collection_id != "sites":
        raise InvalidQuery(f"schema=cnig: only the sites collection, not {collection_id!r}")
    if fmt != "csv":
        raise InvalidQuery(f"schema=cnig: only format=csv (the CNIG standard's CSV), not {fmt}")
    if params.get("decimal"):
        raise InvalidQuery("schema=cnig: decimal points as the standard says, drop decimal=")
    return True


_FILES = {"gpkg": _gpkg, "fgb": _flatgeobuf, "parquet": _parquet}


@dataclass
class ExportQuery(ItemsQuery):
    """The items parameters (no page limit unless ``limit`` is given), the file format and the
    CSV options."""

    format: Annotated[
        str | None,
        Query(
            description="file format (GeoJSON, GeoJSON text sequence, CSV, GeoPackage, "
            "FlatGeobuf, GeoParquet; default GeoJSON)",
            json_schema_extra={"enum": list(FORMATS)},
        ),
    ] = None
    f: Annotated[
        str | None,
        Query(description="the same as format", json_schema_extra={"enum": list(FORMATS)}),
    ] = None
    bom: Annotated[
        str | None, Query(description="true: a UTF-8 byte order mark on CSV (Excel)")
    ] = None
    decimal: Annotated[
        str | None,
        Query(description="comma: decimal commas and VRAI/FAUX in CSV (Excel FR)"),
    ] = None
    schema: Annotated[
        str | None,
        Query(
            description="cnig: the sites' CSV in the CNIG « sites économiques » field names "
            "(TERRAIN-ECO then SITE-ECO fields the site record holds; collection sites only)",
            json_schema_extra={"enum": ["cnig"]},
        ),
    ] = None


_ALLOWED = GENERIC_PARAMS | query_names(ExportQuery)


@router.get(
    "/collections/{collection_id}/export",
    summary="Export filtered features",
    response_class=Response,
    responses=EXPORT_FILE,
    dependencies=[Depends(ExportQuery)],
)
async def export(
    collection_id: CollectionId, request: Request, pool: PoolDep, reader: ReaderDep
) -> Response:
    """``format`` = geojson (default) | geojsonseq | csv | gpkg | fgb | parquet; ``crs`` =
    CRS84/EPSG:4326 (lon, lat) or EPSG:2154; ``bom=true`` adds a UTF-8 BOM to CSV and
    ``decimal=comma`` writes 3,5 and VRAI/FAUX (French Excel).

    Any queryable property is also a filter parameter: `?insee=91432`. An unknown parameter
    is a 400."""
    c = get_collection(collection_id)
    settings: ApiSettings = request.app.state.settings
    params = request.query_params
    for name in ("format", "f"):
        if params.get(name) == "":
            raise InvalidQuery(f"{name} is empty: use one of {', '.join(FORMATS)}")
    fmt = (params.get("format") or params.get("f") or "geojson").lower()
    if fmt not in FORMATS:
        raise InvalidQuery(f"format={fmt!r}: use one of {', '.join(FORMATS)}")
    cnig = _cnig(c.id, fmt, params)
    binder = Binder()
    q = feature_query(c, params, settings, reader is not None, binder, _ALLOWED, paged=False)
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
    if fmt == "geojsonseq":
        return StreamingResponse(_geojson_seq(pool, q, binder), media_type=media, headers=headers)
    bom = (params.get("bom") or "").lower() in ("1", "true", "yes")
    if cnig:
        body = _cnig_csv(pool, q, binder, bom, reader is not None)
        headers["Content-Disposition"] = f'attachment; filename="{c.id}-cnig.csv"'
        return StreamingResponse(body, media_type=FORMATS["csv"][0], headers=headers)
    if fmt == "csv":
        comma = (params.get("decimal") or "").lower() == "comma"
        return StreamingResponse(
            _csv(pool, q, binder, bom, comma), media_type=media, headers=headers
        )
    path = await _FILES[fmt](pool, q, binder)
    return FileResponse(
        path, media_type=media, headers=headers, background=BackgroundTask(remove, path)
    )
