"""EPCI and communes (IGN ADMIN EXPRESS style polygons) and the commune -> EPCI table (COG)."""

from __future__ import annotations

from ingest.normalize import TableLoad, TableSpec, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register

EPCI = TableSpec(
    table="epci",
    key=("siren",),
    columns={"siren": "text", "nom": "text", "type": "text", "population": "integer"},
    geometries={"geom": "MULTIPOLYGON"},
    required=("nom",),
)

COMMUNE = TableSpec(
    table="commune",
    key=("insee",),
    columns={
        "insee": "text",
        "nom": "text",
        "dep": "text",
        "reg": "text",
        "siren_epci": "text",
        "population": "integer",
    },
    geometries={"geom": "MULTIPOLYGON"},
    required=("nom", "dep"),
)

COMMUNE_EPCI = TableSpec(
    table="commune",
    key=("insee",),
    columns={"insee": "text", "siren_epci": "text"},
    update_only=True,
    delete_missing=False,
)


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


def prepare_communes(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Commune polygons, or the commune -> EPCI membership table (CSV, no geometry)."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["insee"] = code(pick(f, "insee_com", "insee", "code_insee", "codgeo", source=name), 5)
    # Only the current membership: a 2022 file's siren_epci_2022 would undo the COG table's.
    siren_epci = pick(f, "siren_epci", "epci", source=name, required=False)
    if siren_epci.notna().any():
        frame["siren_epci"] = code(siren_epci, 9)
    if not source.has_geometry:
        return [finish(COMMUNE_EPCI, frame, f, None, name)]
    frame["nom"] = pick(f, "nom_com", "nom", "libgeo", source=name)
    dep = pick(f, "insee_dep", "dep", "code_dep", source=name, required=False)
    if dep.isna().all():
        dep = frame["insee"].map(
            lambda c: None if c is None else (c[:3] if c.startswith("97") else c[:2])
        )
    frame["dep"] = code(dep, 2)
    frame["reg"] = code(pick(f, "insee_reg", "reg", "code_reg", source=name, required=False), 2)
    population = pick(f, "population", "pmun", source=name, required=False)
    if population.notna().any():
        frame["population"] = population
    frame["geom"] = f.geometry.to_numpy()
    return [finish(COMMUNE, frame, f, source.crs, name)]


register(Layer("epci", "EPCI à fiscalité propre (polygons)", prepare_epci, ("epci",)))
register(
    Layer(
        "communes",
        "Communes (polygons) or the commune -> EPCI table (CSV)",
        prepare_communes,
        ("communes",),
    )
)
