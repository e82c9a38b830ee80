"""Friches layer: the Cartofriches point inventory and the Lyon perimeters (polygons)."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Engine, text

from ingest.layers.friches import parse_id_list
from tests.conftest import FIXTURES, SAMPLES, scalar

POINTS = SAMPLES / "friches" / "cartofriches_2023-10_ara.geojson.gz"
PERIMETERS = SAMPLES / "friches" / "cartofriches_polygones_metropole_lyon.geojson"


def test_parse_id_list() -> None:
    assert parse_id_list("{01432000ZC0096}") == ["01432000ZC0096"]
    assert parse_id_list('{"a","b"}') == ["a", "b"]
    assert parse_id_list("a|b") == ["a", "b"]
    assert parse_id_list("{}") is None
    assert parse_id_list(None) is None


def test_points(load, clean_db: Engine) -> None:
    report = load("friches", POINTS, vintage="2023-10")
    assert (report.rows_read, report.loaded, report.quarantined) == (2468, 2468, 0)
    with clean_db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT nom, type, statut, insee, surface_m2, parcel_ids, pollution, proprio_nom,"
                " source FROM friche WHERE site_id = '01432_23197'"
            )
        ).one()
    assert row == (
        "Propriétaire privé", "autre", "friche sans projet", "01432", 831.77,
        ["01432000ZC0096"], "inconnu", None, "cartofriches",
    )  # fmt: skip


def test_owner_names_only_for_legal_persons(load, clean_db: Engine) -> None:
    load("friches", POINTS)
    source = gpd.read_file(f"/vsigzip/{POINTS}")
    legal = set(source.loc[source["proprio_personne"] == "personne morale", "site_id"])
    with clean_db.connect() as conn:
        named = set(
            conn.execute(text("SELECT site_id FROM friche WHERE proprio_nom IS NOT NULL")).scalars()
        )
    assert named and named <= legal


def test_owner_types_of_the_sample(load, clean_db: Engine) -> None:
    load("friches", POINTS)
    source = gpd.read_file(f"/vsigzip/{POINTS}")
    with clean_db.connect() as conn:
        types = dict(
            conn.execute(text("SELECT owner_type, count(*) FROM friche GROUP BY 1")).tuples().all()
        )
    # Counted in the file: 638 `proprio_personne` = 'personne physique' (all with `{X1a}`), 126
    # 'inconnu'; 528 legal persons whose categories are all P (`{P5a}` 384, `{P4a}` 107, ...).
    person = source["proprio_personne"]
    assert types["personne_physique"] == (person == "personne physique").sum() == 638
    assert types["inconnu"] == (person == "inconnu").sum() == 126
    public = source["proprio_type"].fillna("").str.fullmatch(r"\{P\w*(,P\w*)*\}")
    assert types["personne_publique"] == (public & (person == "personne morale")).sum() == 528
    assert sum(types.values()) == 2468 and None not in types
    with clean_db.connect() as conn:
        echenevex = conn.execute(
            text("SELECT owner_type, proprio_nom FROM friche WHERE proprio_nom LIKE '%ECHENEVEX%'")
        ).first()
    assert echenevex == ("personne_publique", '{"COMMUNE D ECHENEVEX"}')


def test_private_owner_names_never_stored_not_even_in_quarantine(load, clean_db: Engine) -> None:
    report = load("friches", FIXTURES / "friches_owners.geojson")
    assert (report.loaded, report.quarantined) == (2, 1)
    with clean_db.connect() as conn:
        owners = dict(conn.execute(text("SELECT site_id, proprio_nom FROM friche")).all())
        raw = conn.execute(text("SELECT raw FROM quarantine")).scalar_one()
    assert owners == {"69123_90001": "SCI EXEMPLE", "69123_90002": None}
    with clean_db.connect() as conn:
        types = dict(conn.execute(text("SELECT site_id, owner_type FROM friche")).tuples().all())
    # No category codes in the fixture: a legal person of unknown family, a private person.
    assert types == {"69123_90001": "personne_morale", "69123_90002": "personne_physique"}
    assert raw["site_id"] == "69123_90003" and raw["proprio_nom"] is None
    assert "Exemple" not in str(raw)


def test_perimeters_complete_points_without_blanking_them(load, clean_db: Engine) -> None:
    load("friches", POINTS)
    with clean_db.connect() as conn:
        before = dict(
            conn.execute(text("SELECT site_id, (nom, statut, ST_AsEWKB(geom)) FROM friche")).all()
        )
    report = load("friches", PERIMETERS, vintage="SPARTE")
    assert [(t.inserted, t.updated, t.deleted) for t in report.tables] == [(9, 33, 0)]
    with clean_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT site_id, (nom, statut, ST_AsEWKB(geom)), source,"
                " ST_Within(geom, perimeter) FROM friche WHERE perimeter IS NOT NULL"
            )
        ).all()
    assert len(rows) == 42
    for site_id, attrs, source, inside in rows:
        if site_id in before:  # known point: point and attributes kept
            assert attrs == before[site_id] and source == "cartofriches"
        else:  # polygon only: a point on its perimeter
            assert source == "cartofriches-perimetres" and inside
    # Reloading the points neither deletes the perimeter-only sites nor drops the perimeters.
    again = load("friches", POINTS)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0)]
    assert scalar(clean_db, "SELECT count(perimeter) FROM friche") == 42
    again = load("friches", PERIMETERS)
    assert [(t.inserted, t.updated, t.deleted) for t in again.tables] == [(0, 0, 0)]
