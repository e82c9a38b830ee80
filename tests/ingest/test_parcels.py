"""Parcels layer: Etalab cadastre GeoJSON and DGFiP EDIGEO sheets with their buildings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from config import DatabaseSettings, IngestSettings
from ingest.errors import LayoutError
from ingest.layers.parcels import idu_problem, latest_date, sheet_of
from ingest.pipeline import run_ingest
from ingest.read import read_batches, read_source
from ingest.sources import IngestOptions, get_layer
from tests.conftest import FIXTURES, SAMPLES, scalar

ETALAB = SAMPLES / "cadastre" / "etalab"
EDIGEO = SAMPLES / "cadastre" / "edigeo"
AK01 = EDIGEO / "edigeo-25354000AK01.tar.bz2"


def test_idu_problem() -> None:
    assert idu_problem("25354000AB0001") is None
    assert idu_problem("2A004000AB0001") is None
    assert idu_problem("2535400AB0001") == (
        "parcel id '2535400AB0001' has 13 characters, expected 14"
    )
    assert "is not insee(5)" in str(idu_problem("25354000AB00X1"))


def test_sheet_of_reads_the_commune_from_the_file_name() -> None:
    assert sheet_of(Path("edigeo-25354000AB01.tar.bz2")) == ("25354000AB01", "25354")
    # Overseas and Corsica: the 14-character id is insee[:2] + the 12-character IDU.
    assert sheet_of(Path("edigeo-97101000AB01.tar.bz2")) == ("97101000AB01", "97101")
    assert sheet_of(Path("/x/edigeo-2a004000ZC02.tar.bz2")) == ("2A004000ZC02", "2A004")
    with pytest.raises(LayoutError, match="keep the DGFiP file name"):
        sheet_of(Path("feuille.tar.bz2"))


def test_etalab_commune(load, clean_db: Engine) -> None:
    report = load("parcels", ETALAB / "cadastre-91432-parcelles.json.gz", vintage="2023-04")
    assert (report.rows_read, report.loaded, report.quarantined) == (5166, 5166, 0)
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE length(idu) = 14),"
                " count(*) FILTER (WHERE idu = insee || prefixe || section || numero),"
                " count(built), count(sheet) FROM parcel"
            )
        ).one()
        first = conn.execute(
            text(
                "SELECT insee, prefixe, section, numero, contenance_m2 FROM parcel"
                " WHERE idu = '914320000A0073'"
            )
        ).one()
    assert row == (5166, 5166, 5166, 0, 0)  # no building file: built stays unknown
    assert first == ("91432", "000", "0A", "0073", 150145)


def test_loading_one_commune_keeps_the_others(load, clean_db: Engine) -> None:
    load("parcels", ETALAB / "cadastre-91326-parcelles.json.gz")
    load("parcels", ETALAB / "cadastre-91432-parcelles.json.gz")
    again = load("parcels", ETALAB / "cadastre-91326-parcelles.json.gz")
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0)]
    assert scalar(clean_db, "SELECT count(*) FROM parcel WHERE insee = '91432'") == 5166
    assert scalar(clean_db, "SELECT count(*) FROM parcel WHERE insee = '91326'") == 2859


def test_edigeo_sheet_parcels_buildings_and_built_flags(load, clean_db: Engine) -> None:
    report = load("parcels", AK01, vintage="PCI 2019")
    assert [(t.table, t.loaded, t.quarantined) for t in report.tables] == [
        ("parcel", 142, 0),
        ("building", 134, 0),
    ]
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE idu LIKE '25354%' AND length(idu) = 14),"
                " count(built), count(*) FILTER (WHERE built), min(sheet), max(sheet)"
                " FROM parcel"
            )
        ).one()
    # Every parcel of an EDIGEO sheet gets a known flag; 68 of 142 carry > 10 m2 of building.
    assert row == (142, 142, 68, "25354000AK01", "25354000AK01")
    assert scalar(clean_db, "SELECT count(*) FROM building WHERE id LIKE '25354000AK01:%'") == 134


def test_edigeo_lambert93_coordinates_are_stored_untouched(load, clean_db: Engine) -> None:
    """EDIGEO declares IGNF Lambert-93: it must be taken as EPSG:2154, not transformed."""
    source = read_source(AK01)
    assert source.crs is not None and source.crs.to_epsg() == 2154
    xmin, ymin, xmax, ymax = source.frame.total_bounds
    load("parcels", AK01)
    with clean_db.connect() as conn:
        box = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(geom) AS e FROM parcel) x"
            )
        ).one()
    assert box == pytest.approx((xmin, ymin, xmax, ymax), abs=0.01)


def test_edigeo_sheets_of_one_commune_do_not_replace_each_other(load, clean_db: Engine) -> None:
    load("parcels", AK01)
    load("parcels", EDIGEO / "edigeo-25354000AB01.tar.bz2")  # a sheet without buildings
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 142 + 14
    sheet_ab01 = "SELECT count(*) FROM parcel WHERE sheet = '25354000AB01' AND NOT built"
    assert scalar(clean_db, sheet_ab01) == 14
    assert scalar(clean_db, "SELECT count(*) FROM building") == 134
    # A building of sheet ZH01 covers one AK01 parcel: loading ZH01 updates that parcel too.
    load("parcels", EDIGEO / "edigeo-25354000ZH01.tar.bz2")
    sheet_ak01 = "SELECT count(*) FROM parcel WHERE sheet = '25354000AK01' AND built"
    assert scalar(clean_db, sheet_ak01) == 69
    again = load("parcels", AK01)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0), (0, 0, 0)]


def test_edigeo_file_name_without_commune_is_refused(load, tmp_path: Path) -> None:
    renamed = tmp_path / "feuille.tar.bz2"
    shutil.copyfile(AK01, renamed)
    with pytest.raises(LayoutError, match="cannot tell the commune"):
        load("parcels", renamed)


def test_bad_parcel_ids_are_quarantined(load, clean_db: Engine) -> None:
    report = load("parcels", FIXTURES / "cadastre-25354-parcelles.json")
    assert (report.loaded, report.quarantined) == (1, 3)
    with clean_db.connect() as conn:
        reasons = dict(conn.execute(text("SELECT feature_index, reason FROM quarantine")).all())
    assert reasons == {
        1: "parcel id '2535400ZZ0002' has 13 characters, expected 14",
        2: "duplicate key 25354000ZZ0001: already at feature 0",
        3: "parcel id '91432000ZZ0003' is not in commune '25354'",
    }


# --- vintage from the file itself (no --vintage) -------------------------------------------

# Latest `updated` of each Etalab sample, by hand: `zcat cadastre-<insee>-parcelles.json.gz |
# grep -o '"updated":"[0-9-]*"' | sort | tail -1` (the three files' latest is 91326's).
LATEST_UPDATED = {"91027": "2022-12-22", "91326": "2023-03-31", "91432": "2023-03-22"}


def _vintages(engine: Engine, table: str = "parcel") -> set[object]:
    with engine.connect() as conn:
        return set(conn.execute(text(f"SELECT DISTINCT vintage FROM {table}")).scalars())


@pytest.mark.parametrize("insee", LATEST_UPDATED)
def test_etalab_rows_get_the_latest_updated_date_of_their_file(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, insee: str
) -> None:
    report = load("parcels", ETALAB / f"cadastre-{insee}-parcelles.json.gz")
    assert report.vintage == LATEST_UPDATED[insee]
    assert _vintages(clean_db) == {LATEST_UPDATED[insee]}
    assert scalar(clean_db, "SELECT vintage FROM ingest_run") == LATEST_UPDATED[insee]


def test_a_later_batch_with_a_later_date_sets_the_whole_files_vintage(  # type: ignore[no-untyped-def]
    clean_db: Engine, db_settings: DatabaseSettings
) -> None:
    path = ETALAB / "cadastre-91326-parcelles.json.gz"
    settings = IngestSettings(batch_rows=1000, copy_chunk_rows=1000)
    layer = get_layer("parcels")
    sources = read_batches(path, batch_size=1000)
    batches = [layer.prepare(s, IngestOptions())[0].vintage for s in sources]
    # The first batch is written (early merge into the empty table) before 2023-03-31 comes.
    assert batches[0] is not None and batches[0] < "2023-03-31" == max(batches)
    first = run_ingest("parcels", path, IngestOptions(), db_settings, settings)
    assert first.vintage == "2023-03-31" and _vintages(clean_db) == {"2023-03-31"}
    again = run_ingest("parcels", path, IngestOptions(), db_settings, settings)
    assert sum(t.inserted + t.updated + t.deleted for t in again.tables) == 0
    assert _vintages(clean_db) == {"2023-03-31"}


def test_a_given_vintage_wins_over_the_files(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    load("parcels", ETALAB / "cadastre-91326-parcelles.json.gz", vintage="Etalab 2023-04")
    assert _vintages(clean_db) == {"Etalab 2023-04"}


def test_latest_date_of_dates_and_text() -> None:
    dates = pd.Series(pd.to_datetime(["2022-12-05", None, "2023-03-31"]))
    assert latest_date(dates) == "2023-03-31"
    assert latest_date(pd.Series(["2023-01-02", None], dtype="string[pyarrow]")) == "2023-01-02"
    assert latest_date(pd.Series([None, None], dtype=object)) is None
    assert latest_date(pd.Series(["31/03/2023"])) is None  # not an ISO date: no vintage


def test_edigeo_rows_get_the_date_of_their_sheet(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    # The .THF header's TDASD (date of the exchange): 20190309 for AK01, 20140317 for AB01.
    assert load("parcels", AK01).vintage == "2019-03-09"
    assert _vintages(clean_db) == _vintages(clean_db, "building") == {"2019-03-09"}
    load("parcels", EDIGEO / "edigeo-25354000AB01.tar.bz2")
    sheets = "SELECT string_agg(DISTINCT sheet || ' ' || vintage, ', ') FROM parcel"
    assert scalar(clean_db, sheets) == "25354000AB01 2014-03-17, 25354000AK01 2019-03-09"
