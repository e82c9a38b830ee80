"""The "Contrat" section's edit form (issue 17) in Debian Chromium at 1400 x 900: an editor of a
member EPCI of ti-8408 (Loire Forez Agglomération) drafts a sheet and submits it, the region 84
admin validates it and the public report above then counts it; an editor of another territory's
EPCI (Annonay Rhône Agglo, ti-8401) gets the refusal; English complete. Keys are made after the
harness loaded the database, hashed with the live server's salt, and typed into the page as a
user would (the page keeps them in sessionStorage only). Screenshots: tests/artifacts/
contract_edit_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from api.auth import create_key
from config import ApiSettings, DatabaseSettings, resolve_key_salt
from tests.maps.conftest import open_page, shot

pytestmark = pytest.mark.browser

DASHBOARD = "/territoires/territoire-2023/ti-8408"
SHEET = "2023-ti-8408-FA-E1"


@pytest.fixture(scope="module")
def ce_keys(
    request: pytest.FixtureRequest, engine: Engine, db_settings: DatabaseSettings
) -> Iterator[dict[str, str]]:
    request.getfixturevalue("app_url")
    settings = resolve_key_salt(ApiSettings(), db_settings)
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        made = {
            name: create_key(conn, settings, f"contract-edit-{name}", role, scope)[1]
            for name, role, scope in (
                ("editor", "editor", "epci:200065886"),  # Loire Forez, member of ti-8408
                ("other", "editor", "epci:200072015"),  # Annonay, member of ti-8401 only
                ("region", "admin", "region:84"),
            )
        }
        conn.commit()
    yield made
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ti_action_sheet WHERE id_ti = 'ti-8408'"))


def _open(p, url: str) -> None:  # type: ignore[no-untyped-def]
    p.goto(url)
    p.wait_for_selector("#contract[data-loaded='1']", timeout=15_000)
    p.wait_for_selector("body[data-loaded='1']", timeout=15_000)


def _unlock(p, key: str) -> None:  # type: ignore[no-untyped-def]
    p.fill("#ce-key", key)
    p.click("#ce-unlock button")
    p.wait_for_selector("#ce[data-unlocked='1'][data-busy='0']", timeout=10_000)


def _idle(p) -> None:  # type: ignore[no-untyped-def]
    p.wait_for_selector("#ce[data-busy='0']", timeout=10_000)
    p.wait_for_selector("#contract[data-loaded='1']", timeout=10_000)


def test_draft_submit_validate(browser, app_url: str, ce_keys: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, 1400, 900)
    try:
        _open(p, app_url + DASHBOARD)
        assert p.locator("#contract-empty").is_visible()
        assert p.locator("#ce-editor").is_hidden()
        # An unknown key is refused in French.
        p.fill("#ce-key", "fon_nope")
        p.click("#ce-unlock button")
        p.wait_for_selector("#ce[data-unlocked='0']", timeout=10_000)
        assert p.inner_text("#ce-error") == "Clé inconnue ou expirée."
        # The member EPCI's editor drafts a sheet.
        _unlock(p, ce_keys["editor"])
        assert p.evaluate("sessionStorage.getItem('foncier.editorKey')") == ce_keys["editor"]
        assert p.locator("#ce-axis option").all_inner_texts() == [
            "Recruter", "Innover", "Attirer", "Simplifier",
        ]  # fmt: skip
        p.fill("#ce-code", "FA-E1")
        p.fill("#ce-title-input", "Requalifier la zone des Plaines")
        p.select_option("#ce-axis", "attirer")
        p.select_option("#ce-state", "in_preparation")
        p.fill("#ce-due", "2027-06-30")
        p.fill("#ce-budget", "250000")
        p.click("#ce-save")
        p.wait_for_selector("#ce-status:has-text('FA-E1 enregistrée')", timeout=10_000)
        assert p.input_value("#ce-sheet") == SHEET
        assert p.inner_text("#ce-workflow") == "brouillon"
        # An editor cannot validate; it submits.
        p.click("#ce-validate")
        p.wait_for_selector("#ce-error:has-text('administrateur')", timeout=10_000)
        p.click("#ce-submit")
        p.wait_for_selector("#ce-workflow:has-text('soumise')", timeout=10_000)
        _idle(p)
        assert p.locator("#contract-empty").is_visible()  # submitted is not public yet
        p.wait_for_selector("#ce-history[data-count='2']", timeout=10_000)
        history = p.inner_text("#ce-history")
        assert "création" in history and "soumission" in history
        shot(p, "contract_edit_submitted")
        # The region's admin: sending back needs a comment; it validates.
        _open(p, app_url + DASHBOARD)
        _unlock(p, ce_keys["region"])
        p.select_option("#ce-sheet", SHEET)
        p.wait_for_selector("#ce-history[data-count='2']", timeout=10_000)
        p.click("#ce-send-back")
        assert "pourquoi la fiche est renvoyée" in p.inner_text("#ce-error")
        p.click("#ce-validate")
        p.wait_for_selector("#ce-workflow:has-text('validée')", timeout=10_000)
        _idle(p)
        # The public report above now counts it: one sheet on "Attirer", in preparation.
        assert p.locator("#contract-body").is_visible()
        assert p.locator("#contract-empty").is_hidden()
        rows = p.locator("#contract-sheets tbody tr")
        assert rows.nth(0).inner_text().split() == ["Attirer", "0", "1", "0", "0", "0", "1"]
        p.wait_for_selector("#ce-history[data-count='3']", timeout=10_000)
        assert "validation" in p.inner_text("#ce-history")
        assert p.evaluate("document.scrollingElement.scrollWidth") <= 1400
        p.locator("#ce").scroll_into_view_if_needed()
        shot(p, "contract_edit_validated")
        # Another territory's EPCI editor: the sheet is readable with a key, the edit refused.
        _open(p, app_url + DASHBOARD)
        _unlock(p, ce_keys["other"])
        p.select_option("#ce-sheet", SHEET)
        p.fill("#ce-title-input", "Autre intitulé")
        p.click("#ce-save")
        p.wait_for_selector("#ce-error:has-text('Refusé')", timeout=10_000)
        assert p.inner_text("#ce-error") == (
            "Refusé : votre clé ne couvre pas ce Territoire d'industrie."
        )
        shot(p, "contract_edit_refused")
        # Chromium logs the refusals the test provokes as failed loads; nothing else.
        failed = "console: Failed to load resource: the server responded with a status of "
        assert p.errors == [
            failed + "401 (Unauthorized)", failed + "403 (Forbidden)", failed + "403 (Forbidden)",
        ]  # fmt: skip
    finally:
        context.close()


def test_edit_form_in_english_on_a_phone(browser, app_url: str, ce_keys: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, 390, 844)
    try:
        _open(p, app_url + DASHBOARD + "?lang=en")
        _unlock(p, ce_keys["editor"])
        form = p.inner_text("#ce")
        assert "Edit the sheets" in form and "Unlock" in form and "Due date" in form
        for french in ("Modifier", "Échéance", "Enregistrer", "Nouvelle fiche", "Soumettre"):
            assert french not in form
        assert p.evaluate("document.scrollingElement.scrollWidth") <= 390
        p.locator("#ce").scroll_into_view_if_needed()
        shot(p, "contract_edit_phone_en")
        assert p.errors == []
    finally:
        context.close()
