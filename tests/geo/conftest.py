"""Scoring fixtures: the hand-made fixture of tests/fixtures/score_fixture.sql, scored once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from config import DatabaseSettings
from db.engine import connect_raw
from score import ScoreReport, score
from tests.conftest import FIXTURES


@pytest.fixture
def run_score(clean_db: Engine, db_settings: DatabaseSettings) -> Callable[..., ScoreReport]:
    """``run_score(territory=None, profile_path=None, changed_only=False)`` on the test database."""
    del clean_db  # requested for its side effect: an emptied database

    def _run(**kwargs: object) -> ScoreReport:
        with connect_raw(db_settings) as conn:
            return score(conn, **kwargs)  # type: ignore[arg-type]

    return _run


@pytest.fixture
def sql_fixture(clean_db: Engine, db_settings: DatabaseSettings) -> Callable[[str], None]:
    """Execute ``tests/fixtures/<name>`` into the (emptied) test database."""
    del clean_db  # requested for its side effect: an emptied database

    def _apply(name: str) -> None:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        with connect_raw(db_settings) as conn:
            conn.execute(text)  # type: ignore[arg-type]
            conn.commit()

    return _apply


def rows(db_settings: DatabaseSettings, query: str, *params: object) -> list[tuple[object, ...]]:
    """Every row of a query (test helper)."""
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


__all__ = ["rows", "Path"]
