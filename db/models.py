"""The schema: SQLAlchemy tables with GeoAlchemy2 types, all geometries in EPSG:2154.

Codes (INSEE, SIREN, IDU) are text. Migrations in ``db/migrations`` create exactly these tables;
``tests/db/test_migrations.py`` checks that the two agree (Alembic's ``compare_metadata``). The
loader reads its column and geometry types from here (``ingest/tablespec.py``).
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import Label

SRID = 2154

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def multipolygon(nullable: bool = False) -> Mapped[object]:
    return mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=nullable)


def point(nullable: bool = False) -> Mapped[object]:
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=nullable)


def multilinestring(nullable: bool = False) -> Mapped[object]:
    return mapped_column(
        Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=nullable
    )


def search_key_index(name: str, column: str) -> Index:
    """A trigram index on ``foncier_search_key(column)``, the normalised name place search
    matches on (migration 0004)."""
    key: Label[str] = literal_column(f"foncier_search_key({column})").label(f"{column}_key")
    # The operator class apart (postgresql_ops), so Alembic can compare the expression.
    return Index(name, key, postgresql_using="gin", postgresql_ops={key.name: "gin_trgm_ops"})


class Base(DeclarativeBase):
    metadata = metadata


class Provenance:
    """Columns that tie each row to the ingest run that last wrote it."""

    run_id: Mapped[int | None] = mapped_column(BigInteger)
    vintage: Mapped[str | None] = mapped_column(Text)


# --- Reference -------------------------------------------------------------------------------


class Epci(Provenance, Base):
    __tablename__ = "epci"
    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    geom = multipolygon()
    __table_args__ = (search_key_index("ix_epci_nom_key", "nom"),)


class Commune(Provenance, Base):
    __tablename__ = "commune"
    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    dep: Mapped[str] = mapped_column(String(3), index=True)
    reg: Mapped[str | None] = mapped_column(String(2), index=True)
    siren_epci: Mapped[str | None] = mapped_column(String(9), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    # COG edition the commune's code, name and EPCI follow (merged communes are dissolved into
    # the current one, see CommuneAncienne).
    cog_vintage: Mapped[str | None] = mapped_column(Text)
    # The commune's own SIREN (Territoires d'industrie name commune members by it).
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    geom = multipolygon()
    __table_args__ = (search_key_index("ix_commune_nom_key", "nom"),)


class Region(Provenance, Base):
    """A region of the official COG list (code INSEE, 2 characters)."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)


class Departement(Provenance, Base):
    """A département of the official COG list (code INSEE: 01..95, 2A, 2B, 971..976)."""

    __tablename__ = "departement"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    reg: Mapped[str | None] = mapped_column(String(2))


class CommuneAncienne(Provenance, Base):
    """COG history: a commune merged since (commune déléguée or associée) -> the current one."""

    __tablename__ = "commune_ancienne"
    insee_ancienne: Mapped[str] = mapped_column(String(5), primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    nom: Mapped[str | None] = mapped_column(Text)


class ScotMembre(Provenance, Base):
    """Commune -> SCoT membership (territorialised ZAN targets, SCoT accounts)."""

    __tablename__ = "scot_membre"
    scot_id: Mapped[str] = mapped_column(Text, primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)
    nom_scot: Mapped[str | None] = mapped_column(Text)


# The Territoires d'industrie programmes: 2018-2022 and 2023-2027.
TI_PROGRAMMES = (2018, 2023)


class Territoire(Provenance, Base):
    """A Territoire d'industrie; ids are only unique within a programme (2018 or 2023)."""

    __tablename__ = "territoire"
    programme: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    id_ti: Mapped[str] = mapped_column(Text, primary_key=True)
    lib: Mapped[str] = mapped_column(Text)
    insee_reg: Mapped[str | None] = mapped_column(String(2))
    # 2018-2022 perimeters built from commune centroids are points: kept, but only polygons here.
    geom = multipolygon(nullable=True)
    __table_args__ = (
        CheckConstraint(f"programme IN {TI_PROGRAMMES}", name="programme"),
        search_key_index("ix_territoire_lib_key", "lib"),
    )


class TerritoireMembre(Provenance, Base):
    __tablename__ = "territoire_membre"
    programme: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    id_ti: Mapped[str] = mapped_column(Text, primary_key=True)
    siren: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)
    lib: Mapped[str | None] = mapped_column(Text)
    nature: Mapped[str] = mapped_column(Text)
    __table_args__ = (CheckConstraint("nature IN ('EPCI', 'EPT', 'COM')", name="nature"),)


