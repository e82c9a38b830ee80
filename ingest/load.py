"""COPY prepared rows into staging, validate them in SQL, merge into the target in one transaction.

Readers see the previous version of a layer or the new one, never a mix: staging, checks,
upserts, deletions, quarantine rows and the run record all commit together.

This module runs the batch pipeline; the steps live in:

- :mod:`ingest.worker`: the worker thread preparing the next batch, per-phase timing;
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
from psycopg import sql

from ingest.direct import (
    check_direct,
    create_check_index,
    direct_ok,
    drop_check_index,
    empty_target,
    merge_early,
    stage_as_target,
)
from ingest.merge import (
    BULK_INDEX_MIN_ROWS,
    MergeResult,
    ShrinkGuard,
    TableCounts,
    drop_indexes,
    drop_primary_key,
    fix_vintage,
    merge,
    recreate_indexes,
    table_notes,
)
from ingest.normalize import TableLoad, mark_repeated_keys
from ingest.pgcopy import Direct, Payload, Progress, build_payload, write_payload
from ingest.quarantine import QuarantineRow, python_quarantine
from ingest.staging import (
    Staged,
    count_repaired,
    create_stage,
    hold_keys,
    repair_in_sql,
    source_raw,
    stage_name,
    unknown_keys,
    validate_in_sql,
)
from ingest.worker import PhaseTimes, ahead


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
class _Prepared:
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
        return len(self.good)

    def send(self, cur: psycopg.Cursor, chunk_rows: int) -> None:
        if self.payload is not None:
            write_payload(cur, self.load.spec, self.payload)
            return
        for start in range(0, len(self.good), chunk_rows):
            chunk = self.good.iloc[start : start + chunk_rows]
            write_payload(cur, self.load.spec, build_payload(chunk, self.load.spec, self.direct))


def _prepare(
    loads: list[TableLoad],
    seen: dict[str, dict[str, int]],
    chunk_rows: int,
    direct: dict[str, Direct],
    vintage: _Vintage,
) -> list[_Prepared]:
    out = []
    now = vintage.see(loads)
    for load in loads:
        spec = load.spec
        mark_repeated_keys(load, seen.setdefault(spec.table, {}))
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
        out.append(_Prepared(load, good, payload, python_quarantine(load), held, into, now))
    return out


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
    occurrence is kept). Checks, merge and derived SQL run once all batches are staged.

    ``vintage`` None: the rows get the latest vintage the file's own batches carry
    (:attr:`TableLoad.vintage`, a maximum per batch: no work per row). A table merged early
    gets each batch's latest so far, and its rows of the run are set to the file's latest at
    the end only when a later batch raised it.
    """
    seen: dict[str, dict[str, int]] = {}
    staged: dict[str, Staged] = {}
    times = times if times is not None else PhaseTimes()
    run_vintage = _Vintage(vintage)
    written: dict[str, set[str | None]] = {}  # vintages an early merge wrote, per table
    # The first batch's tables are set up before the worker starts: it builds each batch's
    # COPY bytes for the target itself when a table is loaded by direct COPY.
    direct: dict[str, Direct] = {}
    batches = iter(batches)
    first = next(batches, None)
    for load in first or []:
        spec = load.spec
        if spec.table not in staged:
            create_stage(cur, spec)
            table = staged[spec.table] = Staged(spec, early=empty_target(cur, spec))
            if table.early and direct_ok(spec):
                table.direct = True
                direct[spec.table] = Direct(run_id, vintage)

    def prepared_batches() -> Iterator[list[_Prepared]]:
        if first is None:
            return
        for loads in itertools.chain([first], batches):
            with times("prepare (worker)"):
                out = _prepare(loads, seen, chunk_rows, direct, run_vintage)
            yield out

    batch_iter = iter(ahead(prepared_batches()))
    while True:
        with times("wait for worker"):
            prepared = next(batch_iter, None)
        if prepared is None:
            break
        copied = 0
        for part in prepared:
            spec = part.load.spec
            if spec.table not in staged:
                create_stage(cur, spec)
                staged[spec.table] = Staged(spec, early=empty_target(cur, spec))
            table = staged[spec.table]
            if not table.started:
                table.started = True
                if table.early and part.rows >= BULK_INDEX_MIN_ROWS:
                    # An empty target's indexes are built after the last batch, in sorted
                    # passes (btrees in parallel), cheaper than maintained row by row: the
                    # server then keeps pace with the workers (1M: COPY 7.2 -> 3.5 s, index
                    # builds 1.5 -> 2.8 s). The primary key too, when no foreign key needs it:
                    # repeated keys are quarantined before they are sent.
                    table.deferred = [*drop_indexes(cur, spec)]
                    if table.direct:
                        table.deferred += drop_primary_key(cur, spec)
                if table.direct:
                    create_check_index(cur, spec)
            if part.rows:
                with times("copy"):
                    part.send(cur, chunk_rows)
            table.rows += part.rows
            table.repaired += part.load.repaired
            table.quarantine += part.quarantine
            table.held.append(part.held)
            table.last = part.load
            if table.direct:
                check_direct(cur, table, part.rows, times)
            elif table.early:
                merge_early(cur, table, run_id, part.vintage, times)
            if table.early and part.rows:
                written.setdefault(spec.table, set()).add(part.vintage)
            copied += part.rows
        if progress:
            progress(copied)
    result = MergeResult(vintage=run_vintage.value)
    for table in staged.values():
        spec = table.spec
        hold_keys(cur, spec, pd.concat(table.held) if table.held else pd.DataFrame())
        if table.early:
            if table.direct:
                drop_check_index(cur, spec)
            if spec.provenance and written.get(spec.table, set()) - {result.vintage}:
                with times("vintage fix-up"):
                    fix_vintage(cur, spec, run_id, result.vintage)
            with times("index rebuild"):
                recreate_indexes(cur, table.deferred)
            sql_bad = table.sql_bad
            counts = TableCounts(spec.table, inserted=table.inserted)
            stage_as_target(cur, spec)
        else:
            changed = repair_in_sql(cur, spec)
            if spec.post_stage_sql:
                cur.execute(spec.post_stage_sql.format(stage=f"stage_{spec.table}"))
            sql_bad = validate_in_sql(cur, spec)
            if spec.update_only:
                sql_bad += unknown_keys(cur, spec)
            table.repaired += count_repaired(cur, spec, changed)
            source_raw(table, sql_bad)
            with times("merge"):
                counts = merge(cur, spec, run_id, result.vintage, guard)
        if spec.post_merge_sql:
            with times("post-merge sql"):
                cur.execute(spec.post_merge_sql.format(stage=f"stage_{spec.table}"))
        counts.notes = table_notes(cur, spec)
        counts.quarantined = len(table.quarantine) + len(sql_bad)
        counts.loaded = table.rows - len(sql_bad)
        counts.repaired = table.repaired
        result.tables.append(counts)
        result.quarantine += table.quarantine + sql_bad
    for table in staged.values():
        if table.early:  # the views stand for staging tables that would drop on commit
            cur.execute(sql.SQL("DROP VIEW {}").format(stage_name(table.spec)))
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
