"""The ZAE inventory's outputs: `foncier zae inventory` files and the API's three formats.

The CNIG tables (CSV, and the GeoPackage layers with their geometry as GeoJSON) pass the
standard's Table Schemas with frictionless; the private person of the fixture is named in no
file, no layer and no answer.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from frictionless import Resource, Schema
from typer.testing import CliRunner

from api.app import create_app
from cli import app as cli_app
from config import ApiSettings, DatabaseSettings
from score.zae import LEGAL_LABEL
from tests.conftest import FIXTURES
from tests.score.test_zae import EPCI, ZAE_DIR, load_fixture

SCHEMAS = FIXTURES / "cnig_sites_economiques"
TABLES = {"site_eco": "site-eco", "terrain_eco": "terrain-eco", "etablissement": "etablissement"}
GEOMETRY = {
    "site_eco": "site_geomsurf",
    "terrain_eco": "terr_geomsurf",
    "etablissement": "etab_geompoint",
}
# The private person's name in the owners fixture, and its parts.
PRIVATE = ("DUPONT", "JEANNE")


def _schema(table: str) -> Schema:
    descriptor = json.loads((SCHEMAS / f"{TABLES[table]}.schema.json").read_text("utf-8"))
    return Schema.from_descriptor(descriptor)


def _errors(directory: Path, table: str) -> list[list[object]]:
    report = Resource(
        path=f"{table}.csv", basepath=str(directory), schema=_schema(table)
    ).validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])  # type: ignore[no-any-return]


def _gpkg_as_csv(gpkg: Path, table: str, directory: Path) -> None:
    """A GeoPackage layer as the CNIG CSV: its geometry as GeoJSON (WGS84) in the CNIG field."""
    frame = pyogrio.read_dataframe(gpkg, layer=table).to_crs(4326)
    fields = json.loads((SCHEMAS / f"{TABLES[table]}.schema.json").read_text("utf-8"))["fields"]
    names = [f["name"] for f in fields]
    with (directory / f"{table}.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for record, geom in zip(
            frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True
        ):
            row = {k: ("" if v is None else v) for k, v in record.items()}
            writer.writerow({**row, GEOMETRY[table]: shapely.to_geojson(geom)})


def _no_private_name(data: bytes | str, where: str) -> None:
    text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    for part in PRIVATE:
        assert part not in text.upper(), f"{part} in {where}"


@pytest.fixture
def inventory_dir(load, db_settings: DatabaseSettings, tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    load_fixture(load)
    monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    out = tmp_path / "inventaire"
    result = CliRunner().invoke(
        cli_app, ["zae", "inventory", "--epci", EPCI, "--out", str(out), "--year", "2026"]
    )
    assert result.exit_code == 0, result.output
    assert "6 land units, 2 vacant (33.3 %" in result.output
    return out


def test_cli_csv_and_geopackage_pass_the_cnig_table_schemas(
    inventory_dir: Path, tmp_path: Path
) -> None:
    for table in TABLES:
        assert _errors(inventory_dir, table) == [], table
    gpkg = inventory_dir / f"inventaire_zae_{EPCI}.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert layers == {*TABLES, "unite_fonciere"}
    from_gpkg = tmp_path / "from_gpkg"
    from_gpkg.mkdir()
    for table in TABLES:
        _gpkg_as_csv(gpkg, table, from_gpkg)
        assert _errors(from_gpkg, table) == [], table
    # The validator bites: a vacancy rate that is not a number is refused.
    with (inventory_dir / "site_eco.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert (
        rows[0]["site_uf_nbre"],
        rows[0]["site_uf_vacant_nbre"],
        rows[0]["site_taux_vacance"],
    ) == ("6", "2", "33.3")
    rows[0]["site_taux_vacance"] = "33,3 %"
    with (tmp_path / "site_eco.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert [e[1] for e in _errors(tmp_path, "site_eco")] == ["site_taux_vacance"]


def test_cli_files_name_legal_persons_and_never_the_private_person(inventory_dir: Path) -> None:
    files = sorted(inventory_dir.iterdir())
    assert [f.name for f in files] == [
        "etablissement.csv",
        "inventaire.json",
        f"inventaire_zae_{EPCI}.gpkg",
        "rapport_inventaire_zae.html",
        "site_eco.csv",
        "terrain_eco.csv",
        "unites_foncieres.csv",
    ]
    for path in files:
        _no_private_name(path.read_bytes(), path.name)
    gpkg = inventory_dir / f"inventaire_zae_{EPCI}.gpkg"
    with sqlite3.connect(gpkg) as db:
        owners = {r[0] for r in db.execute("SELECT proprietaire_nom FROM unite_fonciere")}
    assert owners == {
        "SOCIETE DES ENTREPOTS DU SECTEUR C",
        "COMMUNE DE MORANGIS",
        "personne physique",
        "",
    }
    report = (inventory_dir / "rapport_inventaire_zae.html").read_text("utf-8")
    assert "33,3 %" in report and "2 unités foncières vacantes sur 6" in report
    assert "COMMUNE DE MORANGIS" in report and "personne physique" in report


def test_api_serves_the_three_formats_without_the_private_name(  # type: ignore[no-untyped-def]
    load, db_settings: DatabaseSettings
) -> None:
    load_fixture(load, cfe=False)
    app = create_app(ApiSettings(key_salt="test-salt"), db_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        url = f"/territories/epci/{EPCI}/zae-inventory"
        html = client.get(url, params={"year": 2026})
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "50,0 %" in html.text and "vacance apparente" in html.text
        assert 'href="?f=gpkg&amp;year=2026"' in html.text  # the page's download links
        gpkg = client.get(url, params={"f": "gpkg", "year": 2026})
        assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
        zipped = client.get(url, params={"f": "csv", "year": 2026})
        assert zipped.status_code == 200
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            texts = {n: archive.read(n).decode("utf-8") for n in archive.namelist()}
        assert sorted(texts) == [
            "etablissement.csv",
            "site_eco.csv",
            "terrain_eco.csv",
            "unites_foncieres.csv",
        ]
        site = next(csv.DictReader(io.StringIO(texts["site_eco.csv"])))
        assert site["site_taux_vacance"] == "50" and "vacance apparente" in site["site_description"]
        for where, body in [("html", html.text), ("gpkg", gpkg.content), *texts.items()]:
            _no_private_name(body, where)
        assert client.get(url, params={"f": "pdf"}).status_code == 400
        items = client.get("/collections/zae/items").json()["features"]
        assert [(i["id"], i["properties"]["status"]) for i in items] == [
            ("91432_SITE-ECO_00001", "validated")
        ]
        missing = client.get("/territories/epci/999999999/zae-inventory")
        assert missing.status_code == 404


def _changed_fixtures(directory: Path) -> dict[str, Path]:
    """The fixtures six years on, changed by hand: the SAS sold C0481 to the commune, its
    warehouse on C0456 closed in 2029 and a new establishment opened on C0370 in 2030, and the
    CFE file is the 2031 one."""
    out = {}
    lines = (ZAE_DIR / "parcelles_personnes_morales_91.csv").read_text("utf-8").splitlines()
    commune = next(line for line in lines if "COMMUNE DE MORANGIS" in line).split(";")
    (sold,) = [i for i, line in enumerate(lines) if ";0481;" in line]
    lines[sold] = ";".join(lines[sold].split(";")[:17] + commune[17:])  # the rights columns
    out["owners"] = directory / "pm.csv"
    out["owners"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (ZAE_DIR / "stock_etablissement_morangis.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    warehouse = next(r for r in rows if r["siret"] == "10000000900015")
    warehouse.update(etatAdministratifEtablissement="F", dateDebut="2029-03-31")
    opened = {**warehouse, "siren": "100000041", "nic": "00019", "siret": "10000004100019"}
    opened.update(
        etatAdministratifEtablissement="A",
        dateDebut="2030-02-01",
        dateCreationEtablissement="2030-02-01",
        coordonneeLambertAbscisseEtablissement="651960.0",
        coordonneeLambertOrdonneeEtablissement="6845273.6",
        enseigne1Etablissement="LOGISTIQUE DU SECTEUR C",
    )
    out["establishments"] = directory / "sirene.csv"
    with out["establishments"].open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, opened])
    cfe = (ZAE_DIR / "cfe_locaux_morangis_2025.csv").read_text(encoding="utf-8")
    out["cfe"] = directory / "cfe.csv"
    out["cfe"].write_text(cfe.replace(";2025", ";2031"), encoding="utf-8")
    return out


def test_the_six_year_update_lists_exactly_the_fixtures_changes(  # type: ignore[no-untyped-def]
    inventory_dir: Path, load, tmp_path: Path
) -> None:
    saved = json.loads((inventory_dir / "inventaire.json").read_text("utf-8"))
    assert (saved["reference"], len(saved["units"])) == ("2026-01-01", 6)
    for layer, path in _changed_fixtures(tmp_path).items():
        assert load(layer, path).quarantined == 0
    out = tmp_path / "inventaire_2032"
    result = CliRunner().invoke(
        cli_app,
        [
            "zae",
            "inventory",
            "--epci",
            EPCI,
            "--out",
            str(out),
            "--year",
            "2032",
            "--previous",
            str(inventory_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    with (out / "evolutions.csv").open(encoding="utf-8") as fh:
        changes = [
            (r["changement"], r["avant"], r["apres"], r["detail"]) for r in csv.DictReader(fh)
        ]
    zone = "91432_SITE-ECO_00001"
    assert changes == [
        ("taux de vacance", "2/6", "1/5", LEGAL_LABEL),
        (
            "occupants",
            "1",
            "1",
            f"{zone}-UF001 -> {zone}-UF001 ; partis : 10000000900015 ; arrivés : 10000004100019",
        ),
        ("fusion", f"{zone}-UF003 + {zone}-UF005", f"{zone}-UF003", ""),
    ]
    report = (out / "rapport_inventaire_zae.html").read_text("utf-8")
    assert f"Évolutions depuis l'inventaire du {saved['established']}" in report
    for path in out.iterdir():
        _no_private_name(path.read_bytes(), path.name)
