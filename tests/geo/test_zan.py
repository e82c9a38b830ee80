"""ZAN accounts: reference, envelope, guarantee, consumption and projection, checked by hand."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import SAMPLES
from tests.geo.conftest import rows

RIVES = SAMPLES / "zan" / "conso_enaf_2009_2024_scot_rives_du_rhone.csv"
LYON = SAMPLES / "zan" / "conso_enaf_annuelle_2009_2023_metropole_lyon.csv"


def _account(db_settings, kind: str, code: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    cols = (
        "reference_ha",
        "reduction_pct",
        "envelope_ha",
        "consumed_ha",
        "remaining_ha",
        "projection_2031_ha",
        "guaranteed",
        "years",
        "envelope_with_commune_guarantees_ha",
        "communes",
        "communes_with_flows",
        "last_year",
        "sources",
        "target",
    )
    (row,) = rows(
        db_settings,
        f"SELECT {', '.join(cols)} FROM zan_account"
        " WHERE territory_type = %s AND territory_code = %s",
        kind,
        code,
    )
    return dict(zip(cols, row, strict=True))


def _csv_row(idcom: str) -> dict[str, str]:
    with RIVES.open(encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r["idcom"] == idcom)


def test_real_commune_reference_and_envelope(load, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    load("enaf", RIVES, vintage="Cerema 2024")
    run_score()
    andance = _csv_row("07009")
    # Andance (07009): flows naf11art12 ... naf20art21, by hand from the CSV, m² -> ha.
    reference_m2 = sum(float(andance[f"naf{y:02d}art{y + 1:02d}"]) for y in range(11, 21))
    assert reference_m2 == 5984 + 6302 + 2331 + 7028 + 601 + 11292 + 60 + 6348 + 2318 + 1212
    consumed_m2 = (
        float(andance["naf21art22"]) + float(andance["naf22art23"]) + float(andance["naf23art24"])
    )
    acc = _account(db_settings, "commune", "07009")
    assert acc["reference_ha"] == pytest.approx(4.3476)
    assert acc["envelope_ha"] == pytest.approx(4.3476 * 0.5)
    assert acc["reduction_pct"] == 50.0 and acc["guaranteed"] is False
    assert acc["consumed_ha"] == pytest.approx(consumed_m2 / 10_000)
    assert acc["remaining_ha"] == pytest.approx(4.3476 * 0.5 - consumed_m2 / 10_000)
    # Projection at the 2021-2023 pace over the ten years 2021-2030.
    assert acc["projection_2031_ha"] == pytest.approx(consumed_m2 / 10_000 / 3 * 10)
    assert acc["years"]["2014"] == pytest.approx(7028 / 10_000)  # naf14art15


def test_guarantee_of_one_hectare_for_a_small_commune(load, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    load("enaf", RIVES)
    run_score()
    # Monestier (07160) consumed 0.056 ha in 2011-2020: 50% would leave 0.028 ha; the law
    # guarantees 1 ha.
    acc = _account(db_settings, "commune", "07160")
    assert acc["reference_ha"] == pytest.approx(0.056)
    assert acc["envelope_ha"] == 1.0 and acc["guaranteed"] is True


def test_fixture_accounts_aggregate_and_targets(sql_fixture, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    sql_fixture("score_fixture.sql")
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        # A third commune of the EPCI with no ENAF flow loaded: counted in the coverage, never
        # given a guaranteed hectare it is not known to be owed.
        conn.execute(
            "INSERT INTO commune (insee, nom, dep, reg, siren_epci, geom) VALUES ('01003',"
            " 'Gamma', '01', '84', '200000001',"
            " ST_Multi(ST_MakeEnvelope(720000, 6600000, 721000, 6601000, 2154)))"
        )
    run_score()
    alpha = _account(db_settings, "commune", "01001")
    assert (alpha["reference_ha"], alpha["envelope_ha"], alpha["consumed_ha"]) == (20, 10, 1)
    assert alpha["remaining_ha"] == 9 and alpha["projection_2031_ha"] == 5  # 0.5 ha/yr x 10
    beta = _account(db_settings, "commune", "01002")
    assert beta["envelope_ha"] == 1 and beta["guaranteed"] is True
    # Above 1 ha, the reference method: the EPCI's own 21 ha x 50% = 10.5 ha, not raised (not
    # the 10 + 1 ha of its communes' envelopes: that pooled figure is reported beside it).
    epci = _account(db_settings, "epci", "200000001")
    assert (epci["reference_ha"], epci["envelope_ha"], epci["remaining_ha"]) == (21, 10.5, 9.5)
    assert epci["guaranteed"] is False and epci["envelope_with_commune_guarantees_ha"] == 11
    assert epci["target"]["source"] == "law" and epci["target"]["reduction_pct"] == 50
    assert (epci["communes"], epci["communes_with_flows"], epci["last_year"]) == (3, 2, 2022)
    assert _account(db_settings, "departement", "01")["envelope_ha"] == 10.5
    # A territorialised target of the EPCI (70%) replaces the default 50%, for the EPCI and for
    # its communes without a target of their own, and the account names it.
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO zan_target (territory_type, territory_code, reduction_pct, document)"
            " VALUES ('epci', '200000001', 70, 'PLUi fixture')"
        )
    run_score()
    alpha = _account(db_settings, "commune", "01001")
    assert alpha["envelope_ha"] == pytest.approx(6.0) and alpha["reduction_pct"] == 70
    assert alpha["target"] == {
        "reduction_pct": 70.0,
        "source": "zan_target",
        "territory_type": "epci",
        "territory_code": "200000001",
        "document": "PLUi fixture",
    }
    assert _account(db_settings, "epci", "200000001")["envelope_ha"] == pytest.approx(21 * 0.3)


def test_aggregate_below_one_hectare_is_raised_and_scot_targets_apply(
    sql_fixture, run_score, db_settings
) -> None:  # type: ignore[no-untyped-def]
    sql_fixture("score_fixture.sql")
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        # A SCoT of Beta alone (reference 1 ha: 50% = 0.5 ha < 1 ha) and a SCoT target of 60%.
        conn.execute(
            "INSERT INTO scot_membre (scot_id, insee, nom_scot)"
            " VALUES ('scot-b', '01002', 'SCoT B')"
        )
        conn.execute(
            "INSERT INTO zan_target (territory_type, territory_code, reduction_pct)"
            " VALUES ('scot', 'scot-b', 60)"
        )
    run_score()
    scot = _account(db_settings, "scot", "scot-b")
    assert scot["reference_ha"] == pytest.approx(1.0) and scot["reduction_pct"] == 60
    # 1 ha x 40% = 0.4 ha, below 1 ha: raised to 1 ha, and `guaranteed` says so.
    assert scot["envelope_ha"] == 1.0 and scot["guaranteed"] is True
    beta = _account(db_settings, "commune", "01002")
    assert beta["reduction_pct"] == 60 and beta["target"]["territory_type"] == "scot"


def test_every_sample_account_adds_up_and_states_its_coverage(load, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    load("communes", SAMPLES / "admin" / "communes_2022_sample.geojson.gz")
    load("communes", SAMPLES / "admin" / "communes_2026_epci_sample.csv")
    load("enaf", RIVES, vintage="Cerema 2024")
    load("enaf", LYON, vintage="Cerema 2023")
    run_score()
    accounts = rows(
        db_settings,
        "SELECT territory_type, territory_code, reference_ha, consumed_ha, years FROM zan_account",
    )
    assert len(accounts) > 200
    for kind, code, reference, consumed, years in accounts:
        ref_years = sum(float(v) for y, v in years.items() if 2011 <= int(y) <= 2020)
        since = sum(float(v) for y, v in years.items() if int(y) >= 2021)
        # Each year is rounded to 1 m2 (4 decimals of a hectare): ten of them stay within 1e-3.
        assert ref_years == pytest.approx(reference, abs=1e-3), (kind, code)
        assert since == pytest.approx(consumed, abs=1e-3), (kind, code)
    lyon = _account(db_settings, "epci", "200046977")
    # Métropole de Lyon: the reference tool's 827.75 ha x 50% = 413.87 ha, not raised.
    assert lyon["reference_ha"] == pytest.approx(827.7454, abs=1e-4)
    assert lyon["envelope_ha"] == pytest.approx(413.8727, abs=1e-4)
    assert lyon["guaranteed"] is False
    assert (lyon["communes"], lyon["communes_with_flows"]) == (58, 58)
    region = _account(db_settings, "region", "84")
    # Flows are loaded for the SCoT des Rives du Rhône and the Métropole only: a partial sum,
    # and the account says so.
    assert region["communes_with_flows"] == 210 and region["communes"] > 4000
    assert {s["name"] for s in region["sources"]} == {RIVES.name, LYON.name}


def test_territoire_accounts_use_the_api_kinds(sql_fixture, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    from typing import get_args

    from api.routes.territories import Kind

    sql_fixture("score_fixture.sql")
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO territoire (programme, id_ti, lib) VALUES (2023, 'ti-0101', 'TI')"
        )
        conn.execute(
            "INSERT INTO territoire_membre (programme, id_ti, siren, nature)"
            " VALUES (2023, 'ti-0101', '200000001', 'EPCI')"
        )
    run_score()
    # One spelling on both sides: /territories/territoire-2023/ti-0101 reads this row as is.
    assert "territoire-2023" in get_args(Kind)
    assert _account(db_settings, "territoire-2023", "ti-0101")["envelope_ha"] == 10.5
    kinds = {k for (k,) in rows(db_settings, "SELECT DISTINCT territory_type FROM zan_account")}
    assert kinds <= {"commune", *get_args(Kind)}
