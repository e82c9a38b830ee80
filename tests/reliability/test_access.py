"""Access: every write route refuses anonymous, unknown, revoked and out-of-scope keys; hidden
fields never leave the server for anonymous readers, whatever the format; keys are never logged.

The write routes and the restricted properties are discovered (app routes, collection
registry), so a new write endpoint or a new hidden field is covered without editing this file.
"""

from __future__ import annotations

import io
import signal
import subprocess
from collections.abc import Iterator

import httpx
import mapbox_vector_tile
import morecantile
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.collections import COLLECTIONS
from config import DatabaseSettings
from tests.live_server import start_server, stop_server
from tests.reliability.conftest import REL_SETTINGS, snapshot
from tests.reliability.test_hostile import all_routes

TMS = morecantile.tms.get("WebMercatorQuad")
# Values of the restricted fields in tests/fixtures/api_land.sql: none may reach an anonymous
# reader, in any format.
SECRETS = ("Dupont", "06 01 02 03 04", "contact@example.org", "dev@example.org", "Mme Martin")
# A draft action sheet's title (restricted_rows): no anonymous reader may see the row at all.
DRAFT_TITLE = "Fiche brouillon confidentielle"
RESTRICTED = {c.id: {p.name for p in c.props if p.restricted} for c in COLLECTIONS.values()}
WITH_SECRETS = [cid for cid, names in RESTRICTED.items() if names]
REL_SHEET = "2023-ti-8401-REL"
# One request per write route: (method, concrete path, body, the commune it touches).
WRITE_CASES = {
    ("PATCH", "/sites/{site_id}"): ("/sites/site-chassenard", {"maturite": "vendu"}),
    ("POST", "/sites"): (
        "/sites",
        {"id": "site-acc-new", "nom": "x", "insee": "03063", "lon": 3.97, "lat": 46.46},
    ),
    ("POST", "/territories/{kind}/{code}/scenarios"): (
        "/territories/commune/03063/scenarios",
        {"name": "x", "projects": []},
    ),
    ("PUT", "/sites/{site_id}/checklist/{item}"): (
        "/sites/site-chassenard/checklist/land_control",
        {"status": "done", "value": "public"},
    ),
    ("PATCH", "/sites/{site_id}/checklist/{item}"): (
        "/sites/site-chassenard/checklist/land_control",
        {"status": "done"},
    ),
    ("DELETE", "/sites/{site_id}/checklist/{item}"): (
        "/sites/site-chassenard/checklist/land_control",
        None,
    ),
    # The scope is checked before the file: an out-of-scope key learns nothing of its checks.
    ("POST", "/sites/{site_id}/evidence"): ("/sites/site-chassenard/evidence?filename=a.pdf", {}),
    # A draft action sheet of ti-8401 (region 84, no Grand Paris member): contract_sheet below.
    ("POST", "/contracts/sheets"): (
        "/contracts/sheets",
        {"id_ti": "ti-8401", "code": "N1", "title": "Nouvelle", "axis": "attirer"},
    ),
    ("PATCH", "/contracts/sheets/{sheet_id}"): (f"/contracts/sheets/{REL_SHEET}", {"pilot": "x"}),
    **{
        ("POST", f"/contracts/sheets/{{sheet_id}}/{move}"): (
            f"/contracts/sheets/{REL_SHEET}/{move}",
            {"comment": "pourquoi"},
        )
        for move in ("submit", "validate", "send-back")
    },
}
# POST for its body's size, not to write: the stateless ZAN simulation and the investor's
# project matching (a read of the public sites) answer anyone.
COMPUTATIONS = {("POST", "/territories/{kind}/{code}/simulate"), ("POST", "/search/match")}
# Keyless by design: the signed, expiring link of `foncier sites remind` is the credential
# (a forged or expired one writes nothing: tests/api/test_freshness.py).
SIGNED_LINKS = {("POST", "/disponibilite/{token}")}


def write_routes(client: TestClient) -> list[tuple[str, str]]:
    return sorted(
        {(m, p) for m, p in all_routes(client.app.routes) if m not in ("GET", "HEAD")}  # type: ignore[attr-defined]
    )


def test_every_write_route_is_covered(rel_client: TestClient) -> None:
    assert write_routes(rel_client) == sorted(set(WRITE_CASES) | COMPUTATIONS | SIGNED_LINKS)
    assert WITH_SECRETS == ["sites", "friches", "contract_sheets"]


@pytest.fixture(scope="module")
def contract_sheet(rel_db: DatabaseSettings) -> str:
    """The draft action sheet the contract write routes are tried on."""
    import psycopg

    with psycopg.connect(rel_db.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO ti_action_sheet (id, programme, id_ti, code, title, axis, status) "
            "VALUES (%s, 2023, 'ti-8401', 'REL', 'Fiche', 'attirer', 'idea') "
            "ON CONFLICT DO NOTHING",
            (REL_SHEET,),
        )
    return REL_SHEET


