"""Read publishers' files into a GeoDataFrame, whatever their format, or fail with a clear error.

Formats: GeoJSON (optionally gzipped), GeoPackage, Shapefile (plain or zipped), CSV (WKT column or
lon/lat columns, or no geometry at all), DGFiP EDIGEO sheets (``.tar.bz2``).
Every frame gets ``_feature_index`` (0-based position in the file) so errors can name the feature.
A GeoJSON ``NaN`` token in a property is kept as the text ``"NaN"``: as a float it would be null.
A string property holding a NUL character (U+0000) is kept whole, where GDAL would cut it short
(:mod:`ingest.geojson_nul`); a CSV's NUL byte reaches pandas as it is.
Large GDAL-readable files can also be read batch by batch (:func:`read_batches`), in Arrow
record batches, so a million-feature file never sits whole in memory.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import logging
import re
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from pyproj import CRS

from geo.geometry import wkb_problems, wkt_problem
from ingest.errors import SourceError
from ingest.geojson_nul import NulProperties, nul_in, nul_properties, restore_nul

log = logging.getLogger(__name__)

WKT_COLUMNS = ("wkt", "geom", "geometry", "the_geom", "geom_wkt")
LON_COLUMNS = ("lon", "longitude", "lng", "x_wgs84")
LAT_COLUMNS = ("lat", "latitude", "y_wgs84")
# Columns of a frame read whole, set where a row's geometry could not be built (else None, and
# absent when no row needs them): the geometry as the file gave it (WKB bytes, a CSV's WKT text)
# and why. ingest.normalize.finish quarantines those rows with that reason and that value.
UNREADABLE_GEOMETRY = "_unreadable_geometry"
GEOMETRY_PROBLEM = "_geometry_problem"
# GeoJSON's NaN token in a property, as the frame holds it: a float NaN is pandas' null.
NAN_TEXT = "NaN"


@dataclass
class Source:
    """A file read into memory, with what the pipeline needs to know about it."""

    path: Path
    frame: gpd.GeoDataFrame | pd.DataFrame
    crs: CRS | None
    sha256: str
    format: str
    layers: dict[str, gpd.GeoDataFrame]  # extra layers read alongside (EDIGEO buildings)
    vintage: str | None = None  # the edition date the file declares (EDIGEO: its sheet's)

    @property
    def has_geometry(self) -> bool:
        """Whether the file gave geometries (a CSV of codes, a membership table, has none)."""
        return isinstance(self.frame, gpd.GeoDataFrame) and "geometry" in self.frame


def source_bytes(source: Source) -> int:
    """About how much memory a read batch holds: its columns, and its geometries counted as
    16 bytes a coordinate plus a GEOS object each (what the load's queue is bounded by)."""
    frame = source.frame
    total = int(frame.memory_usage(index=False, deep=False).sum())
    if source.has_geometry:
        geoms = np.asarray(frame.geometry.array, dtype=object)
        total += int(shapely.get_num_coordinates(geoms).sum()) * 16 + len(geoms) * 200
    return total


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_format(path: Path) -> str:
    """The reader for ``path``, from its name: geojson, gpkg, shp, zip, csv or edigeo."""
    name = path.name.lower()
    for suffix, fmt in (
        (".tar.bz2", "edigeo"),
        (".geojson.gz", "geojson"),
        (".json.gz", "geojson"),
        (".geojson", "geojson"),
        (".json", "geojson"),
        (".gpkg", "gpkg"),
        (".shp.zip", "zip"),
        (".zip", "zip"),
        (".shp", "shp"),
        (".csv.gz", "csv"),
        (".csv", "csv"),
    ):
        if name.endswith(suffix):
            return fmt
    raise SourceError(
        f"{path}: unknown format; expected .geojson(.gz), .json(.gz), .gpkg, .shp, .zip "
        "(zipped shapefile), .csv or .tar.bz2 (EDIGEO)"
    )


def _check_compressed(path: Path) -> None:
    """Read a .gz/.bz2 file to its end so a truncated download fails here, not half-loaded."""
    if not path.name.lower().endswith((".gz", ".bz2")):
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else bz2.open
    try:
        with opener(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: corrupt or truncated compressed file ({exc})") from exc


class TextScan(NamedTuple):
    """What the pass over a text file found that the readers must handle."""

    nan: bool  # the bytes ``NaN`` are somewhere (maybe GeoJSON's NaN token)
    nul: bool  # a NUL character is somewhere, escaped (``\\u0000``) or bare


def _check_text(path: Path, encoding: str | None) -> TextScan:
    """One pass over a text file (GeoJSON, CSV), gzipped or not, before GDAL or pandas read it.

    A truncated gzip fails here rather than half-loaded, and the text must be UTF-8 unless an
    encoding is given: the error names the first bad line.

    Returns:
        Whether the text may hold GeoJSON's ``NaN`` token and a NUL character (both always
        True when an encoding is given, as the text is not looked at then).
    """
    if encoding is not None:
        _check_compressed(path)
        return TextScan(True, True)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    nan = nul = False
    try:
        with opener(path, "rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                nan = nan or b"NaN" in line
                nul = nul or nul_in(line)
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise SourceError(
                        f"{path}: line {lineno} is not valid UTF-8 (byte 0x{line[exc.start]:02x} "
                        f"at column {exc.start + 1}); convert the file or pass --encoding "
                        "(e.g. latin-1)"
                    ) from exc
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: corrupt or truncated compressed file ({exc})") from exc
    return TextScan(nan, nul)


def _read_ogr(path: Path | str, source: Path, **kwargs: object) -> gpd.GeoDataFrame:
    try:
        try:
            return gpd.read_file(path, engine="pyogrio", **kwargs)
        except shapely.errors.GEOSException:
            return _read_ogr_keeping_unreadable(path, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"{source}: cannot be read as geodata: {exc}") from exc
    except Exception as exc:  # GDAL raises a variety of errors on corrupt files
        raise SourceError(f"{source}: unreadable ({type(exc).__name__}: {exc})") from exc


def _read_ogr_keeping_unreadable(path: Path | str, **kwargs: object) -> gpd.GeoDataFrame:
    """Read again a file with a geometry GEOS cannot build, so that only its feature is refused.

    Such a geometry (a ring whose end points are NaN: GDAL writes it, GEOS never finds it
    closed) makes the one-shot read fail for the whole file. Here it is None in the frame and
    its WKB, read a second time (geometries only), is kept in :data:`UNREADABLE_GEOMETRY` with
    its reason in :data:`GEOMETRY_PROBLEM`. Unclosed rings that can be closed are, as the
    streamed path does. A second read only for such rare files.
    """
    frame = gpd.read_file(path, engine="pyogrio", on_invalid="fix", **kwargs)
    wkb = pyogrio.raw.read(path, columns=[], **kwargs)[2]
    lost = shapely.is_missing(frame.geometry.to_numpy()) & (wkb != None)  # noqa: E711
    return _with_unreadable(frame, lost, wkb_problems(wkb[lost]), wkb[lost])


def _with_unreadable(
    frame: gpd.GeoDataFrame,
    lost: np.ndarray,
    reasons: np.ndarray,
    given: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """``frame`` with :data:`GEOMETRY_PROBLEM` and :data:`UNREADABLE_GEOMETRY` if it lost rows.

    Args:
        frame: the frame read.
        lost: True for each row whose geometry could not be built.
        reasons: why, one per such row.
        given: the geometry as the file gave it, one per such row (None when the cells stay
            in their own columns anyway, as lon/lat do).
    """
    if lost.any():
        for column, values in ((GEOMETRY_PROBLEM, reasons), (UNREADABLE_GEOMETRY, given)):
            full = np.full(len(frame), None, dtype=object)
            if values is not None:
                full[lost] = values
            # Object columns: pandas would make a text column "str", its None becoming NaN.
            frame[column] = pd.Series(full, index=frame.index, dtype=object)
    return frame


def _read_geojson(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    scan = _check_text(path, encoding)
    vsi = f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)
    kwargs: dict[str, object] = {}
    if encoding:
        kwargs["encoding"] = encoding
    frame = _read_ogr(vsi, path, **kwargs)
    if scan.nul:  # GDAL cut those strings short at the NUL: put them back whole
        frame = restore_nul(frame, nul_properties(path, encoding))
    return _nan_tokens_kept(frame, vsi, path, **kwargs) if scan.nan else frame


def _nan_tokens_kept(
    frame: gpd.GeoDataFrame, ogr_path: str, source: Path, **kwargs: object
) -> gpd.GeoDataFrame:
    """``frame`` with the file's NaN tokens as the text :data:`NAN_TEXT` (nulls stay null).

    GeoPandas reads a null and a NaN token alike (NaN): the float columns holding NaN are
    read again, without geometries, through GDAL's Arrow stream, which keeps them apart.
    Only for a GeoJSON whose bytes hold ``NaN`` and whose float columns miss a value.
    """
    floats = [
        c
        for c in frame.columns
        if c != frame.geometry.name
        and pd.api.types.is_float_dtype(frame[c])
        and frame[c].isna().any()
    ]
    if not floats:
        return frame
    try:
        table = pyogrio.raw.read_arrow(ogr_path, columns=floats, read_geometry=False, **kwargs)[1]
    except Exception as exc:  # the first read went through: this one should too
        raise SourceError(f"{source}: unreadable ({type(exc).__name__}: {exc})") from exc
    if table.num_rows != len(frame):
        raise SourceError(f"{source}: read twice, {len(frame)} then {table.num_rows} features")
    for name, nan in _nan_cells(table).items():
        frame[name] = _nan_as_text(frame[name].to_numpy(dtype=float), nan)
    return frame


def _nan_cells(table: pa.Table | pa.RecordBatch) -> dict[str, np.ndarray]:
    """Where each float column of ``table`` holds a NaN (GeoJSON's token), not a null.

    pandas has one NaN for both, but a null is a missing value and a NaN in a number column
    is a wrong one: they are told apart while still in Arrow.
    """
    cells = {}
    for field in table.schema:
        if not pa.types.is_floating(field.type):
            continue
        isnan = pc.is_nan(table.column(field.name))
        if pc.any(isnan).as_py():  # vectorised: no cost worth naming on a batch of parcels
            cells[field.name] = pc.fill_null(isnan, False).to_numpy(zero_copy_only=False)
    return cells


def _nan_as_text(values: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """A float column as objects: :data:`NAN_TEXT` where the file had the token, None if null.

    Text, as a CSV would give it: coercion then names the cell ("... = 'NaN' is not a finite
    number") and the quarantine's raw record keeps it, where a float NaN would be a null.
    """
    out = values.astype(object)
    out[np.isnan(values) & ~nan] = None
    out[nan] = NAN_TEXT
    return out


def _read_csv(path: Path, encoding: str | None, crs: CRS | None) -> tuple[pd.DataFrame, CRS | None]:
    _check_text(path, encoding)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding or "utf-8-sig", newline="") as fh:
        head = fh.read(65536)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(head.splitlines()[0] if head else ",", delimiters=",;\t|")
            sep = dialect.delimiter
        except csv.Error:
            sep = ","
        try:
            df = pd.read_csv(fh, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, ValueError) as exc:
            raise SourceError(f"{path}: malformed CSV ({exc})") from exc
    cols = {c.lower(): c for c in df.columns}
    wkt_col = next((cols[c] for c in WKT_COLUMNS if c in cols), None)
    lon_col = next((cols[c] for c in LON_COLUMNS if c in cols), None)
    lat_col = next((cols[c] for c in LAT_COLUMNS if c in cols), None)
    if wkt_col is not None:
        if crs is None:
            raise SourceError(
                f"{path}: the WKT column '{wkt_col}' has no CRS; pass --crs (e.g. EPSG:2154)"
            )
        text = df[wkt_col].to_numpy(dtype=object)
        given = np.array([isinstance(v, str) and bool(v.strip()) for v in text], dtype=bool)
        with warnings.catch_warnings():
            # What GEOS refuses is named row by row below, not in one warning for the file.
            warnings.simplefilter("ignore", RuntimeWarning)
            # Unclosed rings are closed, as GDAL's readers do for the other formats.
            geoms = shapely.from_wkt(np.where(given, text, None), on_invalid="fix")
        lost = given & shapely.is_missing(geoms)
        reasons = np.array([wkt_problem(v) for v in text[lost]], dtype=object)
        gdf = gpd.GeoDataFrame(df.drop(columns=[wkt_col]), geometry=geoms, crs=crs)
        return _with_unreadable(gdf, lost, reasons, text[lost]), crs
    if lon_col is not None and lat_col is not None:
        pts, reasons = _lon_lat_points(df[lon_col], df[lat_col])
        lost = reasons != None  # noqa: E711 - elementwise on an object array
        # lon/lat columns are WGS84 by their very names, unless the user says otherwise.
        crs = crs or CRS.from_epsg(4326)
        gdf = gpd.GeoDataFrame(df, geometry=pts, crs=crs)
        # The cells stay in their own columns: the quarantine's raw record keeps them.
        return _with_unreadable(gdf, lost, reasons[lost]), crs
    return df, None


def _lon_lat_points(lon: pd.Series, lat: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Points from longitude/latitude text cells (decimal comma accepted), and why a row has
    none: a value that is not a number, or one of the two blank (else None).

    Both blank is no point and no reason: the layer may place the row otherwise. The text
    NaN or Infinity is a number here, kept in the point for
    :func:`geo.geometry.clean_points` to name.
    """
    x, lon_blank, lon_wrong = _coordinates(lon)
    y, lat_blank, lat_wrong = _coordinates(lat)
    reasons = np.full(len(lon), None, dtype=object)
    checks: tuple[tuple[np.ndarray, Callable[[int], str]], ...] = (
        (lon_wrong, lambda i: f"wrong type: {lon.name} = {lon.iloc[i]!r} is not a number"),
        (lat_wrong, lambda i: f"wrong type: {lat.name} = {lat.iloc[i]!r} is not a number"),
        (
            lat_blank & ~lon_blank,
            lambda i: f"missing {lat.name} beside {lon.name} = {lon.iloc[i]!r}",
        ),
        (
            lon_blank & ~lat_blank,
            lambda i: f"missing {lon.name} beside {lat.name} = {lat.iloc[i]!r}",
        ),
    )
    for mask, reason in checks:
        for pos in np.flatnonzero(mask & (reasons == None)):  # noqa: E711
            reasons[pos] = reason(int(pos))
    points = shapely.points(x, y)
    points[(lon_blank & lat_blank) | (reasons != None)] = None  # noqa: E711
    return points, reasons


def _coordinates(cells: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of a coordinate column (NaN where blank or not a number), which cells are
    blank, and which are not numbers (the text NaN counts as a number)."""
    text = cells.astype("string").str.strip()
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    number = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    values = number.to_numpy(dtype=float, na_value=np.nan)
    nan_text = text.str.lower().isin(("nan", "+nan", "-nan")).to_numpy(dtype=bool, na_value=False)
    return values, blank, np.isnan(values) & ~blank & ~nan_text


@contextmanager
def _extracted(path: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="foncier-edigeo-") as tmp:
        try:
            with tarfile.open(path, "r:bz2") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{path}: corrupt or truncated EDIGEO archive ({exc})") from exc
        yield Path(tmp)


# The exchange's date in the .THF header, e.g. ``TDASD08:20190309`` (EDIGEO standard, NF Z 52000).
_THF_DATE = re.compile(rb"^TDASD08:(\d{4})(\d{2})(\d{2})\s*$", re.MULTILINE)


def edigeo_sheet_date(thf: bytes) -> str | None:
    r"""The date of an EDIGEO sheet: its exchange's ``TDASD`` in the .THF header, ISO-formatted.

    DGFiP writes it when it exports the sheet (``20190309`` for the Doubs samples); the
    parcels' own ``UPDATE_DATE`` only says when each was last edited.

    Example:
        >>> edigeo_sheet_date(b"BOMT 12:E000AK01.THF\r\nTDASD08:20190309\r\n")
        '2019-03-09'
    """
    match = _THF_DATE.search(thf)
    return None if match is None else b"-".join(match.groups()).decode("ascii")


def _read_edigeo(
    path: Path,
) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], str | None]:
    with _extracted(path) as tmp:
        thf = sorted(tmp.rglob("*.THF")) + sorted(tmp.rglob("*.thf"))
        if not thf:
            raise SourceError(f"{path}: no .THF file inside: not an EDIGEO sheet")
        layers = {name for name, _ in pyogrio.list_layers(thf[0])}
        if "PARCELLE_id" not in layers:
            raise SourceError(f"{path}: the EDIGEO sheet has no PARCELLE_id layer")
        parcels = _read_ogr(thf[0], path, layer="PARCELLE_id")
        extra = {}
        if "BATIMENT_id" in layers:
            extra["buildings"] = _read_ogr(thf[0], path, layer="BATIMENT_id")
        date = edigeo_sheet_date(thf[0].read_bytes())
    return parcels, extra, date


def _zip_member(path: Path) -> tuple[str, bool]:
    """The GDAL path of the layer inside a zip archive, and whether it is a shapefile.

    Raises:
        SourceError: the archive is corrupt, or holds no shapefile, GeoPackage or GeoJSON, or a
            shapefile without its .shx or .dbf.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path}: corrupt zip archive ({exc})") from exc
    if bad:
        raise SourceError(f"{path}: corrupt member {bad} in the zip archive")
    shps = [n for n in names if n.lower().endswith(".shp")]
    if shps:
        _check_shapefile_members(path, names, shps[0])
        return f"/vsizip/{path}/{shps[0]}", True
    others = [n for n in names if n.lower().endswith((".gpkg", ".geojson"))]
    if not others:
        raise SourceError(f"{path}: no .shp, .gpkg or .geojson inside the zip archive")
    return f"/vsizip/{path}/{others[0]}", False


def _read_zip(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    member, is_shapefile = _zip_member(path)
    kwargs: dict[str, object] = {"encoding": encoding} if encoding and is_shapefile else {}
    return _read_ogr(member, path, **kwargs)


def _check_shapefile_members(path: Path, names: list[str], shp: str) -> None:
    stem = shp[:-4]
    present = {n.lower() for n in names}
    missing = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in present]
    if missing:
        raise SourceError(
            f"{path}: shapefile {shp} lacks {', '.join(missing)}: a shapefile needs its .shp, "
            ".shx and .dbf (and .prj for its CRS)"
        )


def read_source(
    path: Path, crs: str | None = None, encoding: str | None = None, layer: str | None = None
) -> Source:
    """Read ``path`` and detect its CRS.

    Args:
        path: the file.
        crs: CRS to assume (``--crs``), required for files that declare none; it overrides
            nothing that the file declares, except for CSV lon/lat columns.
        encoding: text encoding when not UTF-8.
        layer: the layer to read in a multi-layer file (GeoPackage).

    Raises:
        SourceError: the file is missing, corrupt, of an unknown format, or has no CRS.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    fmt = detect_format(path)
    user_crs = CRS.from_user_input(crs) if crs else None
    extra: dict[str, gpd.GeoDataFrame] = {}
    declared: str | None = None
    frame: gpd.GeoDataFrame | pd.DataFrame
    if fmt == "geojson":
        frame = _read_geojson(path, encoding)
    elif fmt == "csv":
        frame, user_crs = _read_csv(path, encoding, user_crs)
    elif fmt == "edigeo":
        frame, extra, declared = _read_edigeo(path)
    elif fmt == "zip":
        frame = _read_zip(path, encoding)
    elif fmt == "shp":
        names = [p.name for p in path.parent.iterdir() if p.stem == path.stem]
        _check_shapefile_members(path, names, path.name)
        frame = _read_ogr(path, path, **({"encoding": encoding} if encoding else {}))
    else:  # gpkg
        frame = _read_ogr(path, path, **({"layer": layer} if layer else {}))

    detected: CRS | None = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        detected = frame.crs
        if detected is None and user_crs is None and len(frame):
            raise SourceError(
                f"{path}: the file declares no CRS (a shapefile without .prj?); "
                "pass --crs, e.g. --crs EPSG:2154"
            )
        if detected is None or fmt == "csv":
            detected = user_crs
            frame = frame.set_crs(detected, allow_override=True)
    frame = frame.reset_index(drop=True)
    frame["_feature_index"] = np.arange(len(frame))
    for name, extra_frame in extra.items():
        extra[name] = extra_frame.reset_index(drop=True)
        extra[name]["_feature_index"] = np.arange(len(extra_frame))
    return Source(
        path=path,
        frame=frame,
        crs=detected,
        sha256=sha256_of(path),
        format=fmt,
        layers=extra,
        vintage=declared,
    )


STREAM_FORMATS = ("geojson", "gpkg", "shp", "zip")


def _ogr_path(path: Path, fmt: str, encoding: str | None) -> tuple[str, NulProperties]:
    """The GDAL path of a streamable file, after the checks :func:`read_source` makes, and
    a GeoJSON's string properties holding a NUL (see :mod:`ingest.geojson_nul`)."""
    if fmt == "geojson":
        nul = nul_properties(path, encoding) if _check_text(path, encoding).nul else {}
        return f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path), nul
    if fmt == "zip":
        return _zip_member(path)[0], {}
    if fmt == "shp":
        names = [p.name for p in path.parent.iterdir() if p.stem == path.stem]
        _check_shapefile_members(path, names, path.name)
    return str(path), {}


def _batch_frame(batch: pa.RecordBatch, geometry_name: str) -> pd.DataFrame:
    """One Arrow record batch as a frame: properties as pandas columns, ``geometry`` as WKB.

    The WKB is not decoded, nor even made into a Python object per row: the column stays
    Arrow-backed (``binary[pyarrow]``), and the pipeline reprojects polygons straight from
    its buffer (:func:`ingest.normalize.polygons_ewkb`).
    """
    names = batch.schema.names
    wkb = batch.column(names.index(geometry_name))
    columns = batch.drop_columns([geometry_name])
    props = columns.to_pandas(date_as_object=False)
    for name, nan in _nan_cells(columns).items():  # to_pandas makes a null NaN too
        props[name] = _nan_as_text(props[name].to_numpy(dtype=float), nan)
    props["geometry"] = pd.arrays.ArrowExtensionArray(wkb)
    return props


def read_batches(
    path: Path,
    crs: str | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    batch_size: int = 100_000,
    sha256: str | None = None,
) -> Iterator[Source]:
    """Read a GeoJSON, GeoPackage or (zipped) Shapefile as Sources of ``batch_size`` features.

    Each batch's frame holds its geometries as WKB bytes in ``geometry`` (None when missing),
    not as shapely objects.

    One pass through GDAL's Arrow stream (never re-reading what came before, so a large
    GeoJSON costs the same as a GeoPackage); ``_feature_index`` counts from the start of
    the file across batches. A file of no features yields one empty batch.

    Args:
        path: the file (a format of :data:`STREAM_FORMATS`).
        crs: CRS to assume when the file declares none.
        encoding: text encoding when not UTF-8.
        layer: the layer of a multi-layer file.
        batch_size: features per batch.
        sha256: the file's hash if already known (else computed first).

    Raises:
        SourceError: as :func:`read_source`, raised by the first batch for anything found
            on opening the file, or by a later one if GDAL fails mid-file.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    fmt = detect_format(path)
    if fmt not in STREAM_FORMATS:
        raise SourceError(f"{path}: {fmt} files are not read in batches")
    ogr_path, nul = _ogr_path(path, fmt, encoding)
    digest = sha256 or sha256_of(path)
    kwargs: dict[str, object] = {"batch_size": batch_size, "use_pyarrow": True}
    if encoding:
        kwargs["encoding"] = encoding
    if layer:
        kwargs["layer"] = layer
    try:
        with pyogrio.raw.open_arrow(ogr_path, **kwargs) as (meta, reader):
            detected = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
            if detected is None:
                if crs is None:
                    raise SourceError(
                        f"{path}: the file declares no CRS (a shapefile without .prj?); "
                        "pass --crs, e.g. --crs EPSG:2154"
                    )
                detected = CRS.from_user_input(crs)
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            start = 0
            for batch in reader:
                frame = _batch_frame(batch, geometry_name)
                if nul:
                    frame = restore_nul(frame, nul, start)
                frame["_feature_index"] = np.arange(start, start + len(frame))
                start += len(frame)
                yield Source(path, frame, detected, digest, fmt, {})
            if start == 0:
                empty = gpd.GeoDataFrame(
                    {"_feature_index": np.array([], dtype="int64")},
                    geometry=gpd.GeoSeries([], crs=detected),
                    crs=detected,
                )
                yield Source(path, empty, detected, digest, fmt, {})
    except SourceError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"{path}: cannot be read as geodata: {exc}") from exc
    except Exception as exc:  # GDAL raises a variety of errors on corrupt files
        raise SourceError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from exc


def peek_columns(path: Path) -> list[str]:
    """Column names of a file without reading it whole (to tell two layouts of a layer apart)."""
    fmt = detect_format(path)
    if fmt == "csv":
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
        sep = max(",;\t|", key=first.count)
        return next(csv.reader(io.StringIO(first), delimiter=sep))
    vsi = f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)
    if fmt == "zip":
        return list(read_source(path).frame.columns)
    info = pyogrio.read_info(vsi)
    return list(info["fields"])
