"""The ZAE inventory's layers on the hand-built fixtures (tests/fixtures/zae, published layouts).

The fixtures are twelve real parcels of Morangis (91432, section C, Etalab sample) with
fictitious owners, establishments and CFE rows; counts below are read off the files by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ingest.layers.owners import header_key
from tests.conftest import FIXTURES, scalar

ZAE_DIR = FIXTURES / "zae"
SITE_ECO = ZAE_DIR / "site_eco_morangis.csv"
OWNERS = ZAE_DIR / "parcelles_personnes_morales_91.csv"
SIRENE = ZAE_DIR / "stock_etablissement_morangis.csv"
CFE = ZAE_DIR / "cfe_locaux_morangis_2025.csv"
PRIVATE_NAME = "DUPONT"


def _rewrite(src: Path, dst: Path, delimiter: str, change) -> Path:  # type: ignore[no-untyped-def]
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    with dst.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(change(rows))
    return dst


def _everything_text(engine: Engine) -> str:
    """Every row of the ZAE tables, their history and the quarantine, as one text."""
    with engine.connect() as conn:
        parts = [
            conn.execute(text(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {t} t")).scalar()
            for t in (
                "parcel_owner",
                "history.parcel_owner",
                "quarantine",
                "establishment",
                "ingest_run",
            )
        ]
    return " ".join(str(p) for p in parts)


def test_site_eco_csv_gives_the_zone_with_its_cnig_fields(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    report = load("zae", SITE_ECO, vintage="2025-06-30")
    assert (report.loaded, report.quarantined) == (1, 0)
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, status, site_type, vocadomi, epci_siren, insee, surface_ha, "
                "ST_Area(geom), attributes->>'site_moa_type', attributes ? 'site_geomsurf' FROM zae"
            )
        ).one()
    assert row[:7] == (
        "91432_SITE-ECO_00001",
        "validated",
        "Zone d'activité économique",
        "industrie",
        "200054781",
        "91432",
        8.5,
    )
    # The union of the twelve parcels (their contenances sum to 84,803 m2; measured 84,973).
    assert row[7] == pytest.approx(84973, abs=2)
    assert row[8] == "EPCI" and row[9] is False
    again = load("zae", SITE_ECO, vintage="2025-06-30")
    assert sum(t.inserted + t.updated + t.deleted for t in again.tables) == 0


def test_a_zone_without_perimeter_is_quarantined_and_a_draft_stays_draft(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, tmp_path: Path
) -> None:
    def change(rows: list[list[str]]) -> list[list[str]]:
        header, zone = rows
        blank = [*zone]
        blank[0], blank[-1] = "91432_SITE-ECO_00002", ""
        return [[*header, "statut"], [*zone, "brouillon"], [*blank, ""]]

    path = _rewrite(SITE_ECO, tmp_path / "site_eco.csv", ",", change)
    report = load("zae", path)
    assert (report.loaded, report.quarantined) == (1, 1)
    reason = scalar(clean_db, "SELECT reason FROM quarantine")
    assert reason == "missing geometry (site_geomsurf is blank)"
    assert scalar(clean_db, "SELECT status FROM zae") == "draft"


def test_owners_in_the_dgfip_layout_and_the_private_person_unnamed(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    report = load("owners", OWNERS, vintage="2025")
    # 11 data lines: 10 rights, the second subdivision line of C0456 repeats one of them.
    assert (report.loaded, report.quarantined) == (10, 0)
    with clean_db.connect() as conn:
        kinds = dict(
            conn.execute(
                text(
                    "SELECT coalesce(denomination, owner_type), count(*) FROM parcel_owner "
                    "GROUP BY 1"
                )
            ).all()
        )
    assert kinds == {
        "SOCIETE DES ENTREPOTS DU SECTEUR C": 5,
        "COMMUNE DE MORANGIS": 3,
        "personne physique": 2,
    }
    private = "SELECT owner_key, siren FROM parcel_owner WHERE owner_type = 'personne physique'"
    with clean_db.connect() as conn:
        assert set(conn.execute(text(private)).all()) == {("PP:+00303", None)}
    assert PRIVATE_NAME not in _everything_text(clean_db)


def test_a_bad_owner_row_is_quarantined_without_the_persons_name(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, tmp_path: Path
) -> None:
    def change(rows: list[list[str]]) -> list[list[str]]:
        numero = next(i for i, h in enumerate(rows[0]) if header_key(h) == "n plan")
        bad = [*rows[-2]]  # the private person's C0448
        assert PRIVATE_NAME in bad[-1]
        bad[numero] = ""
        return [*rows[:-2], bad, rows[-1]]

    report = load("owners", _rewrite(OWNERS, tmp_path / "pm.csv", ";", change))
    assert (report.loaded, report.quarantined) == (9, 1)
    assert scalar(clean_db, "SELECT reason FROM quarantine") == "incomplete cadastral reference"
    assert PRIVATE_NAME not in _everything_text(clean_db)


def test_sirene_stock_with_lambert_coordinates(load, clean_db: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = load("establishments", SIRENE, vintage="2025-11")
    assert (report.loaded, report.quarantined) == (5, 0)
    closed = (
        "SELECT string_agg(siret, ',' ORDER BY siret) FROM establishment "
        "WHERE etat = 'F' AND state_since < '2024-01-01'"
    )
    assert scalar(clean_db, closed) == "10000002500016,10000003300012"
    assert (
        scalar(clean_db, "SELECT ST_AsText(geom) FROM establishment WHERE siret = '10000000900015'")
        == "POINT(652023.8 6845344.4)"
    )

    def change(rows: list[list[str]]) -> list[list[str]]:
        x = rows[0].index("coordonneeLambertAbscisseEtablissement")
        rows[1][x] = ""
        return rows

    again = load("establishments", _rewrite(SIRENE, tmp_path / "sirene.csv", ",", change))
    assert (again.loaded, again.quarantined) == (4, 1)
    reason = scalar(clean_db, "SELECT reason FROM quarantine")
    assert str(reason).startswith("no Lambert-93 coordinates")


def test_cfe_file_and_a_bad_year(load, clean_db: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = load("cfe", CFE, vintage="2025")
    assert (report.loaded, report.quarantined) == (6, 0)
    assert scalar(clean_db, "SELECT sum(last_cfe_year) FROM cfe_premises") == 4 * 2025 + 2020 + 2021

    def change(rows: list[list[str]]) -> list[list[str]]:
        rows[1][2] = "2O25"
        return rows

    again = load("cfe", _rewrite(CFE, tmp_path / "cfe.csv", ";", change))
    assert (again.loaded, again.quarantined) == (5, 1)
    assert scalar(clean_db, "SELECT reason FROM quarantine") == "last CFE year '2O25' is not a year"
