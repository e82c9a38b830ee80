"""Run bookkeeping that survives crashes: interrupted runs, and files that are mostly duplicates.

A run's row is inserted (status ``running``) before its load transaction starts, so a loader
killed mid-COPY leaves it ``running`` forever while its transaction, and everything it staged,
is rolled back by PostgreSQL. The load transaction therefore holds a row lock on its run
(:func:`lock_run`): a ``running`` row that nobody holds is a run whose process is gone, and
:func:`fail_interrupted_runs` (called by every ingest and by ``foncier db status``) marks it
``failed`` with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from db.history import set_writer
from ingest.errors import IngestError, StrictModeError
from ingest.merge import MergeResult

INTERRUPTED = (
    "interrupted: the loading process ended before it finished (killed or crashed); its "
    "transaction was rolled back, so nothing of this run was merged"
)
# Above this share of rows repeating an earlier key, a file is a broken export, not an edition.
MAX_DUPLICATE_SHARE = 0.5


@dataclass(frozen=True)
class InterruptedRun:
    """A run found ``running`` with no process behind it (now marked ``failed``)."""

    run_id: int
    layer: str
    source: str
    started_at: str


class MostlyDuplicatesError(StrictModeError):
    """Most rows of the file repeat a key: refused whole, like ``--strict`` (exit code 3)."""


def lock_run(cur: psycopg.Cursor, run_id: int) -> None:
    """Hold run ``run_id``'s row until the load transaction ends (proof the loader is alive),
    and name the run as the transaction's writer (:func:`db.history.set_writer`).

    A run marked interrupted by another ingest starting between its insertion and this lock
    (two loads at once) is this live one's: it is set back to ``running``.

    Raises:
        IngestError: the run is missing or was ended otherwise; the load stops before
            touching anything.
    """
    cur.execute("SELECT status, message FROM ingest_run WHERE id = %s FOR UPDATE", (run_id,))
    row = cur.fetchone()
    if row is not None and row[0] == "failed" and row[1] == INTERRUPTED:
        cur.execute(
            "UPDATE ingest_run SET status = 'running', message = NULL, finished_at = NULL"
            " WHERE id = %s",
            (run_id,),
        )
    elif row is None or row[0] != "running":
        raise IngestError(f"ingest run {run_id} was marked {row[0] if row else 'missing'}")
    set_writer(cur, run_id)  # what the load replaces is kept in history under this run


def fail_interrupted_runs(conn: psycopg.Connection) -> list[InterruptedRun]:
    """Mark ``failed`` every ``running`` run whose loader is gone (its row is not locked).

    ``conn`` should be in autocommit mode; the update commits at once.
    """
    with conn.transaction():
        rows = conn.execute(
            """
            UPDATE ingest_run r SET status = 'failed', message = %s, finished_at = now()
            FROM (SELECT id FROM ingest_run WHERE status = 'running'
                  FOR UPDATE SKIP LOCKED) gone
            WHERE r.id = gone.id
            RETURNING r.id, r.layer, r.source, r.started_at::text
            """,
            (INTERRUPTED,),
        ).fetchall()
    return [InterruptedRun(int(r[0]), r[1], r[2], r[3]) for r in rows]


def check_duplicates(path: Path, rows_read: int, result: MergeResult) -> None:
    """Refuse a file where most rows repeat a key seen earlier in the same file.

    Such a file (an export concatenated with itself, a join gone wrong) would otherwise load its
    few distinct rows and delete every row of the replaced scope that it lacks.

    Raises:
        MostlyDuplicatesError: more than ``MAX_DUPLICATE_SHARE`` of the rows are duplicates.
    """
    dupes = [q for q in result.quarantine if q.reason.startswith("duplicate key")]
    if rows_read and len(dupes) > MAX_DUPLICATE_SHARE * rows_read:
        raise MostlyDuplicatesError(
            f"{path}: {len(dupes)} of {rows_read} rows repeat a key already in the file (first: "
            f"feature {dupes[0].feature_index}, {dupes[0].reason}); the file looks broken, so "
            "nothing was loaded. Fix the export (or deduplicate it) and load it again"
        )