# --- Land ------------------------------------------------------------------------------------


class Parcel(Provenance, Base):
    __tablename__ = "parcel"
    idu: Mapped[str] = mapped_column(String(14), primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    prefixe: Mapped[str] = mapped_column(String(3))
    section: Mapped[str] = mapped_column(String(2))
    numero: Mapped[str] = mapped_column(String(4))
    contenance_m2: Mapped[int | None] = mapped_column(Integer)
    built: Mapped[bool | None] = mapped_column(Boolean)
    # EDIGEO sheet (feuille) the parcel came from, e.g. 25354000AB01; NULL for Etalab files,
    # which the index leaves out (migration 0002).
    sheet: Mapped[str | None] = mapped_column(Text)
    geom = multipolygon()
    __table_args__ = (
        CheckConstraint("length(idu) = 14", name="idu_length"),
        Index("ix_parcel_sheet", "sheet", postgresql_where=text("sheet IS NOT NULL")),
    )


class Building(Provenance, Base):
    __tablename__ = "building"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    sheet: Mapped[str | None] = mapped_column(Text, index=True)
    # The source's own building class where it has one (Etalab `type`: 01 hard, 02 light).
    kind: Mapped[str | None] = mapped_column(Text)
    geom = multipolygon()


class Site(Provenance, Base):
    """A business site (CNIG SITE-ECO / TERRAIN-ECO inspired), turnkey or not.

    ``geom`` is always a point (given, inside the perimeter, or the commune's centre when the
    source has no coordinates: ``location_precision`` says which); ``perimeter`` when known.
    """

    __tablename__ = "site"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    programme: Mapped[str | None] = mapped_column(Text)
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    insee_list: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    lib_com: Mapped[str | None] = mapped_column(Text)
    surface_ha: Mapped[float | None] = mapped_column(Double)
    surface_dispo_ha: Mapped[float | None] = mapped_column(Double)
    maturite: Mapped[str | None] = mapped_column(Text)
    cle_en_main: Mapped[bool] = mapped_column(Boolean, server_default="false")
    maitrise_fonciere: Mapped[str | None] = mapped_column(Text)
    pene: Mapped[bool] = mapped_column(Boolean, server_default="false")
    friche: Mapped[bool | None] = mapped_column(Boolean)
    prix_m2: Mapped[float | None] = mapped_column(Double)
    contact: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    location_precision: Mapped[str] = mapped_column(Text)
    geom = point()
    perimeter = multipolygon(nullable=True)
    # Availability freshness (migration 0007): last confirmation, until when it holds, and
    # when the site was withdrawn (a one-click link, `foncier sites remind`).
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "location_precision IN ('commune', 'point', 'polygon')", name="location_precision"
        ),
    )


class SiteEvidence(Base):
    """An uploaded evidence PDF, kept with its site (migration 0007)."""

    __tablename__ = "site_evidence"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(
        Text, ForeignKey("site.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    actor: Mapped[str] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_key.id"))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SiteChecklist(Base):
    """One readiness checklist item of a site (``score/checklists/default.toml``, migration
    0007); versioned in ``history.site_checklist``."""

    __tablename__ = "site_checklist"
    site_id: Mapped[str] = mapped_column(
        Text, ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[float | None] = mapped_column(Double)
    delay_months: Mapped[float | None] = mapped_column(Double)
    done_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(Text)
    evidence_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("site_evidence.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_key.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint(
            "status IN ('done', 'in_progress', 'not_started', 'not_applicable')", name="status"
        ),
    )


