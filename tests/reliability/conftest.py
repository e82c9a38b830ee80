"""Reliability fixtures: the test database with a few real samples plus the hand-made land rows.

Loaded once for tests/reliability: the admin samples (EPCI, communes, Territoires d'industrie),
one real EDIGEO sheet (parcels and buildings of Doubs 25354) and tests/fixtures/api_land.sql.
``snapshot`` fingerprints the tables a hostile request must not change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from config import ApiSettings, DatabaseSettings, IngestSettings
from ingest.pipeline import run_ingest
from ingest.sources import IngestOptions
from tests.conftest import KEEP_TABLES, load_reference_samples, make_keys, run_sql_fixture
from tests.conftest import SAMPLES as SAMPLES_DIR

# The suite sends many bad keys and exports from the one TestClient address on purpose: the
# per-client limits (tested in tests/api/test_ops_security.py) would answer 429 to the rest.
REL_SETTINGS = ApiSettings(
    key_salt="rel-salt",
    max_body_bytes=20_000,
    max_limit=500,
    auth_failures_per_minute=100_000,
    exports_per_minute_per_ip=100_000,
    exports_concurrent_per_ip=100,
)
EDIGEO_SHEET = SAMPLES_DIR / "cadastre" / "edigeo" / "edigeo-25354000AK01.tar.bz2"
# Tables whose contents a refused request must leave exactly as they were.
WATCHED = (
    "site",
    "site_checklist",
    "site_evidence",
    "site_readiness",
    "parcel",
    "building",
    "epci",
    "commune",
    "friche",
    "layer_version",
    "audit",
    "api_key",
    "ingest_run",
    "quarantine",
    "site_score",
    "parcel_score",
)
# Cases tried by the schema fuzzing, by operation and status (printed in the terminal summary).
FUZZ_STATS: Counter[tuple[str, int]] = Counter()


def load_fixture_data(db: DatabaseSettings, engine: Engine) -> None:
    """Empty the database (API keys kept), then load the samples and tests/fixtures/api_land.sql.

    The keys of ``rel_keys`` live for the whole package, across the modules that reload.
    """
    with engine.begin() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        names = [f'"{t}"' for t in tables if t not in (*KEEP_TABLES, "api_key")]
        conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY"))
    load_reference_samples(db)
    run_ingest("parcels", EDIGEO_SHEET, IngestOptions(vintage="PCI 2019"), db, IngestSettings())
    run_sql_fixture(db, "api_land.sql", analyze=True)


@pytest.fixture(scope="package")
def rel_db(engine: Engine, db_settings: DatabaseSettings) -> DatabaseSettings:
    load_fixture_data(db_settings, engine)
    return db_settings


@pytest.fixture(scope="package")
def rel_keys(rel_db: DatabaseSettings) -> dict[str, str]:
    """Plaintext keys: an EPCI editor (Grand Paris 200054781), a region-84 editor, an admin."""
    return make_keys(rel_db, REL_SETTINGS)


@pytest.fixture(scope="package")
def rel_client(rel_db: DatabaseSettings) -> Iterator[TestClient]:
    app = create_app(REL_SETTINGS, rel_db)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def snapshot(engine: Engine) -> dict[str, str]:
    """A fingerprint (row count and md5 of the sorted rows) of every watched table."""
    out = {}
    with engine.connect() as conn:
        for table in WATCHED:
            out[table] = str(
                conn.execute(
                    text(
                        f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                        f"ORDER BY t::text)), '') FROM {table} t"
                    )
                ).scalar()
            )
    return out


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not FUZZ_STATS:
        return
    total = sum(FUZZ_STATS.values())
    ops = {op for op, _ in FUZZ_STATS}
    statuses: Counter[int] = Counter()
    for (_, status), n in FUZZ_STATS.items():
        statuses[status] += n
    terminalreporter.write_line(
        f"schema fuzzing: {total} cases over {len(ops)} operations; statuses "
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    )
