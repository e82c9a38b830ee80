"""ENAF consumption flows per commune and territorialised reduction targets (ZAN).

Two layouts of the same Cerema data ("fichiers fonciers", portail de l'artificialisation):

* wide, one row per commune ``idcom``: total flows ``nafYYartZZ`` (m² consumed between 1 January
  20YY and 1 January 20ZZ, ZZ = YY + 1) and destinations ``artYYactZZ`` (activity), ``hab``
  (housing), ``mix``, ``rou`` (roads), ``fer`` (rail), ``inc`` (unknown). Whatever years the file
  holds are read; multi-year totals (``naf09art24``) are ignored, they are sums of the others.
* long, MonDiagArtif (SPARTE) export: one row per territory and year, ``land_type``, ``code``,
  ``annee``, ``total``, ``activite``, ``habitat``, ``mixte``, ``route``, ``ferroviaire``,
  ``inconnu``. Commune rows (``COMM``) are loaded; EPCI rows are only a check (their sum by year
  must equal their communes'), logged when they disagree.

``year`` N in ``enaf_flow`` is the flow from 1 January N to 1 January N+1.

Flows keyed by the code of a commune merged since go to the current commune, summed with its
own, when the COG history (``commune_ancienne``, layer ``communes_anciennes``) has that code
(``ingest/sql/enaf_remap.sql``), and the flows an earlier load stored under such a code are
dropped; the summary says how many codes and rows were remapped.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from db.engine import read_sql
from ingest.errors import LayoutError
from ingest.normalize import TableLoad, add_problem, code, finish, has_columns, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

log = logging.getLogger(__name__)

ENAF = table_spec(
    table="enaf_flow",
    key=("insee", "year", "destination"),
    columns=("insee", "year", "destination", "area_m2"),
    required=("area_m2",),
    scope="insee",
    post_stage_sql=read_sql("ingest.sql", "enaf_remap.sql"),
    post_merge_sql=read_sql("ingest.sql", "enaf_remap_after.sql"),
    notes=(
        (
            "SELECT count(*) FROM remapped_enaf",
            "{n} old INSEE codes (COG history) remapped to their current commune, flows summed",
        ),
        ("SELECT sum(flow_rows) FROM remapped_enaf", "{n} flow rows remapped"),
        (
            "SELECT sum(flow_rows) FROM replaced_enaf",
            "{n} flow rows stored under those old codes replaced",
        ),
    ),
)

ZAN_TARGET = table_spec(
    table="zan_target",
    key=("territory_type", "territory_code"),
    columns=("territory_type", "territory_code", "nom", "reduction_pct", "document"),
    required=("reduction_pct",),
)

_WIDE_TOTAL = re.compile(r"^naf(\d\d)art(\d\d)$", re.IGNORECASE)
_WIDE_DEST = re.compile(r"^art(\d\d)(act|hab|mix|rou|fer|inc)(\d\d)$", re.IGNORECASE)
WIDE_DESTINATIONS = {
    "act": "activite",
    "hab": "habitat",
    "mix": "mixte",
    "rou": "route",
    "fer": "ferroviaire",
    "inc": "inconnu",
}
LONG_DESTINATIONS = ("total", "activite", "habitat", "mixte", "route", "ferroviaire", "inconnu")


def wide_columns(columns: list[str]) -> dict[str, tuple[int, str]]:
    """The one-year flow columns of a wide Cerema file: column -> (year, destination).

    Example:
        >>> wide_columns(["idcom", "naf11art12", "art11act12", "naf09art24"])
        {'naf11art12': (2011, 'total'), 'art11act12': (2011, 'activite')}
    """
    found: dict[str, tuple[int, str]] = {}
    for col in columns:
        if m := _WIDE_TOTAL.match(col):
            start, end = int(m[1]), int(m[2])
            if end == start + 1:
                found[col] = (2000 + start, "total")
        elif m := _WIDE_DEST.match(col):
            start, end = int(m[1]), int(m[3])
            if end == start + 1:
                found[col] = (2000 + start, WIDE_DESTINATIONS[m[2].lower()])
    return found


def _melt(
    f: pd.DataFrame, insee: pd.Series, value_cols: dict[str, tuple[int, str]]
) -> pd.DataFrame:
    """One row per (source row, flow column), keeping the source position for the quarantine."""
    parts = []
    for col, (year, destination) in value_cols.items():
        parts.append(
            pd.DataFrame(
                {
                    "_pos": np.arange(len(f)),
                    "insee": insee.to_numpy(),
                    "year": year,
                    "destination": destination,
                    "area_m2": f[col].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _check_epci_rows(f: pd.DataFrame, communes: pd.DataFrame, name: str) -> None:
    """Compare MonDiagArtif EPCI rows with the sum of the file's commune rows (log only)."""
    epci = f[f["land_type"].str.upper() == "EPCI"]
    if epci.empty:
        return
    totals = pd.to_numeric(communes["total"], errors="coerce").groupby(communes["annee"]).sum()
    for _, row in epci.iterrows():
        expected = totals.get(row["annee"])
        given = pd.to_numeric(row["total"], errors="coerce")
        if expected is not None and abs(float(expected) - float(given)) > 1.0:
            log.warning(
                "%s: EPCI %s year %s: total %s m² but its communes sum to %s m²",
                name,
                row["code"],
                row["annee"],
                given,
                expected,
            )


