"""The ``foncier`` command: local database, ingest, scoring, synthetic data and the web service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from config import SAMPLES_DIR, ApiSettings, get_database_settings
from db import cluster
from db.errors import DatabaseError
from ingest.cli import console, ingest, ingest_help
from ingest.runs_cli import quarantine_app, runs

app = typer.Typer(help="foncier: available industrial land in France.", no_args_is_help=True)
db_app = typer.Typer(
    help="The PostGIS database: local cluster and migrations.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
synth_app = typer.Typer(help="Synthetic data for benchmarks.", no_args_is_help=True)
app.add_typer(synth_app, name="synth")
app.command("ingest", help=ingest_help())(ingest)
app.command("runs")(runs)
app.add_typer(quarantine_app, name="quarantine")
apikey_app = typer.Typer(help="API keys for writing (stored hashed).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
sites_app = typer.Typer(help="Sites written through the API.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
history_app = typer.Typer(
    help="The versions loads and API writes replaced (history schema).", no_args_is_help=True
)
app.add_typer(history_app, name="history")
zae_app = typer.Typer(help="The legal inventory of economic activity zones.", no_args_is_help=True)
app.add_typer(zae_app, name="zae")
contracts_app = typer.Typer(
    help="Territoires d'industrie contracts: the XLSX template in and out.", no_args_is_help=True
)
app.add_typer(contracts_app, name="contracts")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")
    if not verbose:
        # Alembic narrates every plugin it loads at INFO: noise for someone running a command.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # pyogrio logs "Created N records" for every GeoPackage layer it writes.
        logging.getLogger("pyogrio").setLevel(logging.WARNING)


@db_app.command("up")
def db_up() -> None:
    """Start the local PostGIS (created on first use) and migrate it.

    With an external DATABASE_URL, only migrate.
    """
    settings = get_database_settings()
    try:
        if settings.is_local:
            cluster.up(settings)
        db_migrate()
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Drop the local database and rebuild it from the migrations (its data is lost)."""
    settings = get_database_settings()
    if not yes:
        typer.confirm(f"Drop every table of {settings.database_url}?", abort=True)
    try:
        cluster.reset(settings)
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    db_migrate()


@db_app.command("down")
def db_down() -> None:
    """Stop the local PostGIS."""
    cluster.down(get_database_settings())


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the migrations (creates the extensions they need, or says who must)."""
    from sqlalchemy.exc import OperationalError

    from db.engine import get_engine
    from db.migrate import upgrade

    try:
        upgrade(get_engine())
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except OperationalError as exc:
        console.print(f"[red]error:[/] cannot connect to the database: {exc.orig}")
        raise typer.Exit(1) from None
    console.print("database at the latest migration")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, and its migration revision."""
    from sqlalchemy.engine import make_url

    from db.engine import get_engine
    from db.migrate import current_revision, head_revision, schema_problem

    settings = get_database_settings()
    console.print(f"url: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    if settings.is_local:
        console.print(
            f"local cluster: {settings.pg_data_dir}, running={cluster.is_running(settings)}"
        )
    try:
        current = current_revision(get_engine())
    except Exception as exc:  # noqa: BLE001 - status reports, never crashes
        console.print(f"[red]cannot connect:[/] {exc}")
        raise typer.Exit(1) from None
    head = head_revision()
    if current is None:
        console.print(f"revision: not migrated (head {head}): run `foncier db migrate`")
        return
    console.print(f"revision: {current} (head {head})")
    problem = schema_problem(current, head)
    if problem:
        console.print(f"[yellow]{problem}[/]")
        return
    from db.engine import connect_raw
    from ingest.runs import fail_interrupted_runs

    # A loader killed mid-load leaves its run 'running': say so, and record it as failed.
    with connect_raw(settings, autocommit=True) as conn:
        for run in fail_interrupted_runs(conn):
            console.print(
                f"[yellow]ingest run {run.run_id}[/] ({run.layer}, {run.source}, started "
                f"{run.started_at}) was interrupted before it finished: nothing of it was "
                "merged; it is now marked failed. Load the file again."
            )


@db_app.command("grant-api")
def db_grant_api(
    role: Annotated[str, typer.Argument(help="The API's role (created if it does not exist)")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="FONCIER_API_DB_PASSWORD",
            help="Set the role's password (or FONCIER_API_DB_PASSWORD)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or update the API's database role: it reads every table and writes only sites,
    their parcels, the audit and the sites' layer version. Run again after each migration."""
    from sqlalchemy.engine import make_url

    from db.engine import connect_raw
    from db.roles import grant_api_role

    settings = get_database_settings()
    try:
        with connect_raw(settings) as conn:
            created = grant_api_role(conn, role, password)
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except psycopg.Error as exc:
        console.print(f"[red]error:[/] cannot prepare role {role}: {exc}".rstrip())
        raise typer.Exit(1) from None
    url = make_url(settings.database_url).set(username=role, password=None)
    console.print(
        f"role {role} {'created' if created else 'updated'}: serve the API with "
        f"FONCIER_API_DATABASE_URL={url.render_as_string(hide_password=False)}"
        + ("" if password else " (add the role's password if the server asks for one)")
    )


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="Archive to write (pg_dump custom format)")],
) -> None:
    """Dump the database to PATH (pg_dump --format=custom); restore it with `foncier db restore`."""
    from db.backup import backup

    try:
        report = backup(get_database_settings(), path)
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"backup written to {report.path}: {report.size_bytes / 1e6:.1f} MB, schema revision "
        f"{report.revision}, {report.seconds:.1f} s"
    )


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="Archive made by `foncier db backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds rows")
    ] = False,
) -> None:
    """Replace the database's contents with a backup, in one transaction (refuses a backup of a
    newer schema, and a non-empty database without --force)."""
    from db.backup import restore

    try:
        report = restore(get_database_settings(), path, force=force)
    except DatabaseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"{report.path} restored (schema revision {report.revision}, {report.seconds:.1f} s)"
    )
    if report.note:
        console.print(f"[yellow]{report.note}[/]")