class SiteReadiness(Base):
    """A site's readiness level and time to a building permit, derived from its checklist."""

    __tablename__ = "site_readiness"
    site_id: Mapped[str] = mapped_column(
        Text, ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(Text)
    time_to_permit_months: Mapped[float] = mapped_column(Double)
    explanation: Mapped[str] = mapped_column(Text)
    items: Mapped[dict[str, object]] = mapped_column(JSONB)
    definition_version: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SiteParcel(Base):
    __tablename__ = "site_parcel"
    site_id: Mapped[str] = mapped_column(
        Text, ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    idu: Mapped[str] = mapped_column(String(14), primary_key=True, index=True)


# Brownfield owner types (migration 0010), read by ingest/layers/friches.py from Cartofriches'
# proprio_personne and proprio_type (the Cerema owner category codes, by their first letter).
FRICHE_OWNER_TYPES = (
    "personne_publique",
    "personne_physique",
    "entreprise",
    "amenageur_logement",
    "sci_copropriete",
    "reseau",
    "sante_social",
    "enseignement_recherche",
    "association_culte",
    "agricole",
    "personne_morale",
    "plusieurs",
    "inconnu",
)
OWNER_TYPE_CHECK = "owner_type IN ({})".format(", ".join(f"'{t}'" for t in FRICHE_OWNER_TYPES))


class Friche(Provenance, Base):
    """A brownfield (Cerema Cartofriches); point, and perimeter where the source has one."""

    __tablename__ = "friche"
    site_id: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    statut: Mapped[str | None] = mapped_column(Text)
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    surface_m2: Mapped[float | None] = mapped_column(Double)
    pollution: Mapped[str | None] = mapped_column(Text)
    urba_zone_type: Mapped[str | None] = mapped_column(Text)
    proprio_nom: Mapped[str | None] = mapped_column(Text)
    parcel_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    source: Mapped[str | None] = mapped_column(Text)
    # Owner type (migration 0010), one of FRICHE_OWNER_TYPES: never a private person's name.
    owner_type: Mapped[str | None] = mapped_column(Text)
    geom = point()
    perimeter = multipolygon(nullable=True)
    __table_args__ = (CheckConstraint(OWNER_TYPE_CHECK, name="owner_type"),)


# --- ZAE inventory (migration 0008) ---------------------------------------------------------


class Zae(Provenance, Base):
    """An economic activity zone (CNIG SITE-ECO ``site``): its perimeter, CNIG type and
    vocation, and whether the EPCI validated it (``draft`` perimeters are proposals)."""

    __tablename__ = "zae"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    site_type: Mapped[str | None] = mapped_column(Text)
    vocadomi: Mapped[str | None] = mapped_column(Text)
    etat: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    epci_siren: Mapped[str | None] = mapped_column(String(9), index=True)
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    surface_ha: Mapped[float | None] = mapped_column(Double)
    source: Mapped[str | None] = mapped_column(Text)
    # The CNIG fields the table has no column for, as published.
    attributes: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    geom = multipolygon()
    __table_args__ = (CheckConstraint("status IN ('draft', 'validated')", name="status"),)


class ParcelOwner(Provenance, Base):
    """A right on a parcel (DGFiP "parcelles des personnes morales" layout): a legal person
    with its SIREN and name, or a private person, never named (``owner_type``)."""

    __tablename__ = "parcel_owner"
    idu: Mapped[str] = mapped_column(String(14), primary_key=True)
    # SIREN, else the MAJIC owner number, else the name (legal persons); never a person's name.
    owner_key: Mapped[str] = mapped_column(Text, primary_key=True)
    code_droit: Mapped[str] = mapped_column(Text, primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    owner_type: Mapped[str] = mapped_column(Text)
    siren: Mapped[str | None] = mapped_column(String(9))
    denomination: Mapped[str | None] = mapped_column(Text)
    forme_juridique: Mapped[str | None] = mapped_column(Text)
    groupe_personne: Mapped[str | None] = mapped_column(Text)
    contenance_m2: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(
            "owner_type IN ('personne morale', 'personne physique')", name="owner_type"
        ),
        CheckConstraint(
            "owner_type = 'personne morale' OR denomination IS NULL AND siren IS NULL",
            name="private_unnamed",
        ),
    )


class Establishment(Provenance, Base):
    """A SIRENE establishment (INSEE stock layout), placed by its Lambert-93 coordinates."""

    __tablename__ = "establishment"
    siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    naf: Mapped[str | None] = mapped_column(Text)
    # A (active) or F (closed), since ``state_since`` (SIRENE dateDebut of the current period).
    etat: Mapped[str] = mapped_column(String(1))
    state_since: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[str | None] = mapped_column(Text)
    enseigne: Mapped[str | None] = mapped_column(Text)
    tranche_effectif: Mapped[str | None] = mapped_column(Text)
    geom = point()
    __table_args__ = (CheckConstraint("etat IN ('A', 'F')", name="etat"),)


class CfePremises(Provenance, Base):
    """The EPCI's CFE file: a land unit or premises (by parcel) and its last CFE year."""

    __tablename__ = "cfe_premises"
    idu: Mapped[str] = mapped_column(String(14), primary_key=True)
    # The premises' invariant (local) number; empty when the row is the whole parcel.
    local_id: Mapped[str] = mapped_column(Text, primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    last_cfe_year: Mapped[int | None] = mapped_column(SmallInteger)


# --- Transport (migration 0010) ------------------------------------------------------------


class RailLine(Provenance, Base):
    """A line of the national rail network (SNCF Réseau RFN), as published (lines only)."""

    __tablename__ = "rail_line"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, index=True)
    geom = multilinestring()


class FreightPort(Provenance, Base):
    """An inland or river freight port (point)."""

    __tablename__ = "freight_port"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    cargo: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, index=True)
    geom = point()


# --- Constraints -----------------------------------------------------------------------------


class ConstraintZone(Provenance, Base):
    __tablename__ = "constraint_zone"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    geom = multipolygon()


class PluZone(Provenance, Base):
    __tablename__ = "plu_zone"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    libelle: Mapped[str] = mapped_column(Text)
    libelong: Mapped[str | None] = mapped_column(Text)
    typezone: Mapped[str] = mapped_column(Text)
    destdomi: Mapped[str | None] = mapped_column(Text)
    datappro: Mapped[str | None] = mapped_column(Text)
    zone_class: Mapped[str] = mapped_column(Text)
    geom = multipolygon()
    __table_args__ = (
        CheckConstraint(
            "zone_class IN ('activity', 'urban', 'to_urbanise', 'agricultural', 'natural')",
            name="zone_class",
        ),
    )


# --- ZAN -------------------------------------------------------------------------------------


class EnafFlow(Provenance, Base):
    """ENAF consumed in a commune during ``year`` (1 January year -> 1 January year+1), in m2."""

    __tablename__ = "enaf_flow"
    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    destination: Mapped[str] = mapped_column(Text, primary_key=True)
    area_m2: Mapped[float] = mapped_column(Double)
    __table_args__ = (
        CheckConstraint(
            "destination IN ('total', 'activite', 'habitat', 'mixte', 'route', 'ferroviaire',"
            " 'inconnu')",
            name="destination",
        ),
        CheckConstraint("area_m2 >= 0 OR destination <> 'total'", name="area_positive"),
    )


class ZanTarget(Provenance, Base):
    __tablename__ = "zan_target"
    territory_type: Mapped[str] = mapped_column(Text, primary_key=True)
    territory_code: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str | None] = mapped_column(Text)
    reduction_pct: Mapped[float] = mapped_column(Double)
    document: Mapped[str | None] = mapped_column(Text)


