"""parcel_score's land-unit index covers what the ZAN simulator reads of a unit's parcels.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 20:30:00

The simulator (``score/sql/simulate.sql``) costs a land unit from its parcels' rows of
``parcel_score``: their IDU, commune, land status and cost bounds. Those rows are wide (the
breakdown, the vintages) and scattered, so a unit of 1,750 parcels read 1,750 heap pages
(46 ms for 16 units on 1M parcels). With those five columns in the index the read is an
index-only scan (0.2 ms a unit once autovacuum has marked the rewritten pages all-visible). It
replaces the plain index on ``land_unit_id`` (same key, same name), so a score run keeps one
index up to date, not two.
"""

from alembic import op

revision = "0011"
# After 0010 (transport access), main's head when this landed: one chain.
down_revision = "0010"
branch_labels = None
depends_on = None

COVERED = ["idu", "insee", "land_status", "zan_cost_ha", "zan_cost_max_ha"]


def upgrade() -> None:
    op.drop_index("ix_parcel_score_land_unit_id", table_name="parcel_score")
    op.create_index(
        "ix_parcel_score_land_unit_id",
        "parcel_score",
        ["land_unit_id"],
        postgresql_include=COVERED,
    )


def downgrade() -> None:
    op.drop_index("ix_parcel_score_land_unit_id", table_name="parcel_score")
    op.create_index("ix_parcel_score_land_unit_id", "parcel_score", ["land_unit_id"])
