"""Saved ZAN scenarios (the simulator's projects, with what they were computed on)

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02 17:10:00

- ``zan_scenario``: a named list of projects for a territory, shared by its ``link_id`` (an
  unguessable token: reading needs the link or a key), saved with the answer it gave, the ZAN
  account's vintages and the scoring profile version and layer versions of the last score run,
  so the answer can be reproduced and a re-score that changes it is visible.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zan_scenario",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("link_id", sa.Text, nullable=False, unique=True),
        sa.Column("territory_type", sa.Text, nullable=False),
        sa.Column("territory_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("answer", JSONB, nullable=False),
        sa.Column("vintages", JSONB, nullable=False),
        sa.Column("profile_version", sa.Text),
        sa.Column("key_id", sa.BigInteger, sa.ForeignKey("api_key.id")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "ix_zan_scenario_territory", "zan_scenario", ["territory_type", "territory_code"]
    )


def downgrade() -> None:
    op.drop_index("ix_zan_scenario_territory", table_name="zan_scenario")
    op.drop_table("zan_scenario")
