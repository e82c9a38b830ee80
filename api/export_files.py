"""Typed export files written batch by batch: GeoPackage, FlatGeobuf, GeoParquet.

Every format gets the same columns, typed from the collection registry: ``id`` (the feature id,
integer or text), the visible properties (a property that repeats the id under the name ``id``
is written once), ``geometry``. Booleans are booleans, numbers are rounded to what they mean
(:func:`decimals`), nested JSON (the score breakdown) is text. Batches come from a server-side
cursor, so memory stays constant: the GeoPackage is appended to, the GeoParquet file gets one
row group per batch, and the FlatGeobuf (which GDAL cannot append to) is streamed from the
finished GeoPackage through Arrow.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
from pyproj import CRS

from api.collections import BOOLEAN, INTEGER, NUMBER, OBJECT, Collection, Prop
from api.feature_schema import id_type
from api.query import FeatureQuery

GEOMETRY = "geometry"
_ARROW_TYPES = {INTEGER: pa.int64(), NUMBER: pa.float64(), BOOLEAN: pa.bool_()}


def decimals(p: Prop) -> int | None:
    """Decimals a number keeps in exports: hectares 4 (1 m²), scores 1, shares 4, m² 0, prices 2.

    Example:
        ``zan_cost_ha`` 1.23456789 is written 1.2346; ``score`` 72.04 is written 72.0.
    """
    if p.type != NUMBER:
        return None
    name = p.name
    if name.startswith("prix"):
        return 2
    if name == "score":
        return 1
    if name.endswith(("_ha", "_share")):
        return 4
    if name.endswith("_m2"):
        return 0
    return None


def export_props(q: FeatureQuery) -> tuple[Prop, ...]:
    """The output properties minus one that would repeat the ``id`` column."""
    return tuple(p for p in q.output_props() if p.name != "id")


def cell(p: Prop, value: object) -> object:
    """One property value as exported: rounded numbers, JSON objects as text."""
    if value is None:
        return None
    if p.type == NUMBER:
        places = decimals(p)
        number = float(value)  # type: ignore[arg-type]
        return number if places is None else round(number, places)
    if p.type == OBJECT:
        return json.dumps(value, ensure_ascii=False)
    if p.type == INTEGER:
        return int(value)  # type: ignore[call-overload]
    return value


def arrow_schema(q: FeatureQuery) -> pa.Schema:
    """id, the typed properties, then the geometry as WKB."""
    c = q.collection
    id_arrow = pa.int64() if id_type(c) == INTEGER else pa.string()
    fields = [pa.field("id", id_arrow, nullable=False)]
    fields += [pa.field(p.name, _ARROW_TYPES.get(p.type, pa.string())) for p in export_props(q)]
    fields.append(pa.field(GEOMETRY, pa.binary()))
    return pa.schema(fields)


def record_batch(
    q: FeatureQuery, schema: pa.Schema, rows: Sequence[tuple[object, ...]]
) -> pa.RecordBatch:
    """Rows of ``rows_sql`` (id, WKB, every output property) as one typed Arrow batch."""
    props = q.output_props()
    keep = [i for i, p in enumerate(props) if p.name != "id"]
    integer_id = schema.field("id").type == pa.int64()
    columns: list[list[Any]] = [[int(r[0]) if integer_id else r[0] for r in rows]]  # type: ignore[call-overload]
    for i in keep:
        columns.append([cell(props[i], r[2 + i]) for r in rows])
    columns.append([None if r[1] is None else bytes(r[1]) for r in rows])  # type: ignore[call-overload]
    return pa.RecordBatch.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _ogr_geometry_type(c: Collection) -> str:
    return "Unknown" if c.geometry_type == "Geometry" else c.geometry_type


def append_gpkg(path: str, q: FeatureQuery, batch: pa.RecordBatch, append: bool) -> None:
    """Write ``batch`` to the GeoPackage at ``path`` (created when ``append`` is False)."""
    assert q.crs is not None
    pyogrio.write_arrow(
        pa.Table.from_batches([batch]),
        path,
        layer=q.collection.id,
        driver="GPKG",
        geometry_name=GEOMETRY,
        geometry_type=_ogr_geometry_type(q.collection),
        crs=f"EPSG:{q.crs.srid}",
        append=append,
    )


def gpkg_to_flatgeobuf(gpkg: str, fgb: str, q: FeatureQuery) -> None:
    """Stream the finished GeoPackage into a FlatGeobuf with its spatial index (QGIS reads it
    by bbox over HTTP), batch by batch through Arrow."""
    assert q.crs is not None
    with pyogrio.open_arrow(gpkg, batch_size=5000, use_pyarrow=True) as (meta, reader):
        pyogrio.write_arrow(
            reader,
            fgb,
            layer=q.collection.id,
            driver="FlatGeobuf",
            geometry_name=meta["geometry_name"] or "geom",
            geometry_type=_ogr_geometry_type(q.collection),
            crs=f"EPSG:{q.crs.srid}",
        )


def geoparquet_metadata(q: FeatureQuery) -> dict[bytes, bytes]:
    """The GeoParquet 1.1 ``geo`` key: WKB geometry column, its types and CRS (PROJJSON)."""
    assert q.crs is not None
    c = q.collection
    types = [] if c.geometry_type == "Geometry" else [c.geometry_type]
    geo = {
        "version": "1.1.0",
        "primary_column": GEOMETRY,
        "columns": {
            GEOMETRY: {
                "encoding": "WKB",
                "geometry_types": types,
                "crs": CRS.from_epsg(q.crs.srid).to_json_dict(),
            }
        },
    }
    return {b"geo": json.dumps(geo).encode()}


def parquet_writer(path: str, q: FeatureQuery) -> pq.ParquetWriter:
    """A GeoParquet writer: each :func:`record_batch` written becomes a row group."""
    schema = arrow_schema(q).with_metadata(geoparquet_metadata(q))
    return pq.ParquetWriter(path, schema, compression="zstd")


def remove(path: str) -> None:
    """Delete a temporary file if it exists."""
    if os.path.exists(path):
        os.unlink(path)
