"""Territoires d'industrie: every territory loads; perimeters published as points are rebuilt."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import Engine, text

from tests.conftest import SAMPLES, scalar

TI = SAMPLES / "territoires_industrie"
PERIMETRES_2018 = TI / "ti_2018_2022_perimetres.geojson.gz"
GROUPEMENTS_2018 = TI / "ti_2018_2022_groupements.csv"
# A gzipped byte copy of /work/shared/data/territoires_industrie/ti_2023_2027_perimetres.geojson.
PERIMETRES_2023 = TI / "ti_2023_2027_perimetres.geojson.gz"
COMMUNES_2022 = SAMPLES / "admin" / "communes_2022_sample.geojson.gz"
MEMBERSHIP_2026 = SAMPLES / "admin" / "communes_2026_epci_sample.csv"
# Published without a polygon perimeter in the 2018-2022 file (geometry types read with
# geopandas): two GeometryCollections (points of commune members plus a polygon), two
# MultiPoints and one Point.
NOT_POLYGONS = {
    "ti-2706": "GeometryCollection",
    "ti-8416": "GeometryCollection",
    "ti-9301": "MultiPoint",
    "ti-9303": "Point",
    "ti-9307": "MultiPoint",
}
# ti-8416's members in ti_2018_2022_groupements.csv: 12 communes (COM) and two EPCIs. Counted
# by hand in data/samples/admin/communes_2026_epci_sample.csv: `grep -c ,244200622,` = 16
# communes (CC des Monts du Pilat), `grep -c ,244200895,` = 14 (CC du Pilat Rhodanien), and
# each of the 12 commune SIRENs (214200446 ... 214203168) is one line's siren_com (12 Loire
# communes of Saint-Etienne Métropole): 12 + 16 + 14 = 42. The published collection's
# polygon covers the two EPCIs only, hence the 30 before.
TI_8416_COMMUNES = 42


def _changes(report) -> int:  # type: ignore[no-untyped-def]
    return sum(t.inserted + t.updated + t.deleted for t in report.tables)


def _perimeters(engine: Engine) -> dict[str, bool]:
    """id_ti -> whether it has a perimeter, for the territories published without a polygon."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id_ti, geom IS NOT NULL FROM territoire"
                " WHERE programme = 2018 AND id_ti = ANY(:ids)"
            ),
            {"ids": list(NOT_POLYGONS)},
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def _communes_of(engine: Engine, kind: str, code: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT insee FROM territory_commune WHERE kind = :kind AND code = :code"),
            {"kind": kind, "code": code},
        ).scalars()
        return set(rows)


def test_all_149_territories_of_2018_load(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    types = gpd.read_file(f"/vsigzip/{PERIMETRES_2018}").set_index("id_ti").geom_type
    assert {k: types[k] for k in NOT_POLYGONS} == NOT_POLYGONS
    report = load("territoires", PERIMETRES_2018, vintage="ANCT 2022")
    assert (report.rows_read, report.loaded, report.quarantined) == (149, 149, 0)
    assert scalar(clean_db, "SELECT count(*) FROM territoire WHERE programme = 2018") == 149
    # No member loaded yet: kept, without a perimeter, and the summary says so.
    assert _perimeters(clean_db) == dict.fromkeys(NOT_POLYGONS, False)
    assert report.notes == [
        "territoire: 5 territories kept without a perimeter (a member's communes are not "
        "loaded: a later members or communes load rebuilds it)"
    ]
    assert scalar(clean_db, "SELECT count(*) FROM quarantine") == 0


@pytest.mark.parametrize("members_first", [False, True])
def test_ti_8416_gets_its_42_member_communes(load, clean_db: Engine, members_first: bool) -> None:  # type: ignore[no-untyped-def]
    load("communes", COMMUNES_2022)
    load("communes", MEMBERSHIP_2026, vintage="COG 2026")
    files = [PERIMETRES_2018, GROUPEMENTS_2018]
    reports = [load("territoires", f) for f in (files[::-1] if members_first else files)]
    rebuilt = "1 perimeters rebuilt from their member communes (published as points or "
    notes = [n for r in reports for n in r.notes]
    assert any(rebuilt in n for n in notes), notes
    assert len(_communes_of(clean_db, "territoire-2018", "ti-8416")) == TI_8416_COMMUNES
    # ti-8416's perimeter is the union of those 42 communes; the other four territories'
    # members (Nièvre, Bouches-du-Rhône, Vaucluse, Alpes-Maritimes, Var) are not in the sample.
    assert _perimeters(clean_db) == {k: k == "ti-8416" for k in NOT_POLYGONS}
    ratio = scalar(
        clean_db,
        "SELECT foncier_area_m2(t.geom) / (SELECT sum(foncier_area_m2(c.geom)) FROM commune c"
        " WHERE c.insee IN (SELECT insee FROM territory_commune"
        " WHERE kind = 'territoire-2018' AND code = 'ti-8416'))"
        " FROM territoire t WHERE t.programme = 2018 AND t.id_ti = 'ti-8416'",
    )
    assert float(ratio) == pytest.approx(1.0, abs=0.005)  # type: ignore[arg-type]
    for f in files:
        assert _changes(load("territoires", f)) == 0, f.name


def _write_reference(tmp: Path) -> dict[str, Path]:
    """Three communes (two adjacent, one apart), their COG table, and two territories of 2018:
    ti-9901 published as a Point (members: commune A by its SIREN, and the EPCI of commune C),
    ti-9902 as a polygon."""
    box = shapely.box
    communes = gpd.GeoDataFrame(
        {
            "insee_com": ["01001", "01002", "01004"],
            "nom_com": ["A", "B", "C"],
            "insee_dep": ["01", "01", "01"],
            "siren_epci": ["200000001", "200000001", "200000002"],
        },
        geometry=[
            box(850000, 6550000, 851000, 6551000),
            box(851000, 6550000, 852000, 6551000),
            box(860000, 6550000, 862000, 6551000),
        ],
        crs=2154,
    )
    communes.to_file(tmp / "communes.gpkg")
    with (tmp / "communes_2026.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["insee_com", "nom_com", "siren_com", "siren_epci"])
        writer.writerows(
            [
                ["01001", "A", "210100012", "200000001"],
                ["01002", "B", "210100020", "200000001"],
                ["01004", "C", "210100046", "200000002"],
            ]
        )
    territories = gpd.GeoDataFrame(
        {"id_ti": ["ti-9901", "ti-9902"], "lib_ti": ["Point", "Polygone"]},
        geometry=[shapely.Point(850500, 6550500), box(851000, 6550000, 852000, 6551000)],
        crs=2154,
    ).to_crs(4326)
    territories.to_file(tmp / "ti_2018_perimetres.geojson")
    with (tmp / "ti_2018_groupements.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_ti", "siren_groupement", "nature_groupement"])
        writer.writerows(
            [
                ["ti-9901", "210100012", "COM"],
                ["ti-9901", "200000002", "EPCI"],
                ["ti-9902", "200000001", "EPCI"],
            ]
        )
    return {
        "communes": tmp / "communes.gpkg",
        "cog": tmp / "communes_2026.csv",
        "perimeters": tmp / "ti_2018_perimetres.geojson",
        "members": tmp / "ti_2018_groupements.csv",
    }


def _point_territory(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT GeometryType(geom), round(foncier_area_m2(geom)),"
                    " ST_Equals(geom, (SELECT ST_Union(geom) FROM commune"
                    " WHERE insee IN ('01001', '01004')))"
                    " FROM territoire WHERE id_ti = 'ti-9901'"
                )
            ).one()
        )


