"""One ingest run: read, prepare, then stage + check + merge + record in a single transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from config import DatabaseSettings, IngestSettings
from db.engine import connect_raw
from db.timing import PhaseTimes
from ingest.errors import (
    IngestError,
    ShrinkRefusedError,
    StrictModeError,
    TimedCursor,
    database_error,
)
from ingest.load import stage_and_merge_batches
from ingest.locks import load_tables, lock_tables
from ingest.merge import MergeResult, ShrinkGuard, TableCounts, bump_layer_version
from ingest.normalize import TableLoad, TableSpec
from ingest.pgcopy import Progress
from ingest.quarantine import write_quarantine
from ingest.read import (
    STREAM_FORMATS,
    Source,
    detect_format,
    read_batches,
    read_source,
    source_bytes,
)
from ingest.runs import check_duplicates, fail_interrupted_runs, lock_run
from ingest.sources import IngestOptions, Layer, get_layer
from ingest.worker import limit_arenas, ordered_map

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What a run did, as recorded in ``ingest_run``."""

    run_id: int
    layer: str
    source: str
    sha256: str
    status: str
    rows_read: int = 0
    tables: list[TableCounts] = field(default_factory=list)
    seconds: float = 0.0
    message: str | None = None
    vintage: str | None = None

    @property
    def loaded(self) -> int:
        """Rows loaded, over every table of the run."""
        return sum(t.loaded for t in self.tables)

    @property
    def repaired(self) -> int:
        """Rows whose geometry was made valid, over every table of the run."""
        return sum(t.repaired for t in self.tables)

    @property
    def quarantined(self) -> int:
        """Rows sent to the ``quarantine`` table, over every table of the run."""
        return sum(t.quarantined for t in self.tables)

    @property
    def notes(self) -> list[str]:
        """What the load did beyond its counts (remapped codes, rebuilt perimeters...)."""
        return [f"{t.table}: {note}" for t in self.tables for note in t.notes]


