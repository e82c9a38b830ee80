"""The one registry of data sources shown or served: name, publisher, licence, vintage.

The map pages build their attribution line from it (only the sources of the layers on screen),
the API publishes it at ``/sources`` and exports can copy it into their metadata. The Licence
Ouverte requires naming the producer and the date of the data: ``attribution`` is that text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

LO_2 = ("Licence Ouverte 2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
ODBL = ("ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/")


@dataclass(frozen=True)
class DataSource:
    """A producer's dataset as we show it.

    Attributes:
        id: a stable slug, used by the pages and the API.
        name: the dataset's name as its producer spells it.
        producer: who must be credited.
        licence: the licence's short name; ``licence_url`` its text.
        vintage: the edition shown (millésime), as the producer dates it.
        url: the producer's page for the dataset.
        layers: the collections (or basemaps) it feeds, as the pages and the API name them.
    """

    id: str
    name: str
    producer: str
    licence: str
    licence_url: str
    vintage: str
    url: str
    layers: tuple[str, ...]

    @property
    def attribution(self) -> str:
        """The credit line: "IGN – ADMIN EXPRESS (2022)" (a live service has no edition)."""
        dated = self.vintage[:1].isdigit()
        return f"{self.producer} – {self.name}" + (f" ({self.vintage})" if dated else "")


def _source(
    id: str,  # noqa: A002 - the registry's field name
    name: str,
    producer: str,
    vintage: str,
    url: str,
    layers: tuple[str, ...],
    licence: tuple[str, str] = LO_2,
) -> DataSource:
    return DataSource(id, name, producer, licence[0], licence[1], vintage, url, layers)


SOURCES: tuple[DataSource, ...] = (
    _source(
        "ign-plan",
        "Plan IGN v2",
        "IGN Géoplateforme",
        "mise à jour continue",
        "https://geoservices.ign.fr/services-geoplateforme-diffusion",
        ("basemap:plan-ign",),
    ),
    _source(
        "ign-ortho",
        "Orthophotographies (BD ORTHO)",
        "IGN Géoplateforme",
        "mise à jour continue",
        "https://geoservices.ign.fr/bdortho",
        ("basemap:ortho",),
    ),
    _source(
        "osm",
        "OpenStreetMap",
        "contributeurs OpenStreetMap",
        "mise à jour continue",
        "https://www.openstreetmap.org/copyright",
        ("basemap:osm",),
        licence=ODBL,
    ),
    _source(
        "ign-admin-express",
        "ADMIN EXPRESS",
        "IGN",
        "2022",
        "https://geoservices.ign.fr/adminexpress",
        ("epci", "communes", "contract_sheets", "basemap:offline"),
    ),
    _source(
        "insee-cog",
        "Code officiel géographique",
        "INSEE, DGCL (via Etalab)",
        "2026",
        "https://www.insee.fr/fr/information/2560452",
        ("epci", "communes"),
    ),
    _source(
        "anct-ti",
        "Territoires d'industrie",
        "ANCT",
        "2023",
        "https://agence-cohesion-territoires.gouv.fr/territoires-dindustrie-44",
        ("territoires-2018", "territoires-2023"),
    ),
    _source(
        "ti-contrats",
        "Fiches actions des contrats Territoires d'industrie",
        "Régions et EPCI des Territoires d'industrie (saisies et validées dans foncier)",
        "mise à jour continue",
        "https://agence-cohesion-territoires.gouv.fr/territoires-dindustrie-44",
        ("contract_sheets",),
    ),
    _source(
        "dgfip-cadastre",
        "Plan cadastral informatisé",
        "DGFiP, Etalab",
        "2024",
        "https://cadastre.data.gouv.fr/",
        ("parcels", "land-units"),
    ),
    _source(
        "cerema-cartofriches",
        "Cartofriches",
        "Cerema",
        "2023-10",
        "https://cartofriches.cerema.fr/",
        ("friches",),
    ),
    _source(
        "gpu-plu",
        "Géoportail de l'urbanisme (zonage des PLU)",
        "IGN, communes et EPCI",
        "2022",
        "https://www.geoportail-urbanisme.gouv.fr/",
        ("plu",),
    ),
    _source(
        "inpn",
        "ZNIEFF et Natura 2000",
        "INPN – MNHN",
        "2024",
        "https://inpn.mnhn.fr/",
        ("constraints",),
    ),
    _source(
        "georisques-tri",
        "Surfaces inondables des TRI",
        "DREAL Hauts-de-France (Géorisques)",
        "2014",
        "https://www.georisques.gouv.fr/",
        ("constraints",),
    ),
    _source(
        "cerema-enaf",
        "Consommation d'espaces NAF (fichiers fonciers)",
        "Cerema",
        "2024",
        "https://artificialisation.developpement-durable.gouv.fr/",
        ("zan",),
    ),
    _source(
        "sites-cles-en-main",
        "Sites clés en main France 2030 (liste partielle, communiqués de presse)",
        "Gouvernement, d'après la presse",
        "2024",
        "https://www.entreprises.gouv.fr/",
        ("sites",),
        licence=("faits publics", "https://www.entreprises.gouv.fr/"),
    ),
    # Transport (issues 13, 15): the offline basemap draws the rail lines; the scoring run
    # measures each site's and land unit's distance to both.
    _source(
        "sncf-rfn",
        "Réseau ferré national (lignes, version simplifiée)",
        "SNCF Réseau",
        "2026-02",
        "https://ressources.data.sncf.com/",
        ("rail-lines", "basemap:offline", "sites", "land-units"),
    ),
    _source(
        "osm-ports-fret",
        "Ports de fret intérieurs",
        "contributeurs OpenStreetMap",
        "2026-02",
        "https://www.openstreetmap.org/copyright",
        ("freight-ports", "sites", "land-units"),
        licence=ODBL,
    ),
    # The ZAE inventory's inputs: the vintage shown in an inventory is each load's own.
    _source(
        "cnig-site-eco",
        "Sites économiques (standard CNIG SITE-ECO v2024-10)",
        "EPCI producteur, standard CNIG",
        "2024-10",
        "https://github.com/cnigfr/schema-sites-economiques",
        ("zae", "zae-inventory"),
    ),
    _source(
        "dgfip-personnes-morales",
        "Fichiers des locaux et des parcelles des personnes morales",
        "DGFiP",
        "2025",
        "https://www.data.gouv.fr/fr/datasets/fichiers-des-locaux-et-des-parcelles-des-personnes-morales/",
        ("zae-inventory",),
    ),
    _source(
        "insee-sirene",
        "Base Sirene des entreprises et de leurs établissements (stock géolocalisé)",
        "INSEE",
        "2025",
        "https://www.data.gouv.fr/fr/datasets/base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/",
        ("zae-inventory",),
    ),
    _source(
        "epci-cfe",
        "Locaux et dernière année de CFE (fichier fourni par l'EPCI)",
        "EPCI (données fiscales transmises par la DGFiP)",
        "fourni par l'EPCI",
        "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000043977819",
        ("zae-inventory",),
        licence=("usage réservé à l'EPCI", "https://www.legifrance.gouv.fr/"),
    ),
)


def sources_for(layers: list[str] | tuple[str, ...]) -> list[DataSource]:
    """The sources feeding any of ``layers``, in the registry's order (no duplicates).

    Example:
        >>> [s.id for s in sources_for(["plu"])]
        ['gpu-plu']
    """
    wanted = set(layers)
    return [s for s in SOURCES if wanted & set(s.layers)]


def sources_json() -> list[dict[str, object]]:
    """The registry as JSON objects (``/sources``, the pages' attribution), with the credit line."""
    return [{**asdict(s), "layers": list(s.layers), "attribution": s.attribution} for s in SOURCES]
