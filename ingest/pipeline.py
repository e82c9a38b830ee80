"""One ingest run: read, prepare, then stage + check + merge + record in a single transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from config import DatabaseSettings, IngestSettings
from db.engine import connect_raw
from ingest.errors import IngestError, ShrinkRefusedError, StrictModeError
from ingest.load import stage_and_merge_batches
from ingest.locks import load_tables, lock_tables
from ingest.merge import MergeResult, ShrinkGuard, TableCounts, bump_layer_version
from ingest.normalize import TableLoad
from ingest.pgcopy import Progress
from ingest.quarantine import write_quarantine
from ingest.read import STREAM_FORMATS, Source, detect_format, read_batches, read_source
from ingest.runs import check_duplicates, fail_interrupted_runs, lock_run
from ingest.sources import IngestOptions, Layer, get_layer
from ingest.worker import PhaseTimes, ordered_map

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
            or ``options.strict`` and some rows were quarantined.
    """
    started = time.monotonic()
    layer = get_layer(layer_name)
    path = Path(path)
    sources = read_sources(layer, path, options, ingest)
    # The first batch is read and prepared before the run starts: a file that cannot be read
    # at all, or has the wrong layout, fails here as when it was read whole.
    times = PhaseTimes()
    with times("read (worker)"):
        head = next(sources)
    rows_read = len(head.frame)
    with times("layer prepare (workers)"):
        first_loads = layer.prepare(head, options)

    def read() -> Iterator[Source]:
        nonlocal rows_read
        while True:  # in the loader's worker thread
            with times("read (worker)"):
                source = next(sources, None)
            if source is None:
                return
            rows_read += len(source.frame)
            yield source

    def prepare(source: Source) -> list[TableLoad]:
        with times("layer prepare (workers)"):
            return layer.prepare(source, options)

    def batches() -> Iterator[list[TableLoad]]:
        yield first_loads
        # Two threads: the GIL is released in most of this work (PROJ, numpy, Arrow), and
        # the server would otherwise wait for it; batches still come out in file order.
        yield from ordered_map(prepare, read(), workers=2)

    name = str(path)
    with connect_raw(db, autocommit=True) as admin:
        # Runs left 'running' by a killed loader are failed first (their rows are not locked).
        fail_interrupted_runs(admin)
        run_id = _start_run(admin, layer.name, name, head.sha256, options.vintage)
    report = IngestReport(run_id, layer.name, name, head.sha256, "running", rows_read)
    result: MergeResult | None = None
    try:
        with connect_raw(db) as conn, conn.cursor() as cur:
            lock_run(cur, run_id)  # held until commit/rollback: the run is alive
            # Before any statement on the target tables: loads of the same tables queue here.
            lock_tables(cur, load_tables(load.spec for load in first_loads), ingest.lock_wait_s)
            result = stage_and_merge_batches(
                cur,
                batches(),
                run_id,
                options.vintage,
                progress,
                max(ingest.copy_chunk_rows, ingest.batch_rows),
                times,
                ShrinkGuard(
                    ingest.shrink_max_share, ingest.shrink_min_rows, options.allow_shrink, name
                ),
            )
            report.rows_read = rows_read
            if options.strict and result.quarantine:
                first = result.quarantine[0]
                raise StrictModeError(
                    f"{path}: --strict and {len(result.quarantine)} row(s) quarantined; "
                    f"first: feature {first.feature_index} ({first.key}): {first.reason}"
                )
            check_duplicates(path, rows_read, result)
            refused = next((t.shrink for t in result.tables if t.shrink), None)
            if refused:
                raise ShrinkRefusedError(refused)
            with times("quarantine + run record"):
                write_quarantine(cur, run_id, layer.name, name, result.quarantine)
                if result.changed:
                    for version in layer.versions:
                        bump_layer_version(cur, version)
                _finish_run(cur, run_id, "succeeded", rows_read, result, None)
            with times("commit"):
                conn.commit()
    except (IngestError, psycopg.Error) as exc:
        message = str(exc) if isinstance(exc, IngestError) else f"{path}: database error: {exc}"
        with connect_raw(db, autocommit=True) as admin:
            if result is not None and isinstance(exc, StrictModeError):
                with admin.cursor() as cur:
                    write_quarantine(cur, run_id, layer.name, name, result.quarantine)
            _finish_run(admin, run_id, "failed", rows_read, result, message)
        if isinstance(exc, IngestError):
            raise
        raise IngestError(message) from exc
    report.status = "succeeded"
    report.tables = result.tables
    report.vintage = result.vintage
    report.seconds = time.monotonic() - started
    log.debug("%s: %.2f s; phases: %s", name, report.seconds, times.summary())
    return report