# --- Derived (rebuilt by `foncier score`) ----------------------------------------------------


class LandUnit(Base):
    """Adjacent unbuilt, non-excluded parcels of one PLU zone (or one commune without PLU)."""

    __tablename__ = "land_unit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    insee: Mapped[str | None] = mapped_column(String(5), index=True)
    zone_id: Mapped[str | None] = mapped_column(Text, index=True)
    zone_class: Mapped[str | None] = mapped_column(Text)
    parcel_count: Mapped[int] = mapped_column(Integer)
    area_ha: Mapped[float] = mapped_column(Double)
    idus: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # Straight-line km (Lambert-93) to the nearest rail line / freight port (migration 0010).
    rail_km: Mapped[float | None] = mapped_column(Double)
    port_km: Mapped[float | None] = mapped_column(Double)
    geom = multipolygon()


class ParcelScore(Base):
    __tablename__ = "parcel_score"
    idu: Mapped[str] = mapped_column(String(14), primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), index=True)
    score: Mapped[float] = mapped_column(Double)
    excluded: Mapped[bool] = mapped_column(Boolean)
    # artificialised | enaf | unknown, from evidence only (land_evidence); zoning never sets it.
    land_status: Mapped[str] = mapped_column(Text)
    land_evidence: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    # ENAF hectares developing it would consume: NULL when not known, zan_cost_max_ha its bound.
    zan_cost_ha: Mapped[float | None] = mapped_column(Double)
    zan_cost_max_ha: Mapped[float | None] = mapped_column(Double)
    # Score criteria whose input is known (of the profile's seven).
    known_inputs: Mapped[int | None] = mapped_column(SmallInteger)
    envelope_share: Mapped[float | None] = mapped_column(Double)
    land_unit_id: Mapped[int | None] = mapped_column(BigInteger)
    zone_class: Mapped[str | None] = mapped_column(Text)
    constrained_share: Mapped[float | None] = mapped_column(Double)
    contiguous_ha: Mapped[float | None] = mapped_column(Double)
    # Candidate land (activity zone, site or brownfield); available = candidate, known status,
    # unbuilt or brownfield, not excluded; to_qualify = could be available, an input unknown.
    candidate: Mapped[bool | None] = mapped_column(Boolean)
    available: Mapped[bool | None] = mapped_column(Boolean)
    to_qualify: Mapped[bool | None] = mapped_column(Boolean)
    # json, not jsonb: written once from a format() template, read whole (no operator on it)
    breakdown: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    profile_version: Mapped[str] = mapped_column(Text)
    vintages: Mapped[dict[str, object]] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        CheckConstraint("land_status IN ('artificialised', 'enaf', 'unknown')", name="land_status"),
        # Covering: the ZAN simulator costs a land unit by an index-only scan (migration 0011).
        Index(
            "ix_parcel_score_land_unit_id",
            "land_unit_id",
            postgresql_include=["idu", "insee", "land_status", "zan_cost_ha", "zan_cost_max_ha"],
        ),
    )


