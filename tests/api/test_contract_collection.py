"""The ``contract_sheets`` collection (issue 17): the example contract's sheets with a place, one
feature per (sheet, place), public only once validated and without the workflow state."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import morecantile
import pyogrio
import pytest
from fastapi.testclient import TestClient

from config import DatabaseSettings
from db.engine import connect_raw
from ingest.contracts import SAMPLE_CONTRACTS, import_workbook
from tests.conftest import SAMPLES
from tests.live_server import live_server

ITEMS = "/collections/contract_sheets/items"
VALIDATED = "2023-ti-2701-F07"  # placed at Morteau (25411) in the sample's Lieux sheet
DRAFT_FEATURE = "2023-ti-2701-F08:commune:25356"
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def example_contract(api_db: DatabaseSettings) -> Iterator[DatabaseSettings]:
    """The samples' example contract of ti-2701, as imported: every sheet a draft."""
    path, territory = SAMPLE_CONTRACTS[0]
    with connect_raw(api_db) as conn:
        import_workbook(conn, SAMPLES / path, territory)
        conn.commit()
    yield api_db
    with connect_raw(api_db) as conn:
        conn.execute("DELETE FROM ti_action_sheet WHERE id_ti = 'ti-2701'")
        conn.execute("DELETE FROM ti_governance WHERE id_ti = 'ti-2701'")
        conn.execute("DELETE FROM ti_protocol WHERE id_ti = 'ti-2701'")
        # And the versions and audit rows this module wrote: test_contracts counts a sheet's
        # imports and writes, and must find its own only.
        for table in ("ti_action_sheet", "ti_governance", "ti_protocol"):
            conn.execute(f"DELETE FROM history.{table} WHERE id_ti = 'ti-2701'")
        for table in ("ti_action_funding", "ti_action_indicator", "ti_action_place"):
            conn.execute(f"DELETE FROM history.{table} WHERE sheet_id LIKE '2023-ti-2701-%%'")
        conn.execute("DELETE FROM audit WHERE target = %s", (f"contract_sheet:{VALIDATED}",))
        conn.commit()


def _validate(client: TestClient, key: str) -> None:
    """Submit and validate VALIDATED through the API (the national admin may do both)."""
    headers = {"X-API-Key": key}
    if client.get(f"/contracts/sheets/{VALIDATED}", headers=headers).json()["workflow"] == (
        "validated"
    ):
        return
    for move in ("submit", "validate"):
        r = client.post(f"/contracts/sheets/{VALIDATED}/{move}", headers=headers)
        assert r.status_code == 200, r.text


def _morteau_tile(client: TestClient, headers: dict[str, str]) -> tuple[int, str]:
    t = TMS.tile(6.554, 47.057, 10)  # Morteau's centre; its point on surface is in this tile
    r = client.get(
        f"/collections/contract_sheets/tiles/WebMercatorQuad/10/{t.x}/{t.y}", headers=headers
    )
    assert r.status_code in (200, 204), r.text
    return len(r.content), r.headers["etag"]


def test_drafts_stay_hidden_until_a_sheet_is_validated(
    client: TestClient, keys: dict[str, str], example_contract: DatabaseSettings
) -> None:
    admin = {"X-API-Key": keys["admin"]}
    ti = {"id_ti": "ti-2701", "limit": 100}
    # Imported, every sheet is a draft: nothing public, all five places for a key holder.
    assert client.get(ITEMS, params=ti).json()["features"] == []
    assert client.get(f"{ITEMS}/{DRAFT_FEATURE}").status_code == 404
    keyed = client.get(ITEMS, params=ti, headers=admin).json()["features"]
    assert len(keyed) == 5
    assert {f["properties"]["workflow"] for f in keyed} == {"draft"}
    _, etag_before = _morteau_tile(client, {})
    _validate(client, keys["admin"])
    body = client.get(ITEMS, params=ti).json()
    assert body["numberMatched"] == 1
    [feature] = body["features"]
    assert feature["id"] == f"{VALIDATED}:commune:25411"
    assert feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert "workflow" not in props
    assert {k: props[k] for k in ("sheet_id", "programme", "id_ti", "is_example")} == {
        "sheet_id": VALIDATED,
        "programme": 2023,
        "id_ti": "ti-2701",
        "is_example": True,
    }
    assert (props["place_kind"], props["place_id"], props["place_precision"]) == (
        "commune",
        "25411",
        "surface",
    )
    assert props["axis"] and props["title"] and props["status"]
    # The point stands inside the commune it represents.
    lon, lat = feature["geometry"]["coordinates"]
    with connect_raw(example_contract) as conn:
        inside = conn.execute(
            "SELECT ST_Contains(geom, ST_Transform(ST_SetSRID(ST_Point(%s, %s), 4326), "
            "ST_SRID(geom))) FROM commune WHERE insee = '25411'",
            (lon, lat),
        ).fetchone()
    assert inside == (True,)
    # The draft beside it stays hidden, and the workflow cannot be asked for anonymously.
    assert client.get(f"{ITEMS}/{DRAFT_FEATURE}").status_code == 404
    assert client.get(f"{ITEMS}/{DRAFT_FEATURE}", headers=admin).status_code == 200
    assert client.get(ITEMS, params={"workflow": "draft"}).status_code == 400
    # The validation moved the collection's version: the public tile is a new one, not a 304.
    size, etag_after = _morteau_tile(client, {})
    assert etag_after != etag_before and size > 0


def test_ogr2ogr_reads_the_public_sheets(
    client: TestClient,
    keys: dict[str, str],
    example_contract: DatabaseSettings,
    tmp_path: Path,
) -> None:
    _validate(client, keys["admin"])
    dest = tmp_path / "fiches.gpkg"
    with live_server(example_contract.database_url) as base:
        subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(dest), f"OAPIF:{base}/ogc", "contract_sheets"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    frame = pyogrio.read_dataframe(dest)
    assert list(frame["sheet_id"]) == [VALIDATED]
    assert "workflow" not in frame.columns
    assert frame.geometry.iloc[0].geom_type == "Point"
