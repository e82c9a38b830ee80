"""COG reference lists (regions, départements, commune history) and communes that follow them."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, text

from ingest.sources import SAMPLES as SAMPLE_FILES
from tests.conftest import SAMPLES, scalar

ADMIN = SAMPLES / "admin"
REGIONS = ADMIN / "regions_cog_2026.csv"
DEPARTEMENTS = ADMIN / "departements_cog_2026.csv"
HISTORY = ADMIN / "communes_anciennes_cog_2026.csv"
COMMUNES_2022 = ADMIN / "communes_2022_sample.geojson.gz"
MEMBERSHIP_2026 = ADMIN / "communes_2026_epci_sample.csv"
LYON_ENAF = SAMPLES / "zan" / "conso_enaf_annuelle_2009_2023_metropole_lyon.csv"
# The 2022 sample's communes that the COG 2026 history maps to another code, counted by hand:
# `python -c` over the sample's insee_com against communes_anciennes_cog_2026.csv gives 18
# (01039, 01330, 25282, 25297, 25303, 25347, 25398, 25533, 25549, 25620, 26371, 42072, 42109,
# 42252, 59070, 63330, 69152, 69159), going to 17 current communes: 6,135 - 18 + 1 = 6,118
# (69159 is renumbered 69114, whose code the 2022 file does not have).
MERGED_IN_SAMPLE = 18
CURRENT_COMMUNES = 6118


def _changes(report) -> int:  # type: ignore[no-untyped-def]
    return sum(t.inserted + t.updated + t.deleted for t in report.tables)


def _commune(engine: Engine, insee: str) -> dict[str, object] | None:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT nom, siren_epci, siren, cog_vintage, population FROM commune"
                " WHERE insee = :insee"
            ),
            {"insee": insee},
        ).one_or_none()
    return None if row is None else dict(row._mapping)


def _snapshot(engine: Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT insee, nom, dep, siren_epci, siren, cog_vintage, population,"
                " md5(ST_AsEWKB(geom)) FROM commune"
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _sample_polygon_2154(insee: str) -> shapely.Geometry:
    communes = gpd.read_file(f"/vsigzip/{COMMUNES_2022}", where=f"insee_com = '{insee}'")
    return communes.to_crs(2154).geometry.iloc[0]


def test_regions_and_departements_of_the_cog(load, clean_db: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert (load("regions", REGIONS).loaded, scalar(clean_db, "SELECT count(*) FROM region")) == (
        18,
        18,
    )
    report = load("departements", DEPARTEMENTS, vintage="COG 2026")
    assert (report.loaded, report.quarantined) == (101, 0)
    with clean_db.connect() as conn:
        names = dict(conn.execute(text("SELECT code, nom || ' ' || reg FROM departement")).all())
        regions = dict(conn.execute(text("SELECT code, nom FROM region")).all())
    assert regions["84"] == "Auvergne-Rhône-Alpes" and regions["04"] == "La Réunion"
    assert names["2A"] == "Corse-du-Sud 94" and names["974"] == "La Réunion 04"
    assert names["69"] == "Rhône 84" and names["01"] == "Ain 84"
    assert _changes(load("regions", REGIONS)) == 0
    # Collectivités d'outre-mer are not regions in the COG: refused with the reason.
    com = tmp_path / "regions_com.csv"
    com.write_text("code,nom\n84,Auvergne-Rhône-Alpes\n975,Saint-Pierre-et-Miquelon\n")
    report = load("regions", com)
    assert (report.loaded, report.quarantined) == (1, 1)
    reason = scalar(clean_db, "SELECT reason FROM quarantine WHERE key = '975'")
    assert reason == "region code '975' is not a COG region code"


def test_history_sample_loads_every_old_code(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    report = load("communes_anciennes", HISTORY, vintage="COG 2026")
    with HISTORY.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert (report.loaded, report.quarantined) == (len(rows), 0) == (4240, 0)
    with clean_db.connect() as conn:
        found = dict(
            conn.execute(
                text(
                    "SELECT insee_ancienne, insee || ' ' || coalesce(nom, '-')"
                    " FROM commune_ancienne WHERE insee_ancienne IN"
                    " ('69152', '01039', '69159', '20004', '01003')"
                )
            ).all()
        )
    assert found == {
        "69152": "69149 Pierre-Bénite",
        "01039": "01138 Béon",
        "69159": "69114 Pouilly-le-Monial",
        "20004": "2A004 -",  # Corsica's code before 1976: an old code like any other
        "01003": "01165 -",  # from anciensCodes only: the package names no old commune
    }


def test_history_refuses_chains_and_same_codes(load, clean_db: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "history.csv"
    path.write_text(
        "insee_ancienne,insee,nom\n01001,01002,A\n01002,01004,B\n01005,01005,C\n1X001,01004,D\n"
    )
    report = load("communes_anciennes", path)
    assert (report.loaded, report.quarantined) == (1, 3)
    with clean_db.connect() as conn:
        reasons = dict(conn.execute(text("SELECT key, reason FROM quarantine")).all())
    assert reasons == {
        "01001": "current commune 01002 is itself an old code in this file (merged into 01004):"
        " give the final code",
        "01005": "old and current INSEE codes are the same",
        "1X001": "INSEE code '1X001' is not a COG INSEE code",
    }


def _load_communes(load, history_first: bool = True) -> list:  # type: ignore[no-untyped-def]
    reports = []
    if history_first:
        reports.append(load("communes_anciennes", HISTORY, vintage="COG 2026"))
    reports.append(load("communes", COMMUNES_2022, vintage="ADMIN EXPRESS 2022"))
    if not history_first:
        reports.append(load("communes_anciennes", HISTORY, vintage="COG 2026"))
    reports.append(load("communes", MEMBERSHIP_2026, vintage="COG 2026"))
    return reports


def _assert_current_communes(engine: Engine) -> None:
    assert scalar(engine, "SELECT count(*) FROM commune") == CURRENT_COMMUNES
    for gone in ("69152", "01039", "69159"):
        assert _commune(engine, gone) is None
    oullins = _commune(engine, "69149")
    assert oullins is not None
    assert (oullins["nom"], oullins["siren_epci"], oullins["cog_vintage"]) == (
        "Oullins-Pierre-Bénite",
        "200046977",  # Métropole de Lyon
        "COG 2026",
    )
    assert oullins["siren"] == "200102747"  # the new commune's own SIREN (COG 2026)
    culoz = _commune(engine, "01138")
    assert culoz is not None and culoz["nom"] == "Culoz-Béon"
    renumbered = _commune(engine, "69114")
    assert renumbered is not None and renumbered["nom"] == "Porte des Pierres Dorées"
    # Every commune follows COG 2026 once the membership table is loaded.
    assert scalar(engine, "SELECT count(*) FROM commune WHERE cog_vintage = 'COG 2026'") == 6118


def test_merged_communes_are_dissolved_into_the_current_one(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    history, communes, membership = _load_communes(load)
    assert communes.loaded == 6135 and communes.quarantined == 0
    assert communes.tables[0].inserted == CURRENT_COMMUNES
    assert communes.notes == [
        f"commune: {MERGED_IN_SAMPLE} communes merged or renumbered since (COG history) "
        "dissolved into their current commune"
    ]
    assert (membership.loaded, membership.quarantined) == (CURRENT_COMMUNES, 0)
    _assert_current_communes(clean_db)
    # 69149's polygon is the union of Oullins and Pierre-Bénite as the 2022 file drew them.
    pierre_benite = _sample_polygon_2154("69152")
    oullins_2022 = _sample_polygon_2154("69149")
    params = {"pb": shapely.to_wkb(pierre_benite, hex=True)}
    covered = scalar(
        clean_db,
        "SELECT foncier_area_m2(ST_Intersection(geom, ST_GeomFromWKB(decode(:pb, 'hex'), 2154)))"
        " / foncier_area_m2(ST_GeomFromWKB(decode(:pb, 'hex'), 2154))"
        " FROM commune WHERE insee = '69149'",
        **params,
    )
    assert float(covered) > 0.9999  # type: ignore[arg-type]
    area_sql = "SELECT foncier_area_m2(geom) FROM commune WHERE insee = '69149'"
    area = float(scalar(clean_db, area_sql))  # type: ignore[arg-type]
    assert area == pytest.approx(pierre_benite.area + oullins_2022.area, rel=0.005)
    # Population: the sum of the parts as the 2022 file counted them.
    population = gpd.read_file(f"/vsigzip/{COMMUNES_2022}", ignore_geometry=True).set_index(
        "insee_com"
    )["population"]
    expected = int(population["69149"] + population["69152"])
    assert _commune(clean_db, "69149")["population"] == expected  # type: ignore[index]


def test_reruns_change_nothing(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    _load_communes(load)
    before = _snapshot(clean_db)
    for layer, path in (
        ("communes_anciennes", HISTORY),
        ("communes", COMMUNES_2022),
        ("communes", MEMBERSHIP_2026),
    ):
        again = load(layer, path, vintage="ADMIN EXPRESS 2022" if path == COMMUNES_2022 else None)
        assert _changes(again) == 0, (layer, path.name)
    # A 2022 polygon file loaded again keeps the COG 2026 names (not "Oullins").
    assert _snapshot(clean_db) == before


def test_history_after_the_communes_gives_the_same_communes(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    _, history, _ = _load_communes(load, history_first=False)
    assert history.notes == [
        f"commune_ancienne: {MERGED_IN_SAMPLE} loaded communes merged or renumbered since "
        "dissolved into their current one"
    ]
    _assert_current_communes(clean_db)
    after = _snapshot(clean_db)
    # Dissolved in the table or in staging, the same parts in the same order: reloading the
    # polygons (which dissolves them in staging) finds nothing to change.
    again = load("communes", COMMUNES_2022, vintage="ADMIN EXPRESS 2022")
    assert _changes(again) == 0
    assert _snapshot(clean_db) == after


def test_samples_load_the_cog_lists_before_the_communes() -> None:
    order = [s.path for s in SAMPLE_FILES]
    first_communes = order.index("admin/communes_2022_sample.geojson.gz")
    for path in (REGIONS, DEPARTEMENTS, HISTORY):
        assert order.index(f"admin/{path.name}") < first_communes
    assert order.index("admin/communes_2026_epci_sample.csv") > first_communes


def _lyon_rows(insee: str) -> list[dict[str, str]]:
    with LYON_ENAF.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["code"] == insee]


def test_enaf_flows_of_an_old_code_go_to_the_current_commune(  # type: ignore[no-untyped-def]
    load, clean_db: Engine, tmp_path: Path
) -> None:
    # The real Métropole de Lyon file already uses 69149 (COG 2024+); the same layout keyed by
    # Pierre-Bénite's old code 69152, as an older export would be, with half of 69149's flows.
    oullins = _lyon_rows("69149")
    assert len(oullins) == 15  # 2009-2023
    old = [
        {**r, "code": "69152", "nom": "Pierre-Bénite", "total": str(int(r["total"]) // 2)}
        for r in oullins
    ]
    path = tmp_path / "conso_enaf_lyon_avant_2024.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(oullins[0]))
        writer.writeheader()
        writer.writerows(oullins + old)

    without = load("enaf", path)
    assert without.notes == []  # no history loaded: the old code stays as the file gives it
    assert scalar(clean_db, "SELECT count(DISTINCT insee) FROM enaf_flow") == 2

    load("communes_anciennes", HISTORY)
    report = load("enaf", path, vintage="test")
    assert report.notes == [
        "enaf_flow: 1 old INSEE codes (COG history) remapped to their current commune, "
        "flows summed",
        "enaf_flow: 105 flow rows remapped",  # 15 years x 7 destinations
        "enaf_flow: 105 flow rows stored under those old codes replaced",  # the first load's
    ]
    assert report.quarantined == 0
    with clean_db.connect() as conn:
        totals = dict(
            conn.execute(
                text(
                    "SELECT year, area_m2 FROM enaf_flow"
                    " WHERE insee = '69149' AND destination = 'total'"
                )
            ).all()
        )
    expected = {int(r["annee"]): int(r["total"]) + int(r["total"]) // 2 for r in oullins}
    assert totals == expected
    # The flows the first load stored under 69152 are not counted twice.
    assert scalar(clean_db, "SELECT count(DISTINCT insee) FROM enaf_flow") == 1
    again = load("enaf", path, vintage="test")
    assert _changes(again) == 0
