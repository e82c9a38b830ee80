"""Transport layers, brownfield owner types and access distances (issues 13, 15).

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-02 20:40:00

- ``rail_line``: lines of the national rail network (SNCF Réseau RFN) as published, Lambert-93
  MultiLineStrings; ``freight_port``: inland / river freight ports (points, OpenStreetMap).
  Both versioned (migration 0006): ``history.<table>`` and its two triggers.
- ``friche.owner_type``: the owner's type (public body, company, private person...), read from
  Cartofriches; a private person's name is never stored (see ingest/layers/friches.py).
- ``land_unit`` and ``site_score``: ``rail_km`` and ``port_km``, straight-line distances in km
  to the nearest rail line and freight port, written by the scoring run
  (score/sql/access_distances.sql).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

VERSIONED = {"rail_line": ("id",), "freight_port": ("id",)}
OWNER_TYPES = (
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


def _transport_table(table: str, kind: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_geospatial_table(
        table,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text()),
        *columns,
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("geom", Geometry(kind, srid=2154, spatial_index=False), nullable=False),
        sa.Column("run_id", sa.BigInteger()),
        sa.Column("vintage", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_geospatial_index(
        f"idx_{table}_geom", table, ["geom"], postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f(f"ix_{table}_source"), table, ["source"])


def _history(table: str, key: tuple[str, ...]) -> None:
    op.execute(
        f"CREATE TABLE history.{table} (hist_id bigint NOT NULL, hist_op char(1) NOT NULL, "
        "hist_at timestamptz NOT NULL, hist_run_id bigint, hist_audit_id bigint, "
        f"LIKE public.{table})"
    )
    op.execute(f"ALTER TABLE history.{table} ADD PRIMARY KEY (hist_id)")
    op.execute(f"CREATE INDEX ON history.{table} ({', '.join(key)}, hist_id)")
    op.execute(f"CREATE INDEX ON history.{table} (hist_run_id) WHERE hist_run_id IS NOT NULL")
    op.execute(f"CREATE INDEX ON history.{table} (hist_audit_id) WHERE hist_audit_id IS NOT NULL")
    op.execute(f"CREATE INDEX ON history.{table} USING brin (hist_at)")
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER keep_history_{event.lower()} AFTER {event} ON public.{table} "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION history.keep('run_id')"
        )


def upgrade() -> None:
    _transport_table("rail_line", "MULTILINESTRING")
    _transport_table(
        "freight_port",
        "POINT",
        sa.Column("operator", sa.Text()),
        sa.Column("cargo", sa.Text()),
    )
    for table, key in VERSIONED.items():
        _history(table, key)
    # history.friche is LIKE friche: it gets the column too, so the triggers keep copying rows.
    for schema in ("public", "history"):
        op.add_column("friche", sa.Column("owner_type", sa.Text()), schema=schema)
    values = ", ".join(f"'{t}'" for t in OWNER_TYPES)
    op.create_check_constraint(op.f("ck_friche_owner_type"), "friche", f"owner_type IN ({values})")
    for table in ("land_unit", "site_score"):
        op.add_column(table, sa.Column("rail_km", sa.Double()))
        op.add_column(table, sa.Column("port_km", sa.Double()))


def downgrade() -> None:
    for table in ("land_unit", "site_score"):
        op.drop_column(table, "port_km")
        op.drop_column(table, "rail_km")
    op.drop_constraint(op.f("ck_friche_owner_type"), "friche")
    for schema in ("public", "history"):
        op.drop_column("friche", "owner_type", schema=schema)
    for table in VERSIONED:
        op.execute(f"DROP TABLE history.{table}")
        op.drop_table(table)
