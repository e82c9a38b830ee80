"""Cadastral parcels: Etalab cadastre GeoJSON and raw DGFiP EDIGEO sheets (with buildings).

Parcel ids (IDU) are 14 characters: INSEE commune code (5) + prefixe (3) + section (2, zero
padded: ``0A``) + numero (4). ``section`` and ``numero`` are stored as they appear in the id, so
``idu == insee || prefixe || section || numero`` always holds.

- **Etalab** ``cadastre-XXXXX-parcelles.json(.gz)``: ``id`` (the IDU), ``commune``, ``prefixe``,
  ``section``, ``numero``, ``contenance`` (m2). A load replaces the communes the file covers
  (scope ``insee``); ``built`` is unknown (NULL) unless a buildings file covers the commune
  (:mod:`ingest.layers.buildings`), loaded before or after: the same rule then sets it.
  Without ``--vintage``, the rows' vintage is the latest ``updated`` date of the file
  (``2023-03-31`` for Juvisy-sur-Orge 91326).
- **EDIGEO** ``edigeo-<insee><prefixe><section><feuille>.tar.bz2`` (one cadastral sheet):
  ``PARCELLE_id.IDU`` has only 12 characters (commune 3 + prefixe + section + numero), without
  the département. The département part of the 14-character id is the first two characters of
  the INSEE code, which only the archive's *name* carries (the exchange files hold the 3-digit
  commune part only). That rule also holds overseas: DGFiP writes commune 97101 as "97" + "101",
  so the id is ``insee[:2] + IDU`` everywhere (``2A`` for Corse-du-Sud). The IDU's commune part
  must match ``insee[2:]``. A load replaces the sheet's parcels and buildings (scope ``sheet``)
  and then sets ``parcel.built`` in SQL (``ingest/sql/parcel_built.sql``). Without
  ``--vintage``, the rows' vintage is the sheet's date (its exchange's ``TDASD``, see
  :func:`ingest.read.edigeo_sheet_date`).

EDIGEO declares its CRS as an IGNF definition (RGF93 Lambert-93) equal to EPSG:2154: it is
recognised as such, so coordinates are stored untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pyproj import CRS

from geo.geometry import LAMBERT93
from ingest.errors import LayoutError
from ingest.layers.buildings import parcel_built_sql
from ingest.layers.sites import site_parcel_sql
from ingest.normalize import (
    TableLoad,
    add_problem,
    arrow_column,
    code,
    finish,
    has_columns,
    pick,
)
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

_PARCEL_COLUMNS = (
    "idu",
    "insee",
    "prefixe",
    "section",
    "numero",
    "contenance_m2",
)

PARCEL_ETALAB = table_spec(
    table="parcel",
    key=("idu",),
    columns=_PARCEL_COLUMNS,
    geometries=("geom",),
    required=("insee", "prefixe", "section", "numero"),
    scope="insee",
    post_merge_sql=site_parcel_sql("parcels") + parcel_built_sql("parcels"),
)

PARCEL_EDIGEO = table_spec(
    table="parcel",
    key=("idu",),
    columns=(*_PARCEL_COLUMNS, "sheet"),
    geometries=("geom",),
    required=("insee", "prefixe", "section", "numero", "sheet"),
    scope="sheet",
    post_merge_sql=site_parcel_sql("parcels"),
)

BUILDING_EDIGEO = table_spec(
    table="building",
    key=("id",),
    columns=("id", "insee", "sheet"),
    geometries=("geom",),
    required=("insee", "sheet"),
    scope="sheet",
    post_merge_sql=parcel_built_sql("sheet"),
)

# insee (5: 2-char département incl. 2A/2B/97) + prefixe (3 digits) + section (2) + numero (4).
IDU_RE = re.compile(r"^\d[\dAB]\d{3}\d{3}[0-9A-Z]{2}\d{4}$")
_SHEET_RE = re.compile(r"(\d[\dAB]\d{3})(\d{3})([0-9A-Z]{2})(\d{2})", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def latest_date(values: pd.Series) -> str | None:
    """The latest date of a column as ``YYYY-MM-DD``, or None when it holds none.

    Dates as GDAL reads them (datetime64) or ISO text: one reduction over the column (numpy's,
    or Arrow's on the text), never a Python step per row.

    Example:
        >>> latest_date(pd.Series(["2022-12-05", None, "2023-03-31T10:00:00"]))
        '2023-03-31'
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        latest = values.max()
        return None if pd.isna(latest) else str(latest.date().isoformat())
    text = arrow_column(values.astype("string[pyarrow]"))
    found = pc.max(pc.utf8_slice_codeunits(text, 0, 10)).as_py()
    return found if isinstance(found, str) and _ISO_DATE.match(found) else None


def idu_problem(idu: object) -> str | None:
    """Why ``idu`` is not a valid 14-character parcel id, or None.

    Example:
        >>> idu_problem("25354000AB0001") is None
        True
        >>> idu_problem("2535400AB0001")
        "parcel id '2535400AB0001' has 13 characters, expected 14"
    """
    if not isinstance(idu, str) or not idu:
        return "missing parcel id"
    if len(idu) != 14:
        return f"parcel id {idu!r} has {len(idu)} characters, expected 14"
    if not IDU_RE.match(idu):
        return f"parcel id {idu!r} is not insee(5) + prefixe(3) + section(2) + numero(4)"
    return None


def sheet_of(path: Path) -> tuple[str, str]:
    """The EDIGEO sheet id and its commune INSEE code, from the archive's file name.

    Example:
        >>> sheet_of(Path("edigeo-25354000AB01.tar.bz2"))
        ('25354000AB01', '25354')

    Raises:
        LayoutError: the name carries no ``<insee><prefixe><section><feuille>`` token.
    """
    stem = path.name.split(".")[0]
    match = _SHEET_RE.search(stem.removeprefix("edigeo-").removeprefix("EDIGEO-"))
    if not match:
        raise LayoutError(
            f"{path}: cannot tell the commune of this EDIGEO sheet; the exchange files only carry "
            "the 3-digit commune part, so keep the DGFiP file name "
            "edigeo-<insee 5><prefixe 3><section 2><feuille 2>.tar.bz2 "
            "(e.g. edigeo-25354000AB01.tar.bz2)"
        )
    return match.group(0).upper(), match.group(1).upper()


def _lambert93_if_equivalent(crs: CRS | None) -> CRS | None:
    # EDIGEO's IGNF:LAMB93 WKT is EPSG:2154 under another name: no transformation to run.
    if crs is not None and crs.to_epsg(min_confidence=70) == 2154:
        return LAMBERT93
    return crs


def _split_idu(frame: pd.DataFrame) -> None:
    idu = frame["idu"]
    frame["prefixe"] = idu.str[5:8]
    frame["section"] = idu.str[8:10]
    frame["numero"] = idu.str[10:14]


def _idu_problems(frame: pd.DataFrame, problems: np.ndarray) -> None:
    # One vectorised match; the reason is only worded for the ids that fail it.
    idu = frame["idu"]
    good = idu.astype("string").str.fullmatch(IDU_RE.pattern).fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(~good)
    if not len(bad):
        return
    reasons = np.full(len(frame), None, dtype=object)
    values = idu.to_numpy(dtype=object, na_value=None)
    reasons[bad] = [idu_problem(v) for v in values[bad]]
    add_problem(problems, reasons != None, reasons)  # noqa: E711 - elementwise on an object array


def _reasons(mask: np.ndarray, word: Callable[[int], str]) -> np.ndarray:
    """Reasons for the rows in ``mask`` only (most rows are fine: no message is built for them)."""
    reasons = np.full(len(mask), None, dtype=object)
    for i in np.flatnonzero(mask):
        reasons[i] = word(int(i))
    return reasons


def prepare_etalab(source: Source) -> list[TableLoad]:
    """Etalab ``cadastre-XXXXX-parcelles`` features to ``parcel`` rows (scope: their communes)."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    commune = code(pick(f, "commune", "insee", "code_insee", source=name), 5)
    ids = pick(f, "id", "idu", source=name, required=False)
    if ids.isna().all():
        # No id column: build it the way Etalab does (section and numero zero-padded).
        parts = [
            pick(f, c, source=name).astype("string").str.strip()
            for c in ("prefixe", "section", "numero")
        ]
        ids = commune + parts[0].str.zfill(3) + parts[1].str.zfill(2) + parts[2].str.zfill(4)
    # Strings stay in pandas' string dtype: slicing and matching them are then vectorised.
    frame["idu"] = ids.astype("string").str.strip()
    # Arrow-backed text like ``idu``: coerce() then strips it with Arrow's kernels.
    frame["insee"] = commune.astype("string").fillna(frame["idu"].str[:5])
    problems = np.full(len(frame), None, dtype=object)
    _idu_problems(frame, problems)
    other = frame["idu"].str[:5] != frame["insee"]
    other = other.fillna(False).to_numpy(dtype=bool)
    idu, insee = frame["idu"], frame["insee"]
    add_problem(
        problems,
        other,
        _reasons(other, lambda i: f"parcel id {idu.iat[i]!r} is not in commune {insee.iat[i]!r}"),
    )
    _split_idu(frame)
    frame["contenance_m2"] = pick(
        f, "contenance", "contenance_m2", "supf", source=name, required=False
    )
    # ``.array``, not ``.to_numpy()``: WKB read in batches stays in Arrow (no object per row).
    frame["geom"] = f.geometry.array
    load = finish(PARCEL_ETALAB, frame, f, source.crs, name, problems)
    if has_columns(f, "updated"):  # Etalab's; a file without it costs nothing here
        load.vintage = latest_date(pick(f, "updated", source=name))
    return [load]


def prepare_edigeo(source: Source) -> list[TableLoad]:
    """One EDIGEO sheet: ``PARCELLE_id`` to ``parcel`` and ``BATIMENT_id`` to ``building``."""
    f, name = source.frame, str(source.path)
    sheet, insee = sheet_of(source.path)
    crs = _lambert93_if_equivalent(source.crs)
    frame = f[["_feature_index"]].copy()
    idu12 = pick(f, "IDU", source=name).astype("string").str.strip()
    frame["idu"] = (insee[:2] + idu12).astype(object)
    frame["insee"] = insee
    frame["sheet"] = sheet
    problems = np.full(len(frame), None, dtype=object)
    short = (idu12.str.len() != 12).fillna(True).to_numpy(dtype=bool)
    raw_idu = idu12.to_numpy(dtype=object)
    add_problem(
        problems,
        short,
        _reasons(short, lambda i: f"EDIGEO IDU {raw_idu[i]!r} does not have 12 characters"),
    )
    foreign = (idu12.str[:3] != insee[2:]).fillna(True).to_numpy(dtype=bool)
    add_problem(
        problems,
        foreign,
        _reasons(
            foreign,
            lambda i: (
                f"EDIGEO IDU {raw_idu[i]!r} is not in commune {insee} "
                f"(file name {source.path.name})"
            ),
        ),
    )
    _idu_problems(frame, problems)
    _split_idu(frame)
    frame["contenance_m2"] = pick(f, "SUPF", "contenance", source=name, required=False)
    frame["geom"] = f.geometry.to_numpy()
    parcels = finish(PARCEL_EDIGEO, frame, f, crs, name, problems)

    # A sheet without a BATIMENT_id layer has no building: the empty load still clears old ones.
    b = source.layers.get("buildings")
    if b is None:
        b = gpd.GeoDataFrame({"_feature_index": []}, geometry=gpd.GeoSeries([]), crs=source.crs)
    bframe = b[["_feature_index"]].copy()
    rid = pick(b, "OBJECT_RID", source=name, required=False)
    rid = rid.where(rid.notna(), b["_feature_index"].astype(str))
    bframe["id"] = (sheet + ":" + rid.astype(str)).astype(object)
    bframe["insee"] = insee
    bframe["sheet"] = sheet
    bframe["geom"] = b.geometry.to_numpy()
    buildings = finish(BUILDING_EDIGEO, bframe, b, crs, f"{name} (BATIMENT_id)")
    parcels.vintage = buildings.vintage = source.vintage
    return [parcels, buildings]


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Etalab cadastre GeoJSON or an EDIGEO sheet, told apart by the file format."""
    if source.format == "edigeo":
        return prepare_edigeo(source)
    return prepare_etalab(source)


register(
    Layer(
        "parcels",
        "Cadastral parcels: Etalab cadastre GeoJSON, or DGFiP EDIGEO sheets (with buildings)",
        prepare,
        ("parcels", "buildings"),
        streamable=True,  # parcel by parcel; EDIGEO sheets are read whole anyway
    )
)