@synth_app.command("parcels")
def synth_parcels_command(
    n: Annotated[int, typer.Option("--n", help="Number of parcels")],
    out: Annotated[
        Path, typer.Option(help=".gpkg, or Etalab-style .geojson/.json, optionally .gz")
    ] = Path("parcelles-synth.gpkg"),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same parcels")] = 0,
    communes_file: Annotated[Path, typer.Option(help="Commune polygons with insee_com")] = (
        SAMPLES_DIR / "admin" / "communes_2022_sample.geojson.gz"
    ),
    defects: Annotated[
        float, typer.Option(help="Share of spoiled rows (repeated id, bow-tie, no geometry)")
    ] = 0.0,
) -> None:
    """Voronoi parcels inside real commune polygons, with Etalab-format ids (EPSG:4326)."""
    from geo.synth import read_communes, synth_parcels, write_parcels

    try:
        frame = synth_parcels(read_communes(communes_file), n, seed=seed, defect_share=defects)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    write_parcels(frame, out)
    console.print(f"{len(frame):,} parcels written to {out}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
) -> None:
    """Serve the API and the maps (one uvicorn process)."""
    import uvicorn

    from config import get_api_settings

    settings = get_api_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


def _key_settings() -> ApiSettings:
    """The API settings with the key salt the server uses (the same resolution), or exit 1."""
    from config import get_api_settings, resolve_key_salt

    try:
        return resolve_key_salt(get_api_settings(), get_database_settings())
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def _parse_expiry(value: str | None):  # type: ignore[no-untyped-def]
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        console.print(f"[red]error:[/] --expires {value!r}: expected a date, YYYY-MM-DD")
        raise typer.Exit(2) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when <= datetime.now(UTC):
        console.print(f"[red]error:[/] --expires {value}: that is in the past")
        raise typer.Exit(2)
    return when


@sites_app.command("undo")
def sites_undo(
    audit_id: Annotated[int, typer.Argument(help="The write's audit id (GET /sites/{id}/history)")],
) -> None:
    """Restore a site or one of its checklist items as it was before an API write (a created
    site is removed) and re-evaluate its readiness; exit code 5 when a later run or write
    changed the same rows."""
    from ingest.cli import EXIT_UNDO_REFUSED, print_undo
    from ingest.undo import UndoRefusedError, undo_audit
    from score.readiness import refresh_site_readiness

    try:
        report = undo_audit(get_database_settings(), audit_id, after=refresh_site_readiness)
    except UndoRefusedError as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(EXIT_UNDO_REFUSED) from None
    print_undo(report)


