"""/api.html in Chromium with no network beyond the app: Swagger UI comes from our node_modules
and renders the operations of /api."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config import DatabaseSettings
from tests.live_server import live_server
from tests.maps.conftest import browser, open_page  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs_url(db_settings: DatabaseSettings) -> Iterator[str]:
    with live_server(db_settings.database_url) as url:
        yield url


def test_api_docs_render_operations_offline(browser, docs_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    context, page = open_page(browser)
    outside: list[str] = []

    def offline(route) -> None:  # type: ignore[no-untyped-def]
        outside.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(lambda url: not url.startswith(docs_url), offline)
    try:
        page.goto(docs_url + "/api.html")
        page.wait_for_selector(".opblock", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/collections/{collectionId}/items" in p for p in paths), paths
        assert len(paths) > 20
        assert outside == [] and page.errors == []
    finally:
        context.close()
