"""Buildings layer: Etalab ``batiments`` files and BD TOPO ``BATIMENT`` layers, and parcel.built.

No Etalab buildings file of a sample commune exists, so the fixtures are derived (by
tests/ingest/sheet_derived.py, into a temporary directory) from the real EDIGEO sheet AK01 of
commune 25354 (Doubs): its ``BATIMENT_id`` buildings written as an Etalab
``cadastre-25354-batiments.json.gz`` and as a BD TOPO-like ``BATIMENT`` GeoPackage, and its
``PARCELLE_id`` parcels as an Etalab ``cadastre-25354-parcelles.json.gz``. The hand check:
loaded that way, the Etalab parcels get the same ``built`` flag as the sheet gives them.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text

from config import ROOT
from ingest.errors import LayoutError
from ingest.layers.buildings import geometry_digests
from ingest.read import read_batches, read_source
from tests.conftest import SAMPLES, _truncate_all, scalar
from tests.ingest.sheet_derived import Derived, derive_from_sheet

AK01 = SAMPLES / "cadastre" / "edigeo" / "edigeo-25354000AK01.tar.bz2"
COMMUNES = SAMPLES / "admin" / "communes_2022_sample.geojson.gz"
JUVISY = SAMPLES / "cadastre" / "etalab" / "cadastre-91326-parcelles.json.gz"
INSEE = "25354"
# Sheet AK01: 142 parcels, 134 buildings, 68 parcels with more than 10 m2 of building.
PARCELS, BUILDINGS, BUILT = 142, 134, 68


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Derived:
    return derive_from_sheet(AK01, tmp_path_factory.mktemp("ak01"))


def add_commune(engine: Engine, insee: str = INSEE) -> None:
    """The commune from the ADMIN EXPRESS sample, written straight into ``commune``."""
    frame = gpd.read_file(f"/vsigzip/{COMMUNES}")
    row = frame[frame["insee_com"] == insee].to_crs(2154).iloc[0]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO commune (insee, nom, dep, geom)"
                " VALUES (:insee, :nom, :dep, ST_Multi(ST_GeomFromText(:wkt, 2154)))"
            ),
            {
                "insee": insee,
                "nom": row["nom_com"],
                "dep": row["insee_dep"],
                "wkt": row.geometry.wkt,
            },
        )


def built_flags(engine: Engine) -> dict[str, bool | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT idu, built FROM parcel")).all())  # type: ignore[arg-type]


def versions(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT layer, version FROM layer_version")).all())  # type: ignore[arg-type]


@pytest.fixture
def edigeo_flags(load, clean_db: Engine) -> dict[str, bool | None]:  # type: ignore[no-untyped-def]
    """``built`` per parcel as the EDIGEO sheet gives it; the database is emptied afterwards."""
    load("parcels", AK01)
    flags = built_flags(clean_db)
    _truncate_all(clean_db)
    return flags


def counts(report) -> list[tuple[str, int, int, int, int, int]]:  # type: ignore[no-untyped-def]
    return [
        (t.table, t.loaded, t.quarantined, t.inserted, t.updated, t.deleted) for t in report.tables
    ]


# --- the whole flow on Etalab parcels ----------------------------------------------------------


def test_etalab_buildings_flag_etalab_parcels_as_the_sheet_does(
    load, clean_db: Engine, derived: Derived, edigeo_flags: dict[str, bool | None]
) -> None:
    assert len(edigeo_flags) == PARCELS and sum(v is True for v in edigeo_flags.values()) == BUILT
    parcels = load("parcels", derived.etalab_parcels)
    assert counts(parcels) == [("parcel", PARCELS, 0, PARCELS, 0, 0)]
    assert set(built_flags(clean_db).values()) == {None}  # no building layer yet: unknown
    before = versions(clean_db)

    report = load("buildings", derived.etalab_buildings, vintage="Etalab test")
    assert counts(report) == [("building", BUILDINGS, 0, BUILDINGS, 0, 0)]
    flags = built_flags(clean_db)
    assert flags.keys() == edigeo_flags.keys()
    assert flags == edigeo_flags  # the hand check: 68 true, 74 false, as the sheet says
    after = versions(clean_db)
    assert after["buildings"] == before.get("buildings", 0) + 1
    assert after["parcels"] == before["parcels"] + 1
    with clean_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE id ~ '^25354:[0-9a-f]{20}$'),"
                " count(*) FILTER (WHERE insee = '25354' AND sheet IS NULL),"
                " count(*) FILTER (WHERE kind = '01'), count(*) FILTER (WHERE kind = '02'),"
                " min(vintage), count(DISTINCT run_id) FROM building"
            )
        ).one()
        run = conn.execute(
            text(
                "SELECT layer, status, rows_read, rows_loaded, rows_inserted, vintage"
                " FROM ingest_run ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(rows) == (BUILDINGS, BUILDINGS, 98, 36, "Etalab test", 1)
    assert tuple(run) == ("buildings", "succeeded", BUILDINGS, BUILDINGS, BUILDINGS, "Etalab test")

    # A re-run changes nothing: no row, no flag, no layer version.
    again = load("buildings", derived.etalab_buildings, vintage="Etalab test")
    assert counts(again) == [("building", BUILDINGS, 0, 0, 0, 0)]
    assert built_flags(clean_db) == edigeo_flags
    assert versions(clean_db) == after


def test_bdtopo_layer_gives_the_same_flags(
    load, clean_db: Engine, derived: Derived, edigeo_flags: dict[str, bool | None]
) -> None:
    add_commune(clean_db)
    load("parcels", derived.etalab_parcels)
    report = load("buildings", derived.bdtopo)
    assert counts(report) == [("building", BUILDINGS, 0, BUILDINGS, 0, 0)]
    assert built_flags(clean_db) == edigeo_flags
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE id LIKE 'BATIMENT%' AND length(id) = 24),"
                " count(*) FILTER (WHERE insee = '25354'), min(kind) FROM building"
            )
        ).one()
    assert tuple(row) == (BUILDINGS, BUILDINGS, "Indifférenciée")
    again = load("buildings", derived.bdtopo)
    assert counts(again) == [("building", BUILDINGS, 0, 0, 0, 0)]

    # The Etalab file then replaces the commune's BD TOPO buildings: one commune-wide source
    # describes a commune at a time (the last loaded), with the same flags.
    etalab = load("buildings", derived.etalab_buildings)
    assert counts(etalab) == [("building", BUILDINGS, 0, BUILDINGS, 0, BUILDINGS)]
    assert scalar(clean_db, "SELECT count(*) FROM building WHERE id LIKE 'BATIMENT%'") == 0
    assert built_flags(clean_db) == edigeo_flags


def test_buildings_loaded_before_parcels_flag_them_on_arrival(
    load, clean_db: Engine, derived: Derived, edigeo_flags: dict[str, bool | None]
) -> None:
    first = load("buildings", derived.etalab_buildings)  # no parcel of the commune yet
    assert counts(first) == [("building", BUILDINGS, 0, BUILDINGS, 0, 0)]
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 0
    load("parcels", derived.etalab_parcels)
    assert built_flags(clean_db) == edigeo_flags
    # Parcels of a commune without any building source stay unknown.
    load("parcels", JUVISY)
    assert scalar(clean_db, "SELECT count(*) FROM parcel WHERE insee = '91326'") == 2859
    assert scalar(clean_db, "SELECT count(built) FROM parcel WHERE insee = '91326'") == 0
    # Reloading the parcels keeps their flags (never reset to NULL) and changes nothing.
    before = versions(clean_db)
    again = load("parcels", derived.etalab_parcels)
    assert counts(again) == [("parcel", PARCELS, 0, 0, 0, 0)]
    assert built_flags(clean_db) == {**edigeo_flags, **dict.fromkeys(_juvisy(clean_db))}
    assert versions(clean_db) == before


def _juvisy(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT idu FROM parcel WHERE insee = '91326'")).scalars())


def test_edigeo_sheet_buildings_are_kept_by_commune_wide_files(
    load, clean_db: Engine, derived: Derived
) -> None:
    load("parcels", AK01)
    sheet = built_flags(clean_db)
    report = load("buildings", derived.etalab_buildings)
    # Same footprints, other source: the sheet's 134 stay and none is deleted.
    assert counts(report) == [("building", BUILDINGS, 0, BUILDINGS, 0, 0)]
    assert scalar(clean_db, "SELECT count(*) FROM building WHERE sheet = '25354000AK01'") == 134
    assert built_flags(clean_db) == sheet
    # The sheet's reload leaves the commune-wide buildings alone, and changes nothing.
    again = load("parcels", AK01)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0), (0, 0, 0)]
    assert scalar(clean_db, "SELECT count(*) FROM building") == 2 * BUILDINGS


def test_a_removed_building_unflags_its_parcel(
    load, clean_db: Engine, derived: Derived, tmp_path: Path
) -> None:
    load("parcels", derived.etalab_parcels)
    load("buildings", derived.etalab_buildings)
    doc = json.loads(gzip.decompress(derived.etalab_buildings.read_bytes()))
    # The largest building's parcel: built, and only by that building.
    with clean_db.connect() as conn:
        idu, key = conn.execute(
            text(
                "SELECT p.idu, b.id FROM parcel p JOIN building b ON ST_Intersects(p.geom, b.geom)"
                " WHERE p.built GROUP BY p.idu, b.id HAVING (SELECT count(*) FROM building o"
                "  WHERE ST_Intersects(o.geom, p.geom)) = 1"
                " ORDER BY max(ST_Area(b.geom)) DESC LIMIT 1"
            )
        ).one()
    digests = geometry_digests(read_source(derived.etalab_buildings).frame.geometry)
    keep = [f for f, d in zip(doc["features"], digests, strict=True) if f"25354:{d}" != key]
    assert len(keep) == BUILDINGS - 1
    fewer = tmp_path / "cadastre-25354-batiments.json.gz"
    fewer.write_bytes(gzip.compress(json.dumps({**doc, "features": keep}).encode()))
    report = load("buildings", fewer)
    assert counts(report) == [("building", BUILDINGS - 1, 0, 0, 0, 1)]
    assert scalar(clean_db, "SELECT built FROM parcel WHERE idu = :idu", idu=idu) is False


# --- bad rows --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Non closed ring detected:RuntimeWarning")
def test_bad_etalab_features_are_quarantined_with_their_reason(
    load, clean_db: Engine, derived: Derived, tmp_path: Path
) -> None:
    doc = json.loads(gzip.decompress(derived.etalab_buildings.read_bytes()))
    good = doc["features"][0]
    props = good["properties"]
    bad = [
        # a ring of two positions: no polygon to make of it
        {**good, "geometry": {"type": "Polygon", "coordinates": [[[6.33, 47.37], [6.34, 47.38]]]}},
        {**good, "properties": {**props, "commune": None}},
        {**good, "geometry": None},
        {**good, "properties": {**props, "commune": "Besançon"}},
    ]
    path = tmp_path / "cadastre-25354-batiments.json"
    path.write_text(json.dumps({**doc, "features": doc["features"] + bad}))
    report = load("buildings", path)
    assert counts(report) == [("building", BUILDINGS, 4, BUILDINGS, 0, 0)]
    with clean_db.connect() as conn:
        reasons = dict(conn.execute(text("SELECT feature_index, reason FROM quarantine")).all())
    assert reasons == {
        BUILDINGS: "unrepairable geometry: nothing polygonal left after make_valid",
        BUILDINGS + 1: "missing commune (the INSEE code of the building's commune)",
        BUILDINGS + 2: "missing geometry",
        BUILDINGS + 3: "commune 'Besançon' is not an INSEE code",
    }


def test_bdtopo_buildings_outside_loaded_communes_or_planned_are_quarantined(
    load, clean_db: Engine, derived: Derived, tmp_path: Path
) -> None:
    add_commune(clean_db)
    frame = pyogrio.read_dataframe(derived.bdtopo)
    paris = shapely.box(652000, 6862000, 652010, 6862010)
    extra = gpd.GeoDataFrame(
        {
            "ID": ["BATIMENT9999999999999991", "BATIMENT9999999999999992"],
            "NATURE": "Indifférenciée",
            "USAGE1": "Résidentiel",
            "LEGER": "Non",
            "ETAT": ["En service", "En projet"],
        },
        geometry=[paris, frame.geometry.iloc[0].buffer(-0.5)],
        crs=2154,
    )
    path = tmp_path / "BATIMENT.gpkg"
    pyogrio.write_dataframe(pd.concat([frame, extra], ignore_index=True), path, layer="BATIMENT")
    report = load("buildings", path)
    assert counts(report) == [("building", BUILDINGS, 2, BUILDINGS, 0, 0)]
    with clean_db.connect() as conn:
        reasons = dict(conn.execute(text("SELECT key, reason FROM quarantine")).all())
    assert reasons == {
        "BATIMENT9999999999999991": "no loaded commune under this building (point on surface"
        " 652005 6862005 in EPSG:2154): load the communes the file covers first",
        "BATIMENT9999999999999992": "ETAT 'En projet': a planned building is no evidence of"
        " built land",
    }


# --- keys, formats, command line ---------------------------------------------------------------


def test_etalab_keys_are_the_same_read_whole_or_in_batches(derived: Derived) -> None:
    whole = geometry_digests(read_source(derived.etalab_buildings).frame.geometry)
    batches = np.concatenate(
        [
            geometry_digests(s.frame.geometry)
            for s in read_batches(derived.etalab_buildings, batch_size=50)
        ]
    )
    assert list(whole) == list(batches) and len(set(whole)) == BUILDINGS


def test_a_file_of_neither_layout_is_refused(load, derived: Derived, tmp_path: Path) -> None:
    doc = json.loads(gzip.decompress(derived.etalab_buildings.read_bytes()))
    for f in doc["features"]:
        del f["properties"]["commune"]
    path = tmp_path / "buildings.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(LayoutError, match="not a buildings file"):
        load("buildings", path)


@pytest.mark.usefixtures("clean_db")
def test_cli_lists_and_loads_the_layer(db_settings, derived: Derived) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": db_settings.database_url, "COLUMNS": "200"}
    foncier = str(ROOT / ".venv" / "bin" / "foncier")
    helped = subprocess.run([foncier, "ingest", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "buildings" in helped.stdout
    loaded = subprocess.run(
        [foncier, "ingest", "buildings", str(derived.etalab_buildings)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "Ingest summary" in loaded.stderr and "134" in loaded.stderr


def test_a_commune_wide_source_replaces_another_beside_edigeo_sheets(
    load, clean_db: Engine, derived: Derived
) -> None:
    """BD TOPO after Etalab in a commune that also has EDIGEO sheets: a replacement, not a loss."""
    add_commune(clean_db)
    load("parcels", AK01)
    load("buildings", derived.etalab_buildings)
    report = load("buildings", derived.bdtopo)
    assert counts(report) == [("building", BUILDINGS, 0, BUILDINGS, 0, BUILDINGS)]
    assert scalar(clean_db, "SELECT count(*) FROM building WHERE sheet IS NOT NULL") == BUILDINGS
