"""Economic activity zones (``zae``) from CNIG SITE-ECO files, and the EPCI's CFE file (``cfe``).

**Zones**: a CNIG "sites économiques" ``site-eco`` table as published: a GeoPackage or GeoJSON
(the perimeter is the geometry) or the CSV of the standard's Table Schema, whose perimeter is
the GeoJSON text of ``site_geomsurf`` (WGS84, as the Table Schema's ``geojson`` type says).
``site_id``, ``site_nom``, ``site_type``, ``site_vocadomi``, ``site_etat``, ``site_epci_siren``,
``site_comm_insee`` and ``site_surf_brute`` (ha) fill their columns; every other CNIG field is
kept as published in ``attributes``. A published file is ``validated`` unless a ``statut`` /
``status`` column says ``draft`` (``brouillon``, ``projet``). A zone without EPCI takes the
EPCI of its commune (``commune`` table). A file replaces the zones of the EPCIs it names.

**CFE**: the EPCI's list of land units or premises with their last CFE year, one row per parcel
(``idpar`` / ``idu``, 14 characters) or per premises on it (``invariant`` / ``local``), and
``annee_derniere_cfe`` (or ``derniere_annee_cfe``, ``annee_cfe``). No national layout exists:
these names are the ones the loader accepts. A file replaces the communes it covers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.geometry import WGS84
from ingest.errors import LayoutError
from ingest.jsonb import json_ready
from ingest.normalize import TableLoad, add_problem, code, finish, has_columns, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

# Our columns and the CNIG field each comes from (the rest goes to ``attributes``).
CNIG_COLUMNS: dict[str, str] = {
    "id": "site_id",
    "nom": "site_nom",
    "site_type": "site_type",
    "vocadomi": "site_vocadomi",
    "etat": "site_etat",
    "epci_siren": "site_epci_siren",
    "insee": "site_comm_insee",
    "surface_ha": "site_surf_brute",
}
STATUS_COLUMNS = ("statut", "status")
DRAFT_WORDS = frozenset({"draft", "brouillon", "projet", "proposition"})
GEOJSON_COLUMN = "site_geomsurf"
SOURCE_CNIG = "CNIG SITE-ECO"

_FILL_EPCI = """
UPDATE {stage} s SET insee = c.insee FROM commune c
WHERE s.insee IS NULL AND ST_Intersects(c.geom, ST_PointOnSurface(s.geom));
UPDATE {stage} s SET epci_siren = c.siren_epci FROM commune c
WHERE s.epci_siren IS NULL AND c.insee = s.insee;
"""

ZAE = table_spec(
    table="zae",
    key=("id",),
    columns=(*CNIG_COLUMNS, "status", "source", "attributes"),
    geometries=("geom",),
    required=("nom", "status"),
    scope="epci_siren",
    post_stage_sql=_FILL_EPCI,
    checks=(
        (
            "s.epci_siren IS NULL",
            "'no EPCI: site_epci_siren is blank and commune ' || coalesce(s.insee, '(none)')"
            " || ' is not in the commune table (load communes first)'",
        ),
    ),
)

CFE = table_spec(
    table="cfe_premises",
    key=("idu", "local_id"),
    columns=("idu", "local_id", "insee", "last_cfe_year"),
    scope="insee",
)

IDU_RE = re.compile(r"^[0-9]{2}[0-9AB][0-9]{2}[0-9]{3}[0-9A-Z]{2}[0-9]{4}$")
YEAR_RE = re.compile(r"^(19|20)[0-9]{2}$")


def _geojson_perimeters(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Shapely geometries from GeoJSON text cells, and why a cell has none (else None)."""
    geoms = np.full(len(text), None, dtype=object)
    problems = np.full(len(text), None, dtype=object)
    for i, cell in enumerate(text.to_numpy(dtype=object)):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or not str(cell).strip():
            problems[i] = f"missing geometry ({GEOJSON_COLUMN} is blank)"
            continue
        try:
            geoms[i] = shapely.from_geojson(str(cell))
        except shapely.errors.GEOSException as exc:
            problems[i] = f"{GEOJSON_COLUMN} is not GeoJSON ({str(exc).splitlines()[0]})"
    return geoms, problems


