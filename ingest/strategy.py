"""How one table of a file is loaded: one small strategy per path, chosen once per table.

- :class:`StagedLoad`: the target has rows. Every batch is COPYed into staging; after the
  last one, staging is repaired and checked in SQL and merged (upserts, deletions) at once.
- :class:`EarlyLoad`: the target is empty (and locked). Each batch is checked and inserted
  as it arrives (:func:`ingest.direct.merge_early`), its indexes built after the last batch.
- :class:`DirectLoad`: an early load of plain columns. Batches are COPYed straight into the
  target and checked there through a partial index (:func:`ingest.direct.check_direct`).

All three answer :class:`LoadStrategy`: ``prepare`` (before the first batch is sent),
``copy_batch`` and ``check`` (per batch), ``merge`` (after the last batch) and ``finish``
(once every table of the file is merged). :func:`choose_strategy` picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pandas as pd
import psycopg
from psycopg import sql

from db.timing import PhaseTimes
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
    ShrinkGuard,
    TableCounts,
    drop_indexes,
    drop_primary_key,
    fix_vintage,
    merge,
    recreate_indexes,
    table_notes,
)
from ingest.normalize import TableSpec
from ingest.pgcopy import Direct
from ingest.quarantine import QuarantineRow
from ingest.staging import (
    Staged,
    count_repaired,
    create_stage,
    hold_keys,
    layer_sql,
    repair_in_sql,
    source_raw,
    stage_name,
    unknown_keys,
    validate_in_sql,
)

if TYPE_CHECKING:
    from ingest.load import Prepared


class LoadStrategy(Protocol):
    """One table's path through a load (see the module's docstring for the three)."""

    table: Staged
    # Where the worker builds this table's COPY bytes for the target itself (direct COPY).
    direct: Direct | None

    def prepare(self, cur: psycopg.Cursor, rows: int) -> None:
        """Set the table up before its first batch (of ``rows`` rows) is sent."""

    def copy_batch(self, cur: psycopg.Cursor, part: Prepared, chunk_rows: int) -> None:
        """Send one batch's rows and add its counts and refused rows to :attr:`table`."""

    def check(self, cur: psycopg.Cursor, part: Prepared) -> None:
        """Check (and for an early load insert) the batch just sent."""

    def merge(
        self, cur: psycopg.Cursor, vintage: str | None, guard: ShrinkGuard | None
    ) -> tuple[TableCounts, list[QuarantineRow]]:
        """After the last batch: the table's counts and the rows refused in SQL."""

    def finish(self, cur: psycopg.Cursor) -> None:
        """Once every table of the file is merged (and its post-merge SQL run)."""


class _Base:
    """What the three paths share: one table's state, the run, the phase timer."""

    direct: Direct | None = None

    def __init__(self, spec: TableSpec, run_id: int, times: PhaseTimes) -> None:
        self.table = Staged(spec)
        self.run_id = run_id
        self.times = times

    def copy_batch(self, cur: psycopg.Cursor, part: Prepared, chunk_rows: int) -> None:
        """Send one batch's rows and add its counts and refused rows to :attr:`table`."""
        if part.rows:
            with self.times("copy"):
                part.send(cur, chunk_rows)
        table = self.table
        table.rows += part.rows
        table.repaired += part.load.repaired
        table.quarantine += part.quarantine
        table.held.append(part.held)
        table.last = part.load


class StagedLoad(_Base):
    """A target with rows: staging, checked and merged once the last batch is in."""

    def prepare(self, cur: psycopg.Cursor, rows: int) -> None:  # noqa: ARG002
        """Nothing to set up: staging was created with the strategy."""

    def check(self, cur: psycopg.Cursor, part: Prepared) -> None:  # noqa: ARG002
        """Nothing per batch: staging is checked whole in :meth:`merge`."""

    def finish(self, cur: psycopg.Cursor) -> None:  # noqa: ARG002
        """Nothing left: staging drops on commit."""

    def merge(
        self, cur: psycopg.Cursor, vintage: str | None, guard: ShrinkGuard | None
    ) -> tuple[TableCounts, list[QuarantineRow]]:
        """Repair and check staging in SQL, then upsert it and delete what the file lost."""
        table, spec = self.table, self.table.spec
        changed = repair_in_sql(cur, spec)
        if spec.post_stage_sql:
            cur.execute(layer_sql(spec, spec.post_stage_sql))
        sql_bad = validate_in_sql(cur, spec)
        if spec.update_only:
            sql_bad += unknown_keys(cur, spec)
        table.repaired += count_repaired(cur, spec, changed)
        source_raw(table, sql_bad)
        with self.times("merge"):
            counts = merge(cur, spec, self.run_id, vintage, guard)
        return counts, sql_bad


