"""COPY prepared rows into staging, validate them in SQL, merge into the target in one transaction.

Readers see the previous version of a layer or the new one, never a mix: staging, checks,
upserts, deletions, quarantine rows and the run record all commit together.

This module runs the batch pipeline; the steps live in:

- :mod:`ingest.strategy`: one table's path (staged, early or direct), chosen once;
- :mod:`ingest.worker`: the worker thread preparing the next batch;
- :mod:`ingest.pgcopy`: COPY encoding and sending (binary or text);
- :mod:`ingest.staging`: staging tables, SQL repair and checks;
- :mod:`ingest.quarantine`: refused rows and their raw records;
- :mod:`ingest.merge`: upsert/delete into the target, index drop and rebuild;
- :mod:`ingest.direct`: the early merge into an empty target, direct COPY.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import psycopg

from db.timing import PhaseTimes
from ingest.merge import MergeResult, ShrinkGuard
from ingest.normalize import SeenKeys, TableLoad, mark_repeated_keys
from ingest.pgcopy import Direct, Payload, Progress, build_payload, write_payload
from ingest.quarantine import QuarantineRow, python_quarantine
from ingest.strategy import LoadStrategy, choose_strategy, merge_table
from ingest.worker import ahead, trim_heap


@dataclass
class _Vintage:
    """The vintage a run writes: the one given (``--vintage``), else the latest the file's
    own rows carry (:attr:`TableLoad.vintage`), as far as the batches prepared so far tell."""

    given: str | None
    found: str | None = None

    def see(self, loads: list[TableLoad]) -> str | None:
        """Take in one batch's loads; return the vintage its rows are written with."""
        for load in loads:
            if load.vintage is not None and (self.found is None or load.vintage > self.found):
                self.found = load.vintage
        return self.value

    @property
    def value(self) -> str | None:
        return self.given if self.given is not None else self.found


@dataclass
class Prepared:
    """One table's share of one batch, ready to send."""

    load: TableLoad
    good: pd.DataFrame
    payload: Payload | None  # None: too many rows, built chunk by chunk when sent
    quarantine: list[QuarantineRow]
    held: pd.DataFrame
    direct: Direct | None = None
    vintage: str | None = None  # what this batch's rows are written with (early merge)

    @property
    def rows(self) -> int:
        """The rows sent (those not refused in Python)."""
        return len(self.good)

    def send(self, cur: psycopg.Cursor, chunk_rows: int) -> None:
        """COPY the rows, built ``chunk_rows`` at a time when not built in the worker."""
        if self.payload is not None:
            write_payload(cur, self.load.spec, self.payload)
            return
        for start in range(0, len(self.good), chunk_rows):
            chunk = self.good.iloc[start : start + chunk_rows]
            write_payload(cur, self.load.spec, build_payload(chunk, self.load.spec, self.direct))


def _prepare(
    loads: list[TableLoad],
    seen: dict[str, SeenKeys],
    chunk_rows: int,
    direct: dict[str, Direct],
    vintage: _Vintage,
) -> list[Prepared]:
    out = []
    now = vintage.see(loads)
    for load in loads:
        spec = load.spec
        mark_repeated_keys(load, seen.setdefault(spec.table, SeenKeys()))
        ok = load.ok
        refused = np.flatnonzero(~ok)
        # take() by position: several times cheaper than a boolean .loc on Arrow columns.
        good = load.frame if not len(refused) else load.frame.take(np.flatnonzero(ok))
        held = load.frame[list(spec.key)].take(refused).dropna()
        # A batch's COPY bytes are built here, in the worker; a whole big file read in one
        # piece is sent in chunks instead, so its bytes never all exist at once.
        into = direct.get(spec.table)
        if into is not None and into.vintage != now:
            into = replace(into, vintage=now)
        payload = build_payload(good, spec, into) if len(good) <= chunk_rows else None
        out.append(Prepared(load, good, payload, python_quarantine(load), held, into, now))
    return out


