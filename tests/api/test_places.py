"""/places: the map's search box finds what French users type, on the real admin samples.

The samples hold no COG département/region lists yet: the module inserts the few it names (and
one Corsican commune, Ajaccio 2A004, which the samples lack), and removes them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.routes.places import code_kinds, label
from config import DatabaseSettings

REGIONS = [("01", "Guadeloupe"), ("84", "Auvergne-Rhône-Alpes"), ("94", "Corse")]
DEPARTEMENTS = [("01", "Ain", "84"), ("42", "Loire", "84"), ("69", "Rhône", "84")]
# Ajaccio, a 1 km square at its place in Lambert-93 (département 2A is left without a name).
AJACCIO = (
    "INSERT INTO commune (insee, nom, dep, reg, population, geom) VALUES ('2A004', 'Ajaccio', "
    "'2A', '94', 71361, ST_Multi(ST_MakeEnvelope(1177000, 6105000, 1178000, 6106000, 2154)))"
)


@pytest.fixture(scope="module", autouse=True)
def cog_rows(api_db: DatabaseSettings) -> Iterator[None]:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        regions = [
            r[0]
            for r in conn.execute(
                "INSERT INTO region (code, nom) SELECT * FROM unnest(%s::text[], %s::text[]) "
                "ON CONFLICT DO NOTHING RETURNING code",
                ([c for c, _ in REGIONS], [n for _, n in REGIONS]),
            )
        ]
        departements = [
            r[0]
            for r in conn.execute(
                "INSERT INTO departement (code, nom, reg) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) "
                "ON CONFLICT DO NOTHING RETURNING code",
                tuple(list(col) for col in zip(*DEPARTEMENTS, strict=True)),
            )
        ]
        added_commune = conn.execute(AJACCIO + " ON CONFLICT DO NOTHING").rowcount == 1
        conn.commit()
    yield
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        conn.execute("DELETE FROM region WHERE code = ANY(%s)", (regions,))
        conn.execute("DELETE FROM departement WHERE code = ANY(%s)", (departements,))
        if added_commune:
            conn.execute("DELETE FROM commune WHERE insee = '2A004'")
        conn.commit()


def places(client: TestClient, q: str, **params: object) -> list[dict[str, Any]]:
    r = client.get("/places", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["places"]


def first(client: TestClient, q: str) -> tuple[object, ...]:
    hit = places(client, q)[0]
    return (hit["kind"], hit["code"], hit["label"])


@pytest.mark.parametrize(
    "q", ["saint-etienne", "SAINT ETIENNE", "saint etienne", "Saint-Étienne", " st-étienne "]
)
def test_saint_etienne_however_it_is_typed(client: TestClient, q: str) -> None:
    hits = places(client, q)
    assert (hits[0]["kind"], hits[0]["code"]) == ("commune", "42218")
    assert hits[0]["label"] == "Saint-Étienne (commune 42218)"
    assert hits[0]["match"] == "exact"
    # The EPCI, whose name carries no accent in its source, starts with the query.
    metropole = next(h for h in hits if h["kind"] == "epci")
    assert (metropole["code"], metropole["name"]) == ("244200770", "Saint-Etienne Métropole")
    assert metropole["match"] == "prefix"
    west, south, east, north = hits[0]["bbox"]
    assert west < 4.39 < east and south < 45.43 < north  # the town centre, in CRS84
    assert hits[0]["link"].endswith("/collections/communes/items/42218")


def test_ranks_exact_then_prefix_then_word_then_contains(client: TestClient) -> None:
    hits = places(client, "saint-etienne", limit=50)
    order = ["code", "exact", "prefix", "word", "contains"]
    ranks = [order.index(str(h["match"])) for h in hits]
    assert ranks == sorted(ranks)
    # Within the prefix rank: the EPCI before communes, communes by population.
    prefix = [h for h in hits if h["match"] == "prefix"]
    assert prefix[0]["kind"] == "epci"
    assert len(prefix) > 10 and all(h["kind"] == "commune" for h in prefix[1:])
    assert "Saint-Étienne-de-Saint-Geoirs (commune 38384)" in [h["label"] for h in prefix]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("megeve", ("commune", "74173", "Megève (commune 74173)")),
        ("MEGÈVE", ("commune", "74173", "Megève (commune 74173)")),
        ("annemasse", ("commune", "74012", "Annemasse (commune 74012)")),
        ("rhone", ("departement", "69", "Rhône (département 69)")),
        ("auvergne", ("region", "84", "Auvergne-Rhône-Alpes (région 84)")),
        ("42218", ("commune", "42218", "Saint-Étienne (commune 42218)")),
        ("2a004", ("commune", "2A004", "Ajaccio (commune 2A004)")),
        ("244200770", ("epci", "244200770", "Saint-Etienne Métropole (EPCI 244200770)")),
        ("42", ("departement", "42", "Loire (département 42)")),
        ("84", ("region", "84", "Auvergne-Rhône-Alpes (région 84)")),
    ],
)
def test_names_and_codes(client: TestClient, q: str, expected: tuple[str, str, str]) -> None:
    assert first(client, q) == expected


def test_a_departement_without_its_cog_row_exists_through_its_communes(
    client: TestClient,
) -> None:
    kind, code, text = first(client, "2a")
    assert (kind, code) == ("departement", "2A")
    assert text in ("Département 2A", "Corse-du-Sud (département 2A)")  # before / after the COG


def test_oullins_by_the_start_of_its_name(client: TestClient) -> None:
    # Oullins-Pierre-Bénite since 2024 (plain "Oullins" in COG editions before).
    kind, code, text = first(client, "OULLINS")
    assert (kind, code) == ("commune", "69149")
    assert str(text).startswith("Oullins") and str(text).endswith("(commune 69149)")


def test_a_name_with_hyphens_matches_spaces_and_no_accents(api_db: DatabaseSettings) -> None:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        keys = conn.execute(
            "SELECT foncier_search_key(x) FROM unnest(%s::text[]) x",
            (["Oullins-Pierre-Bénite", "OULLINS PIERRE BENITE", "oullins  pierre'bénite"],),
        ).fetchall()
    assert {k for (k,) in keys} == {"oullins pierre benite"}


def test_a_territory_id_gives_both_programmes(client: TestClient) -> None:
    for q in ("ti-8401", "TI-8401"):
        hits = places(client, q)
        assert [(h["kind"], h["code"], h["match"]) for h in hits] == [
            ("territoire-2023", "ti-8401", "code"),
            ("territoire-2018", "ti-8401", "code"),
        ]
        assert [h["label"] for h in hits] == [
            "Ardèche Drôme Nord (Territoire d'industrie 2023-2027 ti-8401)",
            "Ardèche Drome (Territoire d'industrie 2018-2022 ti-8401)",
        ]
        assert hits[0]["link"].endswith("/collections/territoires-2023/items/ti-8401")
        assert all(h["bbox"] is not None for h in hits)


def test_01_is_a_departement_and_a_region(client: TestClient) -> None:
    hits = places(client, "01")
    by_kind = {h["kind"]: h for h in hits}
    assert set(by_kind) == {"departement", "region"}
    assert by_kind["departement"]["label"] == "Ain (département 01)"
    assert by_kind["region"]["label"] == "Guadeloupe (région 01)"
    assert all(h["match"] == "code" for h in hits)
    # Ain's extent is that of its communes (territory_commune); no Guadeloupe commune is loaded.
    west, south, east, north = by_kind["departement"]["bbox"]
    assert 4.6 < west < 5.0 and 45.5 < south < 45.7 and 6.0 < east < 6.3 and 46.4 < north < 46.6
    assert by_kind["region"]["bbox"] is None
    assert by_kind["region"]["link"].endswith("/territories/region/01")


def test_a_region_extent_covers_its_departements(client: TestClient) -> None:
    (region,) = [h for h in places(client, "84") if h["kind"] == "region"]
    (loire,) = places(client, "42")
    rw, rs, re_, rn = region["bbox"]
    lw, ls, le, ln = loire["bbox"]
    assert rw < lw < le < re_ and rs < ls < ln < rn


@pytest.mark.parametrize(
    "q",
    [
        "'",
        '"',
        "%",
        "_",
        "%%",
        "\\",
        "' OR 1=1 --",
        "'; DROP TABLE commune; --",
        "saint%",
        "sai_t",
        "\x00",
        "saint\x00etienne",
        "   ",
        "🏭",
        "x" * 100,
        "ti-" + "9" * 6,
        "ti-" + "9" * 40,
    ],
)
def test_hostile_input_is_never_a_500(client: TestClient, q: str) -> None:
    r = client.get("/places", params={"q": q})
    assert r.status_code == 200, r.text
    body = r.json()
    # LIKE wildcards and quotes are punctuation: they match nothing by themselves.
    if q.strip("%_'\"\\ \x00") == "":
        assert body["places"] == []
    assert len(body["places"]) <= 10


def test_nul_separates_words(client: TestClient) -> None:
    assert first(client, "saint\x00etienne")[1] == "42218"


@pytest.mark.parametrize(
    "params",
    [{"q": "x" * 101}, {"q": ""}, {}, {"q": "lyon", "limit": 0}, {"q": "lyon", "limit": 1000}],
)
def test_bad_parameters_are_400(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/places", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_short_queries_match_name_starts_only(client: TestClient) -> None:
    hits = places(client, "ai", limit=50)
    assert hits and all(h["match"] in ("exact", "prefix", "word") for h in hits)
    assert ("departement", "01") in [(h["kind"], h["code"]) for h in hits]  # Ain


def test_code_shapes() -> None:
    assert code_kinds("2A004") == code_kinds("2a004") == ["commune"]
    assert code_kinds("244200770") == ["epci"]
    assert code_kinds("TI-8401") == ["territoire"]
    assert code_kinds("01") == ["departement", "region"]
    assert code_kinds("2B") == code_kinds("971") == ["departement"]
    assert code_kinds("lyon") == code_kinds("1234") == []
    assert label("departement", "2A", None) == "Département 2A"
