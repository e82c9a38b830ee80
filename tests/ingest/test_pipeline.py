"""What every pipeline guarantees, exercised through the epci/communes layers on a real PostGIS.

Readers of each format, bad inputs (truncated gzip, missing CRS, invalid and empty geometries,
duplicate ids, wrong types, non-UTF-8 text, projected numbers declared as lon/lat), idempotent
re-runs, quarantine contents, run records, strict mode and the atomic swap.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import threading
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, text

from config import ROOT
from ingest.errors import DatabaseDataError, IngestError, SourceError, StrictModeError
from tests.conftest import SAMPLES, scalar

EPCI_SAMPLE = SAMPLES / "admin" / "epci_2022_sample.geojson.gz"
SQUARE = [[[2.30, 48.80], [2.31, 48.80], [2.31, 48.81], [2.30, 48.81], [2.30, 48.80]]]
BOWTIE = [[[2.30, 48.80], [2.31, 48.81], [2.31, 48.80], [2.30, 48.81], [2.30, 48.80]]]


def feature(props: dict[str, object], coords: object = SQUARE, gtype: str = "Polygon") -> dict:
    geometry = None if coords is None else {"type": gtype, "coordinates": coords}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    doc: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    data = json.dumps(doc).encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def epci(siren: str, nom: str = "CA Test", **extra: object) -> dict[str, object]:
    return {"siren_epci": siren, "nom_epci": nom, "type_epci": "CA", **extra}


# --- readers -----------------------------------------------------------------------------------


def test_real_epci_sample_loads_in_lambert93(load, clean_db: Engine) -> None:
    report = load("epci", EPCI_SAMPLE, vintage="2022")
    assert report.status == "succeeded"
    assert report.loaded == report.rows_read == 252
    assert scalar(clean_db, "SELECT count(DISTINCT ST_SRID(geom)) FROM epci") == 1
    assert scalar(clean_db, "SELECT ST_SRID(geom) FROM epci LIMIT 1") == 2154
    assert scalar(clean_db, "SELECT GeometryType(geom) FROM epci LIMIT 1") == "MULTIPOLYGON"
    # Métropole de Lyon: about 534 km² (generalised outline), measured in Lambert-93.
    area_km2 = scalar(clean_db, "SELECT ST_Area(geom) / 1e6 FROM epci WHERE siren = '200046977'")
    assert 500 < float(area_km2) < 570  # type: ignore[arg-type]


def test_communes_then_membership_table(load, clean_db: Engine) -> None:
    load("communes", SAMPLES / "admin" / "communes_2022_sample.geojson.gz")
    assert scalar(clean_db, "SELECT siren_epci FROM commune WHERE insee = '01001'") is None
    report = load("communes", SAMPLES / "admin" / "communes_2026_epci_sample.csv")
    assert report.tables[0].updated > 6000
    row = scalar(
        clean_db, "SELECT siren_epci || ' ' || dep || ' ' || reg FROM commune WHERE insee = '01001'"
    )
    assert row == "200069193 01 84"


def test_membership_of_unknown_commune_is_quarantined(
    load, clean_db: Engine, tmp_path: Path
) -> None:
    csv = tmp_path / "membership.csv"
    csv.write_text("insee_com,siren_epci\n99999,200069193\n", encoding="utf-8")
    report = load("communes", csv)
    assert report.quarantined == 1
    reason = scalar(clean_db, "SELECT reason FROM quarantine")
    assert "unknown commune 99999" in str(reason)


def test_territoires_both_programmes_keep_their_ids(load, clean_db: Engine) -> None:
    ti = SAMPLES / "territoires_industrie"
    load("territoires", ti / "ti_2018_2022_perimetres.geojson.gz")
    load("territoires", ti / "ti_2023_2027_perimetres.geojson.gz")
    load("territoires", ti / "ti_2023_2027_epci.csv")
    with clean_db.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT programme, count(*) FROM territoire GROUP BY 1")).all()
        )
    # 149 perimeters in 2018-2022: the 3 published as points and the 2 geometry collections
    # load too (their perimeters are rebuilt from member communes, see test_territoires.py).
    assert counts == {2018: 149, 2023: 183}
    assert scalar(clean_db, "SELECT count(*) FROM territoire WHERE id_ti = 'ti-0101'") == 2
    natures = scalar(
        clean_db, "SELECT string_agg(DISTINCT nature, ',' ORDER BY nature) FROM territoire_membre"
    )
    assert natures == "COM,EPCI,EPT"


def test_gpkg_zipped_shapefile_and_wkt_csv(load, clean_db: Engine, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"siren_epci": ["200000001", "200000002"], "nom_epci": ["A", "B"]},
        geometry=[
            shapely.box(650000, 6860000, 651000, 6861000),
            shapely.box(652000, 6860000, 653000, 6861000),
        ],
        crs=2154,
    )
    gdf.to_file(tmp_path / "e.gpkg")
    assert load("epci", tmp_path / "e.gpkg").loaded == 2

    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "e.shp")
    with zipfile.ZipFile(tmp_path / "e.zip", "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    report = load("epci", tmp_path / "e.zip")
    # Shapefiles store rings clockwise: the rows are rewritten, the shapes are the same.
    assert report.loaded == 2 and report.tables[0].inserted == 0
    same = (
        "SELECT ST_Equals(geom, ST_Multi(ST_MakeEnvelope(650000, 6860000, 651000, 6861000, 2154)))"
        " FROM epci WHERE siren = '200000001'"
    )
    assert scalar(clean_db, same) is True

    csv = tmp_path / "e.csv"
    csv.write_text(
        "siren_epci;nom_epci;wkt\n"
        "200000003;C;POLYGON((650000 6860000,651000 6860000,651000 6861000,650000 6860000))\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="no CRS"):
        load("epci", csv)
    assert load("epci", csv, crs="EPSG:2154").loaded == 1


# --- bad inputs --------------------------------------------------------------------------------


def test_truncated_gzip_fails_cleanly_and_keeps_the_layer(
    load, clean_db: Engine, tmp_path: Path
) -> None:
    load("epci", EPCI_SAMPLE)
    cut = tmp_path / "cut.geojson.gz"
    cut.write_bytes(EPCI_SAMPLE.read_bytes()[: EPCI_SAMPLE.stat().st_size // 2])
    with pytest.raises(SourceError, match="cut.geojson.gz: corrupt or truncated"):
        load("epci", cut)
    assert scalar(clean_db, "SELECT count(*) FROM epci") == 252


def test_geojson_cut_mid_feature_is_refused(load, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "e.geojson", [feature(epci("200000001"))])
    path.write_text(path.read_text()[:-40])
    with pytest.raises(SourceError, match=r"e\.geojson"):
        load("epci", path)


def test_shapefile_without_prj_needs_crs(load, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"siren_epci": ["200000001"], "nom_epci": ["A"]},
        geometry=[shapely.box(650000, 6860000, 651000, 6861000)],
        crs=2154,
    )
    gdf.to_file(tmp_path / "e.shp")
    (tmp_path / "e.prj").unlink()
    with pytest.raises(SourceError, match="declares no CRS"):
        load("epci", tmp_path / "e.shp")
    assert load("epci", tmp_path / "e.shp", crs="EPSG:2154").loaded == 1
    (tmp_path / "e.dbf").unlink()
    with pytest.raises(SourceError, match="lacks .dbf"):
        load("epci", tmp_path / "e.shp", crs="EPSG:2154")


def test_lambert93_numbers_declared_as_wgs84_are_refused(load, tmp_path: Path) -> None:
    coords = [[[650000, 6860000], [651000, 6860000], [651000, 6861000], [650000, 6860000]]]
    path = write_geojson(tmp_path / "l93.geojson", [feature(epci("200000001"), coords)])
    with pytest.raises(SourceError, match="--crs EPSG:2154"):
        load("epci", path)


def test_non_utf8_text_is_refused_with_its_line_then_loads_with_encoding(
    load, clean_db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.geojson"
    doc = json.dumps(
        {"type": "FeatureCollection", "features": [feature(epci("200000001", "CC Rhône"))]},
        ensure_ascii=False,
    )
    path.write_bytes(doc.encode("latin-1"))
    with pytest.raises(SourceError, match="line 1 is not valid UTF-8"):
        load("epci", path)
    assert load("epci", path, encoding="latin-1").loaded == 1
    assert scalar(clean_db, "SELECT nom FROM epci") == "CC Rhône"


def test_invalid_repaired_empty_duplicate_and_wrong_type_quarantined(
    load, clean_db: Engine, tmp_path: Path
) -> None:
    path = write_geojson(
        tmp_path / "mixed.geojson",
        [
            feature(epci("200000001", "ok")),
            feature(epci("200000002", "bowtie"), BOWTIE),
            feature(epci("200000003", "empty"), []),
            feature(epci("200000004", "no geometry"), None),
            feature(epci("200000001", "duplicate")),
            feature(epci("200000005", "bad population", population="beaucoup")),
            feature(epci("", "no siren")),
            feature(epci("200000006", "a point"), [2.3, 48.8], "Point"),
            feature(
                epci("200000007", "nan"), [[[2.3, 48.8], [2.31, None], [2.31, 48.81], [2.3, 48.8]]]
            ),
        ],
    )
    report = load("epci", path)
    assert (report.rows_read, report.loaded, report.repaired) == (9, 2, 1)
    assert report.quarantined == 7
    with clean_db.connect() as conn:
        rows = conn.execute(
            text("SELECT feature_index, key, reason, raw FROM quarantine ORDER BY feature_index")
        ).all()
        repaired = conn.execute(
            text("SELECT GeometryType(geom), ST_IsValid(geom) FROM epci WHERE siren = '200000002'")
        ).one()
        run = conn.execute(
            text("SELECT rows_read, rows_loaded, rows_repaired, rows_quarantined FROM ingest_run")
        ).one()
    assert repaired == ("MULTIPOLYGON", True)
    assert tuple(run) == (9, 2, 1, 7)
    by_index = {r.feature_index: r for r in rows}
    assert "empty geometry" in by_index[2].reason or "missing geometry" in by_index[2].reason
    assert "missing geometry" in by_index[3].reason
    assert by_index[4].reason == "duplicate key 200000001: already at feature 0"
    assert by_index[4].raw["nom_epci"] == "duplicate"
    assert "wrong type: population = 'beaucoup'" in by_index[5].reason
    assert by_index[6].reason == "missing siren" and by_index[6].key is None
    assert "where a polygon is expected" in by_index[7].reason
    assert by_index[8].feature_index == 8
    assert all(r.raw is not None and "geometry" in r.raw for r in rows)


# --- idempotence, runs, strict mode ------------------------------------------------------------


def test_rerun_changes_nothing_and_records_both_runs(load, clean_db: Engine) -> None:
    first = load("epci", EPCI_SAMPLE, vintage="2022")
    version = scalar(clean_db, "SELECT version FROM layer_version WHERE layer = 'epci'")
    second = load("epci", EPCI_SAMPLE, vintage="2022")
    t = second.tables[0]
    assert (t.inserted, t.updated, t.deleted) == (0, 0, 0)
    assert first.tables[0].inserted == 252
    assert scalar(clean_db, "SELECT version FROM layer_version WHERE layer = 'epci'") == version
    with clean_db.connect() as conn:
        runs = conn.execute(
            text("SELECT sha256, vintage, status FROM ingest_run ORDER BY id")
        ).all()
    digest = hashlib.sha256(EPCI_SAMPLE.read_bytes()).hexdigest()
    assert runs == [(digest, "2022", "succeeded")] * 2


def test_changed_file_updates_and_deletes(load, clean_db: Engine, tmp_path: Path) -> None:
    load(
        "epci",
        write_geojson(
            tmp_path / "v1.geojson",
            [feature(epci("200000001", "A")), feature(epci("200000002", "B"))],
        ),
    )
    report = load(
        "epci", write_geojson(tmp_path / "v2.geojson", [feature(epci("200000001", "A bis"))])
    )
    t = report.tables[0]
    assert (t.inserted, t.updated, t.deleted) == (0, 1, 1)
    assert scalar(clean_db, "SELECT string_agg(nom, ',') FROM epci") == "A bis"


def test_quarantined_key_keeps_its_previous_version(load, clean_db: Engine, tmp_path: Path) -> None:
    load(
        "epci",
        write_geojson(
            tmp_path / "v1.geojson",
            [feature(epci("200000001", "A")), feature(epci("200000002", "B"))],
        ),
    )
    load(
        "epci",
        write_geojson(
            tmp_path / "v2.geojson",
            [feature(epci("200000001", "A")), feature(epci("200000002", "B2"), [])],
        ),
    )
    assert scalar(clean_db, "SELECT nom FROM epci WHERE siren = '200000002'") == "B"


def test_strict_mode_refuses_and_merges_nothing(load, clean_db: Engine, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "s.geojson", [feature(epci("200000001")), feature(epci("200000002"), [])]
    )
    with pytest.raises(StrictModeError, match="feature 1"):
        load("epci", path, strict=True)
    assert scalar(clean_db, "SELECT count(*) FROM epci") == 0
    assert scalar(clean_db, "SELECT status FROM ingest_run") == "failed"
    assert scalar(clean_db, "SELECT count(*) FROM quarantine") == 1


def test_unknown_layer_and_missing_file(load, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="unknown layer 'nope'"):
        load("nope", EPCI_SAMPLE)
    with pytest.raises(SourceError, match="no such file"):
        load("epci", tmp_path / "absent.geojson")


def test_wrong_layout_names_the_missing_column(load, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "x.geojson", [feature({"code": "1"})])
    with pytest.raises(IngestError, match="no column siren_epci / siren"):
        load("epci", path)


# --- atomic swap -------------------------------------------------------------------------------


def test_readers_never_see_half_a_load(load, clean_db: Engine, tmp_path: Path) -> None:
    """A reader polling during a reload sees either the old layer or the new one, never a mix."""
    n = 3000
    v1 = [feature(epci(f"{200000000 + i}", "v1")) for i in range(n)]
    v2 = [feature(epci(f"{200000000 + i}", "v2")) for i in range(0, n, 2)]
    load("epci", write_geojson(tmp_path / "v1.geojson", v1))
    seen: set[tuple[int, int]] = set()
    done = threading.Event()

    def reader() -> None:
        with clean_db.connect() as conn:
            while not done.is_set():
                seen.add(
                    tuple(
                        conn.execute(
                            text("SELECT count(*), count(*) FILTER (WHERE nom = 'v2') FROM epci")
                        ).one()
                    )
                )
                conn.rollback()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        # Half the rows: a deliberate replacement (the shrink guard would refuse it otherwise).
        load("epci", write_geojson(tmp_path / "v2.geojson", v2), allow_shrink=True)
    finally:
        done.set()
        thread.join()
    assert seen <= {(n, 0), (n // 2, n // 2)}, seen
    assert scalar(clean_db, "SELECT count(*) FROM epci") == n // 2


def test_failed_merge_rolls_back_everything(load, clean_db: Engine, tmp_path: Path) -> None:
    """A database error mid-merge (a constraint violated) leaves the previous layer intact."""
    ti = SAMPLES / "territoires_industrie" / "ti_2023_2027_epci.csv"
    load("territoires", ti)
    before = scalar(clean_db, "SELECT count(*) FROM territoire_membre")
    bad = tmp_path / "ti_2023_members.csv"
    bad.write_text(
        "id_ti,siren_groupement,nature_groupement\nti-8401,200000001,XYZ\n", encoding="utf-8"
    )
    with pytest.raises(DatabaseDataError, match="the database refused a value of the file"):
        # A one-row file replacing 641: the shrink guard is lifted to reach the merge's error.
        load("territoires", bad, allow_shrink=True)
    assert scalar(clean_db, "SELECT count(*) FROM territoire_membre") == before
    assert scalar(clean_db, "SELECT status FROM ingest_run ORDER BY id DESC LIMIT 1") == "failed"


# --- the command line --------------------------------------------------------------------------


def _cli(args: list[str], db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "COLUMNS": "200"}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "foncier"), *args], capture_output=True, text=True, env=env
    )


@pytest.mark.usefixtures("clean_db")
def test_cli_exit_codes_and_summary(db_settings, tmp_path: Path) -> None:
    url = db_settings.database_url
    ok = _cli(["ingest", "epci", str(EPCI_SAMPLE)], url)
    assert ok.returncode == 0, ok.stderr
    assert "Ingest summary" in ok.stderr and "252" in ok.stderr
    # A log (not a terminal) gets every column whole: file name and headers, no "…".
    assert EPCI_SAMPLE.name in ok.stderr and "quarantined" in ok.stderr and "…" not in ok.stderr
    bad = write_geojson(
        tmp_path / "s.geojson", [feature(epci("200000009")), feature(epci("x"), [])]
    )
    strict = _cli(["ingest", "epci", str(bad), "--strict"], url)
    assert strict.returncode == 3 and "quarantined" in strict.stderr
    missing = _cli(["ingest", "epci", str(tmp_path / "nope.geojson")], url)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    usage = _cli(["ingest", "unknown-layer", str(EPCI_SAMPLE)], url)
    assert usage.returncode == 2 and "unknown layer" in usage.stderr


def test_sql_repair_quarantines_what_keeps_no_area(load, clean_db: Engine, tmp_path: Path) -> None:
    # Validity is left to PostGIS: a there-and-back ring becomes a line under ST_MakeValid,
    # nothing polygonal is left and the row is quarantined; the bow-tie is repaired and counted.
    flat = [[[2.3, 48.8], [2.31, 48.81], [2.3, 48.8], [2.31, 48.81], [2.3, 48.8]]]
    path = write_geojson(
        tmp_path / "flat.geojson",
        [feature(epci("200000001", "bowtie"), BOWTIE), feature(epci("200000002", "flat"), flat)],
    )
    report = load("epci", path)
    assert (report.loaded, report.repaired, report.quarantined) == (1, 1, 1)
    with clean_db.connect() as conn:
        reason, raw = conn.execute(text("SELECT reason, raw FROM quarantine")).one()
        run = conn.execute(text("SELECT rows_repaired FROM ingest_run")).scalar_one()
    assert reason == "unrepairable geometry: nothing polygonal left after make_valid"
    assert raw["nom_epci"] == "flat" and "geometry" in raw and run == 1
