"""Test harness: a real PostGIS, migrated once per session, emptied before each test that loads.

The database comes from TEST_DATABASE_URL, by default ``foncier_test`` on the local cluster that
``foncier db up`` starts. It is dropped and re-created at the start of a session, so every run
starts from the migrations. Locally a missing PostGIS skips the database tests with the reason;
in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from config import ROOT, ApiSettings, DatabaseSettings, IngestSettings
from db.create import create_database
from db.engine import make_engine
from db.migrate import upgrade
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources import IngestOptions

SAMPLES = ROOT / "data" / "samples"
FIXTURES = Path(__file__).parent / "fixtures"
TEST_DB = "foncier_test"
KEEP_TABLES = {"spatial_ref_sys", "alembic_version"}


def _test_url() -> str:
    if "TEST_DATABASE_URL" in os.environ:
        return os.environ["TEST_DATABASE_URL"]
    base = DatabaseSettings().database_url
    return base.rsplit("/", 1)[0] + "/" + TEST_DB


def service_unavailable(message: str) -> None:
    """A service the tests need (PostGIS, Chromium) is missing: skip locally, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    """Settings pointing at a freshly migrated test database with PostGIS."""
    url = _test_url()
    try:
        create_database(url, replace=True)
    except psycopg.OperationalError as exc:
        service_unavailable(
            f"PostGIS not reachable at {url}: {exc}. Run `foncier db up` (scripts/test does)."
        )
    settings = DatabaseSettings(database_url=url)
    engine = make_engine(settings)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_version()")).scalar()
    engine.dispose()
    return settings


@pytest.fixture(scope="session")
def engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    eng = make_engine(db_settings)
    yield eng
    eng.dispose()


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname IN ('public', 'history')"
            )
        ).all()
        # History too (migration 0006): run ids restart, so old versions would name new runs.
        names = [f'"{s}"."{t}"' for s, t in tables if s == "history" or t not in KEEP_TABLES]
        if names:
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """An empty database (schema kept) for tests that commit: ingest runs, atomic swaps."""
    _truncate_all(engine)
    return engine


@pytest.fixture
def ingest_settings() -> IngestSettings:
    return IngestSettings(copy_chunk_rows=1000)


@pytest.fixture
def load(  # type: ignore[no-untyped-def]
    clean_db: Engine,  # noqa: ARG001 - requested for its side effect: an empty database
    db_settings: DatabaseSettings,
    ingest_settings: IngestSettings,
):
    """Run an ingest into the test database: ``load("epci", path, vintage="2022")``."""

    def _load(layer: str, path: Path | str, **options: object) -> IngestReport:
        return run_ingest(
            layer,
            Path(path),
            IngestOptions(**options),
            db_settings,
            ingest_settings,  # type: ignore[arg-type]
        )

    return _load


def scalar(engine: Engine, sql: str, **params: object) -> object:
    """One value from a query (test helper)."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


TEST_KEYS = (
    ("epci_editor", "editor", "epci:200054781"),
    ("region_editor", "editor", "region:84"),
    ("admin", "admin", "national"),
)


def make_keys(settings: DatabaseSettings, api_settings: ApiSettings) -> dict[str, str]:
    """Plaintext API keys: an EPCI editor (Grand Paris 200054781), a region-84 editor, an admin."""
    from api.auth import create_key
    from db.engine import connect_raw

    with connect_raw(settings) as conn:
        keys = {
            name: create_key(conn, api_settings, name, role, scope)[1]
            for name, role, scope in TEST_KEYS
        }
        conn.commit()
    return keys


def load_reference_samples(settings: DatabaseSettings) -> None:
    """Load the EPCI, commune and Territoires d'industrie sample files (in SAMPLES order)."""
    from ingest.sources import SAMPLES as SAMPLE_FILES

    for sample in SAMPLE_FILES:
        if sample.layer in ("epci", "communes", "territoires"):
            run_ingest(
                sample.layer, SAMPLES / sample.path, sample.options, settings, IngestSettings()
            )


def run_sql_fixture(settings: DatabaseSettings, name: str, analyze: bool = False) -> None:
    """Execute ``tests/fixtures/NAME`` and commit (then ANALYZE, for query plans like prod's)."""
    from db.engine import connect_raw

    with connect_raw(settings) as conn:
        conn.execute((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[arg-type]
        if analyze:
            conn.execute("ANALYZE")
        conn.commit()