class SiteScore(Base):
    __tablename__ = "site_score"
    site_id: Mapped[str] = mapped_column(Text, primary_key=True)
    score: Mapped[float] = mapped_column(Double)
    excluded: Mapped[bool] = mapped_column(Boolean)
    # artificialised | enaf | unknown, from evidence only (land_evidence); zoning never sets it.
    land_status: Mapped[str] = mapped_column(Text)
    land_evidence: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    # ENAF hectares developing it would consume: NULL when not known, zan_cost_max_ha its bound.
    zan_cost_ha: Mapped[float | None] = mapped_column(Double)
    zan_cost_max_ha: Mapped[float | None] = mapped_column(Double)
    # Score criteria whose input is known (of the profile's seven).
    known_inputs: Mapped[int | None] = mapped_column(SmallInteger)
    envelope_share: Mapped[float | None] = mapped_column(Double)
    contiguous_ha: Mapped[float | None] = mapped_column(Double)
    zone_class: Mapped[str | None] = mapped_column(Text)
    # Straight-line km (Lambert-93) to the nearest rail line / freight port (migration 0010).
    rail_km: Mapped[float | None] = mapped_column(Double)
    port_km: Mapped[float | None] = mapped_column(Double)
    # json, not jsonb: written once from a format() template, read whole (no operator on it)
    breakdown: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    profile_version: Mapped[str] = mapped_column(Text)
    vintages: Mapped[dict[str, object]] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (
        CheckConstraint("land_status IN ('artificialised', 'enaf', 'unknown')", name="land_status"),
    )


class ZanAccount(Base):
    __tablename__ = "zan_account"
    territory_type: Mapped[str] = mapped_column(Text, primary_key=True)
    territory_code: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str | None] = mapped_column(Text)
    reference_ha: Mapped[float] = mapped_column(Double)
    reduction_pct: Mapped[float] = mapped_column(Double)
    # The reference tool's envelope (Mon Diagnostic Artificialisation): the territory's own
    # reference x (1 - reduction), raised to 1 ha only when below 1 ha (then `guaranteed`).
    envelope_ha: Mapped[float] = mapped_column(Double)
    # The 2023 law's communal guarantee pooled: the sum of the member communes' envelopes, each
    # raised to 1 ha (equal to envelope_ha for a commune).
    envelope_with_commune_guarantees_ha: Mapped[float | None] = mapped_column(Double)
    consumed_ha: Mapped[float] = mapped_column(Double)
    remaining_ha: Mapped[float] = mapped_column(Double)
    projection_2031_ha: Mapped[float | None] = mapped_column(Double)
    guaranteed: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Coverage: member communes, those with ENAF flows loaded, the flows' sources and vintages.
    communes: Mapped[int | None] = mapped_column(Integer)
    communes_with_flows: Mapped[int | None] = mapped_column(Integer)
    last_year: Mapped[int | None] = mapped_column(SmallInteger)
    sources: Mapped[list[dict[str, object]] | None] = mapped_column(JSONB)
    # The reduction applied and where it comes from (a territorialised target or the law).
    target: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    # ENAF of "projets d'envergure nationale ou européenne" sites: national envelope, not ours.
    pene_ha: Mapped[float | None] = mapped_column(Double)
    years: Mapped[dict[str, object]] = mapped_column(JSONB)
    vintage: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ScoreRun(Base):
    """One ``foncier score`` run: its scope and the layer versions it saw (incremental
    re-scoring)."""

    __tablename__ = "score_run"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    territory: Mapped[str | None] = mapped_column(Text)
    profile_version: Mapped[str] = mapped_column(Text)
    layer_versions: Mapped[dict[str, object]] = mapped_column(JSONB)
    communes: Mapped[int] = mapped_column(Integer, server_default="0")
    parcels: Mapped[int] = mapped_column(Integer, server_default="0")
    sites: Mapped[int] = mapped_column(Integer, server_default="0")
    seconds: Mapped[float | None] = mapped_column(Double)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ZanScenario(Base):
    """A saved simulator scenario (migration 0009): its projects, the answer they gave, and the
    vintages and profile version it was computed on, so it can be reproduced."""

    __tablename__ = "zan_scenario"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    link_id: Mapped[str] = mapped_column(Text, unique=True)
    territory_type: Mapped[str] = mapped_column(Text)
    territory_code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, object]] = mapped_column(JSONB)
    answer: Mapped[dict[str, object]] = mapped_column(JSONB)
    vintages: Mapped[dict[str, object]] = mapped_column(JSONB)
    profile_version: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_key.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (Index("ix_zan_scenario_territory", "territory_type", "territory_code"),)


