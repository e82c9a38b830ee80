"""Contract API (issue 17): the workflow by key scope, the audit trail as the sheet's history,
and what public readers see (validated sheets, no restricted fields)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.auth import create_key
from config import DatabaseSettings
from db.engine import connect_raw
from ingest.contracts import SAMPLE_CONTRACTS, Territory, import_workbook
from tests.api.conftest import API_SETTINGS
from tests.conftest import SAMPLES

SHEET = "2023-ti-2701-F01"


@pytest.fixture(scope="module")
def ti_keys(api_db: DatabaseSettings, keys: dict[str, str]) -> Iterator[dict[str, str]]:
    """The example contract of ti-2701 loaded, and keys: an editor of CC du Val de Morteau (a
    member of ti-2701), an admin of region 27 (its region), and the package's keys."""
    path, territory = SAMPLE_CONTRACTS[0]
    with connect_raw(api_db) as conn:
        import_workbook(conn, SAMPLES / path, territory)
        made = {
            name: create_key(conn, API_SETTINGS, name, role, scope)[1]
            for name, role, scope in (
                ("morteau_editor", "editor", "epci:242504116"),
                ("morteau_admin", "admin", "epci:242504116"),
                ("bfc_admin", "admin", "region:27"),
            )
        }
        conn.commit()
    yield {**keys, **made}
    with connect_raw(api_db) as conn:
        conn.execute("DELETE FROM ti_action_sheet WHERE id_ti = 'ti-2701'")
        conn.execute("DELETE FROM ti_governance WHERE id_ti = 'ti-2701'")
        conn.execute("DELETE FROM ti_protocol WHERE id_ti = 'ti-2701'")
        conn.commit()


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_workflow_scopes_history_and_public_view(
    client: TestClient, ti_keys: dict[str, str]
) -> None:
    # Drafts are not public; the governance is, without names.
    public = client.get("/territories/ti/ti-2701/contract").json()
    assert public["sheets"] == []
    assert public["protocol"]["is_example"] is True
    assert public["governance"] and all("person_name" not in g for g in public["governance"])
    assert client.get(f"/contracts/sheets/{SHEET}").status_code == 404
    # An EPCI outside the territory (Grand Paris) cannot edit it.
    grand_paris = _h(ti_keys["epci_editor"])
    refused = client.patch(f"/contracts/sheets/{SHEET}", json={"pilot": "x"}, headers=grand_paris)
    assert refused.status_code == 403, refused.text
    assert "ti-2701" in refused.json()["detail"]
    # A member EPCI's editor edits and submits; it cannot validate, not even with an admin key.
    morteau = _h(ti_keys["morteau_editor"])
    edited = client.patch(
        f"/contracts/sheets/{SHEET}", json={"budget_eur": 430000}, headers=morteau
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["changed"]["budget_eur"]["new"] == 430000
    bad_axis = client.patch(f"/contracts/sheets/{SHEET}", json={"axis": "x"}, headers=morteau)
    assert bad_axis.status_code == 400 and "n'est pas un axe" in bad_axis.text
    assert client.post(f"/contracts/sheets/{SHEET}/submit", headers=morteau).status_code == 200
    for key in ("morteau_editor", "morteau_admin"):
        no = client.post(f"/contracts/sheets/{SHEET}/validate", headers=_h(ti_keys[key]))
        assert no.status_code == 403, no.text
    # The region's admin: sending back needs a comment; then it validates.
    bfc = _h(ti_keys["bfc_admin"])
    assert client.post(f"/contracts/sheets/{SHEET}/send-back", headers=bfc).status_code == 400
    back = client.post(
        f"/contracts/sheets/{SHEET}/send-back", json={"comment": "Préciser le budget"}, headers=bfc
    )
    assert back.status_code == 200 and back.json()["workflow"] == "sent_back"
    assert client.post(f"/contracts/sheets/{SHEET}/submit", headers=morteau).status_code == 200
    assert client.post(f"/contracts/sheets/{SHEET}/validate", headers=bfc).status_code == 200
    # Public now: the validated sheet, and still no restricted field.
    public = client.get("/territories/ti/ti-2701/contract").json()
    assert [s["id"] for s in public["sheets"]] == [SHEET]
    assert all("person_name" not in g for g in public["governance"])
    sheet = client.get(f"/contracts/sheets/{SHEET}").json()
    assert sheet["workflow"] == "validated" and sheet["budget_eur"] == "430000.00"
    assert len(sheet["funding"]) == 3
    keyed = client.get("/territories/ti/ti-2701/contract", headers=morteau).json()
    assert len(keyed["sheets"]) == 12
    assert {g.get("person_name") for g in keyed["governance"]} >= {"Élu Exemple"}
    # Every change, who and when.
    history = client.get(f"/contracts/sheets/{SHEET}/history").json()
    assert [(c["action"], c["actor"]) for c in history["changes"]] == [
        ("contract_sheet.update", "morteau_editor"),
        ("contract_sheet.submit", "morteau_editor"),
        ("contract_sheet.send-back", "bfc_admin"),
        ("contract_sheet.submit", "morteau_editor"),
        ("contract_sheet.validate", "bfc_admin"),
    ]
    assert all(c["at"] for c in history["changes"]) and len(history["imports"]) == 1


def test_create_needs_the_territory(client: TestClient, ti_keys: dict[str, str]) -> None:
    body = {"id_ti": "ti-2701", "code": "N1", "title": "Nouvelle fiche", "axis": "attirer"}
    assert client.post("/contracts/sheets", json=body).status_code == 401
    other = client.post("/contracts/sheets", json=body, headers=_h(ti_keys["epci_editor"]))
    assert other.status_code == 403
    made = client.post("/contracts/sheets", json=body, headers=_h(ti_keys["morteau_editor"]))
    assert made.status_code == 201, made.text
    assert made.json()["workflow"] == "draft" and made.json()["id"] == "2023-ti-2701-N1"
    assert Territory(2023, "ti-2701").sheet_id("N1") == made.json()["id"]
