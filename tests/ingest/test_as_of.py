"""as_of: the API answers the state before a load (items, and territory figures)."""

from __future__ import annotations

import csv
import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from config import DatabaseSettings
from db.engine import connect_raw
from score.run import score
from tests.api.conftest import API_SETTINGS
from tests.conftest import SAMPLES
from tests.ingest.test_undo import JUVISY, _changed_copy

RIVES = SAMPLES / "zan" / "conso_enaf_2009_2024_scot_rives_du_rhone.csv"
SCOTS = SAMPLES / "zan" / "scot_membres_rives_du_rhone.csv"
SCOT = "scot-des-rives-du-rhone"


@pytest.fixture
def client(db_settings: DatabaseSettings) -> Iterator[TestClient]:
    with TestClient(create_app(API_SETTINGS, db_settings), raise_server_exceptions=False) as c:
        yield c


def _instant() -> str:
    """Now, between two loads (their times are their runs' start)."""
    time.sleep(0.01)
    at = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return at


def _contenances(client: TestClient, **params: str) -> dict[str, int]:
    r = client.get(
        "/collections/parcels/items", params={"insee": "91326", "limit": "500", **params}
    )
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"]["contenance_m2"] for f in r.json()["features"]}


def test_as_of_before_a_reload_answers_the_parcels_of_before(load, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before_load = _instant()
    load("parcels", JUVISY)
    between = _instant()
    first = _contenances(client, sortby="idu")
    load("parcels", _changed_copy(tmp_path))
    now = _contenances(client, sortby="idu")
    assert now != first
    assert _contenances(client, sortby="idu", as_of=between) == first
    assert _contenances(client, as_of=before_load) == {}
    gone = json.loads(gzip.decompress(JUVISY.read_bytes()))["features"][0]["id"]
    assert client.get(f"/collections/parcels/items/{gone}").status_code == 404  # the reload
    r = client.get(f"/collections/parcels/items/{gone}", params={"as_of": between})
    assert r.status_code == 200, r.text  # deleted it; it was there as of then


def _halved(tmp_path: Path) -> Path:
    """The Rives du Rhône flows with every 2021+ consumption halved (a corrected edition)."""
    with RIVES.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    for row in rows:
        for name in fields:
            if name[:3] in ("naf", "art") and name[3:5] in ("21", "22", "23") and row[name]:
                row[name] = str(float(row[name]) / 2)
    out = tmp_path / RIVES.name
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_as_of_territory_figures_are_those_of_before(load, client, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("scots", SCOTS)
    load("enaf", RIVES, vintage="Cerema 2024")
    with connect_raw(db_settings) as conn:
        score(conn)
    url = f"/territories/scot/{SCOT}"
    first = client.get(url).json()["zan"]
    between = _instant()
    load("enaf", _halved(tmp_path), vintage="Cerema 2024 corrigé")
    with connect_raw(db_settings) as conn:
        score(conn)
    now = client.get(url).json()["zan"]
    assert now["consumed_ha"] < first["consumed_ha"]
    then = client.get(url, params={"as_of": between})
    assert then.status_code == 200, then.text
    body = then.json()
    assert body["zan"] == first
    assert body["available_ha"] is None and "as_of_note" in body
    assert client.get(url, params={"as_of": "2001-01-01"}).json()["zan"] is None
