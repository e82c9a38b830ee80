"""``foncier runs`` and ``foncier quarantine``: what the loads did and which rows they refused.

Read-only, except ``quarantine export``, which writes a file. Exit codes: 0 done; 1 no such run
or quarantined row, or the export cannot be written; 2 bad usage.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from config import get_database_settings
from db.engine import connect_raw
from db.operations import (
    INGEST_COUNTS,
    SCORE_COUNTS,
    RunRecord,
    get_quarantine,
    list_quarantine,
    list_runs,
)
from ingest.cli import console
from ingest.quarantine_export import ExportError, export_quarantine

quarantine_app = typer.Typer(
    help="Rows a load refused: list them, show one with its raw record, export them to fix.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of a table")]
LayerOpt = Annotated[str | None, typer.Option(help="Only this layer ('score': scoring runs)")]


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else ""


def _json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def runs(
    layer: LayerOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Recent ingest and scoring runs: file, status, times and counts."""
    with connect_raw(get_database_settings()) as conn:
        records = list_runs(conn, layer, limit)
    if as_json:
        _json([dataclasses.asdict(r) for r in records])
        return
    loads = [r for r in records if r.kind == "ingest"]
    scores = [r for r in records if r.kind == "score"]
    if loads or not scores:
        console.print(_runs_table("Ingest runs", loads, INGEST_COUNTS))
    if scores:
        console.print(_runs_table("Scoring runs", scores, SCORE_COUNTS))


def _runs_table(title: str, records: list[RunRecord], counts: tuple[str, ...]) -> Table:
    table = Table(title=f"{title} ({len(records)})")
    for col in ("run", "layer", "file", "status", "started", "ended"):
        table.add_column(col, overflow="fold")
    for col in counts:
        table.add_column(col, justify="right")
    table.add_column("message", overflow="fold")
    for r in records:
        status = r.status if r.status == "succeeded" else f"[red]{r.status}[/]"
        table.add_row(
            str(r.run_id), r.layer, Path(r.source or "").name or "", status,
            _when(r.started_at), _when(r.finished_at),
            *(f"{r.counts[c]:,}" for c in counts), r.message or "",
        )  # fmt: skip
    return table


@quarantine_app.command("list")
def quarantine_list(
    run: Annotated[int | None, typer.Option(help="Only this ingest run (foncier runs)")] = None,
    layer: Annotated[str | None, typer.Option(help="Only this layer")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many rows at most")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Refused rows: id, run, layer, file, feature (0-based row of the file), key, reason."""
    with connect_raw(get_database_settings()) as conn:
        rows = list_quarantine(conn, run, layer, limit)
    if as_json:
        _json([dataclasses.asdict(r) for r in rows])
        return
    table = Table(title=f"Quarantined rows ({len(rows)}{'+' if len(rows) == limit else ''})")
    for col in ("id", "run", "layer", "file", "feature", "key", "reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.quarantine_id), str(r.run_id), r.layer, Path(r.source).name,
            "" if r.feature_index is None else str(r.feature_index), r.key or "", r.reason,
        )  # fmt: skip
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: Annotated[int, typer.Argument(help="The row's id (foncier quarantine list)")],
    as_json: JsonOpt = False,
) -> None:
    """One refused row: its file and row, the reason, and the raw record as the file gave it."""
    with connect_raw(get_database_settings()) as conn:
        row = get_quarantine(conn, quarantine_id)
    if row is None:
        console.print(
            f"[red]error:[/] no quarantined row {quarantine_id} (foncier quarantine list)"
        )
        raise typer.Exit(1)
    if as_json:
        _json(dataclasses.asdict(row))
        return
    feature = "?" if row.feature_index is None else str(row.feature_index)
    console.print(f"[bold]quarantined row {row.quarantine_id}[/] of run {row.run_id} ({row.layer})")
    console.print(f"file: {row.source}, feature {feature} (0-based), key {row.key or '-'}")
    console.print(f"reason: {row.reason}")
    typer.echo(json.dumps(row.raw, ensure_ascii=False, indent=2))


@quarantine_app.command("export")
def quarantine_export(
    path: Annotated[Path, typer.Argument(help="File to write, in the format of the run's file")],
    run: Annotated[int, typer.Option(help="The ingest run (foncier runs)")],
    crs: Annotated[
        str | None, typer.Option(help="CRS of the rows when the source file is gone")
    ] = None,
) -> None:
    """Write a run's refused rows back in its file's format, to fix them and load them again."""
    try:
        with connect_raw(get_database_settings()) as conn:
            report = export_quarantine(conn, run, path, crs)
    except ExportError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    crs_note = f" ({report.crs})" if report.crs else ""
    console.print(f"{report.rows} refused row(s) of run {run} written to {path}{crs_note}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
