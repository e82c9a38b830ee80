"""The dashboard's "Contrat" section (issue 17) in Debian Chromium at 1400 x 900 and 390 x 844:
a real contract (ti-8401) with its protocol, sheets by axis and status, funding chart, overdue
list and its places on the map; the example contract (ti-8416) badged "exemple"; the empty state
(ti-8408, no contract); English complete. Screenshots: tests/artifacts/contract_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.maps.conftest import open_page, shot

pytestmark = pytest.mark.browser

SHEETS = [
    # id, TI, code, axis, status, example, due
    ("e-c1", "ti-8401", "FA1", "attirer", "committed", False, "2020-06-30"),
    ("e-c2", "ti-8401", "FA2", "recruter", "done", False, "2020-01-01"),
    ("e-c3", "ti-8401", "FA3", "innover", "in_preparation", False, "2099-01-01"),
    ("e-cx", "ti-8416", "EX1", "attirer", "idea", True, "2020-01-01"),
]
FUNDING = [
    ("e-c1", "État", "etat", 120000, 40000),
    ("e-c1", "Région Auvergne-Rhône-Alpes", "region", 60000, 0),
    ("e-c2", "État", "etat", 20000, 20000),
    ("e-cx", "État", "etat", 5000, 0),
]


@pytest.fixture(scope="module")
def contract(engine: Engine, app_url: str) -> Iterator[str]:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ti_protocol (programme, id_ti, title, signed_on, document_url, status)"
                " VALUES (2023, 'ti-8401', 'Protocole 2023-2027', '2024-03-15',"
                " 'https://example.org/protocole.pdf', 'signed')"
            )
        )
        for sid, ti, code, axis, status, example, due in SHEETS:
            conn.execute(
                text(
                    "INSERT INTO ti_action_sheet (id, programme, id_ti, code, title, axis, status,"
                    " workflow, is_example, due_on) VALUES (:id, 2023, :ti, :code, :title, :axis,"
                    " :status, 'validated', :ex, :due)"
                ),
                {
                    "id": sid,
                    "ti": ti,
                    "code": code,
                    "title": f"Fiche {code}",
                    "axis": axis,
                    "status": status,
                    "ex": example,
                    "due": due,
                },  # fmt: skip
            )
        for sid, financer, kind, committed, paid in FUNDING:
            conn.execute(
                text(
                    "INSERT INTO ti_action_funding (sheet_id, financer, financer_kind,"
                    " committed_eur, paid_eur) VALUES (:s, :f, :k, :c, :p)"
                ),
                {"s": sid, "f": financer, "k": kind, "c": committed, "p": paid},
            )
        conn.execute(
            text(
                "INSERT INTO ti_action_place (sheet_id, place_type, place_id) SELECT 'e-c1',"
                " 'commune', min(insee) FROM territory_commune"
                " WHERE kind = 'territoire-2023' AND code = 'ti-8401'"
            )
        )
    yield app_url
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ti_action_sheet WHERE id LIKE 'e-c%'"))
        conn.execute(text("DELETE FROM ti_protocol WHERE id_ti = 'ti-8401'"))


def _open(p, url: str) -> None:  # type: ignore[no-untyped-def]
    p.goto(url)
    p.wait_for_selector("#contract[data-loaded='1']", timeout=15_000)
    p.wait_for_selector("body[data-loaded='1']", timeout=15_000)


@pytest.mark.parametrize("size", [(1400, 900), (390, 844)], ids=["desktop", "phone"])
def test_contract_section(browser, contract: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *size)
    name = "desktop" if size[0] > 1000 else "phone"
    try:
        _open(p, contract + "/territoires/territoire-2023/ti-8401")
        section = p.inner_text("#contract")
        assert "Protocole d'engagement" in section and "2024-03-15" in section
        assert p.locator("#contract-example").is_hidden()
        rows = p.locator("#contract-sheets tbody tr")
        assert rows.count() == 4  # recruter, innover, attirer, total
        assert rows.nth(3).inner_text().split() == ["Total", "0", "1", "1", "1", "0", "3"]
        assert "FA1" in p.inner_text("#contract-overdue")
        assert "FA2" not in p.inner_text("#contract-overdue")  # done: never overdue
        assert p.locator("#contract-funding").is_visible()
        assert p.locator("path.contract-place").count() == 1
        assert p.evaluate("document.scrollingElement.scrollWidth") <= size[0]
        p.locator("#contract").scroll_into_view_if_needed()
        shot(p, f"contract_{name}")
        _open(p, contract + "/territoires/territoire-2023/ti-8416")
        assert p.locator("#contract-example").is_visible()
        assert "exemple" in p.inner_text("#contract h2")
        shot(p, f"contract_example_{name}")
        _open(p, contract + "/territoires/territoire-2023/ti-8408")
        assert p.locator("#contract-empty").is_visible()
        assert "Aucune fiche action validée" in p.inner_text("#contract")
        assert p.errors == []
    finally:
        context.close()


def test_contract_section_in_english(browser, contract: str) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, 1400, 900)
    try:
        _open(p, contract + "/territoires/territoire-2023/ti-8401?lang=en")
        section = p.inner_text("#contract")
        assert "Commitment protocol" in section and "Action sheets by axis" in section
        for french in ("engagée", "réalisée", "Fiches en retard", "Recruter"):
            assert french not in section
        assert p.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("size", [(1400, 900), (390, 844)], ids=["desktop", "phone"])
def test_regional_overview(browser, contract: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    context, p = open_page(browser, *size)
    name = "desktop" if size[0] > 1000 else "phone"
    try:
        p.goto(contract + "/regions/84/contrats")
        p.wait_for_selector("body[data-loaded='1']", timeout=15_000)
        # ti-8401: FA1 120 000 + 60 000 and FA2 20 000 committed, 40 000 + 20 000 paid.
        row = p.locator("#rc-table tbody tr")
        assert row.count() == 1  # ti-8401; the example ti-8416 is in its own table
        cells = row.nth(0).inner_text().replace("\u202f", " ").replace("\xa0", " ")
        assert cells.split("\t")[1:] == [
            "3", "0", "1", "1", "1", "0", "200 000", "60 000", "1",
        ]  # fmt: skip
        assert p.locator("#rc-example").is_visible()
        assert p.get_attribute("#rc-xlsx", "href") == "/regions/84/contracts/report.xlsx"
        assert p.evaluate("document.scrollingElement.scrollWidth") <= size[0]
        shot(p, f"contract_region_{name}")
        if name == "desktop":
            p.emulate_media(media="print")
            assert p.locator("#rc-print").is_hidden()
            shot(p, "contract_region_print")
        assert p.errors == []
    finally:
        context.close()