def _send(
    cur: psycopg.Cursor,
    part: Prepared,
    strategies: dict[str, LoadStrategy],
    started: set[str],
    chunk_rows: int,
    run: tuple[int, PhaseTimes, str | None],
) -> None:
    """COPY one table's share of a batch and check it, by its table's strategy (chosen on
    its first batch from ``run``: the run id, its timings and the vintage given)."""
    name = part.load.spec.table
    if name not in strategies:
        run_id, times, vintage = run
        strategies[name] = choose_strategy(
            cur, part.load.spec, run_id, times, vintage, first_batch=False
        )
    strategy = strategies[name]
    if name not in started:
        started.add(name)
        strategy.prepare(cur, part.rows)
    strategy.copy_batch(cur, part, chunk_rows)
    strategy.check(cur, part)


def stage_and_merge_batches(
    cur: psycopg.Cursor,
    batches: Iterable[list[TableLoad]],
    run_id: int,
    vintage: str | None,
    progress: Progress | None = None,
    chunk_rows: int = 100_000,
    times: PhaseTimes | None = None,
    guard: ShrinkGuard | None = None,
) -> MergeResult:
    """Stage every batch of one file, then check and merge each table, in the caller's transaction.

    ``batches`` yields, per batch of the file, the table loads a layer prepared from it. They
    are prepared in a worker thread one batch ahead while the current one is copied; a key
    repeated across batches is quarantined like one repeated within a batch (the first
    occurrence is kept). Each table follows the path :func:`ingest.strategy.choose_strategy`
    picks when it first appears (staged, early or direct); checks and merge of a staged
    table run once all batches are sent.

    ``vintage`` None: the rows get the latest vintage the file's own batches carry
    (:attr:`TableLoad.vintage`, a maximum per batch: no work per row). A table merged early
    gets each batch's latest so far, and its rows of the run are set to the file's latest at
    the end only when a later batch raised it.
    """
    times = times if times is not None else PhaseTimes()
    run_vintage = _Vintage(vintage)
    strategies: dict[str, LoadStrategy] = {}
    batches = iter(batches)
    first = next(batches, None)
    # The first batch's tables are chosen before the worker starts: it builds each batch's
    # COPY bytes for the target itself when a table is loaded by direct COPY.
    for spec in [load.spec for load in first or []]:  # no name left holding a batch
        if spec.table not in strategies:
            strategies[spec.table] = choose_strategy(
                cur, spec, run_id, times, vintage, first_batch=True
            )
    direct = {t: s.direct for t, s in strategies.items() if s.direct is not None}
    seen: dict[str, SeenKeys] = {}
    started: set[str] = set()  # tables whose first batch was sent

    def prepared_batches() -> Iterator[list[Prepared]]:
        nonlocal first
        head, first = [] if first is None else [first], None  # the first batch is not kept
        for loads in itertools.chain(head, batches):
            head.clear()
            with times("prepare (worker)"):
                out = _prepare(loads, seen, chunk_rows, direct, run_vintage)
            yield out

    batch_iter = iter(ahead(prepared_batches()))
    while True:
        with times("wait for worker"):
            prepared = next(batch_iter, None)
        if prepared is None:
            break
        rows = sum(part.rows for part in prepared)
        while prepared:  # popped: once sent, nothing holds a batch's frames and bytes
            _send(cur, prepared.pop(0), strategies, started, chunk_rows, (run_id, times, vintage))
        if progress:
            progress(rows)
        trim_heap()  # and glibc gives their pages back (RSS climbed batch after batch)
    result = MergeResult(vintage=run_vintage.value)
    for strategy in strategies.values():
        counts, refused = merge_table(cur, strategy, result.vintage, guard, times)
        result.tables.append(counts)
        result.quarantine += refused
    for strategy in strategies.values():
        strategy.finish(cur)
    return result


def stage_and_merge(
    cur: psycopg.Cursor,
    loads: list[TableLoad],
    run_id: int,
    vintage: str | None,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> MergeResult:
    """Stage, check and merge every table of one file read whole (one batch)."""
    return stage_and_merge_batches(cur, [loads], run_id, vintage, progress, chunk_rows)