def _status(cells: pd.Series) -> np.ndarray:
    words = cells.map(lambda v: str(v).strip().lower() if isinstance(v, str) else "")
    return np.where(words.isin(DRAFT_WORDS).to_numpy(), "draft", "validated").astype(object)


def _attributes(f: pd.DataFrame) -> list[dict[str, object] | None]:
    used = {v.lower() for v in CNIG_COLUMNS.values()} | {GEOJSON_COLUMN, *STATUS_COLUMNS}
    extra = [c for c in f.columns if str(c).lower() not in used and not str(c).startswith("_")]
    extra = [c for c in extra if c != "geometry"]
    rows: list[dict[str, object] | None] = []
    for record in f[extra].to_dict("records"):
        kept = {str(k): json_ready(v) for k, v in record.items() if v is not None and v == v}
        rows.append(kept or None)
    return rows


def prepare_zae(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """CNIG SITE-ECO rows to ``zae`` rows (see the module docstring)."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    for column, field in CNIG_COLUMNS.items():
        required = column in ("id", "nom")
        frame[column] = pick(f, field, source=name, required=required)
    frame["insee"] = code(frame["insee"].map(lambda v: str(v)[:5] if isinstance(v, str) else v), 5)
    frame["epci_siren"] = code(frame["epci_siren"], 9)
    frame["status"] = _status(pick(f, *STATUS_COLUMNS, source=name, required=False))
    frame["source"] = SOURCE_CNIG
    frame["attributes"] = _attributes(f)
    problems = np.full(len(frame), None, dtype=object)
    crs: CRS | None = source.crs
    if source.has_geometry:
        frame["geom"] = f.geometry.to_numpy()
    elif has_columns(f, GEOJSON_COLUMN):
        geoms, reasons = _geojson_perimeters(pick(f, GEOJSON_COLUMN, source=name))
        frame["geom"] = geoms
        add_problem(problems, reasons != None, reasons)  # noqa: E711 - elementwise
        crs = WGS84
    else:
        raise LayoutError(f"{name}: no geometry and no {GEOJSON_COLUMN} column (CNIG site-eco)")
    return [finish(ZAE, frame, f, crs, name, problems)]


def prepare_cfe(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """CFE rows (parcel or premises, last CFE year) to ``cfe_premises``."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    idu = pick(f, "idpar", "idu", "id_parcelle", "parcelle", source=name)
    frame["idu"] = idu.map(lambda v: str(v).strip().upper() if isinstance(v, str) else None)
    local = pick(f, "invariant", "local", "id_local", source=name, required=False)
    frame["local_id"] = local.map(lambda v: str(v).strip() if isinstance(v, str) else "")
    year = pick(f, "annee_derniere_cfe", "derniere_annee_cfe", "annee_cfe", source=name)
    frame["last_cfe_year"] = year
    frame["insee"] = frame["idu"].str[:5]
    problems = np.full(len(frame), None, dtype=object)
    bad_idu = np.array([not (isinstance(v, str) and IDU_RE.match(v)) for v in frame["idu"]])
    add_problem(
        problems,
        bad_idu,
        np.array([f"malformed parcel id {v!r} (14 characters expected)" for v in idu], object),
    )
    cells = year.map(lambda v: str(v).strip() if isinstance(v, str) else "")
    bad_year = np.array([bool(v) and not YEAR_RE.match(v) for v in cells], dtype=bool)
    add_problem(
        problems,
        bad_year,
        np.array([f"last CFE year {v!r} is not a year" for v in year], dtype=object),
    )
    return [finish(CFE, frame, f, None, name, problems)]


register(
    Layer(
        "zae",
        "Economic activity zones: CNIG SITE-ECO site-eco files (GeoPackage, GeoJSON, or CSV "
        "with site_geomsurf); a file replaces the zones of the EPCIs it names",
        prepare_zae,
        ("zae",),
    )
)
register(
    Layer(
        "cfe",
        "The EPCI's CFE file: parcel (idpar) or premises (invariant) and last CFE year "
        "(annee_derniere_cfe); a file replaces the communes it covers",
        prepare_cfe,
        ("cfe",),
    )
)
