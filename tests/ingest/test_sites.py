"""Sites layer: the 2024 sites clés en main press list, the official CSV layout, CNIG files."""

from __future__ import annotations

import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from tests.conftest import FIXTURES, SAMPLES, scalar

PRESS = SAMPLES / "sites" / "scem_2024_partiel_presse.csv"
COMMUNES = SAMPLES / "admin" / "communes_2022_sample.geojson.gz"


def quarantine(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT key, reason FROM quarantine")).all())


@pytest.fixture
def communes(load) -> None:  # type: ignore[no-untyped-def]
    load("communes", COMMUNES)


@pytest.mark.usefixtures("communes")
def test_press_list_sites_sit_at_their_commune(load, clean_db: Engine) -> None:
    report = load("sites", PRESS, vintage="presse 2024-04")
    # The communes sample holds every commune the press list names; press-10 names none.
    assert (report.rows_read, report.loaded, report.quarantined) == (14, 13, 1)
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT s.nom, s.surface_ha, s.maturite, s.cle_en_main, s.location_precision,"
                " s.insee_list, s.programme, ST_Within(s.geom, c.geom), s.attributes->>'vague'"
                " FROM site s JOIN commune c ON c.insee = s.insee WHERE s.id = 'scem2024-press-01'"
            )
        ).one()
    assert row[0].startswith("Pôle Ecotox")
    assert row[1:5] == (5.0, "disponible 2024", True, "commune")
    assert row[5] == ["26004"]
    assert row[6] == "sites clés en main France 2030"
    assert row[7] is True
    assert row[8] == "lauréats 16/04/2024 (55 sites)"


@pytest.mark.usefixtures("communes")
def test_press_list_unplaceable_sites_are_quarantined_with_the_reason(
    load, clean_db: Engine
) -> None:
    with clean_db.begin() as conn:
        conn.execute(text("DELETE FROM commune WHERE insee = '64410'"))
    load("sites", PRESS)
    reasons = quarantine(clean_db)
    assert reasons["scem2024-press-10"] == (
        "no coordinates and no commune code: the site cannot be placed"
    )
    assert reasons["scem2024-press-09"] == (
        "no coordinates and commune 64410 is not in the commune table: load communes before sites"
    )
    # The raw record is kept for the operator.
    raw = scalar(
        clean_db, "SELECT raw->>'communes' FROM quarantine WHERE key = 'scem2024-press-09'"
    )
    assert raw == "Mourenx|Noguères|Pardies|Bésingrand"


def test_sites_before_communes_are_all_refused(load, clean_db: Engine) -> None:
    report = load("sites", PRESS)
    assert report.loaded == 0
    assert all(
        "load communes before sites" in r or "cannot be placed" in r
        for r in quarantine(clean_db).values()
    )


@pytest.mark.usefixtures("communes")
def test_reload_changes_nothing(load) -> None:
    load("sites", PRESS)
    again = load("sites", PRESS)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0)]


@pytest.mark.usefixtures("communes")
def test_official_layout_points_commune_and_bad_surface(load, clean_db: Engine) -> None:
    report = load("sites", FIXTURES / "scem_officiel.csv")
    assert (report.loaded, report.quarantined) == (2, 2)
    with clean_db.connect() as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                text(
                    "SELECT id, location_precision, surface_ha, surface_dispo_ha, pene,"
                    " cle_en_main, maitrise_fonciere, round(ST_X(geom)), round(ST_Y(geom))"
                    " FROM site"
                )
            )
        }
    assert rows["SCEM-69-001"][:6] == ("point", 12.5, 8.0, False, True, "publique")
    # The CSV's lon/lat (WGS84) reprojected to Lambert-93.
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(4.8357, 45.7640)
    assert rows["SCEM-69-001"][6:] == (round(x), round(y))
    assert rows["SCEM-26-002"][:5] == ("commune", 30.0, None, True, True)
    reasons = quarantine(clean_db)
    assert reasons["SCEM-38-003"] == "wrong type: surface_ha = 'beaucoup' is not a number"
    assert "commune 74999 is not in the commune table" in reasons["SCEM-74-004"]


@pytest.mark.usefixtures("communes")
def test_cnig_polygon_and_point_sites(load, clean_db: Engine) -> None:
    report = load("sites", FIXTURES / "sites_generic.geojson")
    assert report.loaded == 2
    with clean_db.connect() as conn:
        poly = conn.execute(
            text(
                "SELECT location_precision, cle_en_main, ST_Within(geom, perimeter),"
                " round(ST_Area(perimeter)), attributes->>'reseau_fibre_optique', surface_ha"
                " FROM site WHERE id = 'ZAE-POLY-1'"
            )
        ).one()
        point = conn.execute(
            text(
                "SELECT location_precision, cle_en_main, perimeter IS NULL FROM site"
                " WHERE id = 'ZAE-PT-2'"
            )
        ).one()
    assert poly[:3] == ("polygon", True, True)
    assert 200_000 < poly[3] < 220_000  # 0.006 deg x 0.004 deg at 45.76 N, about 21 ha
    assert poly[4:] == ("oui", 3.2)
    assert point == ("point", False, True)


@pytest.mark.usefixtures("communes")
def test_cnig_site_eco_csv_with_text_point(load, clean_db: Engine) -> None:
    report = load("sites", FIXTURES / "site_eco_cnig.csv")
    assert report.loaded == 1
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT s.location_precision, s.cle_en_main, s.surface_ha, s.surface_dispo_ha,"
                " ST_Within(s.geom, c.geom), s.attributes->>'reseau_fret_ferroviaire'"
                " FROM site s JOIN commune c ON c.insee = '69123'"
            )
        ).one()
    assert row == ("point", True, 37.2, 5.7, True, "oui")
