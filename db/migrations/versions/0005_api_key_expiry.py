"""API keys that expire and say when they were revoked

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:40:00

- ``api_key.expires_at``: a key is refused (401 "key expired") from then on; NULL never expires.
- ``api_key.revoked_at``: when ``foncier apikey revoke`` or ``rotate`` switched it off.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_key", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_key", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("api_key", "revoked_at")
    op.drop_column("api_key", "expires_at")
