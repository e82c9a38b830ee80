"""Territoires d'industrie (ANCT): perimeters and member groupements, 2018-2022 and 2023-2027.

The two programmes reuse the same ids (``ti-0101`` exists in both), so every row carries its
programme, given by ``--programme`` or read from the file name.

Some 2018-2022 perimeters are published as points (ti-9301, ti-9303, ti-9307: commune
centroids) or as a GeometryCollection of points and a polygon (ti-8416). Such a territory is
loaded all the same, its perimeter rebuilt from its member communes
(``ingest/sql/territoire_rebuild.sql``: the union of the polygons of the communes of its EPCI
members, through ``commune.siren_epci``, and of its commune members, through
``commune.siren``). Only whole perimeters are built: while a member has no commune loaded
(or is an EPT), the perimeter stays NULL and the row is kept. A perimeters load rebuilds them
from the members and communes loaded at that time; a perimeter still missing (members or
communes loaded after) is filled by the next members or communes load. A rebuilt perimeter
follows later membership changes when the perimeters file is loaded again (no column says a
perimeter was rebuilt, so the other loads only fill missing ones).
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from psycopg import sql

from db.engine import read_sql
from ingest.errors import LayoutError
from ingest.normalize import TableLoad, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import sql_template, table_spec

_REBUILD = read_sql("ingest.sql", "territoire_rebuild.sql")
# After a members or a communes load, the perimeters still missing are filled in territoire.
REBUILD_TERRITOIRE = sql_template(_REBUILD, stage=sql.Identifier("territoire"))
_REBUILT_NOTES = (
    (
        "SELECT count(*) FROM rebuilt_perimeter",
        "{n} perimeters rebuilt from their member communes (published as points or "
        "collections, or without geometry)",
    ),
)
# Shapely type ids of the perimeters kept as published.
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

TERRITOIRE = table_spec(
    table="territoire",
    key=("programme", "id_ti"),
    columns=("programme", "id_ti", "lib", "insee_reg"),
    geometries=("geom",),
    required=("lib",),
    scope="programme",
    optional_geometries=("geom",),
    post_stage_sql=_REBUILD,
    notes=(
        *_REBUILT_NOTES,
        (
            "SELECT count(*) FROM {stage} WHERE geom IS NULL",
            "{n} territories kept without a perimeter (a member's communes are not loaded: "
            "a later members or communes load rebuilds it)",
        ),
    ),
)

MEMBRE = table_spec(
    table="territoire_membre",
    key=("programme", "id_ti", "siren"),
    columns=("programme", "id_ti", "siren", "lib", "nature"),
    required=("nature",),
    scope="programme",
    post_merge_sql=REBUILD_TERRITOIRE,
    notes=_REBUILT_NOTES,
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
        geoms = f.geometry.to_numpy()
        # Points and collections are no perimeter: rebuilt from the members in staging.
        polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
        frame["geom"] = np.where(polygonal, geoms, None)
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