def _start_run(
    conn: psycopg.Connection, layer: str, source: str, sha256: str, vintage: str | None
) -> int:
    row = conn.execute(
        "INSERT INTO ingest_run (layer, source, sha256, vintage, status) "
        "VALUES (%s, %s, %s, %s, 'running') RETURNING id",
        (layer, source, sha256, vintage),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _finish_run(
    cur: psycopg.Cursor | psycopg.Connection,
    run_id: int,
    status: str,
    rows_read: int,
    result: MergeResult | None,
    message: str | None,
) -> None:
    t = result.tables if result else []
    if message is None and t:
        message = "; ".join(f"{x.table}: {note}" for x in t for note in x.notes) or None
    cur.execute(
        """
        UPDATE ingest_run SET status = %s, rows_read = %s, rows_loaded = %s, rows_repaired = %s,
            rows_quarantined = %s, rows_inserted = %s, rows_updated = %s, rows_deleted = %s,
            message = %s, vintage = coalesce(vintage, %s), finished_at = now()
        WHERE id = %s
        """,
        (
            status,
            rows_read,
            sum(x.loaded for x in t),
            sum(x.repaired for x in t),
            len(result.quarantine) if result else 0,
            sum(x.inserted for x in t),
            sum(x.updated for x in t),
            sum(x.deleted for x in t),
            message,
            result.vintage if result else None,
            run_id,
        ),
    )


def read_sources(
    layer: Layer, path: Path, options: IngestOptions, ingest: IngestSettings
) -> Iterator[Source]:
    """The file as Sources: batches of ``ingest.batch_rows`` features for a streamable layer
    in a GDAL format (memory stays bounded whatever the file's size), else the whole file."""
    if layer.streamable and detect_format(path) in STREAM_FORMATS:
        return read_batches(
            path,
            crs=options.crs,
            encoding=options.encoding,
            layer=options.gpkg_layer,
            batch_size=ingest.batch_rows,
        )
    return iter(
        [read_source(path, crs=options.crs, encoding=options.encoding, layer=options.gpkg_layer)]
    )


@dataclass
class _FileBatches:
    """A file's batches as table loads: the first one read and prepared at once (a file that
    cannot be read, or has the wrong layout, fails before the run starts), the others in
    worker threads as the loader asks for them."""

    layer: Layer
    options: IngestOptions
    sources: Iterator[Source]
    times: PhaseTimes
    max_mb: int = 64  # what the batches in flight may weigh together (queue_max_mb)
    rows_read: int = 0
    first: list[TableLoad] = field(default_factory=list)
    sha256: str = ""

    def __post_init__(self) -> None:
        with self.times("read (worker)"):
            head = next(self.sources)
        self.rows_read, self.sha256 = len(head.frame), head.sha256
        with self.times("layer prepare (workers)"):
            self.first = self.layer.prepare(head, self.options)

    def _read(self) -> Iterator[Source]:
        while True:  # in the loader's worker thread
            with self.times("read (worker)"):
                source = next(self.sources, None)
            if source is None:
                return
            self.rows_read += len(source.frame)
            yield source

    def _prepare(self, source: Source) -> list[TableLoad]:
        with self.times("layer prepare (workers)"):
            return self.layer.prepare(source, self.options)

    def __iter__(self) -> Iterator[list[TableLoad]]:
        first, self.first = self.first, []  # not kept for the rest of the run
        yield first
        del first
        # Two threads: the GIL is released in most of this work (PROJ, numpy, Arrow), and
        # the server would otherwise wait for it; batches still come out in file order.
        yield from ordered_map(
            self._prepare, self._read(), 2, self.max_mb * 1_000_000, source_bytes
        )


def _begin_load(
    cur: psycopg.Cursor, run_id: int, specs: Iterable[TableSpec], ingest: IngestSettings
) -> int:
    """Lock the run and the load's tables, set its timeout; return that timeout (ms, 0: none)."""
    timeout_ms = ingest.statement_timeout_ms
    if timeout_ms is None:  # the server's or the role's
        row = cur.execute("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'")
        timeout_ms = int(row.fetchone()[0])  # type: ignore[index]
    else:
        cur.execute("SELECT set_config('statement_timeout', %s, true)", (str(timeout_ms),))
    lock_run(cur, run_id)  # held until commit/rollback: the run is alive
    # Before any statement on the target tables: loads of the same tables queue here.
    lock_tables(cur, load_tables(specs), ingest.lock_wait_s)
    return timeout_ms


def _check_result(path: Path, rows_read: int, strict: bool, result: MergeResult) -> None:
    """Refuse the load before its commit: ``--strict``, a broken file, the shrink guard."""
    if strict and result.quarantine:
        first = result.quarantine[0]
        raise StrictModeError(
            f"{path}: --strict and {len(result.quarantine)} row(s) quarantined; "
            f"first: feature {first.feature_index} ({first.key}): {first.reason}"
        )
    check_duplicates(path, rows_read, result)
    refused = next((t.shrink for t in result.tables if t.shrink), None)
    if refused:
        raise ShrinkRefusedError(refused)


def _record_failure(
    db: DatabaseSettings, report: IngestReport, result: MergeResult | None, exc: IngestError
) -> None:
    """Mark the run failed with the message (and keep a strict run's quarantined rows).

    With the database gone, the run stays ``running`` with no loader behind it: the next
    ingest (or ``foncier db status``) marks it interrupted.
    """
    try:
        with connect_raw(db, autocommit=True) as admin:
            if result is not None and isinstance(exc, StrictModeError):
                with admin.cursor() as cur:
                    write_quarantine(
                        cur, report.run_id, report.layer, report.source, result.quarantine
                    )
            _finish_run(admin, report.run_id, "failed", report.rows_read, result, str(exc))
    except psycopg.OperationalError:
        log.warning("run %s: could not record its failure (database unavailable)", report.run_id)


def _open_run(
    db: DatabaseSettings, path: Path, layer: str, sha256: str, vintage: str | None
) -> int:
    try:
        with connect_raw(db, autocommit=True) as admin:
            # Runs left 'running' by a killed loader are failed first (their rows are not locked).
            fail_interrupted_runs(admin)
            return _start_run(admin, layer, str(path), sha256, vintage)
    except psycopg.Error as exc:
        raise database_error(exc, path, 0, None) from exc


def run_ingest(
    layer_name: str,
    path: Path,
    options: IngestOptions,
    db: DatabaseSettings,
    ingest: IngestSettings,
    progress: Progress | None = None,
) -> IngestReport:
    """Load ``path`` into ``layer_name``'s tables.

    The target tables change in one transaction, or not at all. The run is recorded in
    ``ingest_run`` whatever happens (status ``failed`` with the message on error), and refused
    rows go to ``quarantine`` with their reason.

    Raises:
        IngestError: the file cannot be read or loaded (the message names file and feature),
            or ``options.strict`` and some rows were quarantined. A database error is raised
            as its class (:func:`~ingest.errors.database_error`): a timeout, a lock, a value
            refused, a lost connection.
    """
    started = time.monotonic()
    limit_arenas()  # before the load's worker threads start (see ingest.worker)
    layer = get_layer(layer_name)
    path = Path(path)
    times = PhaseTimes()
    sources = read_sources(layer, path, options, ingest)
    batches = _FileBatches(layer, options, sources, times, ingest.queue_max_mb)
    name = str(path)
    run_id = _open_run(db, path, layer.name, batches.sha256, options.vintage)
    report = IngestReport(run_id, layer.name, name, batches.sha256, "running", batches.rows_read)
    result: MergeResult | None = None
    cur: TimedCursor | None = None
    timeout_ms = 0
    try:
        with connect_raw(db) as conn, TimedCursor(conn) as cur:
            timeout_ms = _begin_load(cur, run_id, (x.spec for x in batches.first), ingest)
            result = stage_and_merge_batches(
                cur,
                batches,
                run_id,
                options.vintage,
                progress,
                max(ingest.copy_chunk_rows, ingest.batch_rows),
                times,
                ShrinkGuard(
                    ingest.shrink_max_share, ingest.shrink_min_rows, options.allow_shrink, name
                ),
            )
            report.rows_read = batches.rows_read
            _check_result(path, batches.rows_read, options.strict, result)
            with times("quarantine + run record"):
                write_quarantine(cur, run_id, layer.name, name, result.quarantine)
                if result.changed:
                    for version in layer.versions:
                        bump_layer_version(cur, version)
                _finish_run(cur, run_id, "succeeded", batches.rows_read, result, None)
            with times("commit"):
                conn.commit()
    except (IngestError, psycopg.Error) as exc:
        report.rows_read = batches.rows_read
        error = exc if isinstance(exc, IngestError) else None
        if error is None:
            elapsed = time.monotonic() - cur.started if cur is not None else None
            error = database_error(exc, path, timeout_ms, elapsed)  # type: ignore[arg-type]
        _record_failure(db, report, result, error)
        if error is exc:
            raise
        raise error from exc
    report.status = "succeeded"
    report.tables = result.tables
    report.vintage = result.vintage
    report.seconds = time.monotonic() - started
    log.debug("%s: %.2f s; phases: %s", name, report.seconds, times.summary())
    return report
