"""The sites export in the CNIG "sites économiques" names (?schema=cnig), checked against the
standard's TERRAIN-ECO and SITE-ECO Table Schemas with frictionless for the fields it writes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from frictionless import Resource, Schema
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.app import create_app
from config import ROOT, DatabaseSettings
from tests.api.conftest import API_SETTINGS

SCHEMAS = ROOT / "tests" / "fixtures" / "cnig_sites_economiques"  # the CNIG files, as published
MORANGIS_1 = "site-morangis-1"


@pytest.fixture(scope="module")
def client(api_db: DatabaseSettings) -> Iterator[TestClient]:
    """The package's app with its own export limit, so these exports do not use up the
    30 a minute the package's client allows the other export tests."""
    settings = API_SETTINGS.model_copy(update={"exports_per_minute_per_ip": 1000})
    with TestClient(create_app(settings, api_db), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def _networked(engine: Engine) -> Iterator[None]:
    """site-morangis-1 with its electricity connected, broadband not started, two parcels and
    a perimeter; put back as the fixture had it afterwards."""
    _run(
        engine,
        "INSERT INTO site_checklist (site_id, item, status, quantity, actor) VALUES "
        "(:s, 'electricity', 'done', 12, 'test'), (:s, 'broadband', 'not_started', NULL, 'test')",
        "INSERT INTO site_parcel (site_id, idu) VALUES (:s, '91432000AB0012'), "
        "(:s, '91432000AB0011')",
        "UPDATE site SET perimeter = ST_Multi(ST_Buffer(geom, 150, 2)), "
        "confirmed_at = '2026-11-02T10:00:00Z' WHERE id = :s",
    )
    yield
    _run(
        engine,
        "DELETE FROM site_checklist WHERE site_id = :s AND actor = 'test'",
        "DELETE FROM site_parcel WHERE site_id = :s",
        "UPDATE site SET perimeter = NULL, confirmed_at = NULL WHERE id = :s",
    )


def _run(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"s": MORANGIS_1})


def _validate(tmp_path: Path, rows: list[dict[str, str]], table: str) -> list[list[object]]:
    """Frictionless errors of the rows' columns that ``table``'s schema has, against it."""
    descriptor = json.loads((SCHEMAS / f"{table}.schema.json").read_text("utf-8"))
    descriptor["fields"] = [f for f in descriptor["fields"] if f["name"] in rows[0]]
    descriptor.pop("primaryKey", None)
    names = [f["name"] for f in descriptor["fields"]]
    with (tmp_path / f"{table}.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    report = Resource(
        path=f"{table}.csv", basepath=str(tmp_path), schema=Schema.from_descriptor(descriptor)
    ).validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])  # type: ignore[no-any-return]


def _rows(client: TestClient, **headers: str) -> list[dict[str, str]]:
    r = client.get(
        "/collections/sites/export", params={"schema": "cnig", "format": "csv"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="sites-cnig.csv"'
    return list(csv.DictReader(io.StringIO(r.text)))


@pytest.mark.usefixtures("_networked")
def test_cnig_export_passes_the_terrain_eco_and_site_eco_schemas(
    client: TestClient, tmp_path: Path
) -> None:
    rows = _rows(client)
    assert list(rows[0])[:4] == ["terr_id", "site_id", "terr_refcad", "terr_surf_brute"]
    assert "terr_m2_prix" not in rows[0] and "prix_m2" not in rows[0]  # restricted, no key
    # The only departures: a required date or surface geometry the site does not have.
    by_row = {i + 2: r for i, r in enumerate(rows)}
    blanks = ("terr_actu_date", "terr_geomsurf")
    for number, field, kind, _note in _validate(tmp_path, rows, "terrain-eco"):
        assert kind == "constraint-error" and field in blanks, (number, field, kind, _note)
        row = by_row[int(str(number))]
        assert row[str(field)] == "" and row["terr_id"] != MORANGIS_1
    assert _validate(tmp_path, rows, "site-eco") == []
    site = next(r for r in rows if r["terr_id"] == MORANGIS_1)
    assert site["terr_refcad"] == "91432000AB0011|91432000AB0012"
    assert site["terr_surf_brute"] == site["site_surf_brute"] == "12"
    assert site["site_surf_comm_dispo"] == "10"
    assert site["terr_cle_en_main"] == "oui" and site["terr_maitrise_fonc"] == "publique"
    assert site["terr_actu_date"] == "2026-11-02"
    assert next(r for r in rows if r["terr_id"] == "site-athis")["terr_maitrise_fonc"] == (
        "non renseigné"
    )
    assert site["reseau_electrique"] == "oui" and site["reseau_fibre_optique"] == "non"
    assert site["reseau_eau_potable"] == site["reseau_gaz"] == ""  # no checklist row: unknown
    assert json.loads(site["terr_geomsurf"])["type"] == "MultiPolygon"
    lon, lat = (float(v) for v in site["site_geompoint"].split(","))
    assert 2.33 < lon < 2.34 and 48.7 < lat < 48.71
    brownfield = next(r for r in rows if r["terr_id"] == "site-morangis-2")
    assert brownfield["terr_etat_occup"] == "friche" and brownfield["terr_cle_en_main"] == "non"


def test_cnig_export_price_with_a_key_and_default_names_unchanged(
    client: TestClient, keys: dict[str, str]
) -> None:
    rows = _rows(client, **{"X-API-Key": keys["epci_editor"]})
    assert next(r for r in rows if r["terr_id"] == MORANGIS_1)["terr_m2_prix"] == "45"
    plain = client.get("/collections/sites/export", params={"format": "csv"})
    assert plain.text.splitlines()[0].startswith("id;geometry_wkt;nom;")


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("sites", {"schema": "inspire"}, "the only schema is cnig"),
        ("parcels", {"schema": "cnig", "format": "csv"}, "only the sites collection"),
        ("sites", {"schema": "cnig"}, "only format=csv"),
        ("sites", {"schema": "cnig", "format": "csv", "decimal": "comma"}, "decimal"),
    ],
)
def test_cnig_export_refusals(
    client: TestClient, path: str, params: dict[str, str], message: str
) -> None:
    r = client.get(f"/collections/{path}/export", params=params)
    assert r.status_code == 400
    assert message in r.json()["detail"]
