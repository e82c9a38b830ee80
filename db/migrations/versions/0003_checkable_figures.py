"""Checkable figures: territory membership rule, land status, ZAN coverage, COG reference tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:00:00

- ``territory_commune``: the one rule (kind, code) -> member communes, read by the ZAN accounts,
  the score scopes, ``/territories`` and ``/search``, so they can no longer disagree.
- ``departement``, ``region`` (names from the official COG lists), ``commune_ancienne`` (COG
  history: a merged commune's old code -> the current one), ``scot_membre`` (commune -> SCoT).
- Land status per parcel and site (``artificialised | enaf | unknown``) with its evidence: the
  scores' ``zan_status`` becomes ``land_status``; a cost is NULL when it is not known, with its
  upper bound in ``zan_cost_max_ha``.
- ZAN accounts carry the reference method's envelope, the pooled communal guarantees as their own
  figure, their coverage (communes with flows, sources) and the target they applied.
- ``foncier_area_m2``: areas outside metropolitan France measured on the ellipsoid, never in
  Lambert-93 (Réunion is some 3.5 times too large there).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Kinds are the API's (/territories/{kind}/{code}). Territoires d'industrie: EPCI members through
# the commune -> EPCI table, commune (COM) members through the commune's own SIREN, and, for
# territories with non-EPCI members (EPT, or communes whose SIREN is not loaded), the communes
# whose point on surface lies inside the perimeter where one is known.
TERRITORY_COMMUNE = """
CREATE VIEW territory_commune AS
SELECT 'commune'::text AS kind, c.insee AS code, c.insee FROM commune c
UNION ALL
SELECT 'epci', c.siren_epci, c.insee FROM commune c WHERE c.siren_epci IS NOT NULL
UNION ALL
SELECT 'departement', c.dep, c.insee FROM commune c
UNION ALL
SELECT 'region', c.reg, c.insee FROM commune c WHERE c.reg IS NOT NULL
UNION ALL
SELECT 'scot', s.scot_id, s.insee FROM scot_membre s
UNION ALL
SELECT DISTINCT 'territoire-' || x.programme, x.id_ti, x.insee FROM (
    SELECT m.programme, m.id_ti, c.insee
    FROM territoire_membre m JOIN commune c ON c.siren_epci = m.siren
    WHERE m.nature = 'EPCI'
    UNION ALL
    SELECT m.programme, m.id_ti, c.insee
    FROM territoire_membre m JOIN commune c ON c.siren = m.siren
    WHERE m.nature = 'COM'
    UNION ALL
    SELECT t.programme, t.id_ti, c.insee
    FROM territoire t
    JOIN commune c ON t.geom IS NOT NULL AND c.geom && t.geom
        AND ST_Intersects(t.geom, ST_PointOnSurface(c.geom))
    WHERE EXISTS (
        SELECT 1 FROM territoire_membre m
        WHERE m.programme = t.programme AND m.id_ti = t.id_ti AND m.nature <> 'EPCI'
    )
) x
"""

# Metropolitan France and Corsica in Lambert-93 (with a margin); anything else is overseas.
AREA_FUNCTION = """
CREATE FUNCTION foncier_area_m2(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN g IS NULL THEN NULL
        WHEN ST_XMin(g) >= -100000 AND ST_XMax(g) <= 1400000
             AND ST_YMin(g) >= 6000000 AND ST_YMax(g) <= 7200000 THEN ST_Area(g)
        ELSE ST_Area(ST_Transform(g, 4326)::geography)
    END
$$
"""


def _provenance() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("run_id", sa.BigInteger()), sa.Column("vintage", sa.Text())]


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("nom", sa.Text(), nullable=False),
        *_provenance(),
    )
    op.create_table(
        "departement",
        sa.Column("code", sa.String(3), primary_key=True),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("reg", sa.String(2)),
        *_provenance(),
    )
    op.create_table(
        "commune_ancienne",
        sa.Column("insee_ancienne", sa.String(5), primary_key=True),
        sa.Column("insee", sa.String(5), nullable=False),
        sa.Column("nom", sa.Text()),
        *_provenance(),
    )
    op.create_table(
        "scot_membre",
        sa.Column("scot_id", sa.Text(), primary_key=True),
        sa.Column("insee", sa.String(5), primary_key=True),
        sa.Column("nom_scot", sa.Text()),
        *_provenance(),
    )
    op.add_column("commune", sa.Column("cog_vintage", sa.Text()))
    # A commune's own SIREN: Territoires d'industrie name their commune members by it.
    op.add_column("commune", sa.Column("siren", sa.String(9)))
    op.create_index(op.f("ix_commune_siren"), "commune", ["siren"])
    op.create_index(op.f("ix_commune_ancienne_insee"), "commune_ancienne", ["insee"])
    op.create_index(op.f("ix_scot_membre_insee"), "scot_membre", ["insee"])
    op.add_column("building", sa.Column("kind", sa.Text()))

    for table in ("parcel_score", "site_score"):
        op.alter_column(table, "zan_status", new_column_name="land_status")
        op.alter_column(table, "zan_cost_ha", nullable=True)
        op.add_column(table, sa.Column("zan_cost_max_ha", sa.Double()))
        op.add_column(table, sa.Column("land_evidence", postgresql.JSONB()))
        op.add_column(table, sa.Column("known_inputs", sa.SmallInteger()))
        # Scores are derived (the next `foncier score` rewrites them): until then only what had
        # evidence stays known; 'urban_zone' and a NULL `built` read as ENAF never were.
        op.execute(
            f"UPDATE {table} SET land_status = CASE WHEN land_status IN ('built', 'brownfield') "
            "THEN 'artificialised' ELSE 'unknown' END, "
            "zan_cost_ha = CASE WHEN land_status IN ('built', 'brownfield') THEN 0 END"
        )
        op.create_check_constraint(
            op.f(f"ck_{table}_land_status"),
            table,
            "land_status IN ('artificialised', 'enaf', 'unknown')",
        )
    op.add_column("parcel_score", sa.Column("candidate", sa.Boolean()))
    op.add_column("parcel_score", sa.Column("available", sa.Boolean()))
    op.add_column("parcel_score", sa.Column("to_qualify", sa.Boolean()))

    op.add_column("zan_account", sa.Column("envelope_with_commune_guarantees_ha", sa.Double()))
    op.add_column("zan_account", sa.Column("communes", sa.Integer()))
    op.add_column("zan_account", sa.Column("communes_with_flows", sa.Integer()))
    op.add_column("zan_account", sa.Column("last_year", sa.SmallInteger()))
    op.add_column("zan_account", sa.Column("sources", postgresql.JSONB()))
    op.add_column("zan_account", sa.Column("target", postgresql.JSONB()))

    op.execute(TERRITORY_COMMUNE)
    op.execute(AREA_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION foncier_area_m2(geometry)")
    op.execute("DROP VIEW territory_commune")
    for column in (
        "target",
        "sources",
        "last_year",
        "communes_with_flows",
        "communes",
        "envelope_with_commune_guarantees_ha",
    ):
        op.drop_column("zan_account", column)
    for column in ("to_qualify", "available", "candidate"):
        op.drop_column("parcel_score", column)
    for table in ("parcel_score", "site_score"):
        op.drop_constraint(op.f(f"ck_{table}_land_status"), table)
        for column in ("known_inputs", "land_evidence", "zan_cost_max_ha"):
            op.drop_column(table, column)
        op.execute(f"UPDATE {table} SET zan_cost_ha = 0 WHERE zan_cost_ha IS NULL")
        op.alter_column(table, "zan_cost_ha", nullable=False)
        op.alter_column(table, "land_status", new_column_name="zan_status")
    op.drop_column("building", "kind")
    op.drop_column("commune", "siren")
    op.drop_column("commune", "cog_vintage")
    for table in ("scot_membre", "commune_ancienne", "departement", "region"):
        op.drop_table(table)
