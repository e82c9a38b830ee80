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


@contextmanager
def live_server(
    database_url: str, env: Mapping[str, str] | None = None, start_timeout_s: float = 30.0
) -> Iterator[str]:
    """Run one uvicorn process serving the app on ``database_url``; yield its base URL.

    Args:
        env: extra environment (settings such as ``FONCIER_POOL_SIZE``).
        start_timeout_s: how long ``/healthz`` may take to answer before giving up.
    """
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode} before serving {base}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer on {base} in {start_timeout_s:.0f} s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
