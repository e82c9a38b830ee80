"""Fuzzing the API from its own OpenAPI description (schemathesis, positive and negative data).

Every operation at /api gets generated requests; each response must not be a 5xx and must match
what the description declares (status, media type, JSON Schema of the body, headers), and a
request that breaks the declared schema must be refused with a 4xx. Requests that carry an
X-API-Key are sent with a real national admin key, so the privileged paths (restricted fields,
writes) are fuzzed too; the database is reloaded afterwards.

Not checked: "positive data acceptance". Some rules cannot be written in OpenAPI (a bbox's lower
corner comes first, x < 2^z, min <= max), so a schema-valid request may rightly get a 400.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from api.app import create_app
from config import DatabaseSettings
from tests.conftest import FIXTURES, _test_url
from tests.reliability.conftest import FUZZ_STATS, REL_SETTINGS, load_fixture_data

pytestmark = pytest.mark.slow  # schemathesis generates hundreds of requests per route

# About 25 cases per operation: ~500 requests in all, well under a minute on 2 cores.
MAX_EXAMPLES = 25
# Paths where GET serves a map page (not part of the API description) and writes are API routes.
MAP_PAGES = ("/sites", "/sites/{site_id}")


@pytest.fixture(scope="module")
def fuzz_db(rel_db: DatabaseSettings, engine: Engine) -> Iterator[DatabaseSettings]:
    yield rel_db
    # Fuzzed writes (new sites, changed fields) must not leak into the other reliability tests.
    load_fixture_data(rel_db, engine)


# Evidence uploads take a raw PDF body: a real PDF (printed by Chromium), an empty body and a
# file that is not a PDF, so the 201/415 paths are both fuzzed.
schemathesis.openapi.media_type(
    "application/pdf",
    st.sampled_from(
        [(FIXTURES / "evidence_diagnostic.pdf").read_bytes(), b"", b"GIF89a not a pdf"]
    ),
)

# The lazy `schemathesis.pytest.from_fixture` relies on pytest internals that pytest 9 removed, so
# the schema is built at import from the app's own description (no database needed for that);
# the app opens its pool on the first fuzzed request, after the fixtures prepared the database.
APP = create_app(REL_SETTINGS, DatabaseSettings(database_url=_test_url()))
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a CI failure can be replayed
    suppress_health_check=list(HealthCheck),
    database=None,
)
@pytest.mark.usefixtures("fuzz_db")
def test_api_conforms_to_its_openapi(case, rel_keys: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    if case.headers and "x-api-key" in {k.lower() for k in case.headers}:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "x-api-key"}
        case.headers["X-API-Key"] = rel_keys["admin"]
    response = case.call()
    FUZZ_STATS[(case.operation.label, response.status_code)] += 1
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.method == "GET" and case.operation.path in MAP_PAGES:
        excluded.append(schemathesis.checks.unsupported_method)  # the HTML pages answer GET
    if response.status_code == 413:
        # The body cap refuses before validation: a rejection, which that check does not list.
        excluded.append(schemathesis.checks.negative_data_rejection)
    if _limit_above_maximum(case):
        # OGC API Features /req/core/fc-limit-response: a limit above the stated maximum is
        # lowered to it, never an error, though the schema states that maximum (for clients).
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"], (
            case.method,
            case.formatted_path,
            response.status_code,
            response.text[:300],
        )


def _limit_above_maximum(case) -> bool:  # type: ignore[no-untyped-def]
    """Whether the case asks items for more features than the documented maximum."""
    raw = (case.query or {}).get("limit")
    try:
        return case.operation.path.endswith("/items") and int(raw) > REL_SETTINGS.max_limit
    except (TypeError, ValueError):
        return False


def test_fuzzing_tried_enough_cases() -> None:
    """The fuzzing above really ran (the count is printed in the terminal summary)."""
    assert sum(FUZZ_STATS.values()) >= 10 * len({op for op, _ in FUZZ_STATS}) > 0