class EarlyLoad(_Base):
    """An empty target: each batch checked and inserted as it arrives."""

    def __init__(self, spec: TableSpec, run_id: int, times: PhaseTimes) -> None:
        super().__init__(spec, run_id, times)
        self.deferred: list[str | sql.Composed] = []  # indexes (and key) built at the end
        self.written: set[str | None] = set()  # the vintages batches were inserted with

    def prepare(self, cur: psycopg.Cursor, rows: int) -> None:
        """Drop the target's indexes when the first batch is large enough to pay for it."""
        if rows >= BULK_INDEX_MIN_ROWS:
            # An empty target's indexes are built after the last batch, in sorted passes
            # (btrees in parallel), cheaper than maintained row by row: the server then keeps
            # pace with the workers (1M: COPY 7.2 -> 3.5 s, index builds 1.5 -> 2.8 s).
            self.deferred = [*drop_indexes(cur, self.table.spec)]

    def check(self, cur: psycopg.Cursor, part: Prepared) -> None:
        """Check the batch in staging and insert it into the target."""
        merge_early(cur, self.table, self.run_id, part.vintage, self.times)
        self._wrote(part)

    def _wrote(self, part: Prepared) -> None:
        if part.rows:
            self.written.add(part.vintage)

    def merge(
        self,
        cur: psycopg.Cursor,
        vintage: str | None,
        guard: ShrinkGuard | None,  # noqa: ARG002 - an empty target loses nothing
    ) -> tuple[TableCounts, list[QuarantineRow]]:
        """The rows are in: fix their vintage if a later batch raised it, rebuild indexes."""
        spec = self.table.spec
        if spec.provenance and self.written - {vintage}:
            with self.times("vintage fix-up"):
                fix_vintage(cur, spec, self.run_id, vintage)
        with self.times("index rebuild"):
            recreate_indexes(cur, self.deferred)
        stage_as_target(cur, spec)
        return TableCounts(spec.table, inserted=self.table.inserted), self.table.sql_bad

    def finish(self, cur: psycopg.Cursor) -> None:
        """Drop the view :meth:`merge` left for post-merge SQL."""
        # The view stands for the staging table, which would drop on commit.
        cur.execute(sql.SQL("DROP VIEW {}").format(stage_name(self.table.spec)))


class DirectLoad(EarlyLoad):
    """An early load of plain columns: COPY straight into the target, checked there."""

    def __init__(
        self, spec: TableSpec, run_id: int, times: PhaseTimes, vintage: str | None
    ) -> None:
        super().__init__(spec, run_id, times)
        self.direct = Direct(run_id, vintage)

    def prepare(self, cur: psycopg.Cursor, rows: int) -> None:
        """Drop indexes and key as an early load does, and create the check index."""
        super().prepare(cur, rows)
        if rows >= BULK_INDEX_MIN_ROWS:
            # The primary key too, when no foreign key needs it: repeated keys are
            # quarantined before they are sent.
            self.deferred += drop_primary_key(cur, self.table.spec)
        create_check_index(cur, self.table.spec)

    def check(self, cur: psycopg.Cursor, part: Prepared) -> None:
        """Repair and check the batch in the target itself, through the check index."""
        check_direct(cur, self.table, part.rows, self.times)
        self._wrote(part)

    def merge(
        self, cur: psycopg.Cursor, vintage: str | None, guard: ShrinkGuard | None
    ) -> tuple[TableCounts, list[QuarantineRow]]:
        """Drop the check index, then finish as an early load."""
        drop_check_index(cur, self.table.spec)
        return super().merge(cur, vintage, guard)


def choose_strategy(
    cur: psycopg.Cursor,
    spec: TableSpec,
    run_id: int,
    times: PhaseTimes,
    vintage: str | None,
    first_batch: bool,
) -> LoadStrategy:
    """Create ``spec``'s staging table and pick its path, once per table and file.

    Direct COPY is only for tables of the first batch: the worker, started after it, builds
    their COPY bytes for the target.
    """
    create_stage(cur, spec)
    if not empty_target(cur, spec):
        return StagedLoad(spec, run_id, times)
    if first_batch and direct_ok(spec):
        return DirectLoad(spec, run_id, times, vintage)
    return EarlyLoad(spec, run_id, times)


def merge_table(
    cur: psycopg.Cursor,
    strategy: LoadStrategy,
    vintage: str | None,
    guard: ShrinkGuard | None,
    times: PhaseTimes,
) -> tuple[TableCounts, list[QuarantineRow]]:
    """Merge one table by its strategy, then its post-merge SQL; its counts filled in."""
    table, spec = strategy.table, strategy.table.spec
    hold_keys(cur, spec, pd.concat(table.held) if table.held else pd.DataFrame())
    counts, sql_bad = strategy.merge(cur, vintage, guard)
    if spec.post_merge_sql:
        with times("post-merge sql"):
            cur.execute(layer_sql(spec, spec.post_merge_sql))
    counts.notes = table_notes(cur, spec)
    counts.quarantined = len(table.quarantine) + len(sql_bad)
    counts.loaded = table.rows - len(sql_bad)
    counts.repaired = table.repaired
    return counts, table.quarantine + sql_bad
