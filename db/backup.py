"""``foncier db backup`` and ``foncier db restore``: pg_dump custom-format archives.

A backup is one ``pg_dump --format=custom`` file of the configured database, written beside
its final name and renamed at the end, so a failed dump never leaves a half file under it.

A restore reads the archive's schema version (its ``alembic_version`` row) first and refuses
an archive newer than this code. It then rebuilds the database in one transaction: the
extensions stay (PostGIS cannot be created by a role that is not a superuser, and the archive's
``CREATE EXTENSION`` entries are skipped), every other object of schema ``public`` is dropped,
and the archive's objects and rows are created under the connecting role (``--no-owner
--no-privileges``: run ``foncier db grant-api ROLE`` again after a restore). If anything fails,
the database is left as it was.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from config import DatabaseSettings
from db.engine import make_engine
from db.errors import DatabaseError
from db.migrate import alembic_config, ensure_extensions, head_revision

log = logging.getLogger(__name__)

# Every schema but public (the history schema of migration 0006...) and every object of public
# that no extension owns, to drop before a restore.
_OWN_OBJECTS = """
SELECT 'DROP SCHEMA IF EXISTS ' || quote_ident(n.nspname) || ' CASCADE;'
FROM pg_namespace n
WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                  AND d.objid = n.oid AND d.deptype = 'e')
UNION ALL
SELECT 'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
       WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END
       || ' IF EXISTS ' || c.oid::regclass::text || ' CASCADE;'
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'DROP ROUTINE IF EXISTS ' || p.oid::regprocedure::text || ' CASCADE;'
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'DROP TYPE IF EXISTS ' || t.oid::regtype::text || ' CASCADE;'
FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
"""
# Tables whose rows do not make a database "non-empty" (PostGIS's, and the schema version).
_BOOKKEEPING = ("spatial_ref_sys", "alembic_version")
# pg_restore --list entries skipped: extensions (kept as they are in the target) and their comments.
_SKIPPED_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")


class BackupError(DatabaseError):
    """A backup or restore cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup or a restore did."""

    path: Path
    revision: str
    size_bytes: int
    seconds: float
    note: str | None = None


def tool(settings: DatabaseSettings, name: str) -> str:
    """``pg_dump``/``pg_restore``/``psql`` of the PostgreSQL in ``settings.pg_bin_dir`` (the
    server's version, as db/cluster.py finds its binaries), else the one on PATH."""
    path = settings.pg_bin_dir / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found in {settings.pg_bin_dir} nor on PATH: install the PostgreSQL "
            "client of the server's version (Debian: postgresql-client-15)"
        )
    return found


def _libpq(settings: DatabaseSettings) -> tuple[str, dict[str, str]]:
    """The connection URL without its password, and the environment that carries it (so the
    password never shows in the process list)."""
    url = make_url(settings.database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    bare = url.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[bytes]:
    log.debug("running %s", cmd)
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.decode(errors='replace').strip()}")
    return done


