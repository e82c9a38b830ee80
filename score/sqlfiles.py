"""The scoring SQL files (``score/sql/*.sql``): read, split into statements, executed with binds."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping

import psycopg
from psycopg import sql

from db.engine import read_sql as read_packaged_sql

log = logging.getLogger(__name__)


def read_sql(name: str) -> str:
    """The text of ``score/sql/<name>``."""
    return read_packaged_sql("score.sql", name)


def statements(text: str) -> list[str]:
    r"""Split a ``.sql`` file of ours into statements (they end with ``;`` at a line end).

    Example:
        >>> statements("-- a comment\nSELECT 1;\nSELECT 2;\n")
        ['-- a comment\nSELECT 1', 'SELECT 2']
    """
    return [s.strip() for s in re.split(r";\s*\n", text) if s.strip() and not _only_comments(s)]


def _only_comments(stmt: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in stmt.splitlines())


def run_file(cur: psycopg.Cursor, name: str, params: Mapping[str, object], **idents: str) -> None:
    """Execute every statement of ``score/sql/<name>``; ``idents`` fill ``{placeholders}``.

    Values are always bound (``%(name)s``); ``idents`` are SQL fragments chosen by the code,
    never by a user (a view name, a sub-select).
    """
    for stmt in statements(read_sql(name)):
        query: sql.SQL | sql.Composed = sql.SQL(stmt)
        if idents:
            query = sql.SQL(stmt).format(**{k: sql.SQL(v) for k, v in idents.items()})
        t0 = time.monotonic()
        if "CREATE TEMP VIEW" in stmt:
            # DDL takes no server-side parameters: bind these on the client (values still escaped).
            with psycopg.ClientCursor(cur.connection) as ccur:
                ccur.execute(query, params)
        else:
            cur.execute(query, params)
        log.debug("%s: %.2f s: %s", name, time.monotonic() - t0, " ".join(stmt.split())[:70])
