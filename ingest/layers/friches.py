"""Brownfields (Cerema Cartofriches): the point inventory and site perimeters (polygons).

- **Points** (``cartofriches_*.geojson``: ``site_id``, ``site_nom``, ``site_type``,
  ``site_statut``, ``site_surface`` m2, ``comm_insee``, ``l_idpar`` ``{idu,idu}``, ...): the
  inventory, authoritative for attributes. A load replaces the communes it covers (scope
  ``insee``), except sites known only from a perimeter file.
- **Perimeters** (polygons, e.g. SPARTE's ``cartofriches_polygones_*``: ``site_id``,
  ``insee_com``, ``surface_m2``, ``friche_*``): set ``perimeter`` of the same ``site_id``. For a
  site the point file already has, only the perimeter changes (its point and attributes stay);
  a site absent from the points gets the file's attributes and a point on its perimeter. This
  file only adds and updates (no deletion).

Owner names are stored only for legal persons (``proprio_personne == 'personne morale'``):
names of private persons never reach the database, not even the quarantine's raw records.
The owner's *type* (``owner_type``, one of ``db.models.FRICHE_OWNER_TYPES``) is stored for every
site: see :func:`owner_type`.
"""

from __future__ import annotations

import numpy as np
import shapely
from psycopg import sql

from db.models import FRICHE_OWNER_TYPES
from ingest.normalize import TableLoad, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import sql_template, table_spec

POINTS_SOURCE = "cartofriches"
PERIMETERS_SOURCE = "cartofriches-perimetres"
LEGAL_PERSON = "personne morale"
PRIVATE_PERSON = "personne physique"
# Cartofriches' ``proprio_type`` holds the owners' Cerema category codes (``{P5a}``, ``{G1a,M1a}``):
# the first letter is the family. Read against the owner names of the ARA sample: P State and
# local authorities (P1 État, P3 département, P4 EPCI, P5 commune), X private persons, Z and M
# companies (industry, quarries, retail), F developers and housing bodies (SEM, EPF, HLM,
# promoters), G SCI and co-ownerships, R networks (SNCF, motorways, CNR, energy, water), S
# health and social, E education and research (BRGM, CEA), L associations and religious bodies,
# A farming (groupements fonciers agricoles).
OWNER_FAMILIES = {
    "P": "personne_publique",
    "X": "personne_physique",
    "Z": "entreprise",
    "M": "entreprise",
    "F": "amenageur_logement",
    "G": "sci_copropriete",
    "R": "reseau",
    "S": "sante_social",
    "E": "enseignement_recherche",
    "L": "association_culte",
    "A": "agricole",
}
assert set(OWNER_FAMILIES.values()) <= set(FRICHE_OWNER_TYPES)

_COLUMNS = (
    "site_id",
    "nom",
    "type",
    "statut",
    "insee",
    "surface_m2",
    "pollution",
    "urba_zone_type",
    "source",
)

FRICHE_POINTS = table_spec(
    table="friche",
    key=("site_id",),
    columns=(*_COLUMNS, "proprio_nom", "parcel_ids", "owner_type"),
    geometries=("geom",),
    scope="insee",
    # Sites known only from a perimeter file are not the point file's to delete.
    post_stage_sql=sql_template(
        "INSERT INTO held_friche (site_id) SELECT f.site_id FROM friche f "
        "WHERE f.source = {source}",
        source=sql.Literal(PERIMETERS_SOURCE),
    ),
)

# A site the points already have keeps its point and attributes; a new one sits on its perimeter.
_KEEP_POINT_SITE = """
UPDATE {stage} s
SET nom = f.nom, type = f.type, statut = f.statut, insee = f.insee, surface_m2 = f.surface_m2,
    pollution = f.pollution, urba_zone_type = f.urba_zone_type, source = f.source, geom = f.geom
FROM friche f
WHERE f.site_id = s.site_id AND f.source IS DISTINCT FROM {source};
UPDATE {stage} s SET geom = ST_PointOnSurface(s.perimeter) WHERE s.geom IS NULL;
"""

FRICHE_PERIMETERS = table_spec(
    table="friche",
    key=("site_id",),
    columns=_COLUMNS,
    geometries=("geom", "perimeter"),
    optional_geometries=("geom",),
    delete_missing=False,
    post_stage_sql=sql_template(_KEEP_POINT_SITE, source=sql.Literal(PERIMETERS_SOURCE)),
    checks=(("s.geom IS NULL", "'no point and no usable perimeter'"),),
)


def parse_id_list(value: object) -> list[str] | None:
    """Parcel ids from PostgreSQL array text (``{a,b}``) or a ``|``/``,``-separated list.

    Example:
        >>> parse_id_list("{01432000ZC0096,01432000ZC0097}")
        ['01432000ZC0096', '01432000ZC0097']
    """
    if not isinstance(value, str):
        return None
    text = value.strip().removeprefix("{").removesuffix("}")
    ids = [v.strip().strip('"') for v in text.replace("|", ",").split(",")]
    return [v for v in ids if v] or None


