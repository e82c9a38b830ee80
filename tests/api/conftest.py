"""API fixtures: the real admin samples plus hand-made land rows, loaded once for tests/api.

The app is built with create_app pointed at the test database and driven by TestClient (its
lifespan opens the async pool). Tests that write only touch rows they create themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from config import ApiSettings, DatabaseSettings
from tests.conftest import (
    _truncate_all,
    load_reference_samples,
    make_keys,
    run_sql_fixture,
)

# One app serves the whole package: its export limit would count every test's exports in the
# same minute (tests/api/test_ops_security.py tests the limit on a client of its own).
API_SETTINGS = ApiSettings(
    key_salt="test-salt",
    max_body_bytes=20_000,
    max_limit=500,
    exports_per_minute_per_ip=100_000,
)


@pytest.fixture(scope="package")
def api_db(engine: Engine, db_settings: DatabaseSettings) -> DatabaseSettings:
    """The test database with the admin/territoires samples and tests/fixtures/api_land.sql."""
    _truncate_all(engine)
    load_reference_samples(db_settings)
    run_sql_fixture(db_settings, "api_land.sql", analyze=True)
    return db_settings


@pytest.fixture(scope="package")
def keys(api_db: DatabaseSettings) -> dict[str, str]:
    """Plaintext API keys: an EPCI editor (Grand Paris), a region-84 editor, a national admin."""
    return make_keys(api_db, API_SETTINGS)


@pytest.fixture(scope="package")
def client(api_db: DatabaseSettings) -> Iterator[TestClient]:
    app = create_app(API_SETTINGS, api_db)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
