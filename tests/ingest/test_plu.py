"""PLU layer: CNIG zone_urba of Megève (74173) and its zone classes."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.conftest import FIXTURES, SAMPLES

MEGEVE = SAMPLES / "urbanisme" / "plu_megeve_74173_zone_urba.geojson.gz"


def test_megeve_zones_and_classes(load, clean_db: Engine) -> None:
    report = load("plu", MEGEVE, vintage="2017-03-21")
    assert (report.rows_read, report.loaded, report.quarantined) == (241, 241, 0)
    with clean_db.connect() as conn:
        classes = dict(
            conn.execute(text("SELECT zone_class, count(*) FROM plu_zone GROUP BY 1")).all()
        )
        ux = conn.execute(
            text("SELECT DISTINCT zone_class, destdomi FROM plu_zone WHERE libelle = 'UX'")
        ).all()
        ue = conn.execute(
            text("SELECT DISTINCT zone_class FROM plu_zone WHERE libelle = 'UE'")
        ).all()
        first = conn.execute(text("SELECT id, insee FROM plu_zone ORDER BY id LIMIT 1")).one()
    assert classes == {
        "activity": 8, "urban": 73, "to_urbanise": 8, "agricultural": 95, "natural": 57,
    }  # fmt: skip
    assert ux == [("activity", "02")]
    assert ue == [("urban",)]  # Megève's UE is destdomi 05, public facilities
    assert first[1] == "74173" and first[0].startswith("74173:")


def test_reload_changes_nothing(load) -> None:
    load("plu", MEGEVE)
    again = load("plu", MEGEVE)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0)]


def test_label_decides_without_destdomi_and_unknown_typezone_is_quarantined(
    load, clean_db: Engine
) -> None:
    report = load("plu", FIXTURES / "plu_bad_typezone.geojson")
    assert (report.loaded, report.quarantined) == (1, 1)
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT libelle, zone_class FROM plu_zone")).one() == (
            "1AUx",
            "activity",
        )
        reason = conn.execute(text("SELECT reason FROM quarantine")).scalar_one()
    assert reason == "unknown typezone 'ZZ' (expected U, AUc, AUs, A or N)"
