"""Constraint layers: attributes map to kinds, points become discs, re-runs change nothing."""

from __future__ import annotations

import math

import pytest

from geo.constraints import disc_radius_m
from ingest.errors import IngestError
from tests.conftest import SAMPLES, scalar

OISE = SAMPLES / "protection" / "oise_60_znieff_natura2000.geojson.gz"
LILLE = SAMPLES / "risques" / "tri_lille_surfaces_inondables_2014.geojson.gz"
ADEME = SAMPLES / "friches" / "ademe_sites_pollues_interventions.geojson.gz"


def _kinds(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT kind, count(*) FROM constraint_zone GROUP BY kind")).all()
        )


def test_inpn_type_zone_maps_to_kinds_and_rerun_changes_nothing(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("constraints", OISE, vintage="2026-05")
    assert report.loaded == 206 and report.quarantined == 0
    assert _kinds(clean_db) == {
        "znieff1": 164,
        "znieff2": 21,
        "natura2000_sic": 18,
        "natura2000_zps": 3,
    }
    again = load("constraints", OISE, vintage="2026-05")
    assert sum(t.inserted + t.updated + t.deleted for t in again.tables) == 0


def test_flood_scenarios_and_files_do_not_delete_each_other(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    load("constraints", OISE)
    load("constraints", LILLE)
    kinds = _kinds(clean_db)
    assert kinds["flood_high"] == 59 and kinds["flood_medium"] == 28 and kinds["flood_low"] == 19
    assert kinds["znieff1"] == 164  # the second file left the first one's rows alone


def test_kind_option_overrides_the_attributes(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    load("constraints", LILLE, kind="ppr_technological")
    assert _kinds(clean_db) == {"ppr_technological": 106}
    with pytest.raises(IngestError, match="unknown"):
        load("constraints", LILLE, kind="volcano")


def test_polluted_points_become_discs_of_their_surface(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("constraints", ADEME)
    # 29 ADEME sites have no coordinates: quarantined with the reason, never dropped silently.
    assert report.loaded == 390 and report.quarantined == 29
    assert (
        scalar(clean_db, "SELECT count(*) FROM quarantine WHERE reason = 'missing geometry'") == 29
    )
    area = scalar(
        clean_db,
        "SELECT ST_Area(geom) FROM constraint_zone WHERE attributes->>'Nom_site' = 'ARDENITY'",
    )
    expected = math.pi * disc_radius_m(19_700) ** 2  # Surface_site_m2 = 19 700
    assert area == pytest.approx(expected, rel=0.01)
    assert scalar(
        clean_db, "SELECT bool_and((attributes->>'approximate')::boolean) FROM constraint_zone"
    )
