"""Parcel and site scores on the hand-made fixture: overlaps, exclusions, ZAN cost, land units."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.geo.conftest import rows


def _score(db_settings, idu: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cols = (
        "score",
        "excluded",
        "land_status",
        "land_evidence",
        "zan_cost_ha",
        "zan_cost_max_ha",
        "known_inputs",
        "available",
        "to_qualify",
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
    assert (p3["land_status"], p3["zan_cost_ha"], p3["envelope_share"]) == ("artificialised", 0, 0)
    assert p3["land_evidence"] == {"evidence": "brownfield", "friche": "f1"}
    assert p3["by"]["brownfield"]["contribution"] == 5
    # A brownfield is candidate land whatever its zone (here agricultural): available.
    assert p3["available"] is True
    p4 = _score(db_settings, "01001000AA0004")
    # 1 ha of known unbuilt land; the EPCI's own envelope is 21 x 50% = 10.5 ha, 1 ha consumed
    # since 2021: 9.5 ha left, a 10.5% share, value 0.
    assert (p4["land_status"], p4["zan_cost_ha"]) == ("enaf", 1.0)
    assert p4["land_evidence"] == {"evidence": "no_building", "source": "buildings"}
    assert p4["envelope_share"] == pytest.approx(1 / 9.5)
    assert p4["by"]["zan"]["value"] == 0 and p4["by"]["zoning"]["input"] == "agricultural"
    # Known ENAF in an agricultural zone: neither available nor to qualify.
    assert (p4["available"], p4["to_qualify"]) == (False, False)


@pytest.mark.usefixtures("scored")
def test_unknown_land_is_never_enaf_nor_available(db_settings) -> None:  # type: ignore[no-untyped-def]
    p8 = _score(db_settings, "01001000AA0008")
    # No building layer covers it: status unknown, cost unknown (0 to its whole hectare).
    assert p8["land_status"] == "unknown" and p8["land_evidence"] == {"evidence": "none"}
    assert p8["zan_cost_ha"] is None and p8["zan_cost_max_ha"] == 1.0
    assert (p8["available"], p8["to_qualify"], p8["land_unit_id"]) == (False, True, None)
    zan, size = p8["by"]["zan"], p8["by"]["size"]
    assert zan["known"] is False and zan["input"]["status"] == "unknown"
    assert zan["value"] == 0.5  # [zan] unknown_value: never more than a known average
    # Sized on its own hectare, capped at 0.5 (size_cap): 15 x (1 - 0.5) / 9.5 = 0.79 points.
    assert size["known"] is False and size["contribution"] == pytest.approx(0.79)
    # zoning (UX), constraints, brownfield, turnkey, maturity (not a site) known; zan, size not.
    assert p8["known_inputs"] == 5
    assert p8["score"] == pytest.approx(30 + 20 + 10 + 0.79)


@pytest.mark.usefixtures("scored")
def test_partly_built_parcel_costs_its_land_beyond_the_curtilage(db_settings) -> None:  # type: ignore[no-untyped-def]
    p7 = _score(db_settings, "01001000AA0007")
    # A 20 m x 20 m building in the corner of a 1 ha parcel, curtilage 10 m: the buffer covers
    # a 30 m x 30 m square less the outer corner's rounding (10 x 10 m square less a quarter
    # circle of 10 m, drawn by GEOS with 8 segments: 400 sin(pi/16) = 78.04 m2), so
    # 900 - 100 + 78.04 = 878.04 m2 are artificialised and 9,121.96 m2 would still be ENAF.
    assert p7["land_status"] == "artificialised"
    assert p7["land_evidence"]["evidence"] == "building"
    assert p7["land_evidence"]["built_m2"] == 400 and p7["land_evidence"]["curtilage_m"] == 10
    assert p7["zan_cost_ha"] == pytest.approx(0.912196, abs=1e-4)
    # Built: no size points, not available, not to qualify.
    assert p7["by"]["size"]["input"] == "built" and p7["by"]["size"]["value"] == 0
    assert (p7["available"], p7["to_qualify"], p7["contiguous_ha"]) == (False, False, None)


@pytest.mark.usefixtures("scored")
def test_sites_on_a_brownfield_or_at_their_commune(db_settings) -> None:  # type: ignore[no-untyped-def]
    cols = (
        "site_id, land_status, land_evidence, zan_cost_ha, zan_cost_max_ha, known_inputs, breakdown"
    )
    found = {r[0]: r for r in rows(db_settings, f"SELECT {cols} FROM site_score")}
    _, status, evidence, cost, _, _, _ = found["s2"]
    # Drawn inside the brownfield f2's perimeter: recycled land, no ENAF.
    assert (status, cost) == ("artificialised", 0) and evidence["friche"] == "f2"
    _, status, evidence, cost, cost_max, known, breakdown = found["s3"]
    by = {b["criterion"]: b for b in breakdown}
    # Placed at its commune: nothing was checked on the ground, so nothing is granted.
    assert (status, cost, cost_max) == ("unknown", None, 20.0)
    assert evidence == {"evidence": "none", "location": "commune"}
    assert by["constraints"]["input"] == "unknown" and by["constraints"]["value"] == 0.5
    assert by["zoning"]["known"] is False and by["zan"]["value"] == 0.5
    # Known: brownfield and turnkey flags and the size (20 ha); unknown: zoning, constraints,
    # ZAN cost and maturity.
    assert known == 3


def test_breakdowns_add_up_to_the_scores(scored, db_settings) -> None:  # type: ignore[no-untyped-def]
    for (idu,) in rows(db_settings, "SELECT idu FROM parcel_score"):
        s = _score(db_settings, idu)
        assert sum(b["contribution"] for b in s["breakdown"]) == pytest.approx(s["score"], abs=1e-9)
        assert s["profile_version"] == "default-2026.2" and s["vintages"]["profile"]
        known = sum(1 for b in s["breakdown"] if b["criterion"] != "exclusion" and b["known"])
        assert known == s["known_inputs"]
    assert scored.parcels == 8 and scored.sites == 3


@pytest.mark.usefixtures("scored")
def test_turnkey_parcel_in_a_land_unit_scores_by_hand(db_settings) -> None:  # type: ignore[no-untyped-def]
    p5 = _score(db_settings, "01001000AA0005")
    # zoning 30 (activity) + constraints 20 + zan 0 (1 ha of ENAF: an activity zone is a rule
    # for the future, not a land use; 1 / 9.5 > 10% of the EPCI's remaining envelope)
    # + size 15 x (2 - 0.5) / (10 - 0.5) = 2.37 + turnkey 5 + maturity 5 ("Disponible ...").
    assert p5["score"] == pytest.approx(30 + 20 + 0 + 2.37 + 5 + 5)
    assert p5["contiguous_ha"] == 2.0 and p5["land_status"] == "enaf"
    assert p5["zan_cost_ha"] == 1.0 and p5["available"] is True
    p1 = _score(db_settings, "01001000AA0001")
    assert p1["score"] == pytest.approx(9 + 14 + 0 + 0.79)  # no PLU 0.3 x 30, ZAN 10.5% share
    assert p1["by"]["zoning"]["input"] == "unknown" and p1["by"]["zoning"]["known"] is False
    # Known ENAF where no zoning is known: it could be candidate land, so it is to qualify.
    assert (p1["available"], p1["to_qualify"]) == (False, True)


@pytest.mark.usefixtures("scored")
def test_land_units_merge_adjacent_unbuilt_parcels(db_settings) -> None:  # type: ignore[no-untyped-def]
    units = rows(
        db_settings,
        "SELECT zone_id, parcel_count, area_ha, idus, ST_Area(geom) FROM land_unit"
        " ORDER BY area_ha DESC, zone_id",
    )
    # P5 + P6 touch in the UX zone (P7 is built, P8 unknown); P2 is excluded, so no unit.
    assert units[0][:4] == ("z-ux", 2, 2.0, ["01001000AA0005", "01001000AA0006"])
    assert units[0][4] == pytest.approx(20_000)
    assert not any(
        p in u[3] for u in units for p in ("01001000AA0002", "01001000AA0007", "01001000AA0008")
    )
    (site,) = rows(
        db_settings,
        "SELECT contiguous_ha, land_status, zan_cost_ha FROM site_score WHERE site_id = 's1'",
    )
    # s1 covers P5 + P6, two hectares of known ENAF: its cost is theirs.
    assert site[0] == pytest.approx(2.0) and site[1:] == ("enaf", 2.0)


@pytest.mark.usefixtures("scored")
def test_territory_scope_and_changed_only(run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    again = run_score(changed_only=True)
    assert again.skipped
    other = run_score(territory="01002")  # no parcel there: Alpha's scores stay
    assert other.parcels == 0
    assert rows(db_settings, "SELECT count(*) FROM parcel_score")[0][0] == 8
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
    assert not local.skipped and local.communes == 1 and local.parcels == 8
    assert _score(db_settings, "01001000AA0005")["contiguous_ha"] == 1.0


def test_a_load_committed_during_a_run_is_scored_and_recorded(  # type: ignore[no-untyped-def]
    sql_fixture, run_score, db_settings
) -> None:
    sql_fixture("score_fixture.sql")
    injected: list[str] = []

    def load_meanwhile(step: str) -> None:
        # A parcels load commits while the run computes its inputs (once).
        if step != "constraints" or injected:
            return
        injected.append(step)
        with __import__("psycopg").connect(db_settings.psycopg_dsn) as conn:
            conn.execute(
                "INSERT INTO parcel (idu, insee, prefixe, section, numero, contenance_m2, built,"
                " geom) VALUES ('01001000AA0009', '01001', '000', 'AA', '0009', 10000, false,"
                " ST_Multi(ST_MakeEnvelope(706000, 6600000, 706100, 6600100, 2154)))"
            )
            conn.execute(
                "INSERT INTO layer_version (layer, version) VALUES ('parcels', 1)"
                " ON CONFLICT (layer) DO UPDATE SET version = layer_version.version + 1"
            )

    report = run_score(step=load_meanwhile)
    # The run saw the load's version bump collide with its own and ran again on the new data.
    assert injected and report.parcels == 9
    assert rows(db_settings, "SELECT count(*) FROM parcel_score WHERE idu = '01001000AA0009'") == [
        (1,)
    ]
    assert run_score(changed_only=True).skipped


def test_press_sites_are_scored_on_what_is_known(load, run_score, db_settings) -> None:  # type: ignore[no-untyped-def]
    load("communes", SAMPLES / "admin" / "communes_2022_sample.geojson.gz")
    load("sites", SAMPLES / "sites" / "scem_2024_partiel_presse.csv")
    run_score()
    found = {
        r[0]: r[1:]
        for r in rows(
            db_settings,
            "SELECT site_id, land_status, zan_cost_ha, zan_cost_max_ha, land_evidence, breakdown"
            " FROM site_score",
        )
    }
    # "Ancienne sucrerie de Bourdon", 20 ha: the source names a former factory, so recycled
    # land, not 20 ha of ENAF.
    status, cost, _, evidence, _ = found["scem2024-press-02"]
    assert (status, cost) == ("artificialised", 0) and evidence["source"] == "site_name"
    # "Gabriélat 2", placed at its commune (Pamiers) with no surface: nothing known.
    status, cost, cost_max, evidence, breakdown = found["scem2024-press-12"]
    by = {b["criterion"]: b for b in breakdown}
    assert (status, cost, cost_max) == ("unknown", None, None)
    assert evidence["location"] == "commune"
    assert by["constraints"]["known"] is False and by["size"]["input"] == "unknown"
    assert by["zan"]["value"] <= 0.5 and by["size"]["value"] == 0
