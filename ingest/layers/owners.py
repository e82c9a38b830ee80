"""Parcel owners (``parcel_owner``) from the DGFiP "fichiers des parcelles des personnes morales".

The published CSV layout (``;``-separated, one row per right on a parcel, repeated for each of
its tax subdivisions): ``Département``, ``Code Commune`` (3 digits), ``Préfixe``, ``Section``,
``N° plan`` (each "(Références cadastrales)"), ``Contenance``, ``Code droit``, ``N° MAJIC``,
``N° SIREN``, ``Groupe personne``, ``Forme juridique``, ``Forme juridique abrégée`` and
``Dénomination`` (each "(Propriétaire(s) parcelle)"). Headers are matched on their first words,
so the older and newer spellings (``N° plan``, ``Numéro plan``...) both read.

Private persons are never named: a right without SIREN nor ``Groupe personne`` (the file holds
legal persons only; an EPCI adding its MAJIC extract brings private persons in), or held by an
individual entrepreneur (``EI``, forme juridique 1000), is stored as ``personne physique`` with
neither name nor SIREN, keyed by its MAJIC owner number, and the name is scrubbed from the
quarantine's raw record too. A file replaces the communes it covers.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from ingest.errors import LayoutError
from ingest.normalize import TableLoad, add_problem, code, finish
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

LEGAL = "personne morale"
PRIVATE = "personne physique"
# Individual entrepreneurs are natural persons: their "dénomination" is a person's name.
PRIVATE_FORMS = frozenset({"ei", "entrepreneur individuel", "1000", "personne physique", "pp"})

PARCEL_OWNER = table_spec(
    table="parcel_owner",
    key=("idu", "owner_key", "code_droit"),
    columns=(
        "idu",
        "owner_key",
        "code_droit",
        "insee",
        "owner_type",
        "siren",
        "denomination",
        "forme_juridique",
        "groupe_personne",
        "contenance_m2",
    ),
    required=("insee", "owner_type"),
    scope="insee",
)

# Our field -> the normalised start of the DGFiP header (accents, case and "(...)" dropped).
HEADERS: dict[str, tuple[str, ...]] = {
    "dep": ("departement",),
    "com": ("code commune",),
    "prefixe": ("prefixe",),
    "section": ("section",),
    "numero": ("n plan", "no plan", "numero plan", "n de plan"),
    "contenance": ("contenance",),
    "code_droit": ("code droit",),
    "majic": ("n majic", "no majic", "numero majic"),
    "siren": ("n siren", "no siren", "numero siren", "siren"),
    "groupe": ("groupe personne",),
    "forme": ("forme juridique",),
    "forme_abregee": ("forme juridique abregee",),
    "denomination": ("denomination",),
}
OPTIONAL = frozenset({"prefixe", "contenance", "code_droit", "majic", "groupe", "forme_abregee"})


def header_key(header: str) -> str:
    """A DGFiP header without accents, case, ``°`` and parenthesised part.

    Example:
        >>> header_key("N° plan (Références cadastrales)")
        'n plan'
    """
    text = re.sub(r"\(.*", "", header).replace("°", " ").lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _columns(f: pd.DataFrame, name: str) -> dict[str, pd.Series]:
    keys = {header_key(str(c)): c for c in f.columns if not str(c).startswith("_")}
    out: dict[str, pd.Series] = {}
    for field, starts in HEADERS.items():
        found = next((keys[s] for s in starts if s in keys), None)
        if found is None and field not in OPTIONAL:
            raise LayoutError(
                f"{name}: no column {starts[0]!r} of the DGFiP personnes morales layout; "
                f"columns are: {', '.join(str(c) for c in f.columns if not str(c).startswith('_'))}"
            )
        blank = pd.Series([None] * len(f), index=f.index, dtype=object)
        out[field] = blank if found is None else f[found].map(_text)
    return out


def _text(v: object) -> str | None:
    if not isinstance(v, str):
        return None
    return " ".join(v.split()) or None


def _prefixed(prefix: str, values: pd.Series) -> pd.Series:
    return values.map(lambda v: prefix + v if isinstance(v, str) else None).astype(object)


def _private(
    siren: pd.Series, groupe: pd.Series, forme: pd.Series, abregee: pd.Series
) -> np.ndarray:
    forms = forme.str.lower().isin(PRIVATE_FORMS) | abregee.str.lower().isin(PRIVATE_FORMS)
    anonymous = siren.isna() & groupe.isna()
    private: np.ndarray = (forms.fillna(False) | anonymous).to_numpy(dtype=bool)
    return private


def _idu(c: dict[str, pd.Series]) -> pd.Series:
    dep = code(c["dep"], 2)
    com = code(c["com"], 3)
    prefixe = c["prefixe"].map(lambda v: v.zfill(3) if isinstance(v, str) else "000")
    section = c["section"].map(lambda v: v.upper().rjust(2, "0") if isinstance(v, str) else None)
    numero = c["numero"].map(lambda v: v.zfill(4) if isinstance(v, str) else None)
    parts = pd.concat([dep, com, prefixe, section, numero], axis=1)
    return parts.apply(lambda r: "".join(r) if r.notna().all() else None, axis=1).astype(object)


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """DGFiP rights on parcels to ``parcel_owner`` rows, private persons unnamed."""
    f, name = source.frame, str(source.path)
    c = _columns(f, name)
    private = _private(c["siren"], c["groupe"], c["forme"], c["forme_abregee"])
    frame = f[["_feature_index"]].copy()
    frame["idu"] = _idu(c)
    frame["insee"] = frame["idu"].str[:5]
    frame["code_droit"] = c["code_droit"].fillna("")
    frame["owner_type"] = np.where(private, PRIVATE, LEGAL).astype(object)
    siren = code(c["siren"], 9)
    frame["siren"] = siren.where(~private, None)
    frame["denomination"] = c["denomination"].where(~private, None)
    frame["forme_juridique"] = c["forme"].where(~private, None)
    frame["groupe_personne"] = c["groupe"]
    frame["contenance_m2"] = c["contenance"]
    majic = c["majic"]
    legal_key = siren.fillna(_prefixed("MAJIC:", majic)).fillna(
        _prefixed("NOM:", c["denomination"])
    )
    private_key = _prefixed("PP:", majic).fillna(PRIVATE)
    frame["owner_key"] = np.where(private, private_key.to_numpy(), legal_key.to_numpy())
    problems = np.full(len(frame), None, dtype=object)
    add_problem(problems, frame["idu"].isna().to_numpy(), "incomplete cadastral reference")
    add_problem(
        problems,
        frame["owner_key"].isna().to_numpy(),
        "legal person without SIREN, MAJIC number nor name",
    )
    # One row per tax subdivision repeats the right: the first one stands for the parcel.
    repeat = frame.duplicated(["idu", "owner_key", "code_droit"]).to_numpy() & (problems == None)  # noqa: E711
    raw = f.copy()
    # Privacy: neither the name nor the SIREN of a private person reaches the quarantine.
    for column in f.columns:
        if header_key(str(column)) in ("denomination", *HEADERS["siren"]):
            raw[column] = raw[column].where(~private, None)
    keep = ~repeat
    return [
        finish(PARCEL_OWNER, frame[keep], raw[keep], None, name, np.asarray(problems[keep], object))
    ]


register(
    Layer(
        "owners",
        "Parcel owners: DGFiP fichiers des parcelles des personnes morales (CSV as published); "
        "private persons are stored unnamed; a file replaces the communes it covers",
        prepare,
        ("owners",),
    )
)