def _parse_before(value: str) -> datetime:
    """``--before``: a date (midnight UTC) or a date and time (UTC when no zone is given)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        console.print(f"[red]error:[/] --before {value!r}: not a date; write it 2023-01-01")
        raise typer.Exit(2) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@history_app.command("prune")
def history_prune(
    before: Annotated[
        str, typer.Option("--before", help="Drop the versions replaced before this date")
    ],
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Only this table (repeatable)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go, delete nothing")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow a date in the last year")] = False,
) -> None:
    """Delete the history versions that stopped being current before --before, per table, in
    one transaction; versions a saved ZAN scenario was computed on stay. A date within the
    last year is refused without --force (exit code 2)."""
    from db.prune import PruneError, check_date, prune_history

    when = _parse_before(before)
    try:
        warning = check_date(when, force)
        report = prune_history(get_database_settings(), when, table, dry_run)
    except PruneError as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(2) from None
    if warning:
        console.print(f"[yellow]{warning}[/]")
    verb = "would delete" if dry_run else "deleted"
    for name, count in report.tables.items():
        if count or table:
            console.print(f"{name}: {verb} {count:,} version(s)")
    console.print(
        f"{verb} {report.total:,} version(s) replaced before {when:%Y-%m-%d}"
        + (f" (audit {report.audit_id})" if report.audit_id else "")
    )
    if report.kept_for_scenarios:
        console.print(
            f"kept {report.kept_for_scenarios:,} zan_account version(s) a saved scenario uses"
        )


@sites_app.command("readiness")
def sites_readiness() -> None:
    """Re-evaluate every site's readiness checklist (after a zoning or constraints load; `foncier
    score` does it too) and print the count per level."""
    from db.engine import connect_raw
    from score.checklist import load_checklist
    from score.readiness import refresh_readiness

    with connect_raw(get_database_settings()) as conn:
        found = refresh_readiness(conn, load_checklist())
        conn.commit()
    levels: dict[str, int] = {}
    for r in found.values():
        levels[f"{r.level} {r.label}"] = levels.get(f"{r.level} {r.label}", 0) + 1
    for label, n in sorted(levels.items(), reverse=True):
        console.print(f"niveau {label} : {n} site(s)")
    console.print(f"{len(found)} site(s) évalué(s)")


TerritoryOpt = Annotated[
    str | None,
    typer.Option(
        "--territory", help="KIND:CODE as /territories/{kind}/{code}, e.g. epci:200054781"
    ),
]


def _stale(territory: str | None):  # type: ignore[no-untyped-def]
    from api.freshness import list_stale
    from db.engine import connect_raw

    if territory is not None and ":" not in territory:
        console.print(f"[red]error:[/] --territory {territory!r}: expected KIND:CODE (epci:SIREN)")
        raise typer.Exit(2)
    with connect_raw(get_database_settings()) as conn:
        return list_stale(conn, territory)


@sites_app.command("stale")
def sites_stale(territory: TerritoryOpt = None) -> None:
    """Sites whose availability is to be confirmed (never confirmed, or past their validity)."""
    sites = _stale(territory)
    for s in sites:
        when = s.valid_until.date().isoformat() if s.valid_until else "jamais confirmé"
        console.print(f"{s.id}\t{s.nom}\t{s.commune or s.insee or ''}\t{when}\t{s.email or '-'}")
    console.print(f"{len(sites)} site(s) à confirmer")


@sites_app.command("remind")
def sites_remind(territory: TerritoryOpt = None) -> None:
    """E-mail each stale site's contact a signed link that confirms or withdraws it (SMTP from
    FONCIER_SMTP_*); sites whose contact has no e-mail address are listed, not mailed."""
    from api.freshness import send_reminders
    from config import get_mail_settings

    settings = _key_settings()
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    sites = _stale(territory)
    try:
        sent = send_reminders(sites, settings, get_mail_settings(), base)
    except OSError as exc:
        console.print(f"[red]error:[/] SMTP server unreachable or refused: {exc}")
        raise typer.Exit(1) from None
    for s in sites:
        if s.id not in sent:
            console.print(f"pas d'adresse e-mail pour {s.id} ({s.nom}) : contact {s.contact!r}")
    console.print(f"{len(sent)} courriel(s) envoyé(s) sur {len(sites)} site(s) à confirmer")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who holds the key (recorded in the audit)")],
    scope: Annotated[str, typer.Option(help="epci:SIREN, region:CODE or national")],
    role: Annotated[str, typer.Option(help="editor or admin")] = "editor",
    expires: Annotated[
        str | None, typer.Option(help="Refuse the key from this date on (YYYY-MM-DD, UTC)")
    ] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from api.auth import create_key
    from db.engine import connect_raw
    from db.errors import AccessDenied

    settings = _key_settings()
    expires_at = _parse_expiry(expires)
    try:
        with connect_raw(get_database_settings()) as conn:
            key_id, key = create_key(conn, settings, name, role, scope, expires_at)
            conn.commit()
    except AccessDenied as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    console.print(
        f"key {key_id} created for {name} ({role}, {scope}{until}); it is shown only once:"
    )
    typer.echo(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key: id, name, role, scope, created, expires, active (never the key itself)."""
    from rich.table import Table

    from api.auth import list_keys
    from db.engine import connect_raw

    with connect_raw(get_database_settings()) as conn:
        keys = list_keys(conn)
    table = Table(title=f"API keys ({len(keys)})")
    for col in ("id", "name", "role", "scope", "created", "expires", "active"):
        table.add_column(col)
    for k in keys:
        table.add_row(
            str(k.key_id), k.name, k.role, k.scope, f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "never",
            "yes" if k.active else "no",
        )  # fmt: skip
    console.print(table)


KeyIdArg = Annotated[int, typer.Argument(help="The key's id (foncier apikey list)")]


@apikey_app.command("revoke")
def apikey_revoke(key_id: KeyIdArg) -> None:
    """Switch a key off: requests with it are refused (401) from now on."""
    from api.auth import revoke_key
    from db.engine import connect_raw

    with connect_raw(get_database_settings()) as conn:
        done = revoke_key(conn, key_id)
        conn.commit()
    if not done:
        console.print(f"[red]error:[/] no active API key {key_id} (see `foncier apikey list`)")
        raise typer.Exit(1)
    console.print(f"key {key_id} revoked")


@apikey_app.command("rotate")
def apikey_rotate(key_id: KeyIdArg) -> None:
    """Replace a key: a new one (same holder, role, scope, expiry) printed once, the old revoked."""
    from api.auth import rotate_key
    from db.engine import connect_raw
    from db.errors import NotFound

    settings = _key_settings()
    try:
        with connect_raw(get_database_settings()) as conn:
            new_id, key = rotate_key(conn, settings, key_id)
            conn.commit()
    except NotFound as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"key {key_id} revoked; its replacement is key {new_id}, shown only once:")
    typer.echo(key)


@app.command("score")
def score_command(
    territory: Annotated[
        str | None,
        typer.Option(help="EPCI SIREN, département, commune INSEE, reg:84 or ti2023:ID"),
    ] = None,
    profile: Annotated[
        Path | None, typer.Option(help="Scoring profile TOML (default score/profiles/default.toml)")
    ] = None,
    changed: Annotated[
        bool, typer.Option("--changed", help="Only re-score what changed since the last run")
    ] = False,
) -> None:
    """ZAN accounts, contiguous land units and availability scores (0-100, explained)."""
    import psycopg
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from db.engine import connect_raw
    from geo.errors import GeoError
    from score import STEPS, score

    with Progress(
        TextColumn("[bold]score[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("start", total=len(STEPS))

        def step(name: str) -> None:
            progress.update(task, description=name, advance=1)

        try:
            with connect_raw(get_database_settings()) as conn:
                report = score(conn, territory, profile, changed_only=changed, step=step)
        except GeoError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        except psycopg.errors.QueryCanceled:
            console.print(
                "[red]error:[/] a scoring query exceeded the statement timeout "
                "(statement_timeout); nothing was changed, the previous scores are still served. "
                "Raise the timeout or score one territory at a time (--territory)."
            )
            raise typer.Exit(1) from None
        except psycopg.Error as exc:
            console.print(
                f"[red]error:[/] the database refused the scoring run ({exc}); nothing was "
                "changed, the previous scores are still served."
            )
            raise typer.Exit(1) from None
    if report.skipped:
        console.print("nothing changed since the last scoring run")
        return
    table = Table(title=f"Scoring ({report.profile_version}, {report.seconds:.1f} s)")
    for col in ("communes", "parcels", "land units", "sites", "ZAN accounts"):
        table.add_column(col, justify="right")
    table.add_row(
        *(
            f"{n:,}"
            for n in (
                report.communes,
                report.parcels,
                report.land_units,
                report.sites,
                report.accounts,
            )
        )
    )
    console.print(table)
    console.print(", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))


@contracts_app.command("import")
def contracts_import(
    path: Annotated[Path, typer.Argument(help="The contract workbook (.xlsx, the template)")],
    territory: Annotated[str, typer.Option(help="The Territoire d'industrie's id_ti")],
    programme: Annotated[int, typer.Option(help="Its programme: 2018 or 2023")] = 2023,
) -> None:
    """Load a territory's protocol, governance and action sheets; bad rows are quarantined."""
    from db.engine import connect_raw
    from ingest.contracts import ContractFileError, Territory, import_workbook

    if not path.is_file():
        console.print(f"[red]error:[/] {path}: no such file")
        raise typer.Exit(1)
    with connect_raw(get_database_settings()) as conn:
        try:
            report = import_workbook(conn, path, Territory(programme, territory))
        except ContractFileError as exc:
            console.print(f"[red]error:[/] {path}: {exc}")
            raise typer.Exit(1) from None
        conn.commit()
    for reason in report.errors:
        console.print(f"[yellow]quarantined:[/] {reason}")
    console.print(
        f"run {report.run_id}: {report.rows_read} rows read, {report.inserted} inserted, "
        f"{report.updated} updated, {report.deleted} deleted, {len(report.quarantined)} "
        "quarantined"
    )


@contracts_app.command("export")
def contracts_export(
    territory: Annotated[str, typer.Option(help="The Territoire d'industrie's id_ti")],
    out: Annotated[Path, typer.Option(help="The workbook to write (.xlsx)")],
    programme: Annotated[int, typer.Option(help="Its programme: 2018 or 2023")] = 2023,
) -> None:
    """Write a territory's contract as the import template, filled (re-importable as is)."""
    from db.engine import connect_raw
    from ingest.contracts import Territory, export_workbook

    with connect_raw(get_database_settings()) as conn:
        counts = export_workbook(conn, Territory(programme, territory), out)
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@zae_app.command("inventory")
def zae_inventory(
    epci: Annotated[str, typer.Option(help="The EPCI's SIREN (9 digits)")],
    out: Annotated[Path, typer.Option(help="Directory for the GeoPackage, CSV and report")],
    year: Annotated[
        int | None, typer.Option(help="Inventory at 1 January of this year (default: this year)")
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(help="Directory of the previous inventory: list what changed since"),
    ] = None,
) -> None:
    """The ZAE inventory of an EPCI (art. L.318-8-2): CNIG GeoPackage and CSV, HTML report."""
    import json
    from datetime import date

    from db.engine import connect_raw
    from score.zae import compute_inventory
    from score.zae_export import write_inventory

    if not (len(epci) == 9 and epci.isdigit()):
        console.print(f"[red]error:[/] --epci {epci!r} is not a SIREN (9 digits)")
        raise typer.Exit(1)
    before = None
    if previous is not None:
        saved = previous / "inventaire.json"
        if not saved.is_file():
            console.print(f"[red]error:[/] --previous {previous}: no inventaire.json in it")
            raise typer.Exit(1)
        before = json.loads(saved.read_text(encoding="utf-8"))
    today = date.today()
    with connect_raw(get_database_settings()) as conn:
        inventory = compute_inventory(conn, epci, year or today.year)
        conn.rollback()
    if inventory.epci_nom is None and not inventory.zones:
        console.print(f"[red]error:[/] no EPCI {epci} in the epci table and no zone (zae) for it")
        raise typer.Exit(1)
    paths = write_inventory(inventory, out, today, before)
    for zone in inventory.zones:
        vacant, units, rule = inventory.zone_vacancy(zone)
        rate = inventory.zone_rate(zone)
        console.print(
            f"{zone['id']} {zone['nom']}: {units} land units, {vacant} vacant "
            f"({'-' if rate is None else f'{rate:.1f} %'}; {rule})"
        )
    if not inventory.zones:
        console.print(f"EPCI {epci}: no zone in the zae layer (load its CNIG SITE-ECO file)")
    for path in paths:
        console.print(f"wrote {path}")


@zae_app.command("draft")
def zae_draft(epci: Annotated[str, typer.Option(help="The EPCI's SIREN (9 digits)")]) -> None:
    """Draft zone perimeters from the PLU's activity zones, for an EPCI that has none yet."""
    from db.engine import connect_raw
    from score.zae import draft_zones

    with connect_raw(get_database_settings()) as conn:
        written = draft_zones(conn, epci)
        conn.commit()
    if written:
        console.print(
            f"EPCI {epci}: {written} draft zones from the PLU's activity zones (status draft)"
        )
    else:
        console.print(
            f"EPCI {epci}: no draft written (it has zones already, or no PLU activity zone is "
            "loaded for its communes)"
        )


if __name__ == "__main__":
    app()
