"""parcel.sheet index without the NULLs of Etalab parcels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:20:00

Only EDIGEO parcels have a sheet; Etalab ones (most of a national load) have NULL, which the
index held for nothing: built after a million-row first load it cost 0.2 s, and it was kept up
on every later load. Queries on a sheet (``sheet = ...``, ``sheet IN (...)``, the scope of an
EDIGEO reload) imply ``sheet IS NOT NULL``, so the planner still uses the partial index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_parcel_sheet", table_name="parcel")
    op.create_index(
        "ix_parcel_sheet", "parcel", ["sheet"], postgresql_where=sa.text("sheet IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_parcel_sheet", table_name="parcel")
    op.create_index("ix_parcel_sheet", "parcel", ["sheet"])
