"""Errors of the ingest pipelines. Each message names the file (and feature) and what to do.

A database error during a load is told apart by its SQLSTATE (:func:`database_error`): a
statement timeout, a lock another session held, a value the database refused, a lost
connection. Each says what happened and what to do; the CLI gives each its exit code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import psycopg


class IngestError(Exception):
    """Base class: the run failed and nothing was merged."""


class SourceError(IngestError):
    """The file cannot be read: missing, corrupt, unknown format, no CRS, bad encoding."""


class LayoutError(IngestError):
    """The file reads, but its columns are not those of the layer asked for."""


class StrictModeError(IngestError):
    """``--strict`` was given and some rows were quarantined."""


class ShrinkRefusedError(IngestError):
    """A load would delete more of the rows it replaces than the shrink guard allows."""


class LoadBusyError(IngestError):
    """Another load holds a table this one needs, or a lock could not be had: retry later."""


class LoadTimeoutError(IngestError):
    """A statement of the load ran past the database's ``statement_timeout``."""


class DatabaseDataError(IngestError):
    """The database refused a value of the file (a cast, a constraint, a geometry function)."""


class DatabaseUnavailableError(IngestError):
    """The connection to the database could not be made or was lost during the load."""


# SQLSTATEs (PostgreSQL appendix A) of the locks another session held.
_LOCK_STATES = {"40P01", "40001", "55P03"}
# The server ended the session (shutdown, pg_terminate_backend) or cannot take one.
_GONE_STATES = {"57P01", "57P02", "57P03", "53300"}
# PostGIS reports a GEOS call interrupted by a statement timeout as an XX000 error of its own
# ("GEOS isvalid() threw an error!"), not as 57014: told apart by how long the statement ran.
_GEOS_THREW = "threw an error"
_TIMEOUT_MARGIN = 0.9


class TimedCursor(psycopg.Cursor[Any]):
    """A cursor that notes when its current statement started (to recognise a timeout)."""

    started: float = 0.0

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Self:
        """Execute ``query`` as :meth:`psycopg.Cursor.execute` does, noting the start time."""
        self.started = time.monotonic()
        return super().execute(query, params, **kwargs)

    @contextmanager
    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Iterator[psycopg.Copy]:
        """Start a COPY as :meth:`psycopg.Cursor.copy` does, noting the start time."""
        self.started = time.monotonic()
        with super().copy(statement, params, **kwargs) as copy:
            yield copy


def _where(exc: psycopg.Error) -> str:
    context = (exc.diag.context or "").strip().splitlines()
    return f" ({context[-1].strip()})" if context else ""


def database_error(
    exc: psycopg.Error, path: Path | str, timeout_ms: int, statement_s: float | None
) -> IngestError:
    """The error to report for ``exc``, raised by the database during the load of ``path``.

    Args:
        exc: what psycopg raised.
        path: the file being loaded.
        timeout_ms: the load session's ``statement_timeout`` (0: none).
        statement_s: how long the failing statement had run, when known.
    """
    state = exc.sqlstate or ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    interrupted = (
        state == "XX000"
        and _GEOS_THREW in first
        and timeout_ms > 0
        and statement_s is not None
        and statement_s * 1000 >= _TIMEOUT_MARGIN * timeout_ms
    )
    if state == "57014" or interrupted:
        limit = f"its statement_timeout ({timeout_ms} ms)" if timeout_ms else "a cancel request"
        return LoadTimeoutError(
            f"{path}: the database cancelled a statement of the load after {limit}"
            f"{_where(exc)}; nothing was merged. Raise FONCIER_INGEST_STATEMENT_TIMEOUT_MS"
            " (0: no limit) or split the file"
        )
    if state in _LOCK_STATES:
        return LoadBusyError(
            f"{path}: another session held a lock this load needed ({first}); nothing was"
            " merged. Another load or a long query uses the same tables: retry when it ends"
        )
    if state[:2] in ("22", "23") or state == "XX000":
        return DatabaseDataError(
            f"{path}: the database refused a value of the file{_where(exc)}: {first}; nothing"
            " was merged. Fix that row and load the file again"
        )
    if state in _GONE_STATES or state[:2] == "08" or isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailableError(
            f"{path}: the connection to the database was lost or refused ({first}); nothing"
            " was merged. Check that PostgreSQL is up (`foncier db status`) and load again"
        )
    return IngestError(f"{path}: database error (SQLSTATE {state or '?'}): {first}")
