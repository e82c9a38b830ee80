"""The readiness checklist through the API: scoped writes, audit, evidence PDFs, readiness.

The site is created by the test in Morangis (91432, EPCI 200054781 Grand Paris, region 11), at
the middle of parcel AB0002 of tests/fixtures/api_land.sql: inside PLU zone plu-91432-ux
(activity), outside any flood or technological-risk zone. Durations are those of
score/checklists/default.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, text

from api.app import create_app
from config import ApiSettings, DatabaseSettings
from tests.conftest import FIXTURES, SAMPLES, scalar

SITE = "site-test-checklist"
TO_CRS84 = Transformer.from_crs(2154, 4326, always_xy=True)
PDF = FIXTURES / "evidence_diagnostic.pdf"  # printed to PDF by Chromium


@pytest.fixture
def site(client: TestClient, keys: dict[str, str], engine: Engine) -> Iterator[str]:
    lon, lat = TO_CRS84.transform(651_050, 6_844_750)
    body = {"id": SITE, "nom": "Site de la checklist", "insee": "91432", "lon": lon, "lat": lat}
    r = client.post("/sites", json=body, headers={"X-API-Key": keys["epci_editor"]})
    assert r.status_code == 201, r.text
    yield SITE
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site WHERE id = :id"), {"id": SITE})


def put(client: TestClient, key: str, item: str, **body: Any) -> Any:
    r = client.put(f"/sites/{SITE}/checklist/{item}", json=body, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


def items(client: TestClient) -> dict[str, dict[str, Any]]:
    r = client.get(f"/sites/{SITE}/checklist")
    assert r.status_code == 200, r.text
    return {i["item"]: i for i in r.json()["items"]}


def test_a_new_site_has_computed_items_and_missing_ones(client: TestClient, site: str) -> None:
    r = client.get(f"/sites/{site}/checklist")
    assert r.status_code == 200, r.text
    body = r.json()
    got = {i["item"]: i for i in body["items"]}
    assert got["plu_compatibility"]["origin"] == "computed"
    assert (got["plu_compatibility"]["value"], got["plu_compatibility"]["status"]) == (
        "activity",
        "done",
    )
    assert got["flood_risk"]["value"] == "none" and got["flood_risk"]["status"] == "done"
    assert got["technological_risk"]["status"] == "done"
    assert got["land_control"]["origin"] == "missing"
    # Missing electricity (18 months if not started) is the longest remaining step.
    assert body["readiness"]["time_to_permit_months"] == 18
    assert body["readiness"]["level"] == 1
    assert "Électricité" in body["readiness"]["explanation"]
    assert body["freshness"]["a_confirmer"] is True


@pytest.mark.usefixtures("site")
def test_readiness_and_time_to_permit_from_a_hand_computed_fixture(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    key = keys["epci_editor"]
    put(client, key, "land_control", status="done", value="public", date="2026-03-01")
    put(client, key, "archaeology", status="in_progress", value="excavation_needed")
    put(client, key, "fauna_flora", status="done", source="bureau d'études, 2025")
    put(client, key, "environmental_authorisation", status="in_progress", value="registration")
    put(client, key, "electricity", status="in_progress", quantity=12, delay_months=14)
    for item in ("water", "gas"):
        put(client, key, item, status="not_applicable")
    last = put(client, key, "broadband", status="done")
    # Remaining: archaeology 12 (excavation, in progress), authorisation 4 (registration, in
    # progress), electricity 14 (the operator's stated delay); everything else 0.
    assert last["readiness"]["time_to_permit_months"] == 14
    assert last["readiness"]["level"] == 1
    assert "Électricité" in last["readiness"]["explanation"]
    assert "délai déclaré" in last["readiness"]["explanation"]
    stored = scalar(
        engine, f"SELECT time_to_permit_months FROM site_readiness WHERE site_id = '{SITE}'"
    )
    assert stored == 14
    r = client.patch(
        f"/sites/{SITE}/checklist/electricity", json={"status": "done"}, headers={"X-API-Key": key}
    )
    assert r.status_code == 200, r.text
    assert r.json()["readiness"]["time_to_permit_months"] == 12  # the excavation
    assert items(client)["electricity"]["quantity"] == 12  # PATCH kept it
    done = put(client, key, "archaeology", status="done", value="excavation_needed")
    assert done["readiness"]["time_to_permit_months"] == 4
    assert done["readiness"]["level"] == 2
    ready = put(client, key, "environmental_authorisation", status="done", value="registration")
    assert (ready["readiness"]["level"], ready["readiness"]["time_to_permit_months"]) == (3, 0)
    feature = client.get(f"/collections/sites/items/{SITE}?f=json").json()["properties"]
    assert feature["readiness_level"] == 3 and feature["time_to_permit_months"] == 0


@pytest.mark.usefixtures("site")
def test_a_computed_item_is_overridden_only_with_a_reason(
    client: TestClient, keys: dict[str, str]
) -> None:
    headers = {"X-API-Key": keys["epci_editor"]}
    url = f"/sites/{SITE}/checklist/plu_compatibility"
    r = client.put(url, json={"status": "not_started", "value": "agricultural"}, headers=headers)
    assert r.status_code == 400
    assert "donnez la raison" in r.json()["detail"]
    body = {"status": "not_started", "value": "agricultural", "reason": "zone A depuis la révision"}
    r = client.put(url, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["readiness"]["time_to_permit_months"] == 24  # A zone: revision, 24 months
    got = items(client)["plu_compatibility"]
    assert (got["origin"], got["computed_value"], got["reason"]) == (
        "override",
        "activity",
        "zone A depuis la révision",
    )
    r = client.delete(url, headers=headers)
    assert r.status_code == 200, r.text
    assert items(client)["plu_compatibility"]["origin"] == "computed"
    r = client.put(url.replace("plu_compatibility", "land_control"), json={"status": "done",
                   "value": "maybe"}, headers=headers)  # fmt: skip
    assert r.status_code == 400 and "valeurs possibles" in r.json()["detail"]


@pytest.mark.usefixtures("site")
def test_editor_of_the_sites_epci_writes_another_is_refused(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    url = f"/sites/{SITE}/checklist/land_control"
    body = {"status": "done", "value": "public"}
    assert client.put(url, json=body).status_code == 401
    r = client.put(url, json=body, headers={"X-API-Key": keys["region_editor"]})
    assert r.status_code == 403
    assert "region 84" in r.json()["detail"]
    assert scalar(engine, f"SELECT count(*) FROM site_checklist WHERE site_id = '{SITE}'") == 0
    r = client.put(url, json=body, headers={"X-API-Key": keys["epci_editor"]})
    assert r.status_code == 200, r.text
    audit = scalar(
        engine,
        f"SELECT changes FROM audit WHERE target = 'site:{SITE}' AND action = 'checklist.update' "
        "ORDER BY id DESC LIMIT 1",
    )
    assert audit["land_control"]["new"]["value"] == "public"  # type: ignore[index]
    assert audit["land_control"]["old"] is None  # type: ignore[index]
    put(client, keys["epci_editor"], "land_control", status="in_progress", value="public")
    # The replaced version is kept (history.site_checklist), naming the write that replaced it.
    kept = scalar(
        engine,
        f"SELECT h.status || ':' || a.action FROM history.site_checklist h "
        f"JOIN audit a ON a.id = h.hist_audit_id WHERE h.site_id = '{SITE}' "
        "AND h.item = 'land_control' ORDER BY h.hist_id DESC LIMIT 1",
    )
    assert kept == "done:checklist.update"


@pytest.mark.usefixtures("site")
def test_evidence_pdf_uploaded_linked_and_served_back(
    client: TestClient, keys: dict[str, str]
) -> None:
    headers = {"X-API-Key": keys["epci_editor"], "Content-Type": "application/pdf"}
    pdf = PDF.read_bytes()
    r = client.post(f"/sites/{SITE}/evidence?filename=diagnostic.pdf", content=pdf, headers=headers)
    assert r.status_code == 201, r.text
    evidence = r.json()
    assert evidence["size_bytes"] == len(pdf)
    put(client, keys["epci_editor"], "archaeology", status="done", value="diagnosis_done",
        evidence_id=evidence["evidence_id"])  # fmt: skip
    href = items(client)["archaeology"]["evidence"]["href"]
    assert href == evidence["href"]
    served = client.get(href)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.content == pdf
    # Another site's evidence number is refused.
    r = client.put(
        "/sites/site-morangis-2/checklist/archaeology",
        json={"status": "done", "evidence_id": evidence["evidence_id"]},
        headers={"X-API-Key": keys["epci_editor"]},
    )
    assert r.status_code == 400 and "aucune pièce justificative" in r.json()["detail"]


@pytest.mark.usefixtures("site")
def test_a_non_pdf_named_pdf_is_refused_in_french(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    csv = (SAMPLES / "sites" / "scem_2024_partiel_presse.csv").read_bytes()
    r = client.post(
        f"/sites/{SITE}/evidence?filename=rapport.pdf",
        content=csv,
        headers={"X-API-Key": keys["epci_editor"], "Content-Type": "application/pdf"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert "« rapport.pdf » n'est pas un PDF" in r.json()["detail"]
    assert scalar(engine, f"SELECT count(*) FROM site_evidence WHERE site_id = '{SITE}'") == 0


@pytest.mark.usefixtures("site")
def test_an_oversized_pdf_is_refused_in_french(
    api_db: DatabaseSettings, keys: dict[str, str]
) -> None:
    settings = ApiSettings(key_salt="test-salt", evidence_max_bytes=10_000)
    with TestClient(create_app(settings, api_db), raise_server_exceptions=False) as small:
        r = small.post(
            f"/sites/{SITE}/evidence?filename=diagnostic.pdf",
            content=PDF.read_bytes(),  # 18 kB
            headers={"X-API-Key": keys["epci_editor"], "Content-Type": "application/pdf"},
        )
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert "le fichier fait 18400 octets" in detail and "au plus 10000 octets" in detail


@pytest.mark.usefixtures("site")
def test_undo_of_a_checklist_write_restores_the_item_and_the_readiness(
    client: TestClient, keys: dict[str, str], engine: Engine, api_db: DatabaseSettings
) -> None:
    from ingest.undo import UndoRefusedError, undo_audit
    from score.readiness import refresh_site_readiness

    key = keys["epci_editor"]
    put(client, key, "electricity", status="in_progress", quantity=12, delay_months=14)
    first = scalar(
        engine, f"SELECT time_to_permit_months FROM site_readiness WHERE site_id = '{SITE}'"
    )
    changed = put(client, key, "electricity", status="in_progress", quantity=20, delay_months=30)
    assert changed["readiness"]["time_to_permit_months"] == 30
    audit_id = int(
        str(
            scalar(
                engine,
                "SELECT max(id) FROM audit WHERE action = 'checklist.update' AND target = :t",
                t=f"site:{SITE}",
            )
        )
    )
    report = undo_audit(api_db, audit_id, after=refresh_site_readiness)
    assert report.tables == {"site_checklist": (1, 1)}
    electricity = items(client)["electricity"]
    assert (electricity["quantity"], electricity["delay_months"]) == (12, 14)
    stored = scalar(
        engine, f"SELECT time_to_permit_months FROM site_readiness WHERE site_id = '{SITE}'"
    )
    assert stored == first  # re-evaluated in the undo's transaction
    undo = scalar(
        engine,
        "SELECT action FROM audit WHERE id = (SELECT undone_by FROM audit WHERE id = :i)",
        i=audit_id,
    )
    assert undo == "checklist.undo"
    with pytest.raises(UndoRefusedError, match="already undone"):
        undo_audit(api_db, audit_id, after=refresh_site_readiness)
