"""Territoires d'industrie contracts: protocols, governance, action sheets and what they hold.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 05:40:00

- ``ti_protocol``: one per territory and programme (``programme``, ``id_ti`` as in
  ``territoire``): signature date, document link, status.
- ``ti_governance``: the roles of its governance and signatories (elected official and
  industrialist pair, prefect, region, EPCIs…); ``person_name`` is a restricted field.
- ``ti_action_sheet``: the "fiches actions" (axis from ``db/contracts/axes.toml``, the
  "panier de services" measures, pilot, partners, budget, status with dates, due date, and the
  workflow state draft / submitted / validated / sent_back with who, when and the comment).
- ``ti_action_funding`` (committed / paid € per financer), ``ti_action_indicator`` (target,
  measured), ``ti_action_place`` (the sites, land units, ZAE or communes a sheet concerns).

All are versioned (migration 0006): ``history.<table>`` and its two triggers; API writes name
their audit row, imports their ingest run. ``is_example`` marks the fictitious sample.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0012"
# After 0011 (parcel_score covering index), main's head when this landed: one chain.
down_revision = "0011"
branch_labels = None
depends_on = None

VERSIONED = {
    "ti_protocol": ("programme", "id_ti"),
    "ti_governance": ("programme", "id_ti", "role", "rank"),
    "ti_action_sheet": ("id",),
    "ti_action_funding": ("sheet_id", "financer"),
    "ti_action_indicator": ("sheet_id", "label"),
    "ti_action_place": ("sheet_id", "place_type", "place_id"),
}


def _tail() -> list[sa.Column]:  # type: ignore[type-arg]
    """Who last wrote the row (the API) and the run (an import), as in the models."""
    return [
        sa.Column("actor", sa.Text()),
        sa.Column("key_id", sa.BigInteger()),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger()),
        sa.Column("vintage", sa.Text()),
    ]


def _sheet_fk(table: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "sheet_id",
        sa.Text(),
        sa.ForeignKey(
            "ti_action_sheet.id",
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_sheet_id_ti_action_sheet"),
        ),
        nullable=False,
    )


def _protocol_and_governance() -> None:
    op.create_table(
        "ti_protocol",
        sa.Column("programme", sa.SmallInteger(), nullable=False),
        sa.Column("id_ti", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("signed_on", sa.Date()),
        sa.Column("document_url", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_example", sa.Boolean(), server_default="false", nullable=False),
        *_tail(),
        sa.CheckConstraint(
            "status IN ('in_preparation', 'signed', 'amended', 'closed')",
            name=op.f("ck_ti_protocol_status"),
        ),
        sa.PrimaryKeyConstraint("programme", "id_ti", name=op.f("pk_ti_protocol")),
    )
    op.create_table(
        "ti_governance",
        sa.Column("programme", sa.SmallInteger(), nullable=False),
        sa.Column("id_ti", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("organisation", sa.Text()),
        sa.Column("person_name", sa.Text()),
        sa.Column("signatory", sa.Boolean(), server_default="false", nullable=False),
        *_tail(),
        sa.CheckConstraint(
            "role IN ('elected_official', 'industrialist', 'prefect', 'region', 'epci', "
            "'operator', 'other')",
            name=op.f("ck_ti_governance_role"),
        ),
        sa.PrimaryKeyConstraint(
            "programme", "id_ti", "role", "rank", name=op.f("pk_ti_governance")
        ),
    )


def _sheet() -> None:
    op.create_table(
        "ti_action_sheet",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("programme", sa.SmallInteger(), nullable=False),
        sa.Column("id_ti", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("axis", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("measures", ARRAY(sa.Text())),
        sa.Column("pilot", sa.Text()),
        sa.Column("partners", ARRAY(sa.Text())),
        sa.Column("budget_eur", sa.Numeric(14, 2)),
        sa.Column("status", sa.Text(), nullable=False),
        *(
            sa.Column(c, sa.Date())
            for c in ("idea_on", "preparation_on", "committed_on", "done_on", "abandoned_on")
        ),
        sa.Column("due_on", sa.Date()),
        sa.Column("workflow", sa.Text(), server_default="draft", nullable=False),
        sa.Column("workflow_comment", sa.Text()),
        sa.Column("workflow_by", sa.Text()),
        sa.Column("workflow_at", sa.DateTime(timezone=True)),
        sa.Column("is_example", sa.Boolean(), server_default="false", nullable=False),
        *_tail(),
        sa.CheckConstraint(
            "status IN ('idea', 'in_preparation', 'committed', 'done', 'abandoned')",
            name=op.f("ck_ti_action_sheet_status"),
        ),
        sa.CheckConstraint(
            "workflow IN ('draft', 'submitted', 'validated', 'sent_back')",
            name=op.f("ck_ti_action_sheet_workflow"),
        ),
        sa.CheckConstraint("budget_eur >= 0", name=op.f("ck_ti_action_sheet_budget")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ti_action_sheet")),
    )
    op.create_index(
        "ix_ti_action_sheet_territory",
        "ti_action_sheet",
        ["programme", "id_ti", "code"],
        unique=True,
    )


def _sheet_parts() -> None:
    op.create_table(
        "ti_action_funding",
        _sheet_fk("ti_action_funding"),
        sa.Column("financer", sa.Text(), nullable=False),
        sa.Column("financer_kind", sa.Text(), nullable=False),
        sa.Column("committed_eur", sa.Numeric(14, 2)),
        sa.Column("paid_eur", sa.Numeric(14, 2)),
        *_tail(),
        sa.CheckConstraint(
            "financer_kind IN ('etat', 'region', 'epci', 'operateur', 'europe', 'autre')",
            name=op.f("ck_ti_action_funding_financer_kind"),
        ),
        sa.CheckConstraint(
            "committed_eur >= 0 AND paid_eur >= 0", name=op.f("ck_ti_action_funding_amounts")
        ),
        sa.PrimaryKeyConstraint("sheet_id", "financer", name=op.f("pk_ti_action_funding")),
    )
    op.create_table(
        "ti_action_indicator",
        _sheet_fk("ti_action_indicator"),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text()),
        sa.Column("target", sa.Double()),
        sa.Column("measured", sa.Double()),
        sa.Column("measured_at", sa.Date()),
        *_tail(),
        sa.PrimaryKeyConstraint("sheet_id", "label", name=op.f("pk_ti_action_indicator")),
    )
    op.create_table(
        "ti_action_place",
        _sheet_fk("ti_action_place"),
        sa.Column("place_type", sa.Text(), nullable=False),
        sa.Column("place_id", sa.Text(), nullable=False),
        *_tail(),
        sa.CheckConstraint(
            "place_type IN ('site', 'land_unit', 'zae', 'commune')",
            name=op.f("ck_ti_action_place_place_type"),
        ),
        sa.PrimaryKeyConstraint(
            "sheet_id", "place_type", "place_id", name=op.f("pk_ti_action_place")
        ),
    )
    op.create_index("ix_ti_action_place_place", "ti_action_place", ["place_type", "place_id"])


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
    _protocol_and_governance()
    _sheet()
    _sheet_parts()
    for table, key in VERSIONED.items():
        _history(table, key)


def downgrade() -> None:
    for table in reversed(list(VERSIONED)):
        op.execute(f"DROP TABLE history.{table}")
        op.drop_table(table)
