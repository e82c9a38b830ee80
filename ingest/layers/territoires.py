"""Territoires d'industrie (ANCT): perimeters and member groupements, 2018-2022 and 2023-2027.

The two programmes reuse the same ids (``ti-0101`` exists in both), so every row carries its
programme, given by ``--programme`` or read from the file name.
"""

from __future__ import annotations

import re

from ingest.errors import LayoutError
from ingest.normalize import TableLoad, TableSpec, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register

TERRITOIRE = TableSpec(
    table="territoire",
    key=("programme", "id_ti"),
    columns={"programme": "smallint", "id_ti": "text", "lib": "text", "insee_reg": "text"},
    geometries={"geom": "MULTIPOLYGON"},
    required=("lib",),
    scope="programme",
)

MEMBRE = TableSpec(
    table="territoire_membre",
    key=("programme", "id_ti", "siren"),
    columns={
        "programme": "smallint",
        "id_ti": "text",
        "siren": "text",
        "lib": "text",
        "nature": "text",
    },
    required=("nature",),
    scope="programme",
)


def programme_of(source: Source, options: IngestOptions) -> int:
    """The programme (2018 or 2023) from the options, else from the file name."""
    if options.programme is not None:
        if options.programme not in (2018, 2023):
            raise LayoutError(f"--programme must be 2018 or 2023, not {options.programme}")
        return options.programme
    found = {int(y) for y in re.findall(r"(2018|2023)", source.path.name)}
    if len(found) != 1:
        raise LayoutError(
            f"{source.path}: cannot tell the programme from the file name; "
            "pass --programme 2018 or --programme 2023"
        )
    return found.pop()


def _nature(siren: object, given: object) -> object:
    if isinstance(given, str) and given.strip():
        return given.strip().upper()
    if not isinstance(siren, str):
        return None
    # Commune SIRENs start with 21, EPCI with 2 followed by 00/4x: the SIREN tells which.
    return "COM" if siren.startswith("21") else "EPCI"


def prepare(source: Source, options: IngestOptions) -> list[TableLoad]:
    """Perimeters (GeoJSON with ``id_ti``/``lib_ti``) or members (CSV with ``siren_groupement``)."""
    f, name = source.frame, str(source.path)
    programme = programme_of(source, options)
    frame = f[["_feature_index"]].copy()
    frame["programme"] = programme
    frame["id_ti"] = pick(f, "id_ti", "id_territoire", source=name)
    if source.has_geometry:
        frame["lib"] = pick(f, "lib_ti", "lib_territoire", "nom", source=name)
        reg = pick(f, "insee_reg", source=name, required=False)
        if reg.isna().all():
            reg = frame["id_ti"].str.extract(r"^ti-(\d{2})", expand=False)
        frame["insee_reg"] = code(reg, 2)
        frame["geom"] = f.geometry.to_numpy()
        return [finish(TERRITOIRE, frame, f, source.crs, name)]
    frame["siren"] = code(pick(f, "siren_groupement", "siren", source=name), 9)
    frame["lib"] = pick(f, "lib_groupement", "nom_groupement", source=name, required=False)
    given = pick(f, "nature_groupement", "nature", source=name, required=False)
    frame["nature"] = [_nature(s, g) for s, g in zip(frame["siren"], given, strict=True)]
    return [finish(MEMBRE, frame, f, None, name)]


register(
    Layer(
        "territoires",
        "Territoires d'industrie: perimeters (GeoJSON) or member groupements (CSV)",
        prepare,
        ("territoires",),
    )
)
