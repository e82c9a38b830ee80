"""A site's history through the API, as_of on the sites collection, and undo of an API write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from config import DatabaseSettings
from ingest.undo import UndoRefusedError, undo_audit
from tests.conftest import scalar

SITE = "site-morangis-2"  # tests/fixtures/api_land.sql: maturite 'a_venir'
SITE_HASH = "SELECT md5(s::text) FROM site s WHERE id = :id"


@pytest.fixture
def editor(keys: dict[str, str], engine: Engine) -> Iterator[dict[str, str]]:
    """The Grand Paris editor's key; the fixture site is put back as it was afterwards."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT maturite, prix_m2 FROM site WHERE id = :id"), {"id": SITE})
        maturite, prix = row.one()
    yield {"X-API-Key": keys["epci_editor"]}
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE site SET maturite = :m, prix_m2 = :p WHERE id = :id"),
            {"m": maturite, "p": prix, "id": SITE},
        )


def _patch(client: TestClient, editor: dict[str, str], **fields: object) -> None:
    r = client.patch(f"/sites/{SITE}", json=fields, headers=editor)
    assert r.status_code == 200, r.text


def test_history_lists_who_wrote_each_version(client: TestClient, editor: dict[str, str]) -> None:
    _patch(client, editor, maturite="disponible", prix_m2=55.0)
    r = client.get(f"/sites/{SITE}/history", headers=editor)
    assert r.status_code == 200, r.text
    versions = r.json()["versions"]
    before, after = versions[-2], versions[-1]
    assert before["site"]["maturite"] == "a_venir" and before["ended_by"] == "update"
    assert after["current"] and after["site"]["maturite"] == "disponible"
    assert after["site"]["prix_m2"] == 55.0  # a key holder sees the price
    assert after["written_by"]["kind"] == "api"
    assert after["written_by"]["api_key"] == "epci_editor"
    assert after["written_by"]["action"] == "site.update"
    assert after["valid_from"] == before["valid_to"]
    public = client.get(f"/sites/{SITE}/history").json()["versions"][-1]
    assert "prix_m2" not in public["site"]  # hidden without a key, as on the site itself
    assert client.get("/sites/no-such-site/history").status_code == 404


def test_as_of_before_a_write_answers_the_site_as_it_was(
    client: TestClient, editor: dict[str, str]
) -> None:
    time.sleep(0.01)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    _patch(client, editor, maturite="disponible")
    url = f"/collections/sites/items/{SITE}"
    assert client.get(url).json()["properties"]["maturite"] == "disponible"
    then = client.get(url, params={"as_of": before})
    assert then.status_code == 200, then.text
    assert then.json()["properties"]["maturite"] == "a_venir"
    items = client.get("/collections/sites/items", params={"as_of": before, "insee": "91432"})
    assert items.status_code == 200, items.text
    by_id = {f["id"]: f["properties"] for f in items.json()["features"]}
    assert by_id[SITE]["maturite"] == "a_venir"
    # Refused clearly: a malformed instant, a derived collection.
    bad = client.get("/collections/sites/items", params={"as_of": "hier"})
    assert bad.status_code == 400 and "as_of" in bad.json()["detail"]
    derived = client.get("/collections/land-units/items", params={"as_of": "2025-01-01"})
    assert derived.status_code == 400 and "keeps no history" in derived.json()["detail"]


def test_undo_of_a_patch_restores_the_site(
    client: TestClient, editor: dict[str, str], engine: Engine, api_db: DatabaseSettings
) -> None:
    before = scalar(engine, SITE_HASH, id=SITE)
    _patch(client, editor, maturite="disponible", prix_m2=80.0)
    assert scalar(engine, SITE_HASH, id=SITE) != before
    audit_id = scalar(
        engine,
        "SELECT max(id) FROM audit WHERE action = 'site.update' AND target = :t",
        t=f"site:{SITE}",
    )
    report = undo_audit(api_db, int(str(audit_id)))
    assert report.tables == {"site": (1, 1)}
    assert scalar(engine, SITE_HASH, id=SITE) == before
    with pytest.raises(UndoRefusedError, match="already undone"):
        undo_audit(api_db, int(str(audit_id)))
    # Two later writes: the earlier one cannot be undone past the later.
    last = "SELECT max(id) FROM audit WHERE action = 'site.update'"
    _patch(client, editor, maturite="disponible")
    earlier = int(str(scalar(engine, last)))
    _patch(client, editor, maturite="réservé")
    later = int(str(scalar(engine, last)))
    with pytest.raises(UndoRefusedError, match=rf"API write \(audit\) {later} changed 1"):
        undo_audit(api_db, earlier)