@pytest.mark.parametrize("route", sorted(WRITE_CASES))
def test_writes_refuse_anonymous_unknown_revoked_and_out_of_scope(
    rel_client: TestClient,
    rel_keys: dict[str, str],
    engine: Engine,
    route: tuple[str, str],
    contract_sheet: str,  # noqa: ARG001 - requested for its side effect: the sheet exists
) -> None:
    method, _ = route
    path, body = WRITE_CASES[route]
    revoked = _revoked_key(rel_client, engine)
    before = snapshot(engine)
    # Chassenard (03063) is in region 84 and outside the Grand Paris EPCI key's scope.
    for headers, status in (
        ({}, 401),
        ({"X-API-Key": ""}, 401),
        ({"X-API-Key": "fon_" + "A" * 43}, 401),
        ({"X-API-Key": rel_keys["admin"] + " "}, 401),
        ({"X-API-Key": rel_keys["admin"].upper()}, 401),
        ({"X-API-Key": revoked}, 401),
        ({"X-API-Key": rel_keys["epci_editor"]}, 403),
        ({"Authorization": f"Bearer {rel_keys['admin']}"}, 401),  # only X-API-Key counts
    ):
        r = rel_client.request(method, path, json=body, headers=headers)
        assert r.status_code == status, (headers, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert rel_keys["admin"] not in r.text
    # The key in the query string is not a key (an unknown parameter, refused before any auth).
    r = rel_client.request(method, path, params={"X-API-Key": rel_keys["admin"]}, json=body)
    assert r.status_code in (400, 401), r.text
    assert rel_keys["admin"] not in r.text
    assert snapshot(engine) == before


def test_the_simulation_writes_nothing(rel_client: TestClient, engine: Engine) -> None:
    before = snapshot(engine)
    r = rel_client.post("/territories/commune/03063/simulate", json={"projects": []})
    # 404: this fixture loads no ENAF flows; the simulation is tested in tests/api/test_simulate.
    assert r.status_code in (200, 404), r.text
    assert snapshot(engine) == before


def _revoked_key(client: TestClient, engine: Engine) -> str:
    from api.auth import create_key
    from db.engine import connect_raw

    settings = DatabaseSettings(database_url=engine.url.render_as_string(hide_password=False))
    with connect_raw(settings) as conn:
        key_id, key = create_key(conn, REL_SETTINGS, "revoked", "admin", "national")
        conn.execute("UPDATE api_key SET active = false WHERE id = %s", (key_id,))
        conn.commit()
    assert client.get("/collections/sites/items", headers={"X-API-Key": key}).status_code == 401
    return key


# --- hidden fields -----------------------------------------------------------------------------


def _no_secret(data: bytes, where: str) -> None:
    for secret in (*SECRETS, DRAFT_TITLE):
        assert secret.encode() not in data, f"{secret!r} leaked in {where}"
    for names in RESTRICTED.values():
        for name in names:
            assert name.encode() not in data, f"restricted field {name} named in {where}"


@pytest.fixture(scope="module")
def restricted_rows(rel_db: DatabaseSettings) -> Iterator[None]:
    """The rows the hidden-field tests need beyond api_land.sql: for ``contract_sheets``, a
    validated sheet and a draft, both placed at site-morangis-1 (the Morangis tile)."""
    import psycopg

    sheets = [("2023-ti-8401-RELV", "RELV", "Fiche validée", "validated")]
    sheets.append(("2023-ti-8401-RELD", "RELD", DRAFT_TITLE, "draft"))
    with psycopg.connect(rel_db.psycopg_dsn) as conn:
        for sheet_id, code, title, workflow in sheets:
            conn.execute(
                "INSERT INTO ti_action_sheet (id, programme, id_ti, code, title, axis, status, "
                "workflow) VALUES (%s, 2023, 'ti-8401', %s, %s, 'attirer', 'idea', %s)",
                (sheet_id, code, title, workflow),
            )
            conn.execute(
                "INSERT INTO ti_action_place (sheet_id, place_type, place_id) "
                "VALUES (%s, 'site', 'site-morangis-1')",
                (sheet_id,),
            )
    yield
    with psycopg.connect(rel_db.psycopg_dsn) as conn:
        conn.execute("DELETE FROM ti_action_sheet WHERE id = ANY(%s)", ([s[0] for s in sheets],))


@pytest.mark.usefixtures("restricted_rows")
@pytest.mark.parametrize("cid", WITH_SECRETS)
def test_hidden_fields_never_reach_anonymous_readers(rel_client: TestClient, cid: str) -> None:
    for path, params in (
        (f"/collections/{cid}/items", {"limit": 500}),
        (f"/collections/{cid}/items", {"limit": 500, "crs": "EPSG:2154"}),
        (f"/collections/{cid}/export", {"format": "geojson"}),
        (f"/collections/{cid}/export", {"format": "csv", "bom": "true"}),
        (f"/collections/{cid}/queryables", {}),
        (f"/collections/{cid}/tiles/WebMercatorQuad/tilejson.json", {}),
        (f"/collections/{cid}", {}),
        ("/api", {}),
    ):
        r = rel_client.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        if path != "/api":  # the OpenAPI document may describe the parameters, never values
            _no_secret(r.content, f"{path} {params}")
        else:
            for secret in SECRETS:
                assert secret.encode() not in r.content
    # The item of a site carrying a price and a contact.
    ids = [f["id"] for f in rel_client.get(f"/collections/{cid}/items").json()["features"]]
    for fid in ids:
        _no_secret(rel_client.get(f"/collections/{cid}/items/{fid}").content, f"{cid}/{fid}")
    # Asking for them by name is refused, in every way a reader could try.
    for name in RESTRICTED[cid]:
        for params in (
            {"properties": name},
            {"sortby": name},
            {name: "x"},
            {"filter": f"{name} IS NULL"},
        ):
            assert rel_client.get(f"/collections/{cid}/items", params=params).status_code == 400
            assert rel_client.get(f"/collections/{cid}/export", params=params).status_code == 400


@pytest.mark.usefixtures("restricted_rows")
@pytest.mark.parametrize("cid", WITH_SECRETS)
def test_geopackage_export_has_no_hidden_column(rel_client: TestClient, cid: str) -> None:
    r = rel_client.get(f"/collections/{cid}/export", params={"format": "gpkg"})
    assert r.status_code == 200
    frame = pyogrio.read_dataframe(io.BytesIO(r.content))
    assert not RESTRICTED[cid] & set(frame.columns)
    assert len(frame) > 0
    _no_secret(frame.to_csv().encode(), f"{cid} GeoPackage")


@pytest.mark.usefixtures("restricted_rows")
@pytest.mark.parametrize("cid", WITH_SECRETS)
def test_vector_tiles_carry_no_hidden_field(
    rel_client: TestClient, rel_keys: dict[str, str], cid: str
) -> None:
    t = TMS.tile(2.3360, 48.7020, 14)  # Morangis: the priced sites and the owned brownfield
    path = f"/collections/{cid}/tiles/WebMercatorQuad/14/{t.x}/{t.y}"
    r = rel_client.get(path)
    assert r.status_code == 200
    layers = mapbox_vector_tile.decode(r.content)
    features = [f for layer in layers.values() for f in layer["features"]]
    assert features
    for f in features:
        assert not RESTRICTED[cid] & set(f["properties"]), f["properties"]
    _no_secret(r.content, path)
    # A key holder's tile may carry them, and is never cached as public.
    private = rel_client.get(path, headers={"X-API-Key": rel_keys["admin"]})
    assert private.headers["cache-control"].startswith("private")
    assert private.headers["etag"] != r.headers["etag"]


def test_search_compare_and_territories_hide_them(rel_client: TestClient) -> None:
    for path, params in (
        ("/search", {"limit": 200}),
        ("/search", {"kind": "sites", "turnkey_only": "true"}),
        ("/sites/compare", {"ids": "site-morangis-1,site-morangis-2,site-chassenard"}),
        ("/territories/epci/200054781", {}),
        ("/territories/departement/91", {}),
        ("/territories/region/84", {}),
        ("/territories/territoire-2023/ti-2703", {}),
    ):
        r = rel_client.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        _no_secret(r.content, path)


# --- keys are never logged ---------------------------------------------------------------------


@pytest.fixture
def logged_server(rel_db: DatabaseSettings) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Uvicorn at debug level, stdout and stderr captured, on the reliability database."""
    base, proc = start_server(
        rel_db.database_url,
        env={"FONCIER_API_KEY_SALT": REL_SETTINGS.key_salt},
        log_level="debug",
        capture=True,
    )
    yield base, proc
    stop_server(proc)


def test_api_keys_never_appear_in_logs(
    logged_server: tuple[str, subprocess.Popen[str]], rel_keys: dict[str, str], engine: Engine
) -> None:
    base, proc = logged_server
    key = rel_keys["admin"]
    editor = rel_keys["epci_editor"]
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/collections/sites/items", headers={"X-API-Key": key}).status_code == 200
        client.patch(
            "/sites/site-athis", json={"maturite": "disponible"}, headers={"X-API-Key": key}
        )
        client.patch(
            "/sites/site-chassenard", json={"maturite": "x"}, headers={"X-API-Key": editor}
        )
        client.get("/collections/sites/items", headers={"X-API-Key": key + "x"})  # unknown: 401
        client.get("/collections/sites/items", params={"nom": "\x00"}, headers={"X-API-Key": key})
        client.post(
            "/sites",
            content=b"{bad json",
            headers={"X-API-Key": key, "content-type": "application/json"},
        )
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert "GET /collections/sites/items" in out  # the access log was captured
    assert "refused value" in out  # and the app's own warnings
    for secret in (key, editor, key + "x"):
        assert secret not in out
        assert secret[4:20] not in out  # nor a fragment of it
    with engine.connect() as conn:
        audit = conn.execute(
            text("SELECT string_agg(actor || ' ' || changes::text, '|') FROM audit")
        ).scalar()
    assert key not in str(audit)
