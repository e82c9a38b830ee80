"""``foncier history prune``: drop the history versions that stopped being current before a date.

A version in ``history.<table>`` stopped being current at its ``hist_at`` (see
:mod:`db.history`). Pruning before DATE deletes those with ``hist_at < DATE``, per table, in one
transaction, and records itself as an ``audit`` row (action ``history.prune``, the date and the
counts): ``as_of`` at DATE or later answers as before (it only reads versions replaced after
its instant), an earlier ``as_of`` no longer can, and an undo of a run or write older than
DATE is refused (:func:`pruned_since`), since the versions it would restore are gone.

Kept whatever the date: the ``zan_account`` versions that a saved ZAN scenario (``zan_scenario``)
was computed on (its ``vintages.zan_account.computed_at`` for its territory), so the scenario's
figures stay reproducible. A DATE within the last year is refused unless forced: the triennial
ZAN report reads three years back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from config import DatabaseSettings
from db.engine import connect_raw

PRUNE_ACTION = "history.prune"
# Refused without --force: a date this close to today (the last year).
MIN_AGE = dt.timedelta(days=365)
# Warned about: the triennial ZAN report compares three years.
REPORT_AGE = dt.timedelta(days=3 * 365)

# The zan_account versions a saved scenario was computed on: its territory's account as
# published at the scenario's computed_at.
_SCENARIO_ACCOUNT = sql.SQL(
    " AND NOT EXISTS (SELECT 1 FROM zan_scenario s WHERE s.territory_type = h.territory_type "
    "AND s.territory_code = h.territory_code "
    "AND (s.vintages -> 'zan_account' ->> 'computed_at')::timestamptz = h.computed_at)"
)


class PruneError(ValueError):
    """The prune was refused (date too recent, unknown table): nothing was deleted."""


@dataclass
class PruneReport:
    """Versions deleted (or, dry run, that would be) per table, and those kept for scenarios."""

    before: dt.datetime
    dry_run: bool
    tables: dict[str, int] = field(default_factory=dict)
    kept_for_scenarios: int = 0
    audit_id: int | None = None

    @property
    def total(self) -> int:
        """Versions deleted over every table."""
        return sum(self.tables.values())


def history_tables(cur: psycopg.Cursor) -> list[str]:
    """The tables of schema ``history`` (one per versioned table), by name."""
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'history' ORDER BY 1")
    return [r[0] for r in cur.fetchall()]


def check_date(before: dt.datetime, force: bool, now: dt.datetime | None = None) -> str | None:
    """Refuse a date within :data:`MIN_AGE` of ``now`` unless ``force``; return a warning for
    one within :data:`REPORT_AGE` (the triennial report's reach), else None.

    Raises:
        PruneError: the date is in the future, or within the last year without ``force``.
    """
    now = now or dt.datetime.now(dt.UTC)
    if before > now:
        raise PruneError(f"--before {before:%Y-%m-%d} is in the future: nothing would be kept")
    if now - before < MIN_AGE and not force:
        raise PruneError(
            f"--before {before:%Y-%m-%d} is within the last year: the triennial ZAN report "
            "needs three years of history; pass --force to prune it anyway"
        )
    if now - before < REPORT_AGE:
        return (
            f"versions older than {before:%Y-%m-%d} go: a triennial ZAN report or an as_of "
            "before that date can no longer be reproduced"
        )
    return None


def _where(table: str) -> sql.Composable:
    where = sql.SQL("h.hist_at < %(before)s")
    return where + _SCENARIO_ACCOUNT if table == "zan_account" else where


def _kept_for_scenarios(cur: psycopg.Cursor, before: dt.datetime) -> int:
    cur.execute(
        sql.SQL("SELECT count(*) FROM history.zan_account h WHERE h.hist_at < %(before)s")
        + sql.SQL(" AND NOT (TRUE")
        + _SCENARIO_ACCOUNT
        + sql.SQL(")"),
        {"before": before},
    )
    return int(cur.fetchone()[0])  # type: ignore[index]


def _tables(cur: psycopg.Cursor, only: Sequence[str] | None) -> list[str]:
    known = history_tables(cur)
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise PruneError(
            f"--table {', '.join(unknown)}: no history is kept for it; versioned tables: "
            + ", ".join(known)
        )
    return [t for t in known if not only or t in only]


def prune_history(
    db: DatabaseSettings,
    before: dt.datetime,
    tables: Sequence[str] | None = None,
    dry_run: bool = False,
    actor: str = "foncier history prune",
) -> PruneReport:
    """Delete (``dry_run``: count) the versions of ``tables`` (all: None) replaced before
    ``before``, in one transaction recorded as an audit row; see the module docstring.

    The date is not checked here (:func:`check_date` is the command's).

    Raises:
        PruneError: a table that has no history.
    """
    report = PruneReport(before, dry_run)
    with connect_raw(db) as conn, conn.cursor() as cur:
        names = _tables(cur, tables)
        for table in names:
            verb = sql.SQL("SELECT count(*)" if dry_run else "WITH d AS (DELETE")
            query = verb + sql.SQL(" FROM history.{} h WHERE ").format(sql.Identifier(table))
            query += _where(table)
            if not dry_run:
                query += sql.SQL(" RETURNING 1) SELECT count(*) FROM d")
            cur.execute(query, {"before": before})
            report.tables[table] = int(cur.fetchone()[0])  # type: ignore[index]
        if "zan_account" in names:
            report.kept_for_scenarios = _kept_for_scenarios(cur, before)
        if dry_run:
            conn.rollback()
            return report
        changes = {"before": before.isoformat(), "tables": report.tables}
        cur.execute(
            "INSERT INTO audit (actor, action, target, changes) VALUES (%s, %s, 'history', %s) "
            "RETURNING id",
            (actor, PRUNE_ACTION, Jsonb(changes)),
        )
        report.audit_id = int(cur.fetchone()[0])  # type: ignore[index]
        conn.commit()
    return report


def pruned_since(cur: psycopg.Cursor, since: object, tables: Iterable[str]) -> str | None:
    """Why an undo of a change made at ``since`` to ``tables`` cannot restore it: the latest
    prune that deleted versions of one of them replaced after ``since``; None if none did."""
    cur.execute(
        "SELECT id, at, changes ->> 'before' FROM audit WHERE action = %s "
        "AND (changes ->> 'before')::timestamptz > %s AND EXISTS (SELECT 1 FROM "
        "jsonb_each_text(changes -> 'tables') t WHERE t.key = ANY(%s) AND t.value::bigint > 0) "
        "ORDER BY id DESC LIMIT 1",
        (PRUNE_ACTION, since, list(tables)),
    )
    row = cur.fetchone()
    if row is None:
        return None
    audit_id, at, before = row
    return (
        f"its history was pruned by `foncier history prune --before {before[:10]}` on "
        f"{at:%Y-%m-%d} (audit {audit_id}): the versions it replaced are gone; "
        "load the earlier file again instead"
    )
