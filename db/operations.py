"""The operations tables as read by ``foncier runs``/``foncier quarantine`` and ``/admin``.

Runs are ``ingest_run`` rows (a file loaded into a layer) and ``score_run`` rows (a ``foncier
score`` run, shown as layer ``score``); quarantined rows are ``quarantine`` rows. Each query is
written once and run by a plain connection (the CLI) or the API's async pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

INGEST_COUNTS = ("read", "loaded", "repaired", "quarantined", "inserted", "updated", "deleted")
SCORE_COUNTS = ("communes", "parcels", "sites")
Query = tuple[sql.Composed | sql.SQL, dict[str, object]]


@dataclass(frozen=True)
class RunRecord:
    """One recorded run.

    ``kind`` is ``ingest`` or ``score`` (layer ``score``, source its territory or ``all``);
    ``counts`` holds the run's figures by name: rows read, loaded, repaired, quarantined,
    inserted, updated, deleted for a load; communes, parcels, sites scored for a score run.
    """

    kind: str
    run_id: int
    layer: str
    source: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    message: str | None = None
    sha256: str | None = None
    vintage: str | None = None


@dataclass(frozen=True)
class QuarantineRecord:
    """A refused row: ``feature_index`` is its 0-based position in ``source`` (the file of run
    ``run_id``); ``raw`` the record as the file gave it (geometry as WKT in the file's CRS),
    None in a listing."""

    quarantine_id: int
    run_id: int
    layer: str
    source: str
    feature_index: int | None
    key: str | None
    reason: str
    raw: dict[str, object] | None = None


_INGEST_SELECT = sql.SQL(
    "SELECT id, layer, source, status, started_at, finished_at, {counts}, message, sha256, "
    "vintage FROM ingest_run"
).format(counts=sql.SQL(", ").join(sql.Identifier(f"rows_{c}") for c in INGEST_COUNTS))
_SCORE_SELECT = sql.SQL(
    "SELECT id, coalesce(territory, 'all'), started_at, started_at + "
    "make_interval(secs => coalesce(seconds, 0)), communes, parcels, sites, profile_version "
    "FROM score_run ORDER BY started_at DESC, id DESC LIMIT %(n)s"
)
_QUARANTINE_SELECT = sql.SQL("SELECT id, run_id, layer, source, feature_index, key, reason")


def ingest_runs_query(layer: str | None, limit: int) -> Query:
    """The ``limit`` latest loads (of ``layer`` if given), newest first."""
    return (
        _INGEST_SELECT
        + sql.SQL(
            " WHERE %(layer)s::text IS NULL OR layer = %(layer)s "
            "ORDER BY started_at DESC, id DESC LIMIT %(n)s"
        ),
        {"layer": layer, "n": limit},
    )


def ingest_run_query(run_id: int) -> Query:
    """Load ``run_id``."""
    return _INGEST_SELECT + sql.SQL(" WHERE id = %(id)s"), {"id": run_id}


def score_runs_query(limit: int) -> Query:
    """The ``limit`` latest scoring runs, newest first."""
    return _SCORE_SELECT, {"n": limit}


def ingest_record(row: tuple[Any, ...]) -> RunRecord:
    """A row of :func:`ingest_runs_query` as a record."""
    n = len(INGEST_COUNTS)
    counts = dict(zip(INGEST_COUNTS, map(int, row[6 : 6 + n]), strict=True))
    return RunRecord("ingest", int(row[0]), row[1], row[2], row[3], row[4], row[5], counts,
                     *row[6 + n :])  # fmt: skip


def score_record(row: tuple[Any, ...]) -> RunRecord:
    """A row of :func:`score_runs_query` as a record (recorded runs all succeeded)."""
    counts = dict(zip(SCORE_COUNTS, map(int, row[4:7]), strict=True))
    return RunRecord("score", int(row[0]), "score", row[1], "succeeded", row[2], row[3], counts,
                     f"profile {row[7]}")  # fmt: skip


def newest(records: list[RunRecord], limit: int) -> list[RunRecord]:
    """The ``limit`` newest of loads and scoring runs together."""
    return sorted(records, key=lambda r: r.started_at, reverse=True)[:limit]


def wants(layer: str | None) -> tuple[bool, bool]:
    """Whether a listing of ``layer`` shows loads, and scoring runs (``score``: only those)."""
    return layer != "score", layer in (None, "score")


def list_runs(
    conn: psycopg.Connection, layer: str | None = None, limit: int = 20
) -> list[RunRecord]:
    """The ``limit`` most recent runs, newest first: loads (of ``layer`` if given) and, unless
    another layer is asked for, scoring runs (``layer="score"`` gives only those)."""
    loads, scores = wants(layer)
    rows: list[RunRecord] = []
    if loads:
        rows += [ingest_record(r) for r in conn.execute(*ingest_runs_query(layer, limit))]
    if scores:
        rows += [score_record(r) for r in conn.execute(*score_runs_query(limit))]
    return newest(rows, limit)


def get_run(conn: psycopg.Connection, run_id: int) -> RunRecord | None:
    """Load ``run_id`` with its counts, or None."""
    row = conn.execute(*ingest_run_query(run_id)).fetchone()
    return None if row is None else ingest_record(row)


def quarantine_query(run_id: int | None, layer: str | None, limit: int | None) -> Query:
    """Refused rows of run ``run_id`` and/or ``layer``, newest run first, in file order within a
    run (``limit`` rows at most; None: all), without their raw record."""
    return (
        _QUARANTINE_SELECT
        + sql.SQL(
            " FROM quarantine WHERE (%(run)s::bigint IS NULL OR run_id = %(run)s) "
            "AND (%(layer)s::text IS NULL OR layer = %(layer)s) "
            "ORDER BY run_id DESC, feature_index, id LIMIT %(n)s"
        ),
        {"run": run_id, "layer": layer, "n": limit},
    )


def quarantine_row_query(quarantine_id: int) -> Query:
    """Refused row ``quarantine_id`` with its raw record."""
    query = _QUARANTINE_SELECT + sql.SQL(", raw FROM quarantine WHERE id = %(id)s")
    return query, {"id": quarantine_id}


def list_quarantine(
    conn: psycopg.Connection,
    run_id: int | None = None,
    layer: str | None = None,
    limit: int | None = None,
) -> list[QuarantineRecord]:
    """Rows of :func:`quarantine_query` as records."""
    return [QuarantineRecord(*r) for r in conn.execute(*quarantine_query(run_id, layer, limit))]


def get_quarantine(conn: psycopg.Connection, quarantine_id: int) -> QuarantineRecord | None:
    """Refused row ``quarantine_id`` with its raw record, or None."""
    row = conn.execute(*quarantine_row_query(quarantine_id)).fetchone()
    return None if row is None else QuarantineRecord(*row)


def quarantine_raws(conn: psycopg.Connection, run_id: int) -> list[QuarantineRecord]:
    """Every refused row of run ``run_id`` with its raw record, in file order."""
    rows = conn.execute(
        _QUARANTINE_SELECT
        + sql.SQL(", raw FROM quarantine WHERE run_id = %(run)s ORDER BY feature_index, id"),
        {"run": run_id},
    ).fetchall()
    return [QuarantineRecord(*r) for r in rows]
