"""Files derived from a real EDIGEO sheet, for the buildings tests (no Etalab buildings file of a
sample commune exists): its buildings as an Etalab ``batiments`` file and as a BD TOPO-like
``BATIMENT`` layer, its parcels as an Etalab ``parcelles`` file. Written with GDAL (pyogrio)
from the sheet itself, so they follow the sample when it changes.
"""

from __future__ import annotations

import gzip
import tarfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio


@dataclass(frozen=True)
class Derived:
    """Files derived from one real EDIGEO sheet."""

    etalab_buildings: Path
    bdtopo: Path
    etalab_parcels: Path


def _iso(dates: pd.Series) -> list[str | None]:
    """EDIGEO dates (20080714) as Etalab writes them (2008-07-14)."""
    return [
        None
        if pd.isna(d)
        else f"{int(d) // 10000:04d}-{int(d) // 100 % 100:02d}-{int(d) % 100:02d}"
        for d in dates
    ]


def _write_geojson_gz(frame: gpd.GeoDataFrame, path: Path) -> Path:
    # No "crs" member: RFC 7946 GeoJSON is WGS84, as Etalab publishes it.
    path.write_bytes(gzip.compress(frame.to_crs(4326).to_json(drop_id=True).encode()))
    return path


def derive_from_sheet(sheet: Path, out: Path) -> Derived:
    """Etalab buildings and parcels files and a BD TOPO-like layer from one EDIGEO sheet.

    - ``cadastre-<insee>-batiments.json.gz``: ``type`` = the sheet's ``DUR`` (01 bâti dur,
      02 bâti léger), ``nom`` null, ``commune``, ``created``/``updated`` from the sheet's
      ``CREAT_DATE``/``UPDATE_DATE``; EPSG:4326.
    - ``BATIMENT.gpkg`` (layer ``BATIMENT``, Lambert-93): ``ID`` = ``BATIMENT`` + the digits of
      the sheet's ``OBJECT_RID`` on 16 characters, ``NATURE``, ``USAGE1``, ``LEGER``, ``ETAT``.
    - ``cadastre-<insee>-parcelles.json.gz``: ``id`` = département (2) + the 12-character IDU,
      ``commune``, ``prefixe``, ``section``, ``numero``, ``contenance`` = ``SUPF``; EPSG:4326.
    """
    insee = sheet.name.removeprefix("edigeo-")[:5]
    work = out / "sheet"
    work.mkdir()
    with tarfile.open(sheet) as tar:
        tar.extractall(work, filter="data")
    thf = next(work.glob("*.THF"))
    b = pyogrio.read_dataframe(thf, layer="BATIMENT_id").set_crs(2154, allow_override=True)
    p = pyogrio.read_dataframe(thf, layer="PARCELLE_id").set_crs(2154, allow_override=True)

    etalab = gpd.GeoDataFrame(
        {
            "type": b["DUR"],
            "nom": None,
            "commune": insee,
            "created": _iso(b["CREAT_DATE"]),
            "updated": _iso(b["UPDATE_DATE"]),
        },
        geometry=b.geometry,
    )
    etalab_buildings = _write_geojson_gz(etalab, out / f"cadastre-{insee}-batiments.json.gz")

    rid = b["OBJECT_RID"].str.extract(r"(\d+)$", expand=False).str.zfill(16)
    bdtopo = gpd.GeoDataFrame(
        {
            "ID": "BATIMENT" + rid,
            "NATURE": "Indifférenciée",
            "USAGE1": "Résidentiel",
            "LEGER": np.where(b["DUR"] == "02", "Oui", "Non"),
            "ETAT": "En service",
        },
        geometry=b.geometry,
    )
    bdtopo_path = out / "BATIMENT.gpkg"
    pyogrio.write_dataframe(bdtopo, bdtopo_path, layer="BATIMENT", driver="GPKG")

    idu = p["IDU"].str.strip()
    parcels = gpd.GeoDataFrame(
        {
            "id": insee[:2] + idu,
            "commune": insee,
            "prefixe": idu.str[3:6],
            "section": idu.str[6:8],
            "numero": idu.str[8:12],
            "contenance": p["SUPF"].round().astype("Int64"),
            "arpente": False,
            "created": _iso(p["CREAT_DATE"]),
            "updated": _iso(p["UPDATE_DATE"]),
        },
        geometry=p.geometry,
    )
    etalab_parcels = _write_geojson_gz(parcels, out / f"cadastre-{insee}-parcelles.json.gz")
    return Derived(etalab_buildings, bdtopo_path, etalab_parcels)
