"""EPCI and communes (IGN ADMIN EXPRESS style polygons) and the commune -> EPCI table (COG).

Communes follow the COG history (``commune_ancienne``, layer ``communes_anciennes``): a polygon
file of an older edition has its communes merged since dissolved into the current one in
staging (``ingest/sql/commune_dissolve.sql``), so 69152 Pierre-Bénite of a 2022 file becomes
part of 69149. The COG membership table (a CSV without geometry such as
``communes_2026_epci.csv``) then gives each current commune its name, EPCI, SIREN and
``cog_vintage`` (the run's vintage, else ``COG <year>`` from the file name); a later polygon
load keeps the name a COG file gave. Load order: history, polygons, membership table (the
history may also come after the polygons: its load dissolves them then).
"""

from __future__ import annotations

import re
from dataclasses import replace

from db.engine import read_sql
from ingest.layers.cog import REBUILT_NOTE
from ingest.layers.territoires import REBUILD_TERRITOIRE
from ingest.normalize import TableLoad, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

# Territoires d'industrie published as points get their perimeter once their communes are in.
_DISSOLVE = read_sql("ingest.sql", "commune_dissolve.sql")
_DISSOLVE_POPULATION = read_sql("ingest.sql", "commune_dissolve_population.sql")

EPCI = table_spec(
    table="epci",
    key=("siren",),
    columns=("siren", "nom", "type", "population"),
    geometries=("geom",),
    required=("nom",),
)

COMMUNE = table_spec(
    table="commune",
    key=("insee",),
    columns=("insee", "nom", "dep", "reg", "siren_epci", "population"),
    geometries=("geom",),
    required=("nom", "dep"),
    post_stage_sql=_DISSOLVE,
    post_merge_sql=REBUILD_TERRITOIRE,
    notes=(
        (
            "SELECT count(*) FROM dissolved_commune WHERE given <> insee",
            "{n} communes merged or renumbered since (COG history) dissolved into their "
            "current commune",
        ),
        REBUILT_NOTE,
    ),
)

COMMUNE_EPCI = table_spec(
    table="commune",
    key=("insee",),
    columns=("insee", "nom", "siren_epci", "siren", "cog_vintage"),
    update_only=True,
    delete_missing=False,
    post_merge_sql=REBUILD_TERRITOIRE,
    notes=(REBUILT_NOTE,),
)


def cog_edition(source: Source, options: IngestOptions) -> str:
    """The COG edition a membership table follows: the run's vintage, else ``COG <year>`` from
    the file name, else the file name.

    Example:
        >>> from pathlib import Path
        >>> import pandas as pd
        >>> s = Source(Path("communes_2026_epci.csv"), pd.DataFrame(), None, "", "csv", {})
        >>> cog_edition(s, IngestOptions())
        'COG 2026'
    """
    if options.vintage:
        return options.vintage
    years = set(re.findall(r"(?<!\d)(20\d\d)(?!\d)", source.path.name))
    return f"COG {years.pop()}" if len(years) == 1 else source.path.name


def prepare_epci(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """EPCI polygons: ``siren_epci``/``siren``, ``nom_epci``/``nom``, ``type_epci``/``nature``."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["siren"] = code(pick(f, "siren_epci", "siren", "code_siren", source=name), 9)
    frame["nom"] = pick(f, "nom_epci", "nom", "lib_epci", source=name)
    for col, names in (
        ("type", ("type_epci", "nature", "nature_epci")),
        ("population", ("population_2022", "population", "pmun")),
    ):
        values = pick(f, *names, source=name, required=False)
        if values.notna().any():
            frame[col] = values
    frame["geom"] = f.geometry.to_numpy()
    return [finish(EPCI, frame, f, source.crs, name)]


def prepare_communes(source: Source, options: IngestOptions) -> list[TableLoad]:
    """Commune polygons, or the commune -> EPCI membership table (CSV, no geometry).

    The membership table writes the name (``nom_com``), EPCI, the commune's own SIREN
    (``siren_com``/``siren``) and ``cog_vintage`` of the communes it lists.
    """
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["insee"] = code(pick(f, "insee_com", "insee", "code_insee", "codgeo", source=name), 5)
    # Only the current membership: a 2022 file's siren_epci_2022 would undo the COG table's.
    siren_epci = pick(f, "siren_epci", "epci", source=name, required=False)
    if siren_epci.notna().any():
        frame["siren_epci"] = code(siren_epci, 9)
    if not source.has_geometry:
        for col, names in (("nom", ("nom_com", "nom", "libelle")), ("siren", ("siren_com",))):
            values = pick(f, *names, source=name, required=False)
            if values.notna().any():
                frame[col] = code(values, 9) if col == "siren" else values
        frame["cog_vintage"] = cog_edition(source, options)
        return [finish(COMMUNE_EPCI, frame, f, None, name)]
    frame["nom"] = pick(f, "nom_com", "nom", "libgeo", source=name)
    dep = pick(f, "insee_dep", "dep", "code_dep", source=name, required=False)
    if dep.isna().all():
        dep = frame["insee"].map(
            lambda c: None if c is None else (c[:3] if c.startswith("97") else c[:2])
        )
    frame["dep"] = code(dep, 2)
    frame["reg"] = code(pick(f, "insee_reg", "reg", "code_reg", source=name, required=False), 2)
    spec = COMMUNE
    population = pick(f, "population", "pmun", source=name, required=False)
    if population.notna().any():
        frame["population"] = population
        # Summed over the parts of a commune merged since, before they are dissolved.
        spec = replace(COMMUNE, post_stage_sql=_DISSOLVE_POPULATION + _DISSOLVE)
    frame["geom"] = f.geometry.to_numpy()
    return [finish(spec, frame, f, source.crs, name)]


register(Layer("epci", "EPCI à fiscalité propre (polygons)", prepare_epci, ("epci",)))
register(
    Layer(
        "communes",
        "Communes (polygons; merged communes dissolved through the COG history) or the "
        "commune -> EPCI table (CSV: name, EPCI, SIREN, COG edition)",
        prepare_communes,
        ("communes", "territoires"),
    )
)
