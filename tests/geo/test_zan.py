"""ZAN accounts: reference, envelope, guarantee, consumption and projection, checked by hand."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import SAMPLES
from tests.geo.conftest import rows

RIVES = SAMPLES / "zan" / "conso_enaf_2009_2024_scot_rives_du_rhone.csv"


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
    run_score()
    alpha = _account(db_settings, "commune", "01001")
    assert (alpha["reference_ha"], alpha["envelope_ha"], alpha["consumed_ha"]) == (20, 10, 1)
    assert alpha["remaining_ha"] == 9 and alpha["projection_2031_ha"] == 5  # 0.5 ha/yr x 10
    beta = _account(db_settings, "commune", "01002")
    assert beta["envelope_ha"] == 1 and beta["guaranteed"] is True
    epci = _account(db_settings, "epci", "200000001")
    assert (epci["reference_ha"], epci["envelope_ha"], epci["remaining_ha"]) == (21, 11, 10)
    assert _account(db_settings, "departement", "01")["envelope_ha"] == 11
    # A territorialised target of the EPCI (70%) replaces the default 50%.
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO zan_target (territory_type, territory_code, reduction_pct)"
            " VALUES ('epci', '200000001', 70)"
        )
    run_score()
    alpha = _account(db_settings, "commune", "01001")
    assert alpha["envelope_ha"] == pytest.approx(6.0) and alpha["reduction_pct"] == 70


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
    assert _account(db_settings, "territoire-2023", "ti-0101")["envelope_ha"] == 11
    kinds = {k for (k,) in rows(db_settings, "SELECT DISTINCT territory_type FROM zan_account")}
    assert kinds <= {"commune", *get_args(Kind)}
