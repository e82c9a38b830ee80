"""ENAF flows (Cerema wide and MonDiagArtif long layouts) and territorialised ZAN targets."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import SAMPLES, scalar

RIVES = SAMPLES / "zan" / "conso_enaf_2009_2024_scot_rives_du_rhone.csv"
LYON = SAMPLES / "zan" / "conso_enaf_annuelle_2009_2023_metropole_lyon.csv"
TARGETS = SAMPLES / "zan" / "objectifs_reduction_conso_territorialises_hdf.csv"


def test_wide_cerema_file_loads_every_year_and_destination(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("enaf", RIVES, vintage="2024")
    # 152 communes x 15 years x 7 columns; the -1 m² balancing entries are kept.
    assert report.loaded == 152 * 15 * 7 and report.quarantined == 0
    assert scalar(clean_db, "SELECT min(year) || '-' || max(year) FROM enaf_flow") == "2009-2023"
    with RIVES.open(encoding="utf-8") as fh:
        annonay = next(r for r in csv.DictReader(fh) if r["idcom"] == "07010")
    assert scalar(
        clean_db,
        "SELECT area_m2 FROM enaf_flow"
        " WHERE insee = '07010' AND year = 2019 AND destination = 'activite'",
    ) == float(annonay["art19act20"])
    again = load("enaf", RIVES, vintage="2024")
    assert sum(t.inserted + t.updated + t.deleted for t in again.tables) == 0


def test_long_mondiagartif_file_keeps_commune_rows(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("enaf", LYON, vintage="2023")
    assert report.loaded == 870 * 7
    assert scalar(clean_db, "SELECT count(DISTINCT insee) FROM enaf_flow") == 58
    # The EPCI row of 2011 equals the sum of its communes: the file's own check.
    assert (
        scalar(
            clean_db,
            "SELECT sum(area_m2) FROM enaf_flow WHERE year = 2011 AND destination = 'total'",
        )
        == 803176
    )


def test_a_negative_total_is_quarantined(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "enaf.csv"
    bad.write_text("idcom,naf11art12,art11act12\n01001,-5,0\n01002,100,40\n", encoding="utf-8")
    report = load("enaf", bad)
    assert report.quarantined == 1 and report.loaded == 3
    assert (
        scalar(clean_db, "SELECT reason FROM quarantine")
        == "negative ENAF total -5.0 m² (year 2011)"
    )


def test_territorialised_targets(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("zan_targets", TARGETS)
    assert report.loaded == 47
    assert scalar(
        clean_db,
        "SELECT reduction_pct FROM zan_target"
        " WHERE territory_type = 'region' AND territory_code = '32'",
    ) == pytest.approx(54.47)
    assert scalar(clean_db, "SELECT count(*) FROM zan_target WHERE territory_type = 'epci'") == 5
