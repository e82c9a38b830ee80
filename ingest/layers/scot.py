"""Commune -> SCoT membership (``scot_membre``): SCoT ZAN accounts and SCoT-level targets.

A table without geometry (CSV, or the attribute table of a GeoJSON/GeoPackage), one row per
commune of a SCoT. Accepted columns (case-insensitive, first found wins):

* SCoT id: ``scot_id``, ``id_scot``, ``code_scot`` (DGALN/Sudocuh ids as SPARTE uses them,
  e.g. ``10394``, kept as text);
* SCoT name: ``nom_scot``, ``lib_scot``, ``scot`` (the Cerema ENAF "fichiers fonciers" file has
  only ``scot``, the name);
* commune: ``insee``, ``insee_com``, ``code_insee``, ``idcom``, ``codgeo``, ``insee_commune``.

So the layer reads a plain ``scot_id;nom_scot;insee`` CSV, the DGALN/SPARTE SCoT tables and
the Cerema ENAF file itself. When the file has no id column, the id is :func:`scot_slug` of
the name (``SCoT des Rives du Rhône`` -> ``scot-des-rives-du-rhone``): deterministic, but two
SCoTs of the same name would share it, so an official id should be preferred whenever the file
has one (and a file with an id column gets no slug for a row whose id is blank: that row is
quarantined, so one file never mixes two id schemes).

Scope of replacement: a file replaces the membership of the SCoT(s) it names and leaves the
others alone (``scope = scot_id``). Rows refused: missing or malformed INSEE code (five
characters with a real département part), no SCoT (a commune outside any SCoT in a national
Cerema file is such a row: quarantined, not dropped unsaid), a commune listed twice in one
SCoT (duplicate key), and a commune put in a second SCoT (a commune belongs to one SCoT only,
in law): by the same file (the first row is kept), or by a SCoT of another file that this one
does not name (the stored membership is kept; replace or remove that SCoT first).
Commune codes are not checked against the ``commune`` table, so the layer can be loaded first.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from ingest.errors import LayoutError
from ingest.normalize import TableLoad, add_problem, code, finish, has_columns, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

ID_COLUMNS = ("scot_id", "id_scot", "code_scot")
NAME_COLUMNS = ("nom_scot", "lib_scot", "scot")
INSEE_COLUMNS = ("insee", "insee_com", "code_insee", "idcom", "codgeo", "insee_commune")

# Départements 01-19, 21-95 (20 became 2A/2B), Corsica, overseas 971-978 (3-digit départements).
INSEE_RE = re.compile(r"^(?:(?:0[1-9]|1\d|2[1-9]|[3-8]\d|9[0-5])\d{3}|2[AB]\d{3}|97[1-8]\d{2})$")

# A SCoT's communes in the stored table that this file would put in another SCoT, when this
# file does not name the stored one (naming it replaces its membership, so no conflict).
_ELSEWHERE = (
    "FROM scot_membre t WHERE t.insee = s.insee AND t.scot_id <> s.scot_id"
    " AND NOT EXISTS (SELECT 1 FROM stage_scot_membre x WHERE x.scot_id = t.scot_id)"
)

SCOT_MEMBRE = table_spec(
    table="scot_membre",
    key=("scot_id", "insee"),
    columns=("scot_id", "insee", "nom_scot"),
    scope="scot_id",
    checks=(
        (
            "EXISTS (SELECT 1 " + _ELSEWHERE + ")",
            "'commune ' || s.insee || ' is already in SCoT '"
            " || (SELECT min(t.scot_id) " + _ELSEWHERE + ")"
            " || ', which this file does not name: a commune belongs to one SCoT only'"
            " || ' (reload that SCoT without it, or remove it, first)'",
        ),
    ),
)


def scot_slug(name: str) -> str:
    """The id of a SCoT known by its name only: lower case ASCII words joined by ``-``.

    Accents are dropped, ``œ``/``æ`` spelt out, and every run of other characters (spaces,
    apostrophes, punctuation) becomes one hyphen.

    Example:
        >>> scot_slug("SCoT des Rives du Rhône")
        'scot-des-rives-du-rhone'
        >>> scot_slug("  SCoT de l'Agglomération  Cœur d'Essonne ")
        'scot-de-l-agglomeration-coeur-d-essonne'
    """
    text = name.lower().replace("œ", "oe").replace("æ", "ae")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _text(series: pd.Series) -> pd.Series:
    """Stripped text with inner blanks collapsed; blank or missing as None."""

    def one(v: object) -> str | None:
        words = [] if v is None or pd.isna(v) else str(v).split()
        return " ".join(words) or None

    return series.map(one).astype(object)


def _first_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if has_columns(frame, n)), None)


def mark_second_scot(frame: pd.DataFrame, problems: np.ndarray) -> None:
    """Refuse each row that puts a commune in another SCoT than its first row in the file.

    Rows repeating the same (SCoT, commune) pair are left to the duplicate-key check.
    """
    ok = np.flatnonzero(problems == None)  # noqa: E711 - elementwise on an object array
    sub = frame.iloc[ok][["insee", "scot_id", "_feature_index"]]
    first = sub.groupby("insee", sort=False)[["scot_id", "_feature_index"]].transform("first")
    other = (sub["scot_id"] != first["scot_id"]).to_numpy()
    for pos, insee, scot_id, first_scot, first_index in zip(
        ok[other],
        sub["insee"].to_numpy()[other],
        sub["scot_id"].to_numpy()[other],
        first["scot_id"].to_numpy()[other],
        first["_feature_index"].to_numpy()[other],
        strict=True,
    ):
        problems[pos] = (
            f"commune {insee} in a second SCoT {scot_id}: already in SCoT {first_scot} at "
            f"feature {int(first_index)} (a commune belongs to one SCoT only)"
        )


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Membership rows (SCoT id, commune INSEE code, SCoT name) from any accepted layout."""
    f, name = source.frame, str(source.path)
    id_col = _first_column(f, ID_COLUMNS)
    name_col = _first_column(f, NAME_COLUMNS)
    if id_col is None and name_col is None:
        raise LayoutError(
            f"{name}: no SCoT column ({' / '.join(ID_COLUMNS + NAME_COLUMNS)}); columns are: "
            f"{', '.join(str(c) for c in f.columns if not str(c).startswith('_'))}"
        )
    given_insee = pick(f, *INSEE_COLUMNS, source=name)
    frame = f[["_feature_index"]].copy()
    frame["insee"] = code(given_insee, 5)
    names = _text(pick(f, *NAME_COLUMNS, source=name, required=False))
    if id_col is not None:
        frame["scot_id"] = _text(code(pick(f, *ID_COLUMNS, source=name), 0))
    else:
        frame["scot_id"] = names.map(lambda n: None if n is None else scot_slug(n) or None)
    if name_col is not None:
        # Only a file with names writes them: an id-only file keeps the stored names.
        frame["nom_scot"] = names
    problems = np.full(len(frame), None, dtype=object)
    insee = frame["insee"].to_numpy(dtype=object)
    missing = np.array([v is None for v in insee], dtype=bool)
    add_problem(problems, missing, "missing INSEE code")
    malformed = np.array([v is not None and not INSEE_RE.match(v) for v in insee], dtype=bool)
    if malformed.any():
        add_problem(
            problems,
            malformed,
            np.array([f"malformed INSEE code {str(v)!r}" for v in given_insee], dtype=object),
        )
    no_scot = frame["scot_id"].isna().to_numpy()
    add_problem(
        problems,
        no_scot,
        f"missing SCoT id ({id_col})" if id_col else f"missing SCoT name ({name_col})",
    )
    mark_second_scot(frame, problems)
    raw = f.drop(columns="geometry", errors="ignore")
    return [finish(SCOT_MEMBRE, frame, raw, None, name, problems)]


register(
    Layer(
        "scots",
        "Commune -> SCoT membership (scot_id/id_scot, nom_scot/scot, insee/idcom; the Cerema "
        "ENAF file too); a file replaces the SCoTs it names",
        prepare,
        ("scots",),
    )
)
