"""``foncier quarantine export``: a run's refused rows written back in the format it loaded.

The rows come from ``quarantine.raw`` (the record as the file gave it, geometry as WKT in the
file's CRS), so the user fixes them in the tool they used for the file and loads them again.
A GeoJSON source gives a GeoJSON (the file's CRS declared when it is not WGS84), a GeoPackage
a GeoPackage, a shapefile (plain or zipped) a shapefile, a CSV a CSV with the source's columns
and delimiter (its WKT column or lon/lat cells as they were); an EDIGEO sheet, which nothing
writes, gives a GeoJSON. Values are written as the quarantine kept them (a date as
``2004-04-01 00:00:00``), text as UTF-8.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import pandas as pd
import psycopg
import pyogrio
import shapely
from pyproj import CRS

from db.operations import QuarantineRecord, get_run, quarantine_raws
from ingest.errors import IngestError, SourceError
from ingest.read import LAT_COLUMNS, LON_COLUMNS, WKT_COLUMNS, detect_format

# The format written for each source format, and the file name ending it takes.
EXPORT_FORMATS = {
    "geojson": ("geojson", ".geojson"),
    "gpkg": ("gpkg", ".gpkg"),
    "csv": ("csv", ".csv"),
    "shp": ("shp", ".shp"),
    "zip": ("zip", ".shp.zip"),
    "edigeo": ("geojson", ".geojson"),
}
OGR_DRIVERS = {"gpkg": "GPKG", "shp": "ESRI Shapefile", "zip": "ESRI Shapefile"}
# Where the raw record's geometry was cut (ingest.quarantine keeps 20,000 characters of WKT).
TRUNCATED = "…"


class ExportError(IngestError):
    """The quarantine of a run cannot be exported as asked (the message says why)."""


@dataclass
class ExportReport:
    """What ``export_quarantine`` wrote."""

    path: Path
    rows: int
    format: str
    source: str
    crs: str | None
    notes: list[str] = field(default_factory=list)


def export_quarantine(
    conn: psycopg.Connection, run_id: int, path: Path, crs: str | None = None
) -> ExportReport:
    """Write run ``run_id``'s refused rows to ``path``, in the format of the file it loaded.

    Args:
        path: the file to write; its name must end as the source format's does (``.geojson``,
            ``.gpkg``, ``.csv``, ``.shp`` or ``.shp.zip``; ``.gz`` allowed for GeoJSON and CSV).
        crs: the CRS of the raw geometries, when neither the source file (gone or moved) nor
            the coordinates tell it (e.g. ``EPSG:2154``).

    Raises:
        ExportError: no such run, no refused row, a name of another format, or an unknown CRS.
    """
    run = get_run(conn, run_id)
    if run is None:
        raise ExportError(f"there is no ingest run {run_id}; see `foncier runs`")
    rows = quarantine_raws(conn, run_id)
    if not rows:
        raise ExportError(f"run {run_id} ({run.source}) refused no row: nothing to export")
    source = Path(run.source or "")
    fmt = _output_format(run_id, source, path)
    report = ExportReport(path, len(rows), fmt, str(source), None)
    records = _records(rows, report.notes)
    if fmt == "csv":
        _write_csv(path, source, records)
        return report
    geoms = [_geometry(r, report.notes) for r in rows]
    report.crs = _crs(source, geoms, crs)
    if fmt == "geojson":
        _write_geojson(path, records, geoms, report.crs)
    else:
        frame = gpd.GeoDataFrame(_columns(records), geometry=geoms, crs=report.crs)
        pyogrio.write_dataframe(frame, path, driver=OGR_DRIVERS[fmt])
    return report


def _output_format(run_id: int, source: Path, path: Path) -> str:
    try:
        source_fmt = detect_format(source)
    except SourceError:
        source_fmt = "geojson"
    fmt, ending = EXPORT_FORMATS[source_fmt]
    try:
        given = detect_format(path)
    except SourceError:
        given = None
    # Only GeoJSON and CSV are written gzipped (a .gpkg.gz would not reload).
    gz_ok = fmt in ("geojson", "csv") or not path.name.lower().endswith(".gz")
    if given != fmt or not gz_ok:
        raise ExportError(
            f"{path}: run {run_id} loaded {source.name} ({source_fmt}); its rows are written "
            f"back as {fmt}: give a name ending in {ending} (e.g. refused-{run_id}{ending})"
        )
    return fmt


def _records(rows: list[QuarantineRecord], notes: list[str]) -> list[dict[str, Any]]:
    """Each raw record without the loader's own columns (``_feature_index``...)."""
    out = []
    for r in rows:
        if r.raw is None:
            notes.append(f"feature {r.feature_index} ({r.key}): no raw record was kept")
        raw = r.raw or {}
        out.append({k: v for k, v in raw.items() if not k.startswith("_")})
    return out


