"""End-to-end: the dashboard's ZAN simulator in Chromium (adding a site moves the chart).

Same harness as tests/maps/test_browser.py: tests/fixtures/maps.sql gives EPCI 200011773 a
reference of 120 ha (law envelope 60 ha), 21 ha consumed in 2021-2023 (margin 39 ha), site
test-site-1 (7.68 ha of ENAF) and the brownfield test-site-2 (0 ha).
"""

from __future__ import annotations

import pytest

from tests.maps.conftest import (  # noqa: F401 - the harness's fixtures, used by name
    shot as _shot,
)

pytestmark = pytest.mark.browser

SCENARIO_BARS = (
    "Chart.getChart('sim-chart').data.datasets[1].data.reduce((a, b) => a + (b || 0), 0)"
)


def _margin(p) -> float:  # type: ignore[no-untyped-def]
    return float(p.get_attribute("#sim-margin", "data-margin"))


@pytest.fixture
def dashboard(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A recording Chromium page and the live app's URL (the harness's ``page``, ``app_url``)."""
    return request.getfixturevalue("page"), request.getfixturevalue("app_url")


def test_adding_a_site_moves_the_chart_and_the_margin(dashboard) -> None:  # type: ignore[no-untyped-def]
    p, url = dashboard
    p.goto(url + "/territoires/epci/200011773")
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    assert _margin(p) == 39
    assert p.evaluate(SCENARIO_BARS) == 0
    assert "Marge en 2030 : 39" in p.inner_text("#sim-margin")
    p.wait_for_selector("#sim-candidates li[data-id='test-site-1']")
    # Brownfields first in the ranked list.
    first = p.get_attribute("#sim-candidates li:first-child", "data-id")
    assert first == "test-site-2"
    p.fill("#sim-year", "2027")
    p.click("#sim-candidates li[data-id='test-site-1'] button.sim-add")
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    assert _margin(p) == pytest.approx(39 - 7.68)
    assert p.evaluate(SCENARIO_BARS) == pytest.approx(7.68)
    bar_2027 = p.evaluate(
        "(() => { const c = Chart.getChart('sim-chart');"
        " return c.data.datasets[1].data[c.data.labels.indexOf('2027')]; })()"
    )
    assert bar_2027 == pytest.approx(7.68)
    assert "ZA des Tests" in p.inner_text("#sim-projects")
    assert "sim=" in p.evaluate("location.hash")
    _shot(p, "dashboard_simulator")
    # The scenario is in the URL: a reload gives the same margin.
    p.reload()
    p.wait_for_selector("body[data-sim='1']", timeout=10_000)
    assert _margin(p) == pytest.approx(31.32)
    p.click("#sim-projects button.sim-remove")
    p.wait_for_selector("body[data-sim='0']", timeout=10_000)
    assert _margin(p) == 39
    assert p.errors == []
