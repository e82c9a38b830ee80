"""``foncier ingest LAYER PATH`` and ``foncier ingest samples``: progress bar, summary, exit codes.

Exit codes: 0 loaded; 1 the file could not be loaded (nothing was merged); 2 bad usage;
3 ``--strict`` refused a file with quarantined rows (nothing was merged); 4 the shrink guard
refused a file that would delete too much of what is loaded (nothing was merged; pass
``--allow-shrink`` if the rows are really gone); 5 an undo was refused (a later run or write
changed the same rows: nothing was changed); 6 another load held the tables, or a lock could
not be had (nothing was merged; retry when it ends); 7 a statement ran past the database's
statement timeout (raise ``FONCIER_INGEST_STATEMENT_TIMEOUT_MS`` or split the file); 8 the
database could not be reached or the connection was lost. A value the database refuses is a 1,
like a bad file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from config import get_database_settings, get_ingest_settings
from ingest.errors import (
    DatabaseUnavailableError,
    IngestError,
    LoadBusyError,
    LoadTimeoutError,
    ShrinkRefusedError,
    StrictModeError,
)
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources import IngestOptions, get_layer, layers, sample_files
from ingest.undo import UndoRefusedError, UndoReport, undo_run

log = logging.getLogger(__name__)
# Not a terminal (a log, CI): rich would assume 80 columns; the summary gets room instead.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STRICT = 3
EXIT_SHRINK = 4
EXIT_UNDO_REFUSED = 5
EXIT_BUSY = 6
EXIT_TIMEOUT = 7
EXIT_UNAVAILABLE = 8


def summary_table(reports: list[IngestReport]) -> Table:
    """One line per run and table: rows read, loaded, repaired, quarantined, changes."""
    table = Table(title="Ingest summary")
    for col in (
        "layer",
        "file",
        "table",
        "read",
        "loaded",
        "repaired",
        "quarantined",
        "inserted",
        "updated",
        "deleted",
        "s",
    ):
        # Folded, never cut with "…": a summary in a narrow terminal or a log keeps its figures.
        justify: JustifyMethod = "right" if col not in ("layer", "file", "table") else "left"
        table.add_column(col, justify=justify, overflow="fold")
    for r in reports:
        for t in r.tables:
            table.add_row(
                r.layer,
                Path(r.source).name,
                t.table,
                f"{r.rows_read:,}",
                f"{t.loaded:,}",
                f"{t.repaired:,}",
                f"{t.quarantined:,}",
                f"{t.inserted:,}",
                f"{t.updated:,}",
                f"{t.deleted:,}",
                f"{r.seconds:.1f}",
            )
    notes = [f"{Path(r.source).name}: {note}" for r in reports for note in r.notes]
    if notes:
        # Below the table, whole: what a load did beyond its counts (remapped codes...).
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def _run_one(layer: str, path: Path, options: IngestOptions) -> IngestReport:
    with Progress(
        TextColumn(f"[bold]{layer}[/] {path.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("copy", total=None)
        return run_ingest(
            layer,
            path,
            options,
            get_database_settings(),
            get_ingest_settings(),
            progress=lambda n: progress.advance(task, n),
        )


def _load_samples(samples_dir: Path, strict: bool) -> None:
    """``foncier ingest samples``: every sample file in its layer, then the example contract."""
    reports = []
    for sample, file in sample_files(samples_dir):
        options = sample.options.__class__(
            **{**sample.options.__dict__, "vintage": sample.vintage, "strict": strict}
        )
        try:
            reports.append(_run_one(sample.layer, file, options))
        except IngestError as exc:
            console.print(f"[red]error:[/] {exc}")
            console.print(summary_table(reports))
            raise typer.Exit(_exit_code(exc)) from None
    console.print(summary_table(reports))
    _load_sample_contracts(samples_dir)


def ingest(
    layer: Annotated[
        str,
        typer.Argument(
            help="Layer name, 'samples' to load every file of data/samples, or 'undo' RUN_ID"
        ),
    ],
    path: Annotated[Path | None, typer.Argument(help="File to load (undo: the run id)")] = None,
    vintage: Annotated[str | None, typer.Option(help="Edition of the data, e.g. 2024-04")] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS of a file that declares none, e.g. EPSG:2154")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding if not UTF-8")] = None,
    programme: Annotated[
        int | None, typer.Option(help="Territoires d'industrie programme: 2018 or 2023")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Constraint kind for the whole file")] = None,
    strict: Annotated[bool, typer.Option(help="Fail the run if any row is quarantined")] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            help="Load even if the file deletes more than 10% of the rows it replaces"
            " (per commune for parcels, per kind for constraints)"
        ),
    ] = False,
) -> None:
    """Load a file into a layer (format and CRS detected), or every sample file."""
    if layer == "undo":
        undo_command(str(path) if path is not None else None)
        return
    if layer == "samples":
        _load_samples(path or get_ingest_settings().samples_dir, strict)
        return
    try:
        get_layer(layer)
    except IngestError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    if path is None:
        console.print("[red]error:[/] PATH is required; e.g. foncier ingest epci epci.geojson")
        raise typer.Exit(EXIT_USAGE)
    options = IngestOptions(
        crs=crs,
        encoding=encoding,
        vintage=vintage,
        strict=strict,
        programme=programme,
        kind=kind,
        allow_shrink=allow_shrink,
    )
    try:
        report = _run_one(layer, path, options)
    except (StrictModeError, ShrinkRefusedError) as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(_exit_code(exc)) from None
    except IngestError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(_exit_code(exc)) from None
    console.print(summary_table([report]))


def undo_command(run: str | None) -> None:
    """``foncier ingest undo RUN_ID``: restore what a run replaced (exit 5 when refused)."""
    if run is None or not run.isdigit():
        console.print("[red]error:[/] give the run to undo: foncier ingest undo RUN_ID")
        raise typer.Exit(EXIT_USAGE)
    try:
        report = undo_run(get_database_settings(), int(run))
    except UndoRefusedError as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(EXIT_UNDO_REFUSED) from None
    print_undo(report)


def print_undo(report: UndoReport) -> None:
    """What an undo removed and restored, per table."""
    table = Table(title=f"{report.undone} undone by {report.by}")
    table.add_column("table")
    for col in ("removed", "restored"):
        table.add_column(col, justify="right")
    for name, (removed, restored) in report.tables.items():
        table.add_row(name, f"{removed:,}", f"{restored:,}")
    console.print(table)


def _exit_code(exc: IngestError) -> int:
    if isinstance(exc, StrictModeError):
        return EXIT_STRICT
    if isinstance(exc, ShrinkRefusedError):
        return EXIT_SHRINK
    if isinstance(exc, LoadTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, LoadBusyError):
        return EXIT_BUSY
    if isinstance(exc, DatabaseUnavailableError):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def ingest_help() -> str:
    """The command's help text, with the list of layers."""
    lines = [f"- {name}: {layer.description}" for name, layer in sorted(layers().items())]
    return (
        "Load a file into a layer (format and CRS detected), or every sample file.\n\n"
        "Layers:\n\n" + "\n\n".join(lines)
    )


def _load_sample_contracts(samples_dir: Path) -> None:
    """The fictitious example contract (issue 17), once the territories are loaded."""
    from db.engine import connect_raw
    from ingest.contracts import load_sample_contracts

    with connect_raw(get_database_settings()) as conn:
        for report in load_sample_contracts(conn, samples_dir):
            console.print(
                f"contracts (exemple): run {report.run_id}, {report.inserted} inserted, "
                f"{report.updated} updated, {len(report.quarantined)} quarantined"
            )
