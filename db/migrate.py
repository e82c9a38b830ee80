"""Run Alembic programmatically: no alembic.ini to keep in sync with the settings.

Before migrating, the extensions the schema needs are created, or reported: an application role
that is not a superuser cannot create PostGIS, so an administrator must, once per database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from config import DatabaseSettings
from db.engine import make_engine
from db.errors import MissingExtension

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Extensions the migrations use: PostGIS (0001), unaccent and pg_trgm (0004, both trusted: the
# database owner may create them; PostGIS is not trusted and needs a superuser).
EXTENSIONS = ("postgis", "unaccent", "pg_trgm")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and at ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def ensure_extensions(conn: Connection) -> None:
    """Create the missing extensions the schema needs, or raise MissingExtension saying which
    ones an administrator must create (and the SQL to run)."""
    installed = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
    available = set(conn.execute(text("SELECT name FROM pg_available_extensions")).scalars())
    database, role = conn.execute(text("SELECT current_database(), current_user")).one()
    refused, absent = [], []
    for name in EXTENSIONS:
        if name in installed:
            continue
        if name not in available:
            absent.append(name)
            continue
        try:
            with conn.begin_nested():
                conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            refused.append(name)
    if absent:
        raise MissingExtension(
            f"the PostgreSQL server has no {' or '.join(absent)} extension to install: install "
            "its package on the server (Debian: postgresql-15-postgis-3 for postgis, "
            "postgresql-contrib for unaccent and pg_trgm), then run `foncier db migrate` again"
        )
    if refused:
        sql = " ".join(f"CREATE EXTENSION {name};" for name in refused)
        raise MissingExtension(
            f"role {role} may not create the extension{'s' if len(refused) > 1 else ''} "
            f"{', '.join(refused)} in database {database}: ask an administrator to run "
            f"`{sql}` as a superuser in database {database}, then run `foncier db migrate` again"
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create the extensions if needed and migrate the schema to ``revision``.

    Raises:
        MissingExtension: an extension is absent and this role cannot create it.
    """
    with engine.begin() as conn:
        ensure_extensions(conn)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def upgrade_url(database_url: str) -> None:
    """:func:`upgrade` of the database at ``database_url`` on an engine of its own (scripts and
    benchmarks that hold a URL, not an engine)."""
    engine = make_engine(DatabaseSettings(database_url=database_url))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision among our migration scripts."""
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def schema_problem(current: str | None, head: str | None) -> str | None:
    """What is wrong with a database at ``current`` when the code expects ``head``, or None."""
    if current == head:
        return None
    at = "none (not migrated)" if current is None else current
    return f"database schema is at revision {at}, expected {head}: run `foncier db migrate`"
