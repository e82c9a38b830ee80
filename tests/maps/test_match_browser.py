"""The finder's "Projet" panel in Chromium: an investor's profile ranks the sites of
tests/fixtures/maps.sql (POST /search/match), says in French what each meets and misses, and the
profile is in the link: reopening it restores the form and the ranking.

maps.sql: test-site-1 (ZA des Tests, 7.68 ha contiguous, 1.2 km to a rail line), test-site-2
(Friche des Essais, 2.5 ha, no access distance), test-site-3 (4 ha, known by its commune).
"""

from __future__ import annotations

import pytest

from tests.maps.conftest import open_page, shot

pytestmark = pytest.mark.browser

PROFILE_QUERY = "min_ha=5&rail_km=2&regions=84"


def _results(p) -> list[str]:  # type: ignore[no-untyped-def]
    p.wait_for_selector("#results li.match", timeout=10_000)
    return p.locator("#results li.match").all_inner_texts()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_project_profile_ranks_sites_and_its_link_restores_them(  # type: ignore[no-untyped-def]
    browser, app_url: str, width: int, height: int
) -> None:
    context, p = open_page(browser, width, height)
    try:
        p.goto(app_url + "/sites")
        p.wait_for_selector("#results li.result", timeout=10_000)
        p.fill("#project [name=min_ha]", "5")
        p.fill("#project [name=rail_km]", "2")
        p.fill("#project [name=regions]", "84")
        p.click("#project button[type=submit]")
        rows = _results(p)
        assert "ZA des Tests" in rows[0] and "adéquation 100 %" in rows[0]
        essais = next(r for r in rows if "Friche des Essais" in r)
        assert "surface d'un seul tenant : il faut 5 ha, le site en offre 2,5" in essais
        assert "voie ferrée : il faut 2 km, valeur inconnue pour ce site" in essais
        assert PROFILE_QUERY in p.url
        p.locator("#results li.match").first.scroll_into_view_if_needed()
        shot(p, f"finder_project_{width}")
        # The link reopens the form and the ranking.
        p.goto(p.url)
        reopened = _results(p)
        assert reopened == rows
        assert p.input_value("#project [name=min_ha]") == "5"
        assert p.input_value("#project [name=regions]") == "84"
        assert p.errors == []
    finally:
        context.close()


def test_project_panel_in_english(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url + f"/sites?lang=en&{PROFILE_QUERY}&mw=20")
    rows = _results(page)
    essais = next(r for r in rows if "Friche des Essais" in r)
    assert "contiguous area: needs 5 ha, the site offers 2.5" in essais
    assert "electricity: needs 20 MW, unknown for this site" in essais
    assert "Rank the sites" in page.inner_text("#project")
    assert page.errors == []
