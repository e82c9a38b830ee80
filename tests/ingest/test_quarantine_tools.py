"""Quarantine tools and run listing on real samples: list, show, export, fix, reload.

Each round trip spoils a few rows of a real sample (as tests/ingest/test_pipeline.py and the
reliability suite do), loads it, exports the refused rows in the file's own format, fixes them
there, and loads them back with the rows that loaded: the layer ends as the pristine file
leaves it.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from config import ApiSettings, DatabaseSettings
from db.engine import connect_raw
from db.operations import get_quarantine, list_quarantine, list_runs
from ingest.quarantine_export import ExportError, export_quarantine
from tests.conftest import ROOT, SAMPLES, make_keys

JUVISY = SAMPLES / "cadastre" / "etalab" / "cadastre-91326-parcelles.json.gz"
EPCI_SAMPLE = SAMPLES / "admin" / "epci_2022_sample.geojson.gz"


def snapshot(engine: Engine, table: str, key: str, cols: str) -> dict[str, tuple[object, ...]]:
    """Rows of ``table`` by key: the given columns and the geometry (shapely, EPSG:2154)."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {key}, {cols}, ST_AsBinary(geom) FROM {table}")).all()
    return {r[0]: (*r[1:-1], shapely.from_wkb(bytes(r[-1]))) for r in rows}


def assert_same_rows(
    got: dict[str, tuple[object, ...]], want: dict[str, tuple[object, ...]]
) -> None:
    assert got.keys() == want.keys()
    for key, row in want.items():
        assert got[key][:-1] == row[:-1], key
        geom, expected = got[key][-1], row[-1]
        assert isinstance(geom, shapely.Geometry) and isinstance(expected, shapely.Geometry)
        assert geom.equals_exact(expected, tolerance=0.001), key  # 1 mm in Lambert-93


def export(db: DatabaseSettings, run_id: int, path: Path) -> Path:
    with connect_raw(db) as conn:
        report = export_quarantine(conn, run_id, path)
    assert path.is_file() and report.rows > 0
    return path


def test_etalab_parcels_round_trip(load, clean_db: Engine, db_settings, tmp_path: Path) -> None:
    load("parcels", JUVISY, vintage="2023-04")
    pristine = snapshot(clean_db, "parcel", "idu", "contenance_m2, section, numero")
    features = json.loads(gzip.decompress(JUVISY.read_bytes()))["features"]
    lost_geometry = dict(features[7]["geometry"])
    features[3]["properties"]["id"] = features[3]["properties"]["id"][:11]  # 11 characters
    features[7]["geometry"] = None
    features[9]["properties"]["id"] = features[8]["properties"]["id"]  # a duplicate key
    spoiled = tmp_path / "cadastre-91326-parcelles.json"
    spoiled.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = load("parcels", spoiled, vintage="2023-04")
    assert (report.rows_read, report.quarantined) == (2859, 3)

    with connect_raw(db_settings) as conn:
        listed = list_quarantine(conn, run_id=report.run_id)
        shown = get_quarantine(conn, listed[0].quarantine_id)
        assert list_quarantine(conn, layer="epci") == []
    assert [(q.feature_index, q.reason.split(":")[0]) for q in listed] == [
        (3, f"parcel id '{features[3]['properties']['id']}' has 11 characters, expected 14"),
        (7, "missing geometry"),
        (9, f"duplicate key {features[8]['properties']['id']}"),
    ]
    assert shown is not None and shown.source == str(spoiled) and shown.raw is not None
    assert shown.raw["numero"] == features[3]["properties"]["numero"]
    assert str(shown.raw["geometry"]).startswith("POLYGON ((2.")

    exported = json.loads(
        export(db_settings, report.run_id, tmp_path / "refused.geojson").read_text()
    )
    assert "crs" not in exported  # WGS84, as the source
    assert [f["properties"]["contenance"] for f in exported["features"]] == [
        features[i]["properties"]["contenance"] for i in (3, 7, 9)
    ]
    for f in exported["features"]:  # the fix: each id rebuilt from its parts, one drawing redone
        p = f["properties"]
        p["id"] = p["commune"] + p["prefixe"] + p["section"] + p["numero"].zfill(4)
        f["geometry"] = f["geometry"] or lost_geometry
    kept = [f for i, f in enumerate(features) if i not in (3, 7, 9)]
    fixed = tmp_path / "cadastre-91326-parcelles-fixed.json"
    fixed.write_text(
        json.dumps({"type": "FeatureCollection", "features": kept + exported["features"]})
    )
    again = load("parcels", fixed, vintage="2023-04")
    assert (again.loaded, again.quarantined) == (2859, 0)
    assert_same_rows(
        snapshot(clean_db, "parcel", "idu", "contenance_m2, section, numero"), pristine
    )


