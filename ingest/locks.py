"""The locks a load takes before it touches a table, so that concurrent loads never deadlock.

Two first loads of parcels used to deadlock: the second one's emptiness check held a share
lock on ``parcel`` while it queued for the table lock the first one held, and the first one
then needed an exclusive lock to drop an index. Every load now takes, before any statement on
its tables, one transaction-level advisory lock per table it writes or reads in its own SQL,
in name order: a second load of the same tables waits for the first to commit, then finds the
table no longer empty and takes the staged path. Locks taken in one fixed order cannot form
a cycle.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

import psycopg

from db.models import metadata
from ingest.errors import LoadBusyError
from ingest.normalize import TableSpec

# Every load writes rows of these (no DDL, no table lock beyond row locks): not serialised.
_BOOKKEEPING = frozenset({"ingest_run", "quarantine", "layer_version", "audit"})
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('foncier ingest'), hashtext(%s))"
_LONGEST_SLEEP_S = 1.0


def load_tables(specs: Iterable[TableSpec]) -> list[str]:
    """The tables a load of ``specs`` writes, and those its layer's SQL names, in name order.

    A parcels load also refreshes ``site_parcel`` from ``site`` and reads ``building``: a
    buildings load running at the same time must not take those in the other order.
    """
    known = set(metadata.tables) - _BOOKKEEPING
    names: set[str] = set()
    for spec in specs:
        names.add(spec.table)
        texts = [spec.post_stage_sql or "", spec.post_merge_sql or ""]
        texts += [query for query, _ in spec.notes]
        for text in texts:
            names.update(t for t in known if re.search(rf"\b{re.escape(t)}\b", text))
    return sorted(names)


def lock_tables(cur: psycopg.Cursor, tables: list[str], wait_s: float) -> None:
    """Take the load lock of each of ``tables`` (sorted) until the transaction ends.

    A lock held by another load is tried again, at growing intervals up to one second, until
    ``wait_s`` seconds have passed; the table locks taken afterwards wait as long
    (``lock_timeout``), so a reader holding a table for longer is reported the same way.

    Raises:
        LoadBusyError: another load still holds one of the tables after ``wait_s`` seconds.
    """
    deadline = time.monotonic() + wait_s
    for table in sorted(tables):
        delay = 0.02
        while not cur.execute(_LOCK, (table,)).fetchone()[0]:  # type: ignore[index]
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoadBusyError(
                    f"another load of {table} is running; retry when it ends "
                    f"(waited {wait_s:g} s, FONCIER_INGEST_LOCK_WAIT_S)"
                )
            time.sleep(min(delay, left))
            delay = min(2 * delay, _LONGEST_SLEEP_S)
    cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(wait_s * 1000)}ms",))
