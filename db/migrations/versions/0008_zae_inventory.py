"""The ZAE inventory's layers: zones, legal-person owners, SIRENE establishments, CFE premises.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 20:10:00

- ``zae``: economic activity zones as published in CNIG SITE-ECO files (``site_id``, type,
  dominant vocation, state), with a status ``draft`` (a proposal, e.g. from the PLU) or
  ``validated`` (the EPCI's perimeter), the CNIG fields without a column kept in ``attributes``.
- ``parcel_owner``: rights on parcels from the DGFiP "fichiers des parcelles des personnes
  morales"; a private person is stored as ``personne physique`` without name nor SIREN (a check
  holds the table to it).
- ``establishment``: SIRENE establishments (INSEE stock layout) at their Lambert-93 point.
- ``cfe_premises``: the EPCI's CFE file, the last CFE year of a parcel or of premises on it.

All four are versioned (migration 0006): ``history.<table>`` and its two triggers.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

VERSIONED = {
    "zae": ("id",),
    "parcel_owner": ("idu", "owner_key", "code_droit"),
    "establishment": ("siret",),
    "cfe_premises": ("idu", "local_id"),
}


def _geometry(kind: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("geom", Geometry(kind, srid=2154, spatial_index=False), nullable=False)


def _provenance() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("run_id", sa.BigInteger()), sa.Column("vintage", sa.Text())]


def _indexes(table: str, columns: tuple[str, ...], geometry: bool) -> None:
    if geometry:
        op.create_geospatial_index(
            f"idx_{table}_geom", table, ["geom"], postgresql_using="gist", postgresql_ops={}
        )
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def _zae() -> None:
    op.create_geospatial_table(
        "zae",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("site_type", sa.Text()),
        sa.Column("vocadomi", sa.Text()),
        sa.Column("etat", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("epci_siren", sa.String(9)),
        sa.Column("insee", sa.String(5)),
        sa.Column("surface_ha", sa.Double()),
        sa.Column("source", sa.Text()),
        sa.Column("attributes", JSONB()),
        _geometry("MULTIPOLYGON"),
        *_provenance(),
        sa.CheckConstraint("status IN ('draft', 'validated')", name=op.f("ck_zae_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zae")),
    )
    _indexes("zae", ("epci_siren", "insee"), geometry=True)


def _parcel_owner() -> None:
    op.create_table(
        "parcel_owner",
        sa.Column("idu", sa.String(14), nullable=False),
        sa.Column("owner_key", sa.Text(), nullable=False),
        sa.Column("code_droit", sa.Text(), nullable=False),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.Column("owner_type", sa.Text(), nullable=False),
        sa.Column("siren", sa.String(9)),
        sa.Column("denomination", sa.Text()),
        sa.Column("forme_juridique", sa.Text()),
        sa.Column("groupe_personne", sa.Text()),
        sa.Column("contenance_m2", sa.Integer()),
        *_provenance(),
        sa.CheckConstraint(
            "owner_type IN ('personne morale', 'personne physique')",
            name=op.f("ck_parcel_owner_owner_type"),
        ),
        sa.CheckConstraint(
            "owner_type = 'personne morale' OR denomination IS NULL AND siren IS NULL",
            name=op.f("ck_parcel_owner_private_unnamed"),
        ),
        sa.PrimaryKeyConstraint("idu", "owner_key", "code_droit", name=op.f("pk_parcel_owner")),
    )
    _indexes("parcel_owner", ("insee",), geometry=False)


def _establishment() -> None:
    op.create_geospatial_table(
        "establishment",
        sa.Column("siret", sa.String(14), nullable=False),
        sa.Column("siren", sa.String(9), nullable=False),
        sa.Column("insee", sa.String(5)),
        sa.Column("naf", sa.Text()),
        sa.Column("etat", sa.String(1), nullable=False),
        sa.Column("state_since", sa.Text()),
        sa.Column("created_on", sa.Text()),
        sa.Column("enseigne", sa.Text()),
        sa.Column("tranche_effectif", sa.Text()),
        _geometry("POINT"),
        *_provenance(),
        sa.CheckConstraint("etat IN ('A', 'F')", name=op.f("ck_establishment_etat")),
        sa.PrimaryKeyConstraint("siret", name=op.f("pk_establishment")),
    )
    _indexes("establishment", ("siren", "insee"), geometry=True)


def _cfe_premises() -> None:
    op.create_table(
        "cfe_premises",
        sa.Column("idu", sa.String(14), nullable=False),
        sa.Column("local_id", sa.Text(), nullable=False),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.Column("last_cfe_year", sa.SmallInteger()),
        *_provenance(),
        sa.PrimaryKeyConstraint("idu", "local_id", name=op.f("pk_cfe_premises")),
    )
    _indexes("cfe_premises", ("insee",), geometry=False)


def upgrade() -> None:
    _zae()
    _parcel_owner()
    _establishment()
    _cfe_premises()
    for table, key in VERSIONED.items():
        op.execute(
            f"CREATE TABLE history.{table} (hist_id bigint NOT NULL, hist_op char(1) NOT NULL, "
            "hist_at timestamptz NOT NULL, hist_run_id bigint, hist_audit_id bigint, "
            f"LIKE public.{table})"
        )
        op.execute(f"ALTER TABLE history.{table} ADD PRIMARY KEY (hist_id)")
        op.execute(f"CREATE INDEX ON history.{table} ({', '.join(key)}, hist_id)")
        op.execute(f"CREATE INDEX ON history.{table} (hist_run_id) WHERE hist_run_id IS NOT NULL")
        op.execute(
            f"CREATE INDEX ON history.{table} (hist_audit_id) WHERE hist_audit_id IS NOT NULL"
        )
        op.execute(f"CREATE INDEX ON history.{table} USING brin (hist_at)")
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER keep_history_{event.lower()} AFTER {event} ON public.{table} "
                "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                "EXECUTE FUNCTION history.keep('run_id')"
            )


def downgrade() -> None:
    for table in VERSIONED:
        op.execute(f"DROP TABLE history.{table}")
        op.drop_table(table)