def spoiled_epci() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The real EPCI sample in Lambert-93, and a copy with three rows spoiled."""
    pristine = gpd.read_file(f"/vsigzip/{EPCI_SAMPLE}").to_crs(2154)
    spoiled = pristine.copy()
    spoiled["population_2022"] = spoiled["population_2022"].astype(object)
    spoiled.loc[4, "population_2022"] = "beaucoup"
    spoiled.loc[10, "siren_epci"] = None
    spoiled.loc[20, "geometry"] = None
    return pristine, spoiled


EPCI_COLS = "nom, type, population"


def test_geopackage_round_trip(load, clean_db: Engine, db_settings, tmp_path: Path) -> None:
    pristine, spoiled = spoiled_epci()
    pristine.to_file(tmp_path / "epci.gpkg")
    load("epci", tmp_path / "epci.gpkg")
    want = snapshot(clean_db, "epci", "siren", EPCI_COLS)
    spoiled.astype({"population_2022": str}).to_file(tmp_path / "epci-spoiled.gpkg")
    report = load("epci", tmp_path / "epci-spoiled.gpkg")
    assert report.quarantined == 3

    with pytest.raises(ExportError, match=r"written back as gpkg: give a name ending in \.gpkg"):
        export(db_settings, report.run_id, tmp_path / "refused.geojson")
    refused = gpd.read_file(export(db_settings, report.run_id, tmp_path / "refused.gpkg"))
    assert refused.crs.to_epsg() == 2154 and len(refused) == 3
    refused.loc[0, "population_2022"] = str(pristine.loc[4, "population_2022"])  # the fixes
    refused.loc[1, "siren_epci"] = pristine.loc[10, "siren_epci"]
    refused.loc[2, "geometry"] = pristine.loc[20, "geometry"]
    good = spoiled.drop(index=[4, 10, 20]).astype({"population_2022": str})
    pd.concat([good, refused]).to_file(tmp_path / "epci-fixed.gpkg")
    again = load("epci", tmp_path / "epci-fixed.gpkg")
    assert (again.loaded, again.quarantined) == (252, 0)
    assert_same_rows(snapshot(clean_db, "epci", "siren", EPCI_COLS), want)


def test_wkt_csv_round_trip(load, clean_db: Engine, db_settings, tmp_path: Path) -> None:
    pristine, spoiled = spoiled_epci()
    for frame, name in ((pristine, "epci.csv"), (spoiled, "epci-spoiled.csv")):
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["wkt"] = frame.geometry.to_wkt()
        table.to_csv(tmp_path / name, sep=";", index=False)
    load("epci", tmp_path / "epci.csv", crs="EPSG:2154")
    want = snapshot(clean_db, "epci", "siren", EPCI_COLS)
    report = load("epci", tmp_path / "epci-spoiled.csv", crs="EPSG:2154")
    assert report.quarantined == 3

    path = export(db_settings, report.run_id, tmp_path / "refused.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    source_lines = (tmp_path / "epci-spoiled.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == source_lines[0]  # the source's columns, order and delimiter
    rows = list(csv.DictReader(lines, delimiter=";"))
    assert [r["nom_epci"] for r in rows] == list(spoiled.loc[[4, 10, 20], "nom_epci"])
    rows[0]["population_2022"] = str(pristine.loc[4, "population_2022"])
    rows[1]["siren_epci"] = pristine.loc[10, "siren_epci"]
    rows[2]["wkt"] = pristine.loc[20, "geometry"].wkt
    with (tmp_path / "epci-spoiled.csv").open() as fh:
        good = [r for i, r in enumerate(csv.DictReader(fh, delimiter=";")) if i not in (4, 10, 20)]
    with (tmp_path / "epci-fixed.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(good + rows)
    again = load("epci", tmp_path / "epci-fixed.csv", crs="EPSG:2154")
    assert (again.loaded, again.quarantined) == (252, 0)
    assert_same_rows(snapshot(clean_db, "epci", "siren", EPCI_COLS), want)


def test_export_refusals_are_sentences(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = load("epci", EPCI_SAMPLE).run_id
    with connect_raw(db_settings) as conn:
        with pytest.raises(ExportError, match=r"there is no ingest run 999; see `foncier runs`"):
            export_quarantine(conn, 999, tmp_path / "x.geojson")
        with pytest.raises(ExportError, match=rf"run {run} \(.*\) refused no row"):
            export_quarantine(conn, run, tmp_path / "x.geojson")


def test_runs_lists_loads_and_scoring_runs(load, clean_db: Engine, db_settings) -> None:  # type: ignore[no-untyped-def]
    first = load("epci", EPCI_SAMPLE)
    with clean_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO score_run (territory, profile_version, layer_versions, communes,"
                " parcels, sites, seconds) VALUES ('200046977', 'v1', '{}', 59, 1200, 3, 2.5)"
            )
        )
    with connect_raw(db_settings) as conn:
        everything = list_runs(conn)
        epci_only = list_runs(conn, layer="epci", limit=5)
        scores = list_runs(conn, layer="score")
    assert [r.kind for r in everything] == ["score", "ingest"]
    assert epci_only[0].run_id == first.run_id and epci_only[0].status == "succeeded"
    assert epci_only[0].counts == {
        "read": 252, "loaded": 252, "repaired": first.repaired, "quarantined": 0,
        "inserted": 252, "updated": 0, "deleted": 0,
    }  # fmt: skip
    assert scores[0].counts == {"communes": 59, "parcels": 1200, "sites": 3}
    assert scores[0].source == "200046977"


def _cli(args: list[str], db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        check=False,
    )


def test_cli_runs_and_quarantine(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, spoiled = spoiled_epci()
    spoiled.astype({"population_2022": str}).to_file(tmp_path / "epci-spoiled.gpkg")
    run = load("epci", tmp_path / "epci-spoiled.gpkg").run_id
    url = db_settings.database_url
    listed = _cli(["runs", "--layer", "epci", "--json"], url)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["counts"]["quarantined"] == 3
    rows = json.loads(_cli(["quarantine", "list", "--run", str(run), "--json"], url).stdout)
    assert [r["feature_index"] for r in rows] == [4, 10, 20]
    shown = _cli(["quarantine", "show", str(rows[0]["quarantine_id"])], url)
    assert "wrong type: population" in shown.stderr and '"beaucoup"' in shown.stdout
    assert _cli(["quarantine", "show", "999999"], url).returncode == 1
    out = tmp_path / "refused.gpkg"
    done = _cli(["quarantine", "export", "--run", str(run), str(out)], url)
    assert done.returncode == 0 and "3 refused row(s)" in done.stderr and out.is_file()
    wrong = _cli(["quarantine", "export", "--run", str(run), str(tmp_path / "r.csv")], url)
    assert wrong.returncode == 1 and "give a name ending in .gpkg" in " ".join(wrong.stderr.split())


def test_admin_api_serves_runs_and_quarantine(load, db_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, spoiled = spoiled_epci()
    spoiled.astype({"population_2022": str}).to_file(tmp_path / "epci-spoiled.gpkg")
    run = load("epci", tmp_path / "epci-spoiled.gpkg")
    settings = ApiSettings(key_salt="admin-salt")
    keys = make_keys(db_settings, settings)
    with TestClient(create_app(settings, db_settings), raise_server_exceptions=False) as client:
        assert client.get("/admin/runs").status_code == 401
        editor = client.get("/admin/runs", headers={"X-API-Key": keys["region_editor"]})
        assert editor.status_code == 403 and "role admin" in editor.json()["detail"]
        admin = {"X-API-Key": keys["admin"]}
        runs = client.get("/admin/runs", params={"layer": "epci"}, headers=admin).json()["runs"]
        assert [(r["run_id"], r["counts"]["quarantined"]) for r in runs] == [(run.run_id, 3)]
        detail = client.get(f"/admin/runs/{run.run_id}", headers=admin).json()
        assert detail["source"] == str(tmp_path / "epci-spoiled.gpkg")
        assert [q["feature_index"] for q in detail["quarantine"]] == [4, 10, 20]
        listed = client.get("/admin/quarantine", params={"run": run.run_id}, headers=admin)
        rows = listed.json()["rows"]
        assert [r["reason"] for r in rows] == [q["reason"] for q in detail["quarantine"]]
        assert all(r["raw"] is None for r in rows)
        one = client.get(f"/admin/quarantine/{rows[0]['quarantine_id']}", headers=admin).json()
        assert one["raw"]["population_2022"] == "beaucoup" and one["key"] == rows[0]["key"]
        assert client.get("/admin/runs/999999", headers=admin).status_code == 404
        assert client.get("/admin/quarantine/999999", headers=admin).status_code == 404
        assert client.get("/admin/runs", params={"limit": 0}, headers=admin).status_code == 400
        paths = client.get("/api").json()["paths"]
        assert {"/admin/runs", "/admin/runs/{run_id}", "/admin/quarantine"} <= set(paths)
        assert "403" in paths["/admin/quarantine/{quarantine_id}"]["get"]["responses"]
