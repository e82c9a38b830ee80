"""A real HTTP server for tests that need one: ``create_app`` under uvicorn on a free loopback
port (GDAL's OAPIF driver and Chromium cannot talk to a TestClient).

    with live_server(db_settings.database_url) as base:  # "http://127.0.0.1:PORT"
        httpx.get(base + "/collections")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from config import ROOT


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str,
    env: Mapping[str, str] | None = None,
    log_level: str = "warning",
    capture: bool = False,
    start_timeout_s: float = 30.0,
) -> tuple[str, subprocess.Popen[str]]:
    """Start one uvicorn process serving the app on ``database_url``; wait for ``/healthz``.

    Args:
        database_url: the database the server reads (``DATABASE_URL`` of the process).
        env: extra environment (settings such as ``FONCIER_API_KEY_SALT``).
        log_level: uvicorn's log level.
        capture: pipe the server's stdout and stderr (merged, text) for the caller to read.
        start_timeout_s: how long ``/healthz`` may take to answer before giving up.

    Returns:
        The base URL and the process; the caller stops it (see :func:`stop_server`).
    """
    port = free_port()
    output = subprocess.PIPE if capture else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return base, proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode} before serving {base}")
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"uvicorn did not answer on {base} in {start_timeout_s:.0f} s")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Stop a server from :func:`start_server` (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def live_server(
    database_url: str, env: Mapping[str, str] | None = None, start_timeout_s: float = 30.0
) -> Iterator[str]:
    """Run one uvicorn process serving the app on ``database_url``; yield its base URL."""
    base, proc = start_server(database_url, env, start_timeout_s=start_timeout_s)
    try:
        yield base
    finally:
        stop_server(proc)