def _geometry(row: QuarantineRecord, notes: list[str]) -> shapely.Geometry | None:
    """The raw record's geometry (WKT, or WKB hex when GEOS could not read it), or None."""
    value = (row.raw or {}).get("geometry")
    if value is None:
        return None
    text = str(value)
    geom = None
    if not text.endswith(TRUNCATED):
        geom = shapely.from_wkt(text, on_invalid="ignore")
        if geom is None:
            try:
                geom = shapely.from_wkb(bytes.fromhex(text), on_invalid="ignore")
            except ValueError:
                geom = None
    if geom is None:
        notes.append(
            f"feature {row.feature_index} ({row.key}): its geometry could not be written back "
            f"({text[:60]}{'…' if len(text) > 60 else ''}); it has none in the export: draw it "
            f"again (`foncier quarantine show {row.quarantine_id}` gives what was kept)"
        )
    return geom


def _crs(source: Path, geoms: Iterable[shapely.Geometry | None], given: str | None) -> str:
    """The CRS of the raw geometries: ``given``, the source file's, or read from coordinates."""
    if given:
        return CRS.from_user_input(given).to_string()
    if source.is_file() and detect_format(source) in ("geojson", "gpkg", "shp"):
        vsi = f"/vsigzip/{source}" if source.name.lower().endswith(".gz") else str(source)
        try:
            declared = pyogrio.read_info(vsi).get("crs")
        except pyogrio.errors.DataSourceError:
            declared = None
        if declared:
            return str(declared)
    present = [g for g in geoms if g is not None and not g.is_empty]
    if not present:
        return "EPSG:4326"
    xmin, ymin, xmax, ymax = shapely.total_bounds(present)
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        return "EPSG:4326"
    if -400_000 <= xmin <= xmax <= 1_400_000 and 5_900_000 <= ymin <= ymax <= 7_300_000:
        return "EPSG:2154"  # Lambert-93's extent (metropolitan France)
    raise ExportError(
        f"the CRS of {source.name}'s geometries is unknown (the file is gone and the "
        "coordinates are neither degrees nor Lambert-93): pass --crs, e.g. --crs EPSG:3948"
    )


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def _write_geojson(
    path: Path, records: list[dict[str, Any]], geoms: list[shapely.Geometry | None], crs: str
) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in rec.items() if k != "geometry"},
            "geometry": None if g is None else shapely.geometry.mapping(g),
        }
        for rec, g in zip(records, geoms, strict=True)
    ]
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    epsg = CRS.from_user_input(crs).to_epsg()
    if epsg != 4326:
        if epsg is None:
            raise ExportError(f"CRS {crs} has no EPSG code to declare in GeoJSON: pass --crs")
        collection["crs"] = {
            "type": "name",
            "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"},
        }
    collection["features"] = features
    with _open_text(path) as fh:
        json.dump(collection, fh, ensure_ascii=False)


def _columns(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The records as typed columns for OGR (nested values as JSON text)."""
    frame = pd.DataFrame.from_records(
        [
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                for k, v in rec.items()
                if k != "geometry"
            }
            for rec in records
        ]
    )
    return frame.convert_dtypes()


def _csv_layout(source: Path) -> tuple[list[str], str] | None:
    """The source CSV's header and delimiter, when the file is still there."""
    if not source.is_file():
        return None
    opener = gzip.open if source.name.lower().endswith(".gz") else open
    with opener(source, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
    sep = max(",;\t|", key=first.count)
    return next(csv.reader([first], delimiter=sep)), sep


def _write_csv(path: Path, source: Path, records: list[dict[str, Any]]) -> None:
    """Rows as the source CSV had them: its columns in its order, its WKT column's name."""
    keys = list(dict.fromkeys(k for rec in records for k in rec))
    lower = {k.lower() for k in keys}
    has_lon_lat = bool(lower & set(LON_COLUMNS)) and bool(lower & set(LAT_COLUMNS))
    if has_lon_lat and "geometry" in keys:
        keys.remove("geometry")  # the point was built from the lon/lat cells, kept as they were
    layout = _csv_layout(source)
    header, sep = layout if layout else (keys, ",")
    wkt = next((c for c in header if c.lower() in WKT_COLUMNS and c not in keys), None)
    with _open_text(path) as fh:
        writer = csv.writer(fh, delimiter=sep)
        writer.writerow(header)
        for rec in records:
            cells = {**rec, **({wkt: rec.get("geometry")} if wkt else {})}
            writer.writerow(["" if cells.get(c) is None else cells[c] for c in header])
