"""The local PostGIS cluster that the project installs and starts when DATABASE_URL is not set.

It listens on 127.0.0.1 only, trusts local connections (a development cluster) and holds the
``foncier`` role and database. As root, the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from psycopg import sql

from config import DatabaseSettings
from db.create import create_database
from db.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    log.debug("running %s", cmd)
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def _bin(settings: DatabaseSettings, name: str) -> str:
    path = settings.pg_bin_dir / name
    if not path.exists():
        raise DatabaseUnavailable(
            f"{path} not found: install PostgreSQL 15 and PostGIS "
            "(apt-get install postgresql-15 postgresql-15-postgis-3) or run scripts/setup"
        )
    return str(path)


def is_running(settings: DatabaseSettings) -> bool:
    """Whether the local cluster accepts connections on its port."""
    isready = shutil.which("pg_isready") or _bin(settings, "pg_isready")
    res = _run([isready, "-h", "127.0.0.1", "-p", str(settings.pg_port)], check=False)
    return res.returncode == 0


def _init(settings: DatabaseSettings) -> None:
    data = settings.pg_data_dir
    data.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data.parent, "postgres", "postgres")
    data.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    _run(
        _as_server_user(
            [
                _bin(settings, "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
    )
    conf = data / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write(
            "\n# foncier: local development cluster\n"
            f"port = {settings.pg_port}\n"
            "listen_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\n"
            "shared_buffers = 512MB\n"
            "work_mem = 64MB\n"
            "maintenance_work_mem = 512MB\n"
            "max_wal_size = 4GB\n"
            "jit = off\n"
            "max_connections = 200\n"
        )


def up(settings: DatabaseSettings, timeout_s: float = 60.0) -> None:
    """Create (once) and start the local cluster, then make sure the role and database exist.

    Idempotent: a running cluster is left as it is.
    """
    if not settings.is_local:
        raise DatabaseUnavailable(
            "DATABASE_URL points at an external PostgreSQL: start it yourself, "
            "then run `foncier db migrate`"
        )
    if not is_running(settings):
        if not (settings.pg_data_dir / "PG_VERSION").exists():
            log.info("initialising a PostgreSQL cluster in %s", settings.pg_data_dir)
            _init(settings)
        logfile = settings.pg_data_dir / "server.log"
        res = _run(
            _as_server_user(
                [
                    _bin(settings, "pg_ctl"),
                    "-D",
                    str(settings.pg_data_dir),
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    str(int(timeout_s)),
                    "start",
                ]
            ),
            check=False,
        )
        if res.returncode != 0 and not is_running(settings):
            raise DatabaseUnavailable(
                f"PostgreSQL did not start (see {logfile}): {res.stderr.strip() or res.stdout}"
            )
    deadline = time.monotonic() + timeout_s
    while not is_running(settings):
        if time.monotonic() > deadline:
            raise DatabaseUnavailable(f"PostgreSQL on port {settings.pg_port} is not ready")
        time.sleep(0.2)
    _ensure_role_and_database(settings, "foncier")


def _psql(settings: DatabaseSettings, sql: str, dbname: str = "postgres") -> str:
    res = _run(
        [
            shutil.which("psql") or _bin(settings, "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(settings.pg_port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-Atqc",
            sql,
        ]
    )
    return res.stdout.strip()


def _ensure_role_and_database(settings: DatabaseSettings, name: str, replace: bool = False) -> None:
    exists = sql.SQL("SELECT 1 FROM pg_roles WHERE rolname = {}").format(sql.Literal(name))
    if _psql(settings, exists.as_string(None)) != "1":
        # Superuser on a loopback-only development cluster: tests create databases and extensions.
        create = sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(name))
        _psql(settings, create.as_string(None))
    # As the cluster's superuser (the role may be new), the way every database is created.
    url = f"postgresql://postgres@127.0.0.1:{settings.pg_port}/{name}"
    create_database(url, replace=replace, owner=name)


def reset(settings: DatabaseSettings) -> None:
    """Drop and re-create the local ``foncier`` database (the cluster and other databases stay)."""
    if not settings.is_local:
        raise DatabaseUnavailable("refusing to reset an external database: DATABASE_URL is set")
    up(settings)
    _ensure_role_and_database(settings, "foncier", replace=True)


def down(settings: DatabaseSettings) -> None:
    """Stop the local cluster (fast shutdown); nothing happens if it is not running."""
    if not is_running(settings):
        return
    _run(
        _as_server_user(
            [_bin(settings, "pg_ctl"), "-D", str(settings.pg_data_dir), "-m", "fast", "stop"]
        )
    )


def data_dir_exists(path: Path) -> bool:
    """Whether a cluster has been initialised in ``path``."""
    return (path / "PG_VERSION").exists()
