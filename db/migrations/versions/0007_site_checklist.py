"""Readiness checklist per site, evidence PDFs, readiness, and availability freshness.

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-02 20:00:00

- ``site_checklist``: one row per site and checklist item (``score/checklists/default.toml``):
  status (done / in_progress / not_started / not_applicable), value, quantity, a stated delay,
  date, source, evidence (a link or an uploaded PDF), the reason of an override of a computed
  item, who wrote it. Versioned like ``site`` (``history.site_checklist`` and its triggers).
- ``site_evidence``: uploaded PDFs, kept with the site (bytes in the database, so backups hold
  them); append-only, so not versioned.
- ``site_readiness``: the readiness level, its explanation and the time to a building permit,
  derived from the checklist and the layers (rewritten on every checklist write and by
  ``foncier sites readiness``); not versioned.
- ``site.confirmed_at``, ``site.valid_until``, ``site.withdrawn_at``: when the availability was
  last confirmed, until when that holds, and when the site was withdrawn; ``history.site`` gains
  the same columns in the same order.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
# After 0008 (ZAE inventory), main's head when this landed: one chain.
down_revision = "0008"
branch_labels = None
depends_on = None

STATUSES = "('done', 'in_progress', 'not_started', 'not_applicable')"
FRESHNESS = ("confirmed_at", "valid_until", "withdrawn_at")


def _tables() -> None:
    op.create_table(
        "site_evidence",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.Text, sa.ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("key_id", sa.BigInteger, sa.ForeignKey("api_key.id")),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_site_evidence_site_id", "site_evidence", ["site_id"])
    op.create_table(
        "site_checklist",
        sa.Column(
            "site_id", sa.Text, sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("item", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("quantity", sa.Double),
        sa.Column("delay_months", sa.Double),
        sa.Column("done_on", sa.Date),
        sa.Column("source", sa.Text),
        sa.Column("evidence_url", sa.Text),
        sa.Column(
            "evidence_id",
            sa.BigInteger,
            sa.ForeignKey("site_evidence.id", ondelete="SET NULL"),
        ),
        sa.Column("reason", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("key_id", sa.BigInteger, sa.ForeignKey("api_key.id")),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        # Null for API writes; a future bulk load of checklists would set it (history.keep).
        sa.Column("run_id", sa.BigInteger),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_site_checklist_status"),
    )
    op.create_table(
        "site_readiness",
        sa.Column(
            "site_id", sa.Text, sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("time_to_permit_months", sa.Double, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("definition_version", sa.Text, nullable=False),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def upgrade() -> None:
    _tables()
    for table in ("site", "history.site"):
        schema, _, name = table.rpartition(".")
        for column in FRESHNESS:
            op.add_column(
                name, sa.Column(column, sa.DateTime(timezone=True)), schema=schema or None
            )
    op.execute(
        "CREATE TABLE history.site_checklist (hist_id bigint NOT NULL, hist_op char(1) NOT NULL, "
        "hist_at timestamptz NOT NULL, hist_run_id bigint, hist_audit_id bigint, "
        "LIKE public.site_checklist)"
    )
    op.execute("ALTER TABLE history.site_checklist ADD PRIMARY KEY (hist_id)")
    op.execute("CREATE INDEX ON history.site_checklist (site_id, item, hist_id)")
    op.execute(
        "CREATE INDEX ON history.site_checklist (hist_audit_id) WHERE hist_audit_id IS NOT NULL"
    )
    op.execute("CREATE INDEX ON history.site_checklist (hist_run_id) WHERE hist_run_id IS NOT NULL")
    op.execute("CREATE INDEX ON history.site_checklist USING brin (hist_at)")
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER keep_history_{event.lower()} AFTER {event} ON public.site_checklist "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION history.keep('run_id')"
        )


def downgrade() -> None:
    op.execute("DROP TABLE history.site_checklist")
    for table in ("site", "history.site"):
        schema, _, name = table.rpartition(".")
        for column in FRESHNESS:
            op.drop_column(name, column, schema=schema or None)
    op.drop_table("site_readiness")
    op.drop_table("site_checklist")
    op.drop_index("ix_site_evidence_site_id", table_name="site_evidence")
    op.drop_table("site_evidence")
