"""CQL2 as the standard writes it: the forms outside testers found refused, misread or 500s.

Found with the OGC's own examples (see tests/api/test_cql2_examples.py): line breaks refused,
a JSON bbox read in the wrong order, 500s at the poles, the standard's BETWEEN, 6-number BBOX,
GeometryCollection, Z, TRUE and ``geometry IS NOT NULL`` refused, decimals refused against
integer properties, and unsupported classes answered "not valid".
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.collections import Collection, Prop
from api.cql2 import CONFORMANCE, parse, to_sql
from api.query import Binder
from config import DatabaseSettings
from geo.crs import parse_crs

MORANGIS = "POINT(2.3382 48.7024)"  # in commune 91432, 100 m from site-morangis-2
BOX = "2.30, 48.68, 2.36, 48.72"  # around the Morangis sites and parcels


def get(client: TestClient, cid: str, flt: Any, **params: str) -> Any:
    if not isinstance(flt, str):
        flt, params = json.dumps(flt), {"filter-lang": "cql2-json", **params}
    return client.get(f"/collections/{cid}/items", params={"limit": 500, "filter": flt, **params})


def ids(client: TestClient, cid: str, flt: Any, **params: str) -> set[str]:
    r = get(client, cid, flt, **params)
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


def refused(client: TestClient, cid: str, flt: Any, **params: str) -> str:
    r = get(client, cid, flt, **params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail: str = r.json()["detail"]
    assert "not valid" not in detail, detail
    return detail


def test_line_breaks_and_the_final_newline_are_whitespace(client: TestClient) -> None:
    expected = {"site-morangis-1", "site-morangis-2"}
    assert ids(client, "sites", "score > 50\n") == expected
    assert ids(client, "sites", "\r\n  score\n>\t50\r\n") == expected
    # Every whitespace of the BNF, a no-break space and a line separator included.
    assert ids(client, "sites", "score\u00a0>\u202850\u3000AND\x0bTRUE\x0c") == expected


def test_json_bbox_is_west_south_east_north(client: TestClient) -> None:
    text = ids(client, "parcels", f"S_INTERSECTS(geom, BBOX({BOX}))")
    box = [float(v) for v in BOX.split(",")]
    as_json = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": box}]}
    assert ids(client, "parcels", as_json) == text
    assert "91432000AB0001" in text
    # The case: [4, 44, 5, 45] is a box in the Rhône valley, away from every parcel.
    far = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [4, 44, 5, 45]}]}
    assert ids(client, "parcels", far) == ids(
        client, "parcels", "S_INTERSECTS(geom, BBOX(4,44,5,45))"
    )
    assert ids(client, "parcels", far) == set()


def test_six_number_bbox_drops_its_elevations(client: TestClient) -> None:
    four = ids(client, "parcels", f"S_INTERSECTS(geom, BBOX({BOX}))")
    six = "S_INTERSECTS(geom, BBOX(2.30, 48.68, -100, 2.36, 48.72, 100.5))"
    assert ids(client, "parcels", six) == four
    as_json = {
        "op": "s_intersects",
        "args": [{"property": "geom"}, {"bbox": [2.30, 48.68, -100, 2.36, 48.72, 100.5]}],
    }
    assert ids(client, "parcels", as_json) == four


def test_bbox_across_the_antimeridian(client: TestClient) -> None:
    # West edge at 100°E, east edge at 3°E: the box wraps round the globe through 180°.
    across = ids(client, "sites", "S_INTERSECTS(geom, BBOX(100, 40, 3, 52))")
    assert across == ids(client, "sites", "S_INTERSECTS(geom, BBOX(-10, 40, 3, 52))")
    assert "site-morangis-1" in across and "site-chassenard" not in across  # 2.3°E, 3.97°E
    assert "lower corner" in refused(client, "sites", "S_INTERSECTS(geom, BBOX(0, 50, 1, 40))")


@pytest.mark.parametrize(
    "flt",
    [
        "S_INTERSECTS(geometry,POINT(0 -90))",
        "S_INTERSECTS(geom, POINT(180 90))",
        "S_INTERSECTS(geom, LINESTRING(2.33 48.70, 2.33 90))",
        "S_WITHIN(geom, POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90)))",
        "S_CONTAINS(geom, POINT(0 -90))",
        "S_EQUALS(geom, BBOX(-180, -90, 180, 90))",
        {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [-180, -90, 180, 90]}]},
    ],
)
def test_the_poles_and_the_antimeridian_are_valid_coordinates(client: TestClient, flt: Any) -> None:
    ids(client, "parcels", flt)


def test_world_literals_answer_right(client: TestClient) -> None:
    every = ids(client, "parcels", "TRUE")
    world = "POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90))"
    assert ids(client, "parcels", f"S_INTERSECTS(geom, {world})") == every
    assert ids(client, "parcels", f"S_WITHIN(geom, {world})") == every
    assert ids(client, "parcels", "S_DISJOINT(geom, POINT(0 -90))") == every
    assert ids(client, "parcels", "S_INTERSECTS(geometry, POINT(0 -90))") == set()


@pytest.mark.parametrize(
    ("flt", "params"),
    [
        ("S_INTERSECTS(geom, POINT(0 -90.5))", {}),
        ("S_INTERSECTS(geom, POINT(180.1 0))", {}),
        ("S_INTERSECTS(geom, BBOX(-181, 0, 0, 1))", {}),
        ({"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [4, 44, 500, 45]}]}, {}),
        (
            {
                "op": "s_intersects",
                "args": [{"property": "geom"}, {"type": "Point", "coordinates": [0, 91]}],
            },
            {},
        ),
        # EPSG:4326 is latitude first: 91 is a latitude there.
        ("S_INTERSECTS(geom, POINT(91 0))", {"filter-crs": "EPSG:4326"}),
        ("S_INTERSECTS(geom, POINT(1e9 1e9))", {"filter-crs": "EPSG:2154"}),
    ],
)
def test_coordinates_out_of_range_are_400(
    client: TestClient, flt: Any, params: dict[str, str]
) -> None:
    assert "outside the valid range" in refused(client, "parcels", flt, **params)


def test_lat_lon_filter_crs_takes_latitude_first(client: TestClient) -> None:
    lon_lat = ids(client, "sites", f"S_INTERSECTS(geom, BBOX({BOX}))")
    lat_lon = "S_INTERSECTS(geom, BBOX(48.68, 2.30, 48.72, 2.36))"
    assert ids(client, "sites", lat_lon, **{"filter-crs": "EPSG:4326"}) == lon_lat
    ids(client, "sites", "S_INTERSECTS(geom, POINT(-90 0))", **{"filter-crs": "EPSG:4326"})


def test_between_in_json_is_value_low_high(client: TestClient) -> None:
    expected = {"site-morangis-2", "site-chassenard"}
    flt = {"op": "between", "args": [{"property": "score"}, 1, 60]}
    assert ids(client, "sites", flt) == ids(client, "sites", "score BETWEEN 1 AND 60") == expected
    negated = ids(client, "sites", {"op": "not", "args": [flt]})
    assert negated == ids(client, "sites", "score NOT BETWEEN 1 AND 60")
    # pygeofilter's [value, [low, high]] is no CQL2 form: not valid, and said why.
    r = get(client, "sites", {"op": "between", "args": [{"property": "score"}, [1, 60]]})
    assert r.status_code == 400 and "takes 3 arguments" in r.json()["detail"]


def test_geometry_collection_and_z_literals(client: TestClient) -> None:
    expected = {"site-morangis-1", "site-morangis-2"}
    ring = "2.30 48.68, 2.36 48.68, 2.36 48.72, 2.30 48.72, 2.30 48.68"
    ring_z = ", ".join(f"{xy} 120" for xy in ring.split(", "))
    for flt in (
        f"S_INTERSECTS(geom, GEOMETRYCOLLECTION(POINT(0 0), POLYGON(({ring}))))",
        f"S_INTERSECTS(geom, POLYGON Z (({ring_z})))",
        f"S_INTERSECTS(geom, POLYGON (({ring_z})))",
        f"S_INTERSECTS(geom, GEOMETRYCOLLECTION Z (POINT Z (0 0 0), POLYGON Z (({ring_z}))))",
    ):
        assert ids(client, "sites", flt) == expected, flt
    square = [[float(v) for v in xy.split()] for xy in ring.split(", ")]
    collection = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [0, 0, 5]},
            {"type": "Polygon", "coordinates": [[[x, y, 120.0] for x, y in square]]},
        ],
    }
    assert (
        ids(client, "sites", {"op": "s_intersects", "args": [{"property": "geom"}, collection]})
        == expected
    )


def test_boolean_literals_and_geometry_is_null(client: TestClient) -> None:
    every = ids(client, "sites", "TRUE")
    assert len(every) >= 5
    assert ids(client, "sites", "FALSE") == ids(client, "sites", "NOT TRUE") == set()
    assert ids(client, "sites", True) == every and ids(client, "sites", False) == set()
    located = ids(client, "sites", "geometry IS NOT NULL")
    assert located == ids(
        client,
        "sites",
        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "geometry"}]}]},
    )
    assert located | ids(client, "sites", "geom IS NULL") == every
    assert "site-morangis-1" in located


def test_decimals_against_integer_properties(client: TestClient) -> None:
    morangis = client.get("/collections/communes/items/91432").json()["properties"]
    pop = morangis["population"]
    assert ids(client, "communes", f"population = {pop}.0") == {"91432"}
    assert ids(
        client, "communes", {"op": "=", "args": [{"property": "population"}, pop + 0.0]}
    ) == {"91432"}
    assert ids(client, "communes", f"population = {pop}.5") == set()
    assert "91432" in ids(client, "communes", f"population > {pop - 1}.5")
    assert "91432" not in ids(client, "communes", f"population > {pop}.5")
    assert ids(client, "communes", f"population BETWEEN {pop - 0.5} AND {pop + 0.5}") == {"91432"}
    assert ids(client, "communes", f"population IN ({pop}.0, 2.5)") == {"91432"}
    assert "64-bit" in refused(client, "communes", "population = 1" + "0" * 30)


def test_casei_and_accenti_through_the_app(client: TestClient) -> None:
    assert ids(client, "communes", "CASEI(nom) = CASEI('MORANGIS')") == {"91432"}
    assert ids(client, "communes", "nom = 'MORANGIS'") == set()  # comparisons keep case
    assert ids(client, "communes", "CASEI(nom) LIKE CASEI('%ISLE-D''AB%')") == {"38193"}
    assert ids(client, "communes", "ACCENTI(nom) = ACCENTI('L''Abergement-Clemenciat')") == {
        "01001"
    }
    # The same name typed with a combining acute accent (NFD), in JSON.
    flt = {
        "op": "=",
        "args": [
            {"op": "accenti", "args": [{"op": "casei", "args": [{"property": "nom"}]}]},
            {"op": "accenti", "args": [{"op": "casei", "args": ["l'abergement-cle\u0301menciat"]}]},
        ],
    }
    assert ids(client, "communes", flt) == {"01001"}
    assert "takes text" in refused(client, "communes", "CASEI(population) = 'x'")


NAMES = Collection(
    id="names",
    title="names",
    description="",
    source="(VALUES (1, 'STRASSE'), (2, 'Straße'), (3, 'ΟΔΟΣ'), (4, 'Οδος'), (5, 'Beyoncé'), "
    "(6, 'beyonce'), (7, 'Débárquér')) v(id, nom)",
    id_expr="v.id",
    geom_expr="NULL::geometry",
    geometry_type="Point",
    props=(Prop("nom", "v.nom"),),
    versions=(),
    default_sort=("id",),
)


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("CASEI(nom) = CASEI('strasse')", {1, 2}),  # full case folding: ß is ss
        ("CASEI(nom) IN (CASEI('Οδος'), CASEI('Straße'))", {1, 2, 3, 4}),  # final sigma
        ("ACCENTI(nom) = ACCENTI('Beyonce')", {5}),  # accents only: case kept
        ("ACCENTI(CASEI(nom)) = ACCENTI(CASEI('BEYONCE\u0301'))", {5, 6}),
        ("ACCENTI(nom) = ACCENTI('debarquer')", set()),
        ("ACCENTI(nom) LIKE ACCENTI('Deb%r')", {7}),
    ],
)
def test_casei_and_accenti_semantics_in_postgresql(
    api_db: DatabaseSettings, cql: str, expected: set[int]
) -> None:
    binder = Binder()
    cond = to_sql(parse(cql, None), NAMES, False, binder, parse_crs(None, "filter-crs"))
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        query = psycopg.sql.SQL("SELECT v.id FROM {} WHERE {}").format(
            psycopg.sql.SQL(NAMES.source), cond
        )
        assert {row[0] for row in conn.execute(query, binder.params)} == expected


@pytest.mark.parametrize(
    ("flt", "klass"),
    [
        ("T_AFTER(built, DATE('2015-01-01'))", "temporal-functions"),
        ("T_INTERSECTS(INTERVAL('..', '2020-01-01'), INTERVAL(a, b))", "temporal-functions"),
        ("A_CONTAINS(layer:ids, ('a', 'b'))", "array-functions"),
        ("score + 1 > 3", "arithmetic"),
        ("floors div 2 = 1", "arithmetic"),
        ("S_WITHIN(geom, Buffer(geom, 10, 'm'))", "functions"),
        ("avg(score) < 4", "functions"),
        ("1 = 1", "property-property"),
        ("'a' LIKE 'a%'", "property-property"),
        ("S_CROSSES(LINESTRING(0 0, 1 1), POLYGON((0 0, 1 0, 1 1, 0 0)))", "property-property"),
        (
            {"op": "t_finishedBy", "args": [{"property": "x"}, {"date": "2020-01-01"}]},
            "temporal-functions",
        ),
        ({"op": "a_containedBy", "args": [{"property": "x"}, ["a"]]}, "array-functions"),
        ({"op": "Foo", "args": [{"property": "geometry"}]}, "functions"),
        ({"op": "^", "args": [2, {"property": "score"}]}, "arithmetic"),
    ],
)
def test_other_classes_are_not_supported_by_name(client: TestClient, flt: Any, klass: str) -> None:
    detail = refused(client, "sites", flt)
    assert "not supported: " in detail and f"conformance class {klass}" in detail, detail


def test_conformance_declares_only_what_is_evaluated(client: TestClient) -> None:
    conf = set(client.get("/conformance").json()["conformsTo"])
    base = "http://www.opengis.net/spec/cql2/1.0/conf/"
    assert set(CONFORMANCE) <= conf
    for name in ("case-insensitive-comparison", "accent-insensitive-comparison"):
        assert base + name in conf
    for name in ("temporal-functions", "array-functions", "property-property", "functions"):
        assert base + name not in conf
    assert base + "arithmetic" not in conf


def test_a_literal_first_keeps_the_meaning_of_asymmetric_functions(client: TestClient) -> None:
    assert ids(client, "communes", f"S_CONTAINS(geom, {MORANGIS})") == {"91432"}
    assert ids(client, "communes", f"S_WITHIN({MORANGIS}, geom)") == {"91432"}
    assert ids(client, "communes", f"S_WITHIN(geom, {MORANGIS})") == set()
    assert ids(client, "communes", f"S_CONTAINS({MORANGIS}, geom)") == set()
    # A literal partly outside Lambert-93's area of use is contained by no commune.
    far = "MULTIPOINT((2.3382 48.7024), (36 32))"
    assert ids(client, "communes", f"S_CONTAINS(geom, {far})") == set()
    assert ids(client, "communes", f"S_WITHIN({far}, geom)") == set()
    assert ids(client, "communes", f"S_INTERSECTS(geom, {far})") == {"91432"}


def test_unknown_properties_are_named(client: TestClient) -> None:
    assert "unknown property 'floors'" in refused(client, "sites", "floors > 5")
    assert "unknown property 'footprint'" in refused(
        client, "sites", "S_INTERSECTS(footprint, POINT(0 0))"
    )
    assert "unknown property 'eo:cloud_cover'" in refused(
        client, "sites", {"op": "<", "args": [{"property": "eo:cloud_cover"}, 0.1]}
    )


def test_dates_are_checked_and_typed(client: TestClient) -> None:
    assert "nom is a string" in refused(client, "sites", "nom = DATE('2020-01-01')")
    r = get(client, "sites", "nom = DATE('2020-02-30')")
    assert r.status_code == 400 and "not a date" in r.json()["detail"]


@pytest.mark.parametrize(
    ("flt", "lang"),
    [
        ('{"op": "=", "args": [{"property": "score"}, NaN]}', "cql2-json"),
        ('{"op": "=", "args": [{"property": "score"}, 1e999]}', "cql2-json"),
        ("score = 1e999", "cql2-text"),
        ("nom = 'a' AND", "cql2-text"),
    ],
)
def test_malformed_filters_are_not_valid(client: TestClient, flt: str, lang: str) -> None:
    r = client.get("/collections/sites/items", params={"filter": flt, "filter-lang": lang})
    assert r.status_code == 400, r.text
