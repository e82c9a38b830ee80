"""Parcel and site scores on the hand-made fixture: overlaps, exclusions, ZAN cost, land units."""

from __future__ import annotations

from typing import Any

import pytest

from tests.geo.conftest import rows


def _score(db_settings, idu: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cols = (
        "score",
        "excluded",
        "land_status",
        "zan_cost_ha",
        "envelope_share",
        "land_unit_id",
        "zone_class",
        "constrained_share",
        "contiguous_ha",
        "breakdown",
        "profile_version",
        "vintages",
    )
    (row,) = rows(db_settings, f"SELECT {', '.join(cols)} FROM parcel_score WHERE idu = %s", idu)
    out = dict(zip(cols, row, strict=True))
    out["by"] = {b["criterion"]: b for b in out["breakdown"]}
    return out


@pytest.fixture
def scored(sql_fixture, run_score):  # type: ignore[no-untyped-def]
    sql_fixture("score_fixture.sql")
    return run_score()


@pytest.mark.usefixtures("scored")
def test_half_inside_natura_2000_is_exactly_half(db_settings) -> None:  # type: ignore[no-untyped-def]
    p1 = _score(db_settings, "01001000AA0001")
    assert p1["constrained_share"] == 0.5
    assert p1["by"]["constraints"]["input"] == {"natura2000_zps": 0.5}
    # Soft weight 0.6 x 0.5 covered: the criterion keeps 0.7 of its 20 points.
    assert p1["by"]["constraints"]["value"] == 0.7 and p1["by"]["constraints"]["contribution"] == 14


@pytest.mark.usefixtures("scored")
def test_hard_exclusion_scores_zero_with_its_reason(db_settings) -> None:  # type: ignore[no-untyped-def]
    p2 = _score(db_settings, "01001000AA0002")
    assert p2["excluded"] is True and p2["score"] == 0
    assert p2["by"]["exclusion"]["input"] == ["flood_high"]
    assert all(b["contribution"] == 0 for b in p2["breakdown"])


@pytest.mark.usefixtures("scored")
def test_brownfield_costs_no_enaf_and_enaf_parcel_costs_its_area(db_settings) -> None:  # type: ignore[no-untyped-def]
    p3 = _score(db_settings, "01001000AA0003")
    assert (p3["land_status"], p3["zan_cost_ha"], p3["envelope_share"]) == ("brownfield", 0, 0)
    assert p3["by"]["brownfield"]["contribution"] == 5
    p4 = _score(db_settings, "01001000AA0004")
    # 1 ha of agricultural land; the EPCI has 11 - 1 = 10 ha left: a 10% share, value 0.
    assert (p4["land_status"], p4["zan_cost_ha"]) == ("enaf", 1.0)
    assert p4["envelope_share"] == pytest.approx(0.1)
    assert p4["by"]["zan"]["value"] == 0 and p4["by"]["zoning"]["input"] == "agricultural"


def test_breakdowns_add_up_to_the_scores(scored, db_settings) -> None:  # type: ignore[no-untyped-def]
    for (idu,) in rows(db_settings, "SELECT idu FROM parcel_score"):
        s = _score(db_settings, idu)
        assert sum(b["contribution"] for b in s["breakdown"]) == pytest.approx(s["score"], abs=1e-9)
        assert s["profile_version"] == "default-2026.1" and s["vintages"]["profile"]
    assert scored.parcels == 7 and scored.sites == 1


@pytest.mark.usefixtures("scored")
def test_turnkey_parcel_in_a_land_unit_scores_by_hand(db_settings) -> None:  # type: ignore[no-untyped-def]
    p5 = _score(db_settings, "01001000AA0005")
    # zoning 30 (activity) + constraints 20 + zan 20 (urban zone: no ENAF) + size 15 x (2 - 0.5)
    # / (10 - 0.5) = 2.37 + turnkey 5 + maturity 5 ("Disponible ...").
    assert p5["score"] == pytest.approx(30 + 20 + 20 + 2.37 + 5 + 5)
    assert p5["contiguous_ha"] == 2.0 and p5["land_status"] == "urban_zone"
    p1 = _score(db_settings, "01001000AA0001")
    assert p1["score"] == pytest.approx(9 + 14 + 0 + 0.79)  # no PLU 0.3 x 30, ZAN 10% share


@pytest.mark.usefixtures("scored")
def test_land_units_merge_adjacent_unbuilt_parcels(db_settings) -> None:  # type: ignore[no-untyped-def]
    units = rows(
        db_settings,
        "SELECT zone_id, parcel_count, area_ha, idus, ST_Area(geom) FROM land_unit"
        " ORDER BY area_ha DESC, zone_id",
    )
    # P5 + P6 touch in the UX zone (P7 is built); P2 is excluded, so no unit.
    assert units[0][:4] == ("z-ux", 2, 2.0, ["01001000AA0005", "01001000AA0006"])
    assert units[0][4] == pytest.approx(20_000)
    assert not any("01001000AA0002" in u[3] or "01001000AA0007" in u[3] for u in units)
    (site,) = rows(db_settings, "SELECT contiguous_ha, score, zan_cost_ha FROM site_score")
    assert site[0] == pytest.approx(2.0) and site[2] == 0


@pytest.mark.usefixtures("scored")
def test_territory_scope_and_changed_only(run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    again = run_score(changed_only=True)
    assert again.skipped
    other = run_score(territory="01002")  # no parcel there: Alpha's scores stay
    assert other.parcels == 0
    assert rows(db_settings, "SELECT count(*) FROM parcel_score")[0][0] == 7
    versions = dict(rows(db_settings, "SELECT layer, version FROM layer_version"))
    assert versions["scores"] == 2 and versions["land_units"] == 2
    # A parcel edited by a later load: only its commune is re-scored.
    with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
        conn.execute(
            "INSERT INTO ingest_run (layer, source, sha256, status)"
            " VALUES ('parcels', 'x', 'x', 'succeeded')"
        )
        conn.execute(
            "UPDATE parcel SET built = true, run_id = (SELECT max(id) FROM ingest_run)"
            " WHERE idu = '01001000AA0006'"
        )
        conn.execute("UPDATE layer_version SET version = version + 1 WHERE layer = 'parcels'")
    local = run_score(changed_only=True)
    assert not local.skipped and local.communes == 1 and local.parcels == 7
    assert _score(db_settings, "01001000AA0005")["contiguous_ha"] == 1.0