def prepare_enaf(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Wide (Cerema ``idcom``) or long (MonDiagArtif ``land_type``/``annee``) ENAF flows."""
    f, name = source.frame, str(source.path)
    if has_columns(f, "land_type", "annee", "total"):
        lower = {str(c).lower(): c for c in f.columns}
        f = f.rename(columns={v: k for k, v in lower.items()})
        communes = f[f["land_type"].str.upper().isin(["COMM", "COMMUNE", "COM"])]
        _check_epci_rows(f, communes, name)
        insee = code(communes["code"], 5)
        melted_parts = []
        for dest in LONG_DESTINATIONS:
            if dest in communes:
                melted_parts.append(
                    pd.DataFrame(
                        {
                            "_pos": np.arange(len(communes)),
                            "insee": insee.to_numpy(),
                            "year": communes["annee"].to_numpy(),
                            "destination": dest,
                            "area_m2": communes[dest].to_numpy(),
                        }
                    )
                )
        melted = pd.concat(melted_parts, ignore_index=True)
        raw_rows = communes
    else:
        value_cols = wide_columns([str(c) for c in f.columns])
        if not value_cols:
            raise LayoutError(
                f"{name}: no ENAF flow column (nafYYartZZ, artYYactZZ...) and not the "
                "MonDiagArtif layout (land_type, code, annee, total...)"
            )
        insee = code(pick(f, "idcom", "insee", "code_insee", "codgeo", source=name), 5)
        melted = _melt(f, insee, value_cols)
        raw_rows = f
    raw = raw_rows.iloc[melted["_pos"].to_numpy()].drop(columns="geometry", errors="ignore")
    frame = melted.drop(columns="_pos")
    frame["_feature_index"] = raw["_feature_index"].to_numpy()
    problems = np.full(len(frame), None, dtype=object)
    area = pd.to_numeric(frame["area_m2"], errors="coerce").to_numpy(dtype=float)
    # Cerema balances rounded destinations with -1 m² entries: only a negative total is wrong.
    negative_total = (area < 0) & (frame["destination"] == "total").to_numpy()
    add_problem(
        problems,
        negative_total,
        np.array(
            [
                f"negative ENAF total {a} m² (year {y})"
                for a, y in zip(area, frame["year"], strict=True)
            ],
            dtype=object,
        ),
    )
    return [finish(ENAF, frame, raw, None, name, problems)]


_TARGET_TYPES = {
    "comm": "commune",
    "commune": "commune",
    "epci": "epci",
    "scot": "scot",
    "region": "region",
    "departement": "departement",
    "depart": "departement",
    "custom": "custom",
}


def prepare_targets(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Territorialised reduction targets (SPARTE ``territorialisation_objectif`` or generic).

    Columns: ``land_type``/``territory_type``, ``land_code``/``territory_code``,
    ``objectif_de_reduction``/``reduction_pct`` (percent), optional ``nom_document``/``document``.
    """
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    types = pick(f, "land_type", "territory_type", source=name)
    frame["territory_type"] = types.map(lambda v: _TARGET_TYPES.get(str(v).strip().lower()))
    frame["territory_code"] = pick(f, "land_code", "territory_code", source=name)
    # EPCI SIRENs lose their leading zero in spreadsheets; pad by type.
    frame.loc[frame["territory_type"] == "epci", "territory_code"] = code(
        frame.loc[frame["territory_type"] == "epci", "territory_code"], 9
    )
    frame.loc[frame["territory_type"] == "commune", "territory_code"] = code(
        frame.loc[frame["territory_type"] == "commune", "territory_code"], 5
    )
    frame["nom"] = pick(f, "nom", "land_name", source=name, required=False).to_numpy()
    frame["reduction_pct"] = pick(f, "objectif_de_reduction", "reduction_pct", source=name)
    doc = pick(f, "nom_document", "document", source=name, required=False)
    url = pick(f, "document_url", source=name, required=False)
    frame["document"] = [
        " ".join(str(x) for x in (d, u) if isinstance(x, str) and x) or None
        for d, u in zip(doc, url, strict=True)
    ]
    problems = np.full(len(frame), None, dtype=object)
    add_problem(
        problems,
        frame["territory_type"].isna().to_numpy(),
        np.array([f"unknown territory type {v!r}" for v in types], dtype=object),
    )
    pct = pd.to_numeric(frame["reduction_pct"], errors="coerce").to_numpy(dtype=float)
    add_problem(problems, (pct < 0) | (pct > 100), "reduction_pct outside 0-100")
    return [finish(ZAN_TARGET, frame, f, None, name, problems)]


register(
    Layer(
        "enaf",
        "ENAF consumption per commune (Cerema wide nafYYartZZ, or MonDiagArtif long layout)",
        prepare_enaf,
        ("enaf",),
    )
)
register(
    Layer(
        "zan_targets",
        "Territorialised ENAF reduction targets (percent) overriding the default 50%",
        prepare_targets,
        ("zan_targets",),
    )
)
