"""OGC API Features Part 3: CQL2 text and JSON, queryables, and injection attempts."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.collections import COLLECTIONS
from api.cql2 import parse, to_sql
from api.query import Binder
from db.errors import InvalidQuery
from geo.crs import parse_crs
from tests.conftest import scalar


def ids(client: TestClient, cid: str, **params: str) -> set[str]:
    r = client.get(f"/collections/{cid}/items", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


def test_queryables_are_typed_and_hide_restricted(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/collections/sites/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["surface_ha"]["type"] == "number"
    assert props["cle_en_main"]["type"] == "boolean"
    assert "prix_m2" not in props and "contact" not in props
    assert "breakdown" not in props  # not queryable
    private = client.get("/collections/sites/queryables", headers={"X-API-Key": keys["admin"]})
    assert "prix_m2" in private.json()["properties"]


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("score > 50", {"site-morangis-1", "site-morangis-2"}),
        ("score >= 40 AND cle_en_main = true", {"site-morangis-1", "site-chassenard"}),
        ("insee IN ('91027', '91326')", {"site-athis", "site-juvisy"}),
        ("score BETWEEN 1 AND 60", {"site-morangis-2", "site-chassenard"}),
        ("nom LIKE 'Friche%'", {"site-morangis-2"}),
        ("score IS NULL", {"site-juvisy"}),
        ("NOT (excluded = false) ", {"site-athis"}),
        (
            "zone_class = 'activity' OR insee = '03063'",
            {"site-morangis-1", "site-morangis-2", "site-chassenard"},
        ),
        (
            "S_INTERSECTS(geom, POLYGON((2.30 48.68, 2.36 48.68, 2.36 48.72, 2.30 48.72, "
            "2.30 48.68)))",
            {"site-morangis-1", "site-morangis-2"},
        ),
        ("S_WITHIN(geom, BBOX(2.30, 48.68, 2.36, 48.72))", {"site-morangis-1", "site-morangis-2"}),
        ("50 < score", {"site-morangis-1", "site-morangis-2"}),
    ],
)
def test_cql2_text(client: TestClient, cql: str, expected: set[str]) -> None:
    assert ids(client, "sites", filter=cql) == expected


def test_cql2_json(client: TestClient) -> None:
    flt = {
        "op": "and",
        "args": [
            {"op": ">=", "args": [{"property": "score"}, 40]},
            {
                "op": "s_intersects",
                "args": [
                    {"property": "geom"},
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [2.3377, 48.7019],
                                [2.3387, 48.7019],
                                [2.3387, 48.7029],
                                [2.3377, 48.7029],
                                [2.3377, 48.7019],
                            ]
                        ],
                    },
                ],
            },
        ],
    }
    # A 100 m square around site-morangis-2.
    got = ids(client, "sites", filter=json.dumps(flt), **{"filter-lang": "cql2-json"})
    assert got == {"site-morangis-2"}


def test_filter_crs_lambert93(client: TestClient) -> None:
    got = ids(
        client,
        "parcels",
        filter="S_INTERSECTS(geom, POINT(650950 6844750))",
        **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/2154"},
    )
    assert got == {"91432000AB0001"}


def test_cql2_combines_with_bbox_and_property_filters(client: TestClient) -> None:
    got = ids(client, "parcels", filter="score >= 60", insee="91432", bbox="2.30,48.68,2.36,48.72")
    assert got == {"91432000AB0001", "91432000AB0002"}


@pytest.mark.parametrize(
    ("cql", "lang", "message"),
    [
        ("nom = 'x'; DROP TABLE site; --", None, "not valid cql2-text"),
        ("nom = 'x' OR 1=1", None, "property name"),
        ("\"nom; DROP TABLE site\" = 'x'", None, "queryable"),
        ("prix_m2 > 0", None, "queryable"),  # restricted: invisible to anonymous readers
        ("contact LIKE '%@%'", None, "queryable"),
        ("geom = 'x'", None, "spatial"),
        ("score = 'high'", None, "number"),
        ("nom = 3", None, "string"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", None, "invalid"),
        ("score + 1 > 3", None, "arithmetic"),
        ('{"op": "=", "args": [{"property": "pg_sleep(10)"}, 1]}', "cql2-json", "queryable"),
        ('{"op": "=", "args": [{"property": "nom"}, "x"]', "cql2-json", "not valid"),
        ("score > 1", "sql", "filter-lang"),
    ],
)
def test_cql2_bad_filters_and_injections_are_400(
    client: TestClient,
    engine,
    cql: str,
    lang: str | None,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    params = {"filter": cql}
    if lang:
        params["filter-lang"] = lang
    r = client.get("/collections/sites/items", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert message in r.json()["detail"]
    assert scalar(engine, "SELECT count(*) FROM site") >= 5  # nothing was dropped


def test_injection_in_values_is_just_a_value(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    for value in ("x' OR '1'='1", "x'); DROP TABLE site; --", "%' OR nom LIKE '%"):
        flt = json.dumps({"op": "=", "args": [{"property": "nom"}, value]})
        assert ids(client, "sites", filter=flt, **{"filter-lang": "cql2-json"}) == set()
        flt = json.dumps({"op": "like", "args": [{"property": "nom"}, value]})
        assert ids(client, "sites", filter=flt, **{"filter-lang": "cql2-json"}) == set()
        assert ids(client, "sites", nom=value) == set()
    assert scalar(engine, "SELECT count(*) FROM site") >= 5


# --- character literals: a quote inside text is doubled (OGC 21-065r2 BNF, escapeQuote) ---------


@pytest.mark.parametrize(
    ("cql", "value"),
    [
        ("nom = 'O''Brien'", "O'Brien"),
        ("nom='L''Isle-d''Abeau'", "L'Isle-d'Abeau"),
        ("nom = 'Saint-Jean-d''Angély'", "Saint-Jean-d'Angély"),
        ("nom = ''''", "'"),  # a literal holding one quote
        ("nom = ''", ""),
        ("nom = 'it\\'s'", "it's"),  # the BNF's other escapeQuote
        ("nom = 'C:\\\\'", "C:\\"),  # backslash is the escape character: \\ is one backslash
        ("nom = 'a\\tb\\nc'", "a\tb\nc"),  # control escapes of /req/cql2-text/escaping
        ("nom = 'x''; DROP TABLE site; --'", "x'; DROP TABLE site; --"),
    ],
)
def test_text_literal_unescapes_quotes(cql: str, value: str) -> None:
    assert parse(cql, None).rhs == value


def test_doubled_quotes_in_like_and_in_lists() -> None:
    assert parse("nom LIKE 'L''Isle%'", None).pattern == "L'Isle%"
    # A LIKE escape other than a quote's is left to PostgreSQL, whose escape is the backslash too.
    assert parse("nom NOT LIKE '100\\%'", None).pattern == "100\\%"
    node = parse("nom IN ('L''Isle-d''Abeau', 'd''Huison', 'Morangis')", None)
    assert node.sub_nodes == ["L'Isle-d'Abeau", "d'Huison", "Morangis"]
    both = parse("nom = 'a''b' AND insee = 'c''d'", None)
    assert (both.lhs.rhs, both.rhs.rhs) == ("a'b", "c'd")


def test_unescaped_value_is_a_bind_parameter() -> None:
    binder = Binder()
    node = parse("nom = 'x'' OR ''1''=''1' OR nom LIKE 'L''Isle%'", None)
    cond = to_sql(node, COLLECTIONS["communes"], False, binder, parse_crs(None, "filter-crs"))
    text = cond.as_string(None)
    assert "'" not in text and "Isle" not in text, text
    assert list(binder.params.values()) == ["x' OR '1'='1", "L'Isle%"]


@pytest.mark.parametrize(
    ("cql", "column"),
    [
        ("nom = 'abc", 7),
        ("nom = 'L''Isle", 7),
        ("nom = 'a''", 7),  # the doubled quote is text, so nothing closes the literal
        ("nom = 'a\\'", 7),  # \' is an escaped quote too
        ("nom = 'a' OR nom = 'b", 20),
    ],
)
def test_unterminated_literal_names_where_it_opens(cql: str, column: int) -> None:
    with pytest.raises(InvalidQuery, match=f"line 1, column {column} has no closing quote"):
        parse(cql, None)


def test_a_stray_literal_keeps_the_parser_message() -> None:
    with pytest.raises(InvalidQuery, match="Unexpected token") as err:
        parse("nom = 'a' 'b'", None)
    assert "closing quote" not in str(err.value)


def test_apostrophe_filter_through_the_app_matches_cql2_json(client: TestClient) -> None:
    """L'Isle-d'Abeau (38193) is in the COG 2026 commune sample; text and JSON must agree."""
    isle, abergement = "L'Isle-d'Abeau", "L'Abergement-Clémenciat"
    cases = [
        ("nom = 'L''Isle-d''Abeau'", {"op": "=", "args": [{"property": "nom"}, isle]}, 1),
        ("nom LIKE 'L''Isle%'", {"op": "like", "args": [{"property": "nom"}, "L'Isle%"]}, None),
        (
            "nom IN ('L''Isle-d''Abeau', 'L''Abergement-Clémenciat')",
            {"op": "in", "args": [{"property": "nom"}, [isle, abergement]]},
            2,
        ),
    ]
    for text, flt, count in cases:
        got = ids(client, "communes", filter=text)
        assert got == ids(
            client, "communes", filter=json.dumps(flt), **{"filter-lang": "cql2-json"}
        )
        assert "38193" in got, text
        assert count is None or len(got) == count, (text, got)
    # A doubled quote cannot end the literal early: the whole thing is one value, matching nothing.
    assert ids(client, "communes", filter="nom = 'x'' OR ''1''=''1'") == set()


def test_unterminated_literal_is_a_400_problem(client: TestClient) -> None:
    r = client.get("/collections/communes/items", params={"filter": "nom = 'L''Isle-d''Abeau"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "column 7" in r.json()["detail"] and "closing quote" in r.json()["detail"]