def _current_revision(conn: psycopg.Connection) -> str | None:
    exists = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def backup(settings: DatabaseSettings, path: Path) -> BackupReport:
    """Dump the configured database to ``path`` (pg_dump custom format).

    Raises:
        BackupError: the database is not migrated, or pg_dump failed (its message is given).
    """
    started = time.monotonic()
    with psycopg.connect(settings.psycopg_dsn) as conn:
        revision = _current_revision(conn)
    if revision is None:
        raise BackupError("the database has no schema version (not migrated): nothing to back up")
    url, env = _libpq(settings)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        _run(
            [tool(settings, "pg_dump"), "--format=custom", "--file", str(partial), url],
            env,
            "pg_dump",
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(path, revision, path.stat().st_size, time.monotonic() - started)


def dump_revision(settings: DatabaseSettings, path: Path) -> str:
    """The schema version recorded in archive ``path`` (its ``alembic_version`` row).

    Raises:
        BackupError: not a pg_dump custom-format archive, or not one of a foncier database.
    """
    if not Path(path).is_file():
        raise BackupError(f"{path}: no such file")
    done = subprocess.run(
        [tool(settings, "pg_restore"), "--data-only", "--table=alembic_version", "--file=-",
         str(path)],
        capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(
            f"{path} is not a pg_dump custom-format archive (made by `foncier db backup`): "
            f"{done.stderr.decode(errors='replace').strip()}"
        )
    text = done.stdout.decode()
    match = re.search(r"^COPY public\.alembic_version .*? FROM stdin;\n(\w+)\n", text, re.M)
    if match is None:
        raise BackupError(
            f"{path} holds no schema version (no alembic_version row): it is not a backup of a "
            "foncier database"
        )
    return match.group(1)


def _check_revision(path: Path, revision: str) -> str | None:
    """Refuse an archive newer than the code; say when it is older (to migrate after)."""
    from alembic.script import ScriptDirectory

    head = head_revision()
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://"))
    known = {s.revision for s in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"{path} is at schema revision {revision}, which this version of foncier does not "
            f"know (its newest is {head}): the backup comes from a newer foncier; restore it "
            "with that version, or upgrade this one first"
        )
    if revision != head:
        return f"the restored schema is at revision {revision}: run `foncier db migrate` ({head})"
    return None


def _rows_in(conn: psycopg.Connection) -> list[str]:
    """The tables of schema public (bookkeeping aside) holding at least one row."""
    names = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p') ORDER BY relname"
    ).fetchall()
    full = []
    for (name,) in names:
        if name in _BOOKKEEPING:
            continue
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier("public", name))
        row = conn.execute(query).fetchone()
        if row and row[0]:
            full.append(name)
    return full


def restore(settings: DatabaseSettings, path: Path, force: bool = False) -> BackupReport:
    """Replace the configured database's contents with archive ``path``, in one transaction.

    Raises:
        BackupError: the archive is unreadable or newer than the code, or the database holds
            rows and ``force`` is false (nothing is changed then).
    """
    started = time.monotonic()
    path = Path(path)
    revision = dump_revision(settings, path)
    note = _check_revision(path, revision)
    with psycopg.connect(settings.psycopg_dsn) as conn:
        full = _rows_in(conn)
        if full and not force:
            raise BackupError(
                f"the database {conn.info.dbname} is not empty ({len(full)} tables hold rows, "
                f"e.g. {', '.join(full[:3])}): restoring would replace them; pass --force to "
                "overwrite it, or restore into an empty database"
            )
        drops = [r[0] for r in conn.execute(_OWN_OBJECTS).fetchall()]
    engine = make_engine(settings)
    try:
        with engine.begin() as sa_conn:
            ensure_extensions(sa_conn)  # PostGIS first: the archive's tables need its types
    finally:
        engine.dispose()
    _restore_script(settings, path, drops)
    return BackupReport(path, revision, path.stat().st_size, time.monotonic() - started, note)


def _restore_script(settings: DatabaseSettings, path: Path, drops: list[str]) -> None:
    """pg_restore's SQL piped into psql after the drops, all in one transaction."""
    listing = _run([tool(settings, "pg_restore"), "--list", str(path)], os.environ.copy(),
                   "pg_restore --list").stdout.decode()  # fmt: skip
    entries = path.with_name(f".{path.name}.{os.getpid()}.list")
    script = path.with_name(f".{path.name}.{os.getpid()}.drops.sql")
    entries.write_text(
        "\n".join(line for line in listing.splitlines() if not _SKIPPED_ENTRY.match(line))
    )
    script.write_text("\n".join(drops) + "\n")
    url, env = _libpq(settings)
    try:
        dump = subprocess.Popen(
            [tool(settings, "pg_restore"), "--no-owner", "--no-privileges", "--use-list",
             str(entries), "--file=-", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        load = subprocess.run(
            [tool(settings, "psql"), "--no-psqlrc", "--quiet", "--single-transaction",
             "--set=ON_ERROR_STOP=1", "--file", str(script), "--file=-", url],
            stdin=dump.stdout, env=env, capture_output=True, check=False,
        )  # fmt: skip
        assert dump.stdout is not None and dump.stderr is not None
        dump.stdout.close()
        dump_err = dump.stderr.read().decode(errors="replace").strip()
        if dump.wait() != 0:
            raise BackupError(f"pg_restore failed reading {path}: {dump_err}; nothing changed")
        if load.returncode != 0:
            raise BackupError(
                f"restoring {path} failed, the database is as it was: "
                f"{load.stderr.decode(errors='replace').strip()}"
            )
    finally:
        entries.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
