"""History: every version a load or an API write replaced, for undo and as_of

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-02 17:10:00

- Schema ``history``: one table per versioned layer table, ``history.<table>``, holding the
  replaced versions: ``hist_id`` (one sequence for all tables: the order of replacements),
  ``hist_op`` (``U`` updated, ``D`` deleted), ``hist_at`` (when it stopped being current: the
  replacing run's ``started_at``, or the API write's ``audit.at``), ``hist_run_id`` /
  ``hist_audit_id`` (who replaced it), then the live table's own columns in the same order.
- ``history.keep()``: statement-level AFTER UPDATE / AFTER DELETE triggers with a transition
  table copy the old rows in one ``INSERT ... SELECT`` per statement (never row by row), in the
  writer's transaction. Who writes is read from ``foncier.run_id`` / ``foncier.audit_id``
  (``set_config(..., true)``). A row the same run wrote earlier in its own transaction was never
  visible to anyone, so it is not kept.
- ``ingest_run.undone_by`` and ``audit.undone_by``: the run that undid them (``foncier ingest
  undo``, ``foncier sites undo``).

A later migration that adds a column to a versioned table adds the same column to its history
table, in the same order (``tests/db/test_history.py`` checks the two agree).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
# After 0009 (zan_scenario), which reached main first revising 0005: one chain, and databases
# already at 0009 upgrade to this one (revising 0005 would leave two heads).
down_revision = "0009"
branch_labels = None
depends_on = None

# Versioned tables and the primary key that identifies a row across its versions. The layers
# written by loads (run_id) and by the API (site); zan_account (derived, rewritten by each
# `foncier score`) for the territory figures of a past date.
VERSIONED = {
    "epci": ("siren",),
    "commune": ("insee",),
    "region": ("code",),
    "departement": ("code",),
    "commune_ancienne": ("insee_ancienne",),
    "scot_membre": ("scot_id", "insee"),
    "territoire": ("programme", "id_ti"),
    "territoire_membre": ("programme", "id_ti", "siren"),
    "parcel": ("idu",),
    "building": ("id",),
    "site": ("id",),
    "friche": ("site_id",),
    "constraint_zone": ("id",),
    "plu_zone": ("id",),
    "enaf_flow": ("insee", "year", "destination"),
    "zan_target": ("territory_type", "territory_code"),
    "zan_account": ("territory_type", "territory_code"),
}

KEEP = """
CREATE FUNCTION history.keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint := nullif(current_setting('foncier.run_id', true), '')::bigint;
    v_audit bigint := nullif(current_setting('foncier.audit_id', true), '')::bigint;
    v_at timestamptz := coalesce(
        (SELECT a.at FROM public.audit a WHERE a.id = v_audit),
        (SELECT r.started_at FROM public.ingest_run r WHERE r.id = v_run),
        now());
    -- A version written earlier in this same transaction was never current for anyone.
    own text := CASE TG_ARGV[0]
        WHEN 'run_id' THEN '$1 IS NOT NULL AND o.run_id IS NOT DISTINCT FROM $1'
        ELSE 'o.computed_at = now()' END;
BEGIN
    EXECUTE format(
        'INSERT INTO history.%I SELECT nextval(''history.hist_id_seq''), %L, $3, $1, $2, o.* '
        'FROM old_rows o WHERE NOT (%s)', TG_TABLE_NAME, left(TG_OP, 1), own)
    USING v_run, v_audit, v_at;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA history")
    op.execute("CREATE SEQUENCE history.hist_id_seq")
    op.execute(KEEP)
    for table, key in VERSIONED.items():
        writer = "computed_at" if table == "zan_account" else "run_id"
        op.execute(
            f"CREATE TABLE history.{table} (hist_id bigint NOT NULL, hist_op char(1) NOT NULL, "
            "hist_at timestamptz NOT NULL, hist_run_id bigint, hist_audit_id bigint, "
            f"LIKE public.{table})"
        )
        op.execute(f"ALTER TABLE history.{table} ADD PRIMARY KEY (hist_id)")
        # as_of and undo find a row's versions by its key, in replacement order.
        op.execute(f"CREATE INDEX ON history.{table} ({', '.join(key)}, hist_id)")
        op.execute(f"CREATE INDEX ON history.{table} (hist_run_id) WHERE hist_run_id IS NOT NULL")
        op.execute(
            f"CREATE INDEX ON history.{table} (hist_audit_id) WHERE hist_audit_id IS NOT NULL"
        )
        # Append-only, so hist_at follows the physical order: a BRIN index is a few pages.
        op.execute(f"CREATE INDEX ON history.{table} USING brin (hist_at)")
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER keep_history_{event.lower()} AFTER {event} ON public.{table} "
                "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION history.keep('{writer}')"
            )
    op.add_column("ingest_run", sa.Column("undone_by", sa.BigInteger(), nullable=True))
    op.add_column("audit", sa.Column("undone_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit", "undone_by")
    op.drop_column("ingest_run", "undone_by")
    for table in VERSIONED:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER keep_history_{event} ON public.{table}")
    op.execute("DROP SCHEMA history CASCADE")
