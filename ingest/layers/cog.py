"""COG reference lists (INSEE Code officiel géographique): regions, départements, commune history.

Tables without geometry (CSV, or the attribute table of any readable file):

* ``regions``: ``code`` (2 digits; also ``reg``), ``nom`` (also ``libelle``): the INSEE
  ``v_region`` file or the ``regions.json`` of ``@etalab/decoupage-administratif`` as CSV.
* ``departements``: ``code`` (``01``..``95``, ``2A``, ``2B``, ``971``..``976``; also ``dep``),
  ``nom`` (``libelle``), ``region`` (``reg``).
* ``communes_anciennes``: the COG history, one row per old INSEE code of a commune merged or
  renumbered since: ``insee_ancienne`` (``ancien_code``), ``insee`` (the current commune;
  ``insee_com``), ``nom`` of the old commune (optional). The sample is derived from the
  package's ``anciensCodes`` and communes déléguées / associées (``scripts/make_samples.py``).

A regions or départements file is the whole list (rows it no longer has are deleted); a
history file replaces the history of the current communes it names (scope ``insee``).
Collectivités d'outre-mer (975, 977, 978, 984, 986-989) are neither regions nor départements
in the COG: rows with such codes are quarantined with the reason.

Loading the history dissolves the communes already loaded that it says were merged since into
their current commune (``ingest/sql/commune_dissolve_table.sql``); a communes load after it
does the same in staging. Either order gives the same communes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from db.engine import read_sql
from ingest.layers.scot import INSEE_RE
from ingest.layers.territoires import REBUILD_TERRITOIRE
from ingest.normalize import TableLoad, add_problem, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

REGION_RE = re.compile(r"^\d{2}$")
# An old code may also be Corsica's before 1976 (20xxx, now 2Axxx or 2Bxxx).
OLD_INSEE_RE = re.compile(rf"{INSEE_RE.pattern}|^20\d{{3}}$")
# 01-19, 21-95 (20 became 2A/2B in 1976), Corsica, the five overseas départements 971-976.
DEPARTEMENT_RE = re.compile(r"^(?:0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6])$")

# Territoires d'industrie perimeters are rebuilt from communes: the dissolve may complete some.
REBUILT_NOTE = (
    "SELECT count(*) FROM rebuilt_perimeter",
    "{n} Territoires d'industrie perimeters rebuilt from their member communes",
)

REGION = table_spec(
    table="region",
    key=("code",),
    columns=("code", "nom"),
    required=("nom",),
)

DEPARTEMENT = table_spec(
    table="departement",
    key=("code",),
    columns=("code", "nom", "reg"),
    required=("nom",),
)

COMMUNE_ANCIENNE = table_spec(
    table="commune_ancienne",
    key=("insee_ancienne",),
    columns=("insee_ancienne", "insee", "nom"),
    required=("insee",),
    scope="insee",
    checks=(
        (
            "EXISTS (SELECT 1 FROM stage_commune_ancienne x WHERE x.insee_ancienne = s.insee)",
            "'current commune ' || s.insee || ' is itself an old code in this file"
            " (merged into ' || (SELECT min(x.insee) FROM stage_commune_ancienne x"
            " WHERE x.insee_ancienne = s.insee) || '): give the final code'",
        ),
    ),
    post_merge_sql=read_sql("ingest.sql", "commune_dissolve_table.sql") + REBUILD_TERRITOIRE,
    notes=(
        (
            "SELECT count(*) FROM dissolved_commune WHERE given <> insee",
            "{n} loaded communes merged or renumbered since dissolved into their current one",
        ),
        REBUILT_NOTE,
    ),
)


def _refuse(problems: np.ndarray, values: pd.Series, pattern: re.Pattern[str], what: str) -> None:
    """Refuse rows whose code (already padded) does not match ``pattern``; blanks are left to
    the required-column check."""
    cells = values.to_numpy(dtype=object)
    bad = np.array([v is not None and not pattern.match(str(v)) for v in cells], dtype=bool)
    if bad.any():
        reasons = np.array([f"{what} {v!r} is not a COG {what}" for v in cells], dtype=object)
        add_problem(problems, bad, reasons)


def prepare_regions(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Regions: ``code``/``reg`` and ``nom``/``libelle``."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["code"] = code(pick(f, "code", "reg", "code_region", source=name), 2)
    frame["nom"] = pick(f, "nom", "libelle", "nom_region", source=name)
    problems = np.full(len(frame), None, dtype=object)
    _refuse(problems, frame["code"], REGION_RE, "region code")
    raw = f.drop(columns="geometry", errors="ignore")
    return [finish(REGION, frame, raw, None, name, problems)]


def prepare_departements(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Départements: ``code``/``dep``, ``nom``/``libelle``, ``region``/``reg``."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["code"] = code(pick(f, "code", "dep", "code_departement", source=name), 2)
    frame["nom"] = pick(f, "nom", "libelle", "nom_departement", source=name)
    frame["reg"] = code(pick(f, "region", "reg", "code_region", source=name, required=False), 2)
    problems = np.full(len(frame), None, dtype=object)
    _refuse(problems, frame["code"], DEPARTEMENT_RE, "département code")
    _refuse(problems, frame["reg"], REGION_RE, "region code")
    raw = f.drop(columns="geometry", errors="ignore")
    return [finish(DEPARTEMENT, frame, raw, None, name, problems)]


def prepare_history(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Old INSEE code -> current commune: ``insee_ancienne``, ``insee``, optional ``nom``."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["insee_ancienne"] = code(pick(f, "insee_ancienne", "ancien_code", source=name), 5)
    frame["insee"] = code(pick(f, "insee", "insee_com", "code_insee", source=name), 5)
    frame["nom"] = pick(f, "nom", "nom_ancien", "libelle", source=name, required=False)
    problems = np.full(len(frame), None, dtype=object)
    _refuse(problems, frame["insee_ancienne"], OLD_INSEE_RE, "INSEE code")
    _refuse(problems, frame["insee"], INSEE_RE, "INSEE code")
    same = (frame["insee_ancienne"] == frame["insee"]).to_numpy(dtype=bool)
    add_problem(problems, same, "old and current INSEE codes are the same")
    raw = f.drop(columns="geometry", errors="ignore")
    return [finish(COMMUNE_ANCIENNE, frame, raw, None, name, problems)]


register(Layer("regions", "COG regions (code, nom)", prepare_regions, ("regions",)))
register(
    Layer(
        "departements",
        "COG départements (code, nom, region)",
        prepare_departements,
        ("departements",),
    )
)
register(
    Layer(
        "communes_anciennes",
        "COG history: old INSEE code -> current commune (insee_ancienne, insee, nom); "
        "dissolves the merged communes already loaded",
        prepare_history,
        ("communes_anciennes", "communes", "territoires"),
    )
)
