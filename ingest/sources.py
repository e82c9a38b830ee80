"""The registry of layers: what ``foncier ingest LAYER PATH`` accepts, and the sample files.

A layer turns a read file into one or more :class:`~ingest.normalize.TableLoad`; the pipeline does
the rest. Adding a layer means one module in ``ingest/layers`` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.normalize import TableLoad
from ingest.read import Source


@dataclass(frozen=True)
class IngestOptions:
    """Per-run options given on the command line."""

    crs: str | None = None
    encoding: str | None = None
    vintage: str | None = None
    strict: bool = False
    programme: int | None = None  # Territoires d'industrie: 2018 or 2023
    kind: str | None = None  # constraint kind when the file does not carry one
    gpkg_layer: str | None = None
    # The user says the rows a load would delete are really gone (lifts the shrink guard).
    allow_shrink: bool = False


@dataclass(frozen=True)
class Layer:
    """A layer users can ingest.

    Attributes:
        name: the CLI name.
        description: one line for ``foncier ingest --help``.
        prepare: maps a read file to table loads.
        versions: ``layer_version`` entries bumped when a load changes something.
        streamable: ``prepare`` works on any batch of a file's features (no reasoning over
            the whole file), so GeoJSON, GeoPackage and Shapefile inputs are read in batches.
    """

    name: str
    description: str
    prepare: Callable[[Source, IngestOptions], list[TableLoad]]
    versions: tuple[str, ...]
    streamable: bool = False


_REGISTRY: dict[str, Layer] = {}


def register(layer: Layer) -> Layer:
    """Add ``layer`` to the registry (called by each module of ``ingest.layers``)."""
    _REGISTRY[layer.name] = layer
    return layer


def layers() -> dict[str, Layer]:
    """Every registered layer by name."""
    import ingest.layers  # noqa: F401 - importing the package registers its layers

    return dict(_REGISTRY)


def get_layer(name: str) -> Layer:
    """The layer called ``name``, or an error listing the known ones."""
    known = layers()
    if name not in known:
        raise IngestError(f"unknown layer {name!r}; expected one of: {', '.join(sorted(known))}")
    return known[name]


@dataclass(frozen=True)
class SampleFile:
    """A sample file of ``data/samples`` and how to load it."""

    layer: str
    path: str
    vintage: str | None  # None: the file's own (parcels: latest `updated`, the EDIGEO sheet's date)
    options: IngestOptions = IngestOptions()


# In dependency order: the COG history before the communes (merged communes are dissolved),
# communes before sites (sites without coordinates sit at their commune) and before the
# Territoires d'industrie (perimeters published as points are rebuilt from member communes).
SAMPLES: tuple[SampleFile, ...] = (
    SampleFile("regions", "admin/regions_cog_2026.csv", "COG 2026"),
    SampleFile("departements", "admin/departements_cog_2026.csv", "COG 2026"),
    SampleFile("communes_anciennes", "admin/communes_anciennes_cog_2026.csv", "COG 2026"),
    SampleFile("epci", "admin/epci_2022_sample.geojson.gz", "ADMIN EXPRESS 2022"),
    SampleFile("communes", "admin/communes_2022_sample.geojson.gz", "ADMIN EXPRESS 2022"),
    SampleFile("communes", "admin/communes_2026_epci_sample.csv", "COG 2026"),
    SampleFile(
        "territoires",
        "territoires_industrie/ti_2018_2022_perimetres.geojson.gz",
        "ANCT 2022",
        IngestOptions(programme=2018),
    ),
    SampleFile(
        "territoires",
        "territoires_industrie/ti_2018_2022_groupements.csv",
        "ANCT 2022",
        IngestOptions(programme=2018),
    ),
    SampleFile(
        "territoires",
        "territoires_industrie/ti_2023_2027_perimetres.geojson.gz",
        "ANCT 2024",
        IngestOptions(programme=2023),
    ),
    SampleFile(
        "territoires",
        "territoires_industrie/ti_2023_2027_epci.csv",
        "ANCT 2024",
        IngestOptions(programme=2023),
    ),
    # Constraints, ENAF flows and ZAN targets (scoring inputs; no dependency on land layers).
    SampleFile("constraints", "protection/oise_60_znieff_natura2000.geojson.gz", "INPN 2026-05"),
    SampleFile("constraints", "risques/tri_lille_surfaces_inondables_2014.geojson.gz", "DI 2014"),
    SampleFile("constraints", "friches/ademe_sites_pollues_interventions.geojson.gz", "ADEME 2024"),
    SampleFile("enaf", "zan/conso_enaf_2009_2024_scot_rives_du_rhone.csv", "Cerema 2024"),
    SampleFile("enaf", "zan/conso_enaf_annuelle_2009_2023_metropole_lyon.csv", "Cerema 2023"),
    SampleFile(
        "zan_targets", "zan/objectifs_reduction_conso_territorialises_hdf.csv", "SRADDET HdF"
    ),
    SampleFile("scots", "zan/scot_membres_rives_du_rhone.csv", "Cerema 2024"),
    # Land: after communes (sites without coordinates sit at their commune).
    # Parcels: each file's own vintage (its latest `updated` date, the sheet's date).
    *(
        SampleFile("parcels", f"cadastre/etalab/cadastre-{c}-parcelles.json.gz", None)
        for c in ("91027", "91326", "91432")
    ),
    *(
        SampleFile("parcels", f"cadastre/edigeo/edigeo-25354000{s}.tar.bz2", None)
        for s in ("AB01", "AK01", "ZB01", "ZC01", "ZD01", "ZE01", "ZH01", "ZI01")
    ),
    SampleFile("sites", "sites/scem_2024_partiel_presse.csv", "presse 2024-04"),
    SampleFile("friches", "friches/cartofriches_2023-10_ara.geojson.gz", "Cartofriches 2023-10"),
    SampleFile("friches", "friches/cartofriches_polygones_metropole_lyon.geojson", "SPARTE 2024"),
    SampleFile("plu", "urbanisme/plu_megeve_74173_zone_urba.geojson.gz", "PLU 2017-03-21"),
    # Transport: needs nothing else; the scoring run measures distances to it.
    SampleFile("rail_lines", "transport/sncf_rfn_lignes_sample.geojson.gz", "SNCF RFN 2026-02"),
    SampleFile("freight_ports", "transport/ports_fret_interieurs_osm.geojson", "OSM 2026-02"),
)


def sample_files(samples_dir: Path) -> list[tuple[SampleFile, Path]]:
    """The sample files with their absolute paths, in load order."""
    return [(s, samples_dir / s.path) for s in SAMPLES]
