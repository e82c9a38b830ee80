"""The one registry of published collections.

Each entry says which table (or join) a collection reads, its id and geometry columns, the
properties it publishes (and which are restricted to API-key holders), which of them can be
queried, the minimum zoom of its tiles, its default sort and the ``layer_version`` rows that
invalidate its caches. OGC items, queryables, tiles, exports and field visibility all read it:
adding a layer means one entry here.

SQL fragments below are constants written by us (identifiers and expressions), never user input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from api.model_types import column_type
from db.errors import NotFound

# JSON Schema types of the properties (queryables and OpenAPI use them).
STRING, INTEGER, NUMBER, BOOLEAN, OBJECT = "string", "integer", "number", "boolean", "object"


@dataclass(frozen=True)
class Prop:
    """A published property.

    Attributes:
        name: the name in the output.
        expr: SQL expression over the collection's ``source`` aliases.
        type: JSON Schema type; left out for a plain column of a model table, whose type
            ``db/models.py`` gives (the collection fills it in), ``string`` by default.
        title: French description for queryables and docs.
        restricted: hidden from anonymous readers (owner names, prices, contacts).
        queryable: usable in property filters, CQL2 and ``sortby``.
        in_tiles: carried in vector tiles (big objects are not).
    """

    name: str
    expr: str
    type: str = ""
    title: str = ""
    restricted: bool = False
    queryable: bool = True
    in_tiles: bool = True


@dataclass(frozen=True)
class Collection:
    """A collection of features read from one table or join (see module docstring)."""

    id: str
    title: str
    description: str
    source: str
    id_expr: str
    geom_expr: str
    geometry_type: str
    props: tuple[Prop, ...]
    versions: tuple[str, ...]
    default_sort: tuple[str, ...]
    min_zoom: int = 0
    max_zoom: int = 22
    where: str | None = None
    # Rows anonymous readers may see (key holders see every row ``where`` lets through).
    public_where: str | None = None
    # Output geometry when it differs from the indexed one used for bbox filters.
    geom_out_expr: str | None = None
    # The plain table whose pg_class.reltuples estimates the size.
    table: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        """Type the properties (see :meth:`_typed`)."""
        object.__setattr__(self, "props", tuple(self._typed(p) for p in self.props))

    def _typed(self, p: Prop) -> Prop:
        """``p`` with its type: a plain column's from the models, which a stated type must
        match (a registry that disagreed with the schema would mistype filters and exports)."""
        model = column_type(self.source, p.expr)
        if model is None:
            return p if p.type else replace(p, type=STRING)
        if p.type and p.type != model:
            raise ValueError(
                f"collection {self.id}: {p.name} is typed {p.type} but {p.expr} is {model} in "
                "db/models.py"
            )
        return replace(p, type=model)

    def visible_props(self, privileged: bool) -> tuple[Prop, ...]:
        """The properties a reader may see (restricted ones only with an API key)."""
        return tuple(p for p in self.props if privileged or not p.restricted)

    def prop(self, name: str) -> Prop | None:
        """The property called ``name`` or None."""
        for p in self.props:
            if p.name == name:
                return p
        return None

    @property
    def geom_out(self) -> str:
        return self.geom_out_expr or self.geom_expr


def _p(
    name: str,
    alias: str,
    title: str = "",
    restricted: bool = False,
    queryable: bool = True,
    in_tiles: bool = True,
) -> Prop:
    """Column ``name`` of the table aliased ``alias``, typed from db/models.py."""
    return Prop(name, f"{alias}.{name}", "", title, restricted, queryable, in_tiles)


def _land_status(alias: str) -> tuple[Prop, ...]:
    """The land status, its evidence and the ZAN cost with its bound, as parcels and sites
    publish them (``alias``: their score table's)."""
    return (
        Prop(
            "land_status",
            f"{alias}.land_status",
            title="Statut du sol : artificialised, enaf ou unknown",
        ),
        Prop(
            "land_evidence",
            f"{alias}.land_evidence",
            title="Preuve du statut du sol",
            queryable=False,
            in_tiles=False,
        ),
        Prop(
            "zan_cost_ha",
            f"{alias}.zan_cost_ha",
            title="Coût ZAN : hectares d'ENAF consommés (vide si inconnu)",
        ),
        Prop(
            "zan_cost_max_ha",
            f"{alias}.zan_cost_max_ha",
            title="Borne haute du coût ZAN (ha)",
            in_tiles=False,
        ),
    )


_SITE_SCORE = (
    Prop("score", "sc.score", title="Score de disponibilité 0-100"),
    Prop("excluded", "sc.excluded", title="Exclu par une contrainte forte"),
    *_land_status("sc"),
    Prop(
        "known_inputs",
        "sc.known_inputs",
        title="Critères du score dont l'entrée est connue (sur 7)",
    ),
    Prop("envelope_share", "sc.envelope_share", title="Part de l'enveloppe ZAN restante"),
    Prop("contiguous_ha", "sc.contiguous_ha", title="Plus grande surface contiguë (ha)"),
    Prop("zone_class", "sc.zone_class", title="Classe de zonage PLU"),
    Prop("rail_km", "sc.rail_km", title="Distance à la voie ferrée la plus proche (km)"),
    Prop("port_km", "sc.port_km", title="Distance au port de fret le plus proche (km)"),
    Prop("profile_version", "sc.profile_version", title="Version du profil de score"),
    Prop("breakdown", "sc.breakdown", title="Détail du score", queryable=False, in_tiles=False),
)

# The readiness checklist's verdict (site_readiness) and the availability's freshness
# (migration 0007); the checklist itself is GET /sites/{id}/checklist.
_SITE_READINESS = (
    Prop("readiness_level", "rd.level", title="Niveau de préparation (0 amont à 3 prêt)"),
    Prop("readiness_label", "rd.label", title="Niveau de préparation (libellé)"),
    Prop(
        "time_to_permit_months",
        "rd.time_to_permit_months",
        title="Délai estimé avant un permis de construire (mois : l'étape restante la plus longue)",
    ),
    Prop(
        "readiness_explanation",
        "rd.explanation",
        title="Explication du niveau de préparation",
        queryable=False,
        in_tiles=False,
    ),
    Prop("confirmed_at", "s.confirmed_at", title="Disponibilité confirmée le", in_tiles=False),
    Prop("valid_until", "s.valid_until", title="Confirmation valable jusqu'au", in_tiles=False),
    Prop(
        "a_confirmer",
        "(s.withdrawn_at IS NULL AND (s.valid_until IS NULL OR s.valid_until < now()))",
        BOOLEAN,
        "Disponibilité à confirmer (jamais confirmée, ou confirmation expirée)",
    ),
    Prop(
        "withdrawn",
        "(s.withdrawn_at IS NOT NULL)",
        BOOLEAN,
        "Site retiré de la liste par son gestionnaire",
    ),
)

_PARCEL_SCORE = (
    Prop("score", "ps.score", title="Score de disponibilité 0-100"),
    Prop("excluded", "ps.excluded", title="Exclu par une contrainte forte"),
    *_land_status("ps"),
    Prop("available", "ps.available", title="Foncier disponible (candidat, statut connu)"),
    Prop("to_qualify", "ps.to_qualify", title="À qualifier (statut du sol ou zonage inconnu)"),
    Prop(
        "known_inputs",
        "ps.known_inputs",
        title="Critères du score dont l'entrée est connue (sur 7)",
        in_tiles=False,
    ),
    Prop(
        "envelope_share",
        "ps.envelope_share",
        title="Part de l'enveloppe ZAN restante",
        in_tiles=False,
    ),
    Prop("land_unit_id", "ps.land_unit_id", title="Unité foncière contiguë", in_tiles=False),
    Prop("contiguous_ha", "ps.contiguous_ha", title="Surface contiguë disponible (ha)"),
    Prop("zone_class", "ps.zone_class", title="Classe de zonage PLU"),
    Prop("constrained_share", "ps.constrained_share", title="Part sous contrainte", in_tiles=False),
    Prop("breakdown", "ps.breakdown", title="Détail du score", queryable=False, in_tiles=False),
)


def _territoires(programme: int, label: str) -> Collection:
    return Collection(
        id=f"territoires-{programme}",
        title=f"Territoires d'industrie {label}",
        description=f"Périmètres du programme Territoires d'industrie {label} (ANCT).",
        source="territoire t",
        where=f"t.programme = {programme}",
        id_expr="t.id_ti",
        geom_expr="t.geom",
        geometry_type="MultiPolygon",
        props=(
            _p("id_ti", "t", title="Identifiant du territoire"),
            _p("lib", "t", title="Nom du territoire"),
            _p("insee_reg", "t", title="Code INSEE de la région"),
            _p("programme", "t", "Programme (2018 ou 2023)"),
            _p("vintage", "t", title="Millésime de la source"),
        ),
        versions=("territoires",),
        default_sort=("id_ti",),
        table="territoire",
    )


# Issue 17: a sheet's places (ti_action_place) with the site, land unit, ZAE or commune each
# names; a place whose target is not loaded has no geometry and is left out (``where``).
_CONTRACT_PLACES = (
    "ti_action_place pl JOIN ti_action_sheet s ON s.id = pl.sheet_id "
    "LEFT JOIN site st ON pl.place_type = 'site' AND st.id = pl.place_id "
    "LEFT JOIN land_unit lu ON pl.place_type = 'land_unit' AND lu.id::text = pl.place_id "
    "LEFT JOIN zae zn ON pl.place_type = 'zae' AND zn.id = pl.place_id "
    "LEFT JOIN commune cm ON pl.place_type = 'commune' AND cm.insee = pl.place_id"
)
_CONTRACT_SHEET_PROPS = (
    Prop("sheet_id", "pl.sheet_id", title="Identifiant de la fiche action"),
    _p("title", "s", title="Intitulé de la fiche"),
    _p("axis", "s", title="Axe du programme (recruter, innover, attirer, simplifier…)"),
    _p("status", "s", title="Avancement (idea, in_preparation, committed, done, abandoned)"),
    _p("programme", "s", title="Programme (2018 ou 2023)"),
    _p("id_ti", "s", title="Identifiant du Territoire d'industrie"),
    _p("due_on", "s", title="Échéance"),
    _p("is_example", "s", title="Fiche d'exemple (données fictives, jamais comptées)"),
    Prop("place_kind", "pl.place_type", title="Nature du lieu (site, land_unit, zae, commune)"),
    Prop("place_id", "pl.place_id", title="Identifiant du lieu dans sa couche"),
    Prop(
        "place_precision",
        "(CASE WHEN pl.place_type = 'site' THEN 'point' ELSE 'surface' END)",
        STRING,
        "point : le point du site ; surface : un point intérieur d'une zone qui représente "
        "toute la commune, la ZAE ou l'unité foncière",
    ),
    # Key holders see the drafts too (public_where), and which state each sheet is in.
    _p(
        "workflow",
        "s",
        title="État de validation (draft, submitted, validated, sent_back)",
        restricted=True,
    ),
)


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            id="epci",
            title="EPCI",
            description="Établissements publics de coopération intercommunale à fiscalité propre.",
            source="epci e",
            id_expr="e.siren",
            geom_expr="e.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("siren", "e", title="Code SIREN de l'EPCI"),
                _p("nom", "e", title="Nom de l'EPCI"),
                _p("type", "e", title="Nature juridique"),
                _p("population", "e", "Population municipale"),
                _p("vintage", "e", title="Millésime de la source"),
            ),
            versions=("epci",),
            default_sort=("siren",),
            table="epci",
        ),
        Collection(
            id="communes",
            title="Communes",
            description="Communes et leur EPCI de rattachement.",
            source="commune c",
            id_expr="c.insee",
            geom_expr="c.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("insee", "c", title="Code INSEE de la commune"),
                _p("nom", "c", title="Nom de la commune"),
                _p("dep", "c", title="Code du département"),
                _p("reg", "c", title="Code de la région"),
                _p("siren_epci", "c", title="SIREN de l'EPCI"),
                _p("population", "c", "Population municipale"),
            ),
            versions=("communes",),
            default_sort=("insee",),
            table="commune",
        ),
        _territoires(2018, "2018-2022"),
        _territoires(2023, "2023-2027"),
        Collection(
            id="sites",
            title="Sites d'activité",
            description=(
                "Sites économiques (dont sites clés en main), avec leur score de disponibilité "
                "et leur coût ZAN quand ils sont calculés."
            ),
            source=(
                "site s LEFT JOIN site_score sc ON sc.site_id = s.id "
                "LEFT JOIN site_readiness rd ON rd.site_id = s.id"
            ),
            id_expr="s.id",
            geom_expr="s.geom",
            geometry_type="Point",
            props=(
                _p("id", "s", title="Identifiant du site"),
                _p("nom", "s", title="Nom du site"),
                _p("programme", "s", title="Programme (ex. sites clés en main)"),
                _p("insee", "s", title="Code INSEE de la commune"),
                _p("lib_com", "s", title="Nom de la commune"),
                _p("surface_ha", "s", "Surface totale (ha)"),
                _p("surface_dispo_ha", "s", "Surface disponible (ha)"),
                _p("maturite", "s", title="Maturité du site"),
                _p("cle_en_main", "s", "Site clé en main"),
                _p("maitrise_fonciere", "s", title="Maîtrise foncière"),
                _p("pene", "s", "Projet d'envergure nationale ou européenne"),
                _p("friche", "s", "Friche"),
                _p("location_precision", "s", title="Précision de la localisation"),
                _p("source_url", "s", title="Fiche source"),
                _p("prix_m2", "s", "Prix (€/m²)", restricted=True),
                _p("contact", "s", title="Contact", restricted=True),
                *_SITE_SCORE,
                *_SITE_READINESS,
            ),
            versions=("sites", "site_score", "scores"),
            default_sort=("id",),
            table="site",
            keywords=("clés en main", "foncier économique"),
        ),
        Collection(
            id="parcels",
            title="Parcelles cadastrales",
            description=(
                "Parcelles cadastrales (Etalab / DGFiP) avec leur score de disponibilité et leur "
                "coût ZAN quand ils sont calculés. Tuiles à partir du zoom minimal."
            ),
            source="parcel p LEFT JOIN parcel_score ps ON ps.idu = p.idu",
            id_expr="p.idu",
            geom_expr="p.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("idu", "p", title="Identifiant de parcelle (14 caractères)"),
                # Tiles carry what the map styles by (score, ZAN); clicks read the items.
                _p("insee", "p", in_tiles=False, title="Code INSEE de la commune"),
                _p("prefixe", "p", in_tiles=False, title="Préfixe de section"),
                _p("section", "p", in_tiles=False, title="Section cadastrale"),
                _p("numero", "p", in_tiles=False, title="Numéro de parcelle"),
                _p("contenance_m2", "p", "Contenance cadastrale (m²)", in_tiles=False),
                _p("built", "p", "Parcelle bâtie", in_tiles=False),
                *_PARCEL_SCORE,
            ),
            versions=("parcels", "parcel_score", "scores"),
            default_sort=("idu",),
            min_zoom=13,
            table="parcel",
        ),
        Collection(
            id="friches",
            title="Friches",
            description="Friches (Cerema Cartofriches) : point, ou périmètre quand il est connu.",
            source="friche f",
            id_expr="f.site_id",
            geom_expr="f.geom",
            geom_out_expr="coalesce(f.perimeter, f.geom)",
            geometry_type="Geometry",
            props=(
                _p("site_id", "f", title="Identifiant Cartofriches"),
                _p("nom", "f", title="Nom de la friche"),
                _p("type", "f", title="Type de friche"),
                _p("statut", "f", title="Statut"),
                _p("insee", "f", title="Code INSEE de la commune"),
                _p("surface_m2", "f", "Surface (m²)"),
                _p("pollution", "f", title="Pollution"),
                _p("urba_zone_type", "f", title="Type de zone d'urbanisme"),
                _p("source", "f", title="Source"),
                _p("owner_type", "f", title="Type de propriétaire"),
                _p("proprio_nom", "f", title="Propriétaire", restricted=True),
            ),
            versions=("friches",),
            default_sort=("site_id",),
            table="friche",
        ),
        Collection(
            id="plu",
            title="Zonage des PLU",
            description="Zones des plans locaux d'urbanisme (CNIG zone_urba) et leur classe.",
            source="plu_zone z",
            id_expr="z.id",
            geom_expr="z.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("id", "z", title="Identifiant de zone"),
                _p("insee", "z", title="Code INSEE de la commune"),
                _p("libelle", "z", title="Libellé court (UX, AUi, ...)"),
                _p("libelong", "z", title="Libellé long"),
                _p("typezone", "z", title="Type de zone (U, AUc, AUs, A, N)"),
                _p("destdomi", "z", title="Destination dominante"),
                _p("datappro", "z", title="Date d'approbation"),
                _p("zone_class", "z", title="Classe (activity, urban, to_urbanise, ...)"),
            ),
            versions=("plu",),
            default_sort=("id",),
            min_zoom=10,
            table="plu_zone",
        ),
        Collection(
            id="zae",
            title="Zones d'activité économique",
            description=(
                "Périmètres des zones d'activité économique (CNIG SITE-ECO) : type, vocation, "
                "statut brouillon (proposé d'après le PLU) ou validé par l'EPCI."
            ),
            source="zae z",
            id_expr="z.id",
            geom_expr="z.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("id", "z", title="Identifiant CNIG du site (site_id)"),
                _p("nom", "z", title="Nom de la zone"),
                _p("site_type", "z", title="Type de site (CNIG)"),
                _p("vocadomi", "z", title="Vocation dominante"),
                _p("etat", "z", title="État du site"),
                _p("status", "z", title="Statut du périmètre (draft, validated)"),
                _p("epci_siren", "z", title="SIREN de l'EPCI"),
                _p("insee", "z", title="Code INSEE de la commune"),
                _p("surface_ha", "z", title="Surface (ha)"),
                _p("source", "z", title="Source du périmètre"),
            ),
            versions=("zae",),
            default_sort=("id",),
            min_zoom=8,
            table="zae",
        ),
        Collection(
            id="constraints",
            title="Contraintes",
            description="Contraintes environnementales et risques (Natura 2000, ZNIEFF, PPR, ...).",
            source="constraint_zone k",
            id_expr="k.id",
            geom_expr="k.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("id", "k", title="Identifiant"),
                _p("kind", "k", title="Nature de la contrainte"),
                _p("name", "k", title="Nom"),
                _p("source", "k", title="Source"),
                _p("vintage", "k", title="Millésime"),
            ),
            versions=("constraints",),
            default_sort=("id",),
            table="constraint_zone",
        ),
        Collection(
            id="land-units",
            title="Unités foncières contiguës",
            description="Parcelles non bâties adjacentes fusionnées (surface contiguë disponible).",
            source="land_unit u",
            id_expr="u.id",
            geom_expr="u.geom",
            geometry_type="MultiPolygon",
            props=(
                _p("id", "u", "Identifiant"),
                _p("insee", "u", title="Code INSEE de la commune"),
                _p("zone_id", "u", title="Zone PLU"),
                _p("zone_class", "u", title="Classe de zonage PLU"),
                _p("parcel_count", "u", "Nombre de parcelles"),
                _p("area_ha", "u", "Surface contiguë (ha)"),
                _p("rail_km", "u", "Distance à la voie ferrée la plus proche (km)"),
                _p("port_km", "u", "Distance au port de fret le plus proche (km)"),
            ),
            versions=("land_units", "scores"),
            default_sort=("id",),
            min_zoom=11,
            table="land_unit",
        ),
        Collection(
            id="rail-lines",
            title="Voies ferrées",
            description=(
                "Lignes du réseau ferré national (SNCF Réseau, version simplifiée), telles que "
                "publiées ; le fond de carte hors ligne les dessine."
            ),
            source="rail_line r",
            id_expr="r.id",
            geom_expr="r.geom",
            geometry_type="MultiLineString",
            props=(
                _p("id", "r", title="Identifiant (empreinte de la géométrie)"),
                _p("nom", "r", title="Nom de la ligne"),
                _p("source", "r", title="Fichier source"),
            ),
            versions=("rail_lines",),
            default_sort=("id",),
            table="rail_line",
        ),
        Collection(
            id="freight-ports",
            title="Ports de fret",
            description="Ports de fret intérieurs et fluviaux (OpenStreetMap), points.",
            source="freight_port f",
            id_expr="f.id",
            geom_expr="f.geom",
            geometry_type="Point",
            props=(
                _p("id", "f", title="Identifiant (osm:… ou empreinte du point)"),
                _p("nom", "f", title="Nom du port"),
                _p("operator", "f", title="Exploitant"),
                _p("cargo", "f", title="Type de fret"),
                _p("source", "f", title="Fichier source"),
            ),
            versions=("freight_ports",),
            default_sort=("id",),
            table="freight_port",
        ),
        Collection(
            id="contract_sheets",
            title="Fiches actions des contrats Territoires d'industrie",
            description=(
                "Les fiches actions validées qui ont un lieu : une entité par lieu de la fiche, "
                "au point du site, ou en un point intérieur de la commune, de la ZAE ou de "
                "l'unité foncière (place_precision le dit). Les fiches d'exemple portent "
                "is_example."
            ),
            source=_CONTRACT_PLACES,
            where=(
                "(st.id IS NOT NULL OR lu.id IS NOT NULL OR zn.id IS NOT NULL "
                "OR cm.insee IS NOT NULL)"
            ),
            public_where="s.workflow = 'validated'",
            id_expr="(pl.sheet_id || ':' || pl.place_type || ':' || pl.place_id)",
            geom_expr="coalesce(st.geom, ST_PointOnSurface(coalesce(lu.geom, zn.geom, cm.geom)))",
            geometry_type="Point",
            props=_CONTRACT_SHEET_PROPS,
            versions=("contracts", "sites", "land_units", "zae", "communes"),
            default_sort=("sheet_id",),
            table="ti_action_place",
            keywords=("Territoires d'industrie", "fiches actions"),
        ),
    )
}


def get_collection(collection_id: str) -> Collection:
    """The collection ``collection_id`` or :class:`NotFound` naming the known ones."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(
            f"unknown collection {collection_id!r}; known collections: {', '.join(COLLECTIONS)}"
        ) from None
