"""SIRENE establishments (``establishment``): the INSEE stock file's layout, placed in Lambert-93.

Columns of ``StockEtablissement`` (CSV, ``,``-separated): ``siret``, ``siren``,
``codeCommuneEtablissement``, ``activitePrincipaleEtablissement`` (NAF),
``etatAdministratifEtablissement`` (``A`` active, ``F`` closed), ``dateDebut`` (start of the
current period: the closing date of a closed establishment), ``dateCreationEtablissement``,
``enseigne1Etablissement`` / ``denominationUsuelleEtablissement``,
``trancheEffectifsEtablissement``, and the point: ``coordonneeLambertAbscisseEtablissement`` /
``coordonneeLambertOrdonneeEtablissement`` (EPSG:2154), or ``x`` / ``y`` of the geolocated
edition, or its ``longitude`` / ``latitude`` (a geometry read from the file is used as is).

An establishment without coordinates cannot be assigned to a land unit: quarantined with the
reason. The name (enseigne) is kept only where the establishment's data are public
(``statutDiffusionEtablissement`` ``O``): a partially diffusible one is an individual's.
A file replaces the communes it covers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from db.models import SRID
from ingest.normalize import TableLoad, add_problem, code, finish, has_columns, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

ESTABLISHMENT = table_spec(
    table="establishment",
    key=("siret",),
    columns=(
        "siret",
        "siren",
        "insee",
        "naf",
        "etat",
        "state_since",
        "created_on",
        "enseigne",
        "tranche_effectif",
    ),
    geometries=("geom",),
    required=("siren", "etat"),
    scope="insee",
)

X_COLUMNS = ("coordonneeLambertAbscisseEtablissement", "x")
Y_COLUMNS = ("coordonneeLambertOrdonneeEtablissement", "y")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LAMBERT93 = CRS.from_epsg(SRID)


def _lambert_points(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Points from Lambert-93 text cells, and why a row has none (else None)."""
    xs = pd.to_numeric(x.map(lambda v: str(v).replace(",", ".") if v else None), errors="coerce")
    ys = pd.to_numeric(y.map(lambda v: str(v).replace(",", ".") if v else None), errors="coerce")
    ok = (xs.notna() & ys.notna()).to_numpy()
    points = np.full(len(x), None, dtype=object)
    points[ok] = shapely.points(xs.to_numpy()[ok], ys.to_numpy()[ok])
    reasons = np.full(len(x), None, dtype=object)
    for pos in np.flatnonzero(~ok):
        reasons[pos] = (
            f"no Lambert-93 coordinates ({X_COLUMNS[0]} = {x.iloc[pos]!r}, "
            f"{Y_COLUMNS[0]} = {y.iloc[pos]!r})"
        )
    return points, reasons


def _dates(cells: pd.Series) -> pd.Series:
    return cells.map(lambda v: str(v)[:10] if isinstance(v, str) and v.strip() else None)


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """SIRENE stock rows to ``establishment`` rows at their Lambert-93 point."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["siret"] = code(pick(f, "siret", source=name), 14)
    siren = pick(f, "siren", source=name, required=False)
    frame["siren"] = code(siren.where(siren.notna(), frame["siret"].str[:9]), 9)
    frame["insee"] = code(pick(f, "codeCommuneEtablissement", source=name, required=False), 5)
    frame["naf"] = pick(f, "activitePrincipaleEtablissement", source=name, required=False)
    etat = pick(f, "etatAdministratifEtablissement", source=name)
    frame["etat"] = etat.map(lambda v: str(v).strip().upper() if isinstance(v, str) else None)
    frame["state_since"] = _dates(pick(f, "dateDebut", source=name, required=False))
    frame["created_on"] = _dates(pick(f, "dateCreationEtablissement", source=name, required=False))
    public = pick(f, "statutDiffusionEtablissement", source=name, required=False)
    enseigne = pick(f, "enseigne1Etablissement", source=name, required=False)
    usual = pick(f, "denominationUsuelleEtablissement", source=name, required=False)
    label = enseigne.where(enseigne.notna(), usual)
    frame["enseigne"] = label.where(public.isna() | (public == "O"), None)
    frame["tranche_effectif"] = pick(
        f, "trancheEffectifsEtablissement", source=name, required=False
    )
    problems = np.full(len(frame), None, dtype=object)
    bad_state = ~frame["etat"].isin(["A", "F"]).to_numpy()
    add_problem(
        problems,
        bad_state,
        np.array([f"etatAdministratifEtablissement {v!r} is not A or F" for v in etat], object),
    )
    for col in ("state_since", "created_on"):
        bad = frame[col].map(lambda v: v is not None and not DATE_RE.match(v)).to_numpy(bool)
        add_problem(problems, bad, f"{col}: not a YYYY-MM-DD date")
    crs = source.crs
    if source.has_geometry and f.geometry.notna().any():
        frame["geom"] = f.geometry.to_numpy()
    elif has_columns(f, X_COLUMNS[0]) or has_columns(f, "x"):
        points, reasons = _lambert_points(
            pick(f, *X_COLUMNS, source=name), pick(f, *Y_COLUMNS, source=name)
        )
        frame["geom"] = points
        add_problem(problems, reasons != None, reasons)  # noqa: E711 - elementwise
        crs = LAMBERT93
    else:
        frame["geom"] = None
    return [finish(ESTABLISHMENT, frame, f, crs, name, problems)]


register(
    Layer(
        "establishments",
        "SIRENE establishments: INSEE StockEtablissement CSV with Lambert-93 coordinates "
        "(or the geolocated edition); a file replaces the communes it covers",
        prepare,
        ("establishments",),
    )
)