def owner_type(personne: object, categories: object) -> str:
    """The owner type of a Cartofriches site from ``proprio_personne`` and ``proprio_type``.

    One family of owners gives its type; owners of several families (or persons and legal
    persons together) give ``plusieurs``; a legal person of no known family ``personne_morale``;
    nothing known ``inconnu``.

    Example:
        >>> owner_type("personne morale", "{P5a}"), owner_type("personne physique", "{X1a}")
        ('personne_publique', 'personne_physique')
        >>> owner_type("personne morale", "{G2a,M1a}"), owner_type("inconnu", None)
        ('plusieurs', 'inconnu')
    """
    codes = parse_id_list(categories) or []
    families = {OWNER_FAMILIES.get(c[:1].upper()) for c in codes if c[:1].upper() != "N"}
    person = str(personne).strip().lower() if isinstance(personne, str) else ""
    if person == PRIVATE_PERSON:
        families.add("personne_physique")
    elif person == LEGAL_PERSON and families <= {None}:
        return "personne_morale"
    elif "," in person:
        return "plusieurs"
    known = {f for f in families if f is not None}
    if len(known) > 1:
        return "plusieurs"
    if known:
        return known.pop()
    return "personne_morale" if None in families else "inconnu"


def _is_polygonal(source: Source) -> bool:
    if not source.has_geometry or not len(source.frame):
        return False
    types = shapely.get_type_id(np.asarray(source.frame.geometry.to_numpy(), dtype=object))
    return bool(np.isin(types, [3, 6]).any())


def prepare_points(source: Source) -> list[TableLoad]:
    """The Cartofriches point inventory to ``friche`` rows."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["site_id"] = pick(f, "site_id", source=name)
    frame["nom"] = pick(f, "site_nom", "nom", source=name, required=False)
    frame["type"] = pick(f, "site_type", source=name, required=False)
    frame["statut"] = pick(f, "site_statut", source=name, required=False)
    frame["insee"] = code(pick(f, "comm_insee", "insee_com", "insee", source=name), 5)
    frame["surface_m2"] = pick(f, "site_surface", "surface_m2", source=name, required=False)
    frame["pollution"] = pick(f, "sol_pollution_existe", source=name, required=False)
    frame["urba_zone_type"] = pick(f, "urba_zone_type", source=name, required=False)
    frame["parcel_ids"] = pick(f, "l_idpar", source=name, required=False).map(parse_id_list)
    frame["source"] = POINTS_SOURCE
    # Privacy: keep an owner's name only for a legal person, and scrub it from the raw records.
    person = pick(f, "proprio_personne", source=name, required=False).astype("string")
    legal = (person.str.strip().str.lower() == LEGAL_PERSON).fillna(False).to_numpy(dtype=bool)
    owner = pick(f, "proprio_nom", source=name, required=False)
    frame["proprio_nom"] = owner.where(legal, None)
    categories = pick(f, "proprio_type", source=name, required=False)
    frame["owner_type"] = [owner_type(p, c) for p, c in zip(person, categories, strict=True)]
    raw = f.copy()
    if "proprio_nom" in raw:
        raw["proprio_nom"] = raw["proprio_nom"].where(legal, None)
    frame["geom"] = f.geometry.to_numpy()
    return [finish(FRICHE_POINTS, frame, raw, source.crs, name)]


def prepare_perimeters(source: Source) -> list[TableLoad]:
    """Site perimeters (polygons) to ``friche.perimeter`` (and new sites)."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["site_id"] = pick(f, "site_id", source=name)
    frame["nom"] = pick(f, "site_nom", "nom", source=name, required=False)
    frame["type"] = pick(f, "friche_type", "site_type", source=name, required=False)
    frame["statut"] = pick(f, "friche_statut", "site_statut", source=name, required=False)
    insee = pick(f, "insee_com", "comm_insee", "insee", source=name, required=False)
    # SPARTE's site ids start with the INSEE code ("69029_25070").
    frame["insee"] = code(insee.where(insee.notna(), frame["site_id"].str.split("_").str[0]), 5)
    frame["surface_m2"] = pick(f, "surface_m2", "site_surface", source=name, required=False)
    frame["pollution"] = pick(
        f, "friche_sol_pollution", "sol_pollution_existe", source=name, required=False
    )
    frame["urba_zone_type"] = pick(
        f, "friche_type_zone", "urba_zone_type", source=name, required=False
    )
    frame["source"] = PERIMETERS_SOURCE
    frame["geom"] = None
    frame["perimeter"] = f.geometry.to_numpy()
    return [finish(FRICHE_PERIMETERS, frame, f, source.crs, name)]


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Points (the inventory) or polygons (perimeters), told apart by the geometry type."""
    if _is_polygonal(source):
        return prepare_perimeters(source)
    return prepare_points(source)


register(
    Layer(
        "friches",
        "Brownfields (Cartofriches): the point inventory, or site perimeters (polygons)",
        prepare,
        ("friches",),
    )
)