# --- Territoires d'industrie contracts (migration 0012) ------------------------------------
# A territory's protocol, governance and action sheets, all versioned (history.<table>): API
# writes name their audit row, `foncier contracts import` its ingest run. No foreign key to
# ``territoire``: its loads replace rows; imports and the API check the territory exists.

PROTOCOL_STATUSES = ("in_preparation", "signed", "amended", "closed")
GOVERNANCE_ROLES = (
    "elected_official",
    "industrialist",
    "prefect",
    "region",
    "epci",
    "operator",
    "other",
)
SHEET_STATUSES = ("idea", "in_preparation", "committed", "done", "abandoned")
WORKFLOW_STATES = ("draft", "submitted", "validated", "sent_back")
FINANCER_KINDS = ("etat", "region", "epci", "operateur", "europe", "autre")
PLACE_TYPES = ("site", "land_unit", "zae", "commune")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class ContractEdit:
    """Who last wrote a contract row: the API's key and actor, or an import's run (Provenance)."""

    actor: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TiProtocol(ContractEdit, Provenance, Base):
    """A territory's "protocole d'engagement" for one programme; ``is_example`` marks the
    fictitious sample (never summed with real figures)."""

    __tablename__ = "ti_protocol"
    programme: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    id_ti: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    signed_on: Mapped[date | None] = mapped_column(Date)
    document_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    is_example: Mapped[bool] = mapped_column(Boolean, server_default="false")
    __table_args__ = (CheckConstraint(f"status IN {_in(PROTOCOL_STATUSES)}", name="status"),)


