"""Migrating as an application role that is not a superuser, the way an operator's cluster is.

A throwaway role (``*_f``, no SUPERUSER, no CREATEDB) owns a throwaway database on the test
cluster; both are dropped at the end. Without PostGIS pre-created, `foncier db migrate` says in
one sentence what an administrator must run; once a superuser has created it, the owner migrates
(unaccent and pg_trgm are trusted extensions) and `foncier db status` reports the head.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from config import ROOT, DatabaseSettings
from db.migrate import head_revision

FONCIER = str(ROOT / ".venv" / "bin" / "foncier")


@pytest.fixture
def app_role_db(db_settings: DatabaseSettings) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL as the unprivileged owner, superuser DSN of that database)."""
    suffix = secrets.token_hex(3)
    role, dbname = f"app_{suffix}_f", f"foncier_ops_{suffix}_f"
    base = db_settings.psycopg_dsn.rsplit("/", 1)[0]
    admin_dsn = base + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB").format(sql.Identifier(role))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    host = base.split("@", 1)[1]
    try:
        yield (
            f"postgresql+psycopg://{role}@{host}/{dbname}",
            f"{base}/{dbname}",
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _foncier(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "300"}
    return subprocess.run([FONCIER, *args], env=env, capture_output=True, text=True, timeout=300)


def test_migrate_as_a_non_superuser(app_role_db: tuple[str, str]) -> None:
    url, superuser_dsn = app_role_db
    status = _foncier(url, "db", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "not migrated" in status.stdout + status.stderr, status.stderr

    refused = _foncier(url, "db", "migrate")
    out = refused.stdout + refused.stderr
    assert refused.returncode == 1, out
    assert "Traceback" not in out, out
    assert "CREATE EXTENSION postgis;" in out and "superuser" in out, out
    assert len(out.strip().splitlines()) <= 3, out  # one sentence, wrapped at most

    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    done = _foncier(url, "db", "migrate")
    assert done.returncode == 0, done.stdout + done.stderr
    status = _foncier(url, "db", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"revision: {head_revision()} (head {head_revision()})" in status.stderr, status.stderr
    with psycopg.connect(superuser_dsn) as conn:
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'spatial_ref_sys'"
        ).fetchall()
    assert owners == [(url.split("//", 1)[1].split("@", 1)[0],)]
