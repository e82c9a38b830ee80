"""The contract workbook (issue 17): exact sheet/row/column errors, quarantine, atomic load,
idempotent import, and the export -> import round trip changing nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine

from config import DatabaseSettings
from db.engine import connect_raw
from ingest.contracts import (
    ContractFileError,
    ImportReport,
    Territory,
    export_workbook,
    import_workbook,
)
from tests.conftest import SAMPLES, load_reference_samples, scalar

SAMPLE = SAMPLES / "contracts" / "exemple_ti-2701.xlsx"
TI = Territory(2023, "ti-2701")
HISTORY = ("ti_protocol", "ti_governance", "ti_action_sheet", "ti_action_funding",
           "ti_action_indicator", "ti_action_place")  # fmt: skip


@pytest.fixture
def territories(clean_db: Engine, db_settings: DatabaseSettings) -> Iterator[Engine]:
    load_reference_samples(db_settings)
    yield clean_db


def _import(settings: DatabaseSettings, path: Path, territory: Territory = TI) -> ImportReport:
    with connect_raw(settings) as conn:
        report = import_workbook(conn, path, territory)
        conn.commit()
    return report


def _history_rows(engine: Engine) -> int:
    return sum(int(scalar(engine, f"SELECT count(*) FROM history.{t}")) for t in HISTORY)  # type: ignore[call-overload]


def test_sample_loads_marked_as_example(territories: Engine, db_settings: DatabaseSettings) -> None:
    report = _import(db_settings, SAMPLE)
    assert report.errors == []
    assert scalar(territories, "SELECT count(*) FROM ti_action_sheet WHERE is_example") == 12
    assert scalar(territories, "SELECT count(*) FROM ti_action_sheet WHERE NOT is_example") == 0
    assert scalar(territories, "SELECT count(DISTINCT workflow) FROM ti_action_sheet") == 1
    # By hand from the Financements sheet: 420,000 (F01) + 85,000 (F03) + 2,500,000 (F04)
    # + 3,200,000 (F07) + 40,000 (F10) + 55,000 (F11).
    assert scalar(territories, "SELECT sum(committed_eur) FROM ti_action_funding") == 6_300_000
    assert scalar(territories, "SELECT is_example FROM ti_protocol WHERE id_ti = 'ti-2701'")


def _spoil(tmp_path: Path) -> Path:
    """The sample with three bad sheets: rows 4 (axis), 5 (budget as text), 6 (no title)."""
    path = tmp_path / "mauvais.xlsx"
    shutil.copy(SAMPLE, path)
    book = openpyxl.load_workbook(path)
    ws = book["Fiches"]
    ws["C4"] = "recrutement"
    ws["H5"] = "environ 50 k€"
    ws["B6"] = None
    book.save(path)
    return path


def test_bad_rows_are_named_quarantined_and_the_rest_loads(
    territories: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    report = _import(db_settings, _spoil(tmp_path))
    assert report.errors[:3] == [
        "Fiches, ligne 4, colonne axe : « recrutement » n'est pas un axe du programme "
        "(attendu : recruter, innover, attirer, simplifier)",
        "Fiches, ligne 5, colonne budget (€) : « environ 50 k€ » n'est pas un nombre",
        "Fiches, ligne 6, colonne titre : valeur manquante",
    ]
    # F03 (row 4) and F04 (row 5) have funding lines and indicators: quarantined with them.
    part = "{}, ligne {}, colonne fiche : « {} » n'est pas une fiche chargée de l'onglet Fiches"
    assert report.errors[3:] == [
        part.format("Financements", 5, "F03"),
        *(part.format("Financements", row, "F04") for row in (6, 7, 8)),
        part.format("Indicateurs", 3, "F03"),
        part.format("Indicateurs", 4, "F04"),
    ]
    assert scalar(territories, "SELECT count(*) FROM ti_action_sheet") == 9
    assert scalar(territories, "SELECT count(*) FROM quarantine WHERE layer = 'contracts'") == 9
    assert (
        scalar(territories, "SELECT raw->>'budget (€)' FROM quarantine WHERE key = 'Fiches:F04'")
        == "environ 50 k€"
    )
    assert (
        scalar(territories, "SELECT rows_quarantined FROM ingest_run WHERE layer = 'contracts'")
        == 9
    )


def test_a_file_level_error_loads_nothing(
    territories: Engine, db_settings: DatabaseSettings
) -> None:
    with pytest.raises(ContractFileError, match="le fichier est celui du territoire 2023:ti-2701"):
        _import(db_settings, SAMPLE, Territory(2023, "ti-2702"))
    assert scalar(territories, "SELECT count(*) FROM ti_action_sheet") == 0
    assert scalar(territories, "SELECT count(*) FROM ingest_run WHERE layer = 'contracts'") == 0


def test_same_file_twice_and_round_trip_change_nothing(
    territories: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    first = _import(db_settings, SAMPLE)
    assert first.inserted == 1 + 6 + 12 + 12 + 6 + 5
    again = _import(db_settings, SAMPLE)
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    out = tmp_path / "export.xlsx"
    with connect_raw(db_settings) as conn:
        counts = export_workbook(conn, TI, out)
    assert counts["Fiches"] == 12
    back = _import(db_settings, out)
    assert (back.inserted, back.updated, back.deleted, back.errors) == (0, 0, 0, [])
    assert _history_rows(territories) == 0
