"""Contract reports (issue 17): the region report's sums equal a hand computation.

Fixture, built by hand on two Territoires d'industrie 2023 of region 01 (Guadeloupe, from the
samples: ti-0101 Basse-Terre, ti-0102 Cap Excellence) and one of region 84 (ti-8401, outside):

    sheet  TI       axis      status          workflow   example  due
    e-a1   ti-0101  attirer   committed       validated  no       2020-06-30
    e-a2   ti-0101  recruter  done            validated  no       2020-01-01
    e-a3   ti-0101  innover   idea            draft      no       2020-01-01
    e-b1   ti-0102  attirer   in_preparation  validated  no       2099-01-01
    e-b2   ti-0102  attirer   abandoned       validated  no       2020-01-01
    e-bx   ti-0102  innover   committed       validated  yes      2020-01-01
    e-z1   ti-8401  attirer   committed       validated  no       2020-01-01

and the funding (committed/paid, €) of FUNDING below: e-a3 is a draft (not public), e-bx the
example, e-z1 in another region.

Public region-01 report, real sheets: 4 (attirer 3: committed 1, in_preparation 1, abandoned 1;
recruter 1 done); Etat 120000/60000, Région 80000/10000, EPCI 5000/5000, total 205000/75000;
overdue: e-a1 only (e-a2 done, e-b2 abandoned, e-b1 due in 2099). The example apart: 1 sheet,
Etat 700000/1, 1 overdue.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from config import DatabaseSettings

SHEETS = [
    ("e-a1", "ti-0101", "A1", "attirer", "committed", "validated", False, "2020-06-30"),
    ("e-a2", "ti-0101", "A2", "recruter", "done", "validated", False, "2020-01-01"),
    ("e-a3", "ti-0101", "A3", "innover", "idea", "draft", False, "2020-01-01"),
    ("e-b1", "ti-0102", "B1", "attirer", "in_preparation", "validated", False, "2099-01-01"),
    ("e-b2", "ti-0102", "B2", "attirer", "abandoned", "validated", False, "2020-01-01"),
    ("e-bx", "ti-0102", "BX", "innover", "committed", "validated", True, "2020-01-01"),
    ("e-z1", "ti-8401", "Z1", "attirer", "committed", "validated", False, "2020-01-01"),
]
FUNDING = [
    ("e-a1", "Etat", "etat", 100000, 40000),
    ("e-a1", "Région Guadeloupe", "region", 50000, 0),
    ("e-a2", "Etat", "etat", 20000, 20000),
    ("e-a3", "Etat", "etat", 999999, 999999),
    ("e-b1", "Région Guadeloupe", "region", 30000, 10000),
    ("e-b1", "CA Cap Excellence", "epci", 5000, 5000),
    ("e-bx", "Etat", "etat", 700000, 1),
    ("e-z1", "Etat", "etat", 888888, 0),
]
INDICATORS = [
    ("e-a1", "Emplois créés", "emplois", 50.0, 20.0),
    ("e-b1", "Hectares", "ha", 0.0, 2.0),
]


@pytest.fixture(scope="module", autouse=True)
def contract_rows(api_db: DatabaseSettings) -> Iterator[None]:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        for sid, ti, code, axis, status, workflow, example, due in SHEETS:
            conn.execute(
                "INSERT INTO ti_action_sheet (id, programme, id_ti, code, title, axis, status,"
                " workflow, is_example, due_on) VALUES (%s, 2023, %s, %s, %s, %s, %s, %s, %s, %s)",
                (sid, ti, code, f"Fiche {code}", axis, status, workflow, example, due),
            )
        conn.cursor().executemany(
            "INSERT INTO ti_action_funding (sheet_id, financer, financer_kind, committed_eur,"
            " paid_eur) VALUES (%s, %s, %s, %s, %s)",
            FUNDING,
        )
        conn.cursor().executemany(
            "INSERT INTO ti_action_indicator (sheet_id, label, unit, target, measured)"
            " VALUES (%s, %s, %s, %s, %s)",
            INDICATORS,
        )
    yield
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute("DELETE FROM ti_action_sheet WHERE id LIKE 'e-%%'")


def _financers(part: dict) -> dict[str, tuple[float, float]]:  # type: ignore[type-arg]
    return {
        f["financer"]: (f["committed_eur"], f["paid_eur"]) for f in part["funding"]["by_financer"]
    }


def test_region_report_sums_equal_the_hand_computation(
    client: TestClient,
) -> None:
    r = client.get("/regions/01/contracts/report")
    assert r.status_code == 200, r.text
    d = r.json()
    real = d["real"]
    assert real["sheets"]["total"] == 4
    assert real["sheets"]["by_status"] == {
        "idea": 0, "in_preparation": 1, "committed": 1, "done": 1, "abandoned": 1,
    }  # fmt: skip
    assert real["sheets"]["by_axis"]["attirer"]["total"] == 3
    assert real["sheets"]["by_axis"]["recruter"] == {
        "total": 1, "idea": 0, "in_preparation": 0, "committed": 0, "done": 1, "abandoned": 0,
    }  # fmt: skip
    assert "innover" not in real["sheets"]["by_axis"]  # e-a3 is a draft, e-bx an example
    assert _financers(real) == {
        "Etat": (120000.0, 60000.0),
        "Région Guadeloupe": (80000.0, 10000.0),
        "CA Cap Excellence": (5000.0, 5000.0),
    }
    assert (real["funding"]["committed_eur"], real["funding"]["paid_eur"]) == (205000.0, 75000.0)
    assert [o["id"] for o in real["overdue"]["items"]] == ["e-a1"]
    progress = {i["label"]: i["progress_pct"] for i in real["indicators"]["items"]}
    assert progress == {"Emplois créés": 40.0, "Hectares": None}  # a zero target has no ratio
    by_ti = {t["id_ti"]: t for t in real["territories"]}
    assert set(by_ti) == {"ti-0101", "ti-0102"}
    assert (by_ti["ti-0101"]["sheets"], by_ti["ti-0101"]["committed_eur"]) == (2, 170000.0)
    assert (by_ti["ti-0102"]["paid_eur"], by_ti["ti-0102"]["overdue"]) == (15000.0, 0)
    example = d["example"]
    assert example["sheets"]["total"] == 1
    assert _financers(example) == {"Etat": (700000.0, 1.0)}
    assert example["overdue"]["total"] == 1


def test_territory_and_national_reports(client: TestClient) -> None:
    d = client.get("/territories/ti/ti-0101/contract/report").json()
    assert d["scope"]["name"] == "Basse-Terre" and d["scope"]["region"] == "01"
    assert d["real"]["sheets"]["total"] == 2 and d["example"] is None
    assert d["protocol"] is None
    n = client.get("/contracts/report").json()["real"]
    assert n["sheets"]["total"] >= 5  # region 01's four and ti-8401's
    assert {"ti-0101", "ti-0102", "ti-8401"} <= {t["id_ti"] for t in n["territories"]}


def test_unknown_territory_and_region_are_404(client: TestClient) -> None:
    r = client.get("/territories/ti/ti-nope/contract/report")
    assert r.status_code == 404 and "ti-nope" in r.text
    assert client.get("/regions/zz/contracts/report").status_code == 404


def test_region_workbook_holds_the_same_sums(client: TestClient) -> None:
    import io

    from openpyxl import load_workbook

    r = client.get("/regions/01/contracts/report.xlsx")
    assert r.status_code == 200, r.text
    assert "contrats_region_01_2023.xlsx" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == [
        "Territoires", "Financeurs", "En retard",
        "Territoires (exemple)", "Financeurs (exemple)", "En retard (exemple)",
    ]  # fmt: skip
    rows = list(wb["Financeurs"].iter_rows(min_row=3, values_only=True))
    assert sum(row[2] for row in rows) == 205000 and sum(row[3] for row in rows) == 75000
    territories = {row[0]: row for row in wb["Territoires"].iter_rows(min_row=3, values_only=True)}
    assert territories["ti-0101"][8] == 170000 and territories["ti-0102"][9] == 15000
    assert [row[2] for row in wb["En retard"].iter_rows(min_row=3, values_only=True)] == ["A1"]
    assert client.get("/regions/zz/contracts/report.xlsx").status_code == 404