def test_a_point_territory_gets_the_union_of_its_members(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, tmp_path: Path
) -> None:
    f = _write_reference(tmp_path)
    load("communes", f["communes"])
    load("communes", f["cog"])
    load("territoires", f["members"])
    report = load("territoires", f["perimeters"])
    assert (report.loaded, report.quarantined) == (2, 0)
    assert report.notes[0].startswith("territoire: 1 perimeters rebuilt")
    # Commune A (1 km²) and commune C (2 km²) of the EPCI member, not B.
    assert _point_territory(clean_db) == ("MULTIPOLYGON", 3_000_000, True)
    assert _communes_of(clean_db, "territoire-2018", "ti-9901") == {"01001", "01004"}
    assert _changes(load("territoires", f["perimeters"])) == 0


def test_a_perimeter_waits_for_all_its_members_communes(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, tmp_path: Path
) -> None:
    f = _write_reference(tmp_path)
    load("territoires", f["perimeters"])
    assert load("territoires", f["members"]).notes == []  # no commune loaded yet
    # The polygons give the EPCI member's commune, not yet commune A's SIREN: not whole yet.
    assert load("communes", f["communes"]).notes == []
    assert scalar(clean_db, "SELECT geom IS NULL FROM territoire WHERE id_ti = 'ti-9901'")
    cog = load("communes", f["cog"])
    assert cog.notes == [
        "commune: 1 Territoires d'industrie perimeters rebuilt from their member communes"
    ]
    assert _point_territory(clean_db) == ("MULTIPOLYGON", 3_000_000, True)
    assert _changes(load("territoires", f["perimeters"])) == 0


def test_reunion_is_measured_on_the_ellipsoid(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    load("territoires", PERIMETRES_2023)
    est_reunion = gpd.read_file(f"/vsigzip/{PERIMETRES_2023}", where="id_ti = 'ti-0401'")
    assert est_reunion.crs.to_epsg() == 4326
    # By hand: the geodesic area of the file's own lon/lat polygon on the GRS80 ellipsoid,
    # pyproj's Geod: 73,610 ha (Lambert-93 would give some 260,000 ha this far from France).
    by_hand_m2, _ = Geod(ellps="GRS80").geometry_area_perimeter(est_reunion.geometry.iloc[0])
    assert abs(by_hand_m2) / 1e4 == pytest.approx(73_600, rel=0.01)
    with clean_db.connect() as conn:
        ellipsoid_m2, lambert93_m2 = conn.execute(
            text(
                "SELECT foncier_area_m2(geom), ST_Area(geom) FROM territoire"
                " WHERE programme = 2023 AND id_ti = 'ti-0401'"
            )
        ).one()
    assert ellipsoid_m2 == pytest.approx(abs(by_hand_m2), rel=0.01)
    assert lambert93_m2 > 3 * ellipsoid_m2  # what foncier_area_m2 avoids