class TiGovernance(ContractEdit, Provenance, Base):
    """A role in a territory's governance or among its protocol's signatories (``signatory``).
    ``person_name`` is restricted: only keyed readers see it."""

    __tablename__ = "ti_governance"
    programme: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    id_ti: Mapped[str] = mapped_column(Text, primary_key=True)
    role: Mapped[str] = mapped_column(Text, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    organisation: Mapped[str | None] = mapped_column(Text)
    person_name: Mapped[str | None] = mapped_column(Text)
    signatory: Mapped[bool] = mapped_column(Boolean, server_default="false")
    __table_args__ = (CheckConstraint(f"role IN {_in(GOVERNANCE_ROLES)}", name="role"),)


class TiActionSheet(ContractEdit, Provenance, Base):
    """A "fiche action": ``axis`` from ``db/contracts/axes.toml`` for its programme, the State's
    "panier de services" measures it uses, its status with dates and its workflow state (who
    moved it last, when, and the region's comment when sent back)."""

    __tablename__ = "ti_action_sheet"
    # "<programme>-<id_ti>-<code>": stable across imports (idempotent) and exports.
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    programme: Mapped[int] = mapped_column(SmallInteger)
    id_ti: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    axis: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    pilot: Mapped[str | None] = mapped_column(Text)
    partners: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    budget_eur: Mapped[float | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(Text)
    idea_on: Mapped[date | None] = mapped_column(Date)
    preparation_on: Mapped[date | None] = mapped_column(Date)
    committed_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    abandoned_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    workflow: Mapped[str] = mapped_column(Text, server_default="draft")
    workflow_comment: Mapped[str | None] = mapped_column(Text)
    workflow_by: Mapped[str | None] = mapped_column(Text)
    workflow_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_example: Mapped[bool] = mapped_column(Boolean, server_default="false")
    __table_args__ = (
        CheckConstraint(f"status IN {_in(SHEET_STATUSES)}", name="status"),
        CheckConstraint(f"workflow IN {_in(WORKFLOW_STATES)}", name="workflow"),
        CheckConstraint("budget_eur >= 0", name="budget"),
        Index("ix_ti_action_sheet_territory", "programme", "id_ti", "code", unique=True),
    )


class TiActionFunding(ContractEdit, Provenance, Base):
    """One financer of a sheet: committed and paid euros."""

    __tablename__ = "ti_action_funding"
    sheet_id: Mapped[str] = mapped_column(
        Text, ForeignKey("ti_action_sheet.id", ondelete="CASCADE"), primary_key=True
    )
    financer: Mapped[str] = mapped_column(Text, primary_key=True)
    financer_kind: Mapped[str] = mapped_column(Text)
    committed_eur: Mapped[float | None] = mapped_column(Numeric(14, 2))
    paid_eur: Mapped[float | None] = mapped_column(Numeric(14, 2))
    __table_args__ = (
        CheckConstraint(f"financer_kind IN {_in(FINANCER_KINDS)}", name="financer_kind"),
        CheckConstraint("committed_eur >= 0 AND paid_eur >= 0", name="amounts"),
    )


class TiActionIndicator(ContractEdit, Provenance, Base):
    """An indicator of a sheet: its target and its last measured value."""

    __tablename__ = "ti_action_indicator"
    sheet_id: Mapped[str] = mapped_column(
        Text, ForeignKey("ti_action_sheet.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(Text, primary_key=True)
    unit: Mapped[str | None] = mapped_column(Text)
    target: Mapped[float | None] = mapped_column(Double)
    measured: Mapped[float | None] = mapped_column(Double)
    measured_at: Mapped[date | None] = mapped_column(Date)


class TiActionPlace(ContractEdit, Provenance, Base):
    """A place a sheet concerns: a site, a land unit, a ZAE or a commune (by its id there), so
    the sheet has a place on the map (the ``contract_sheets`` collection)."""

    __tablename__ = "ti_action_place"
    sheet_id: Mapped[str] = mapped_column(
        Text, ForeignKey("ti_action_sheet.id", ondelete="CASCADE"), primary_key=True
    )
    place_type: Mapped[str] = mapped_column(Text, primary_key=True)
    place_id: Mapped[str] = mapped_column(Text, primary_key=True)
    __table_args__ = (
        CheckConstraint(f"place_type IN {_in(PLACE_TYPES)}", name="place_type"),
        Index("ix_ti_action_place_place", "place_type", "place_id"),
    )


# --- Operations ------------------------------------------------------------------------------


class IngestRun(Base):
    __tablename__ = "ingest_run"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, index=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    vintage: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_loaded: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_repaired: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_quarantined: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_inserted: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_updated: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_deleted: Mapped[int] = mapped_column(Integer, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The run that undid this one (`foncier ingest undo`, migration 0006).
    undone_by: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
    )


class Quarantine(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ingest_run.id", ondelete="CASCADE"), index=True
    )
    layer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    feature_index: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, object] | None] = mapped_column(JSONB)


class LayerVersion(Base):
    """Bumped whenever a load or a re-score changes a layer: the API's ETags come from it."""

    __tablename__ = "layer_version"
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- Access ----------------------------------------------------------------------------------


class ApiKey(Base):
    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    scope_type: Mapped[str] = mapped_column(Text)
    scope_code: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Refused with 401 "key expired" from then on (migration 0005); NULL: never expires.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("role IN ('editor', 'admin')", name="role"),
        CheckConstraint("scope_type IN ('epci', 'region', 'national')", name="scope_type"),
    )


class Audit(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_key.id"))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, object]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The audit row of the write that undid this one (`foncier sites undo`, migration 0006).
    undone_by: Mapped[int | None] = mapped_column(BigInteger)


Index("ix_quarantine_layer", Quarantine.layer)
