"""Place search for the map's search box: communes, EPCIs, Territoires d'industrie, départements
and regions by name or code, the way French users type them.

Names are matched on one normalised form, ``foncier_search_key`` (migration 0004): accents, case
and punctuation dropped, so "saint etienne", "SAINT-ÉTIENNE" and "st-etienne" are one query.
Hits are ranked: a code typed as such, then the exact name, a name that starts with the query, a
word that does, a name that contains it; within a rank by kind (largest first), then population.
Every hit has its bbox in CRS84, so a client zooms without a second request.
"""

from __future__ import annotations

import re
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from psycopg import sql

from api.db import PoolDep
from api.schemas import Places, ok

router = APIRouter(tags=["Places"])

# Codes are recognised by their shape only; what exists is the database's answer.
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_SIREN = re.compile(r"^\d{9}$")
_TERRITOIRE = re.compile(r"^ti-\d{1,6}$")
_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_REGION = re.compile(r"^\d{2}$")
# Below this many characters "contains" matches thousands of names and scans them all.
CONTAINS_MIN_CHARS = 3
MAX_QUERY_CHARS = 100
# Segment length (m, Lambert-93) when a bbox is projected to CRS84: its edges are curves there.
BBOX_SEGMENT_M = 2_000

# kind -> (French label, OGC collection of its features), largest kind first: the rank order
# within a match rank.
KINDS: dict[str, tuple[str, str | None]] = {
    "region": ("région", None),
    "departement": ("département", None),
    "epci": ("EPCI", "epci"),
    "territoire-2023": ("Territoire d'industrie 2023-2027", "territoires-2023"),
    "territoire-2018": ("Territoire d'industrie 2018-2022", "territoires-2018"),
    "commune": ("commune", "communes"),
}
MATCHES = ("code", "exact", "prefix", "word", "contains")

# (kind, code, name, population, source) of each table searched by name.
_TABLES = (
    ("'commune'", "c.insee", "c.nom", "c.population", "commune c"),
    ("'epci'", "e.siren", "e.nom", "e.population", "epci e"),
    ("'territoire-' || t.programme", "t.id_ti", "t.lib", "NULL::integer", "territoire t"),
    ("'departement'", "d.code", "d.nom", "NULL::integer", "departement d"),
    ("'region'", "r.code", "r.nom", "NULL::integer", "region r"),
)
_BY_CODE = {
    "commune": "SELECT 'commune', c.insee, c.nom, c.population, 0 FROM commune c "
    "WHERE c.insee = %(code)s::text",
    "epci": "SELECT 'epci', e.siren, e.nom, e.population, 0 FROM epci e "
    "WHERE e.siren = %(code)s::text",
    "territoire": "SELECT 'territoire-' || t.programme, t.id_ti, t.lib, NULL::integer, 0 "
    "FROM territoire t WHERE t.id_ti = %(ti)s::text",
    # Before the COG lists are loaded a département or region still exists through its communes.
    "departement": "SELECT 'departement', %(code)s::text, "
    "(SELECT nom FROM departement WHERE code = %(code)s::text), NULL::integer, 0 "
    "WHERE EXISTS (SELECT 1 FROM departement WHERE code = %(code)s::text) "
    "OR EXISTS (SELECT 1 FROM commune WHERE dep = %(code)s::text)",
    "region": "SELECT 'region', %(code)s::text, "
    "(SELECT nom FROM region WHERE code = %(code)s::text), NULL::integer, 0 "
    "WHERE EXISTS (SELECT 1 FROM region WHERE code = %(code)s::text) "
    "OR EXISTS (SELECT 1 FROM commune WHERE reg = %(code)s::text)",
}


def _by_name(contains: bool) -> sql.Composable:
    branches = []
    for kind, code, name, population, source in _TABLES:
        key = f"foncier_search_key({name})"
        match = (
            f"{key} LIKE %(contains)s"
            if contains
            else (f"({key} LIKE %(prefix)s OR {key} LIKE %(word)s)")
        )
        # OFFSET 0 keeps the subquery apart, so the key is computed once per candidate row (the
        # function is not inlined: unaccent is only STABLE).
        branches.append(
            sql.SQL(
                "SELECT kind, code, name, population, CASE WHEN k = %(key)s THEN 1 "
                "WHEN k LIKE %(prefix)s THEN 2 WHEN k LIKE %(word)s THEN 3 ELSE 4 END "
                f"FROM (SELECT {kind} AS kind, {code} AS code, {name} AS name, "
                f"{population} AS population, {key} AS k FROM {source} WHERE {match} "
                "OFFSET 0) s"
            )
        )
    return sql.SQL(" UNION ALL ").join(branches)


def _bbox_2154() -> sql.Composable:
    """A hit's extent in Lambert-93: its own geometry, else its member communes by the one rule
    (``territory_commune``; départements and regions, 2018 territories known by points)."""
    own = sql.SQL(
        "CASE h.kind WHEN 'commune' THEN (SELECT geom::box2d FROM commune WHERE insee = h.code) "
        "WHEN 'epci' THEN (SELECT geom::box2d FROM epci WHERE siren = h.code) "
        "WHEN 'territoire-2023' THEN (SELECT geom::box2d FROM territoire "
        "WHERE programme = 2023 AND id_ti = h.code) "
        "WHEN 'territoire-2018' THEN (SELECT geom::box2d FROM territoire "
        "WHERE programme = 2018 AND id_ti = h.code) END"
    )
    # One view expansion for every kind (planning one per kind costs more than the query): the
    # view's branches of other kinds are skipped at run time, `code` is pushed into them.
    members = sql.SQL(
        "(SELECT ST_Extent((SELECT c.geom FROM commune c WHERE c.insee = tc.insee)) "
        "FROM territory_commune tc WHERE tc.kind = h.kind AND tc.code = h.code)"
    )
    return sql.SQL("coalesce({own}, {members})").format(own=own, members=members)


def _query(code_kinds: list[str], key: str) -> sql.Composed:
    hits: list[sql.Composable] = [sql.SQL(_BY_CODE[k]) for k in code_kinds]
    if key:
        hits.append(_by_name(contains=len(key) >= CONTAINS_MIN_CHARS))
    order = sql.SQL(
        "rank, array_position({kinds}::text[], kind), population DESC NULLS LAST, name, code"
    ).format(kinds=sql.Literal(list(KINDS)))
    return sql.SQL(
        "WITH hit AS (SELECT DISTINCT ON (kind, code) kind, code, name, population, rank "
        "FROM ({hits}) x (kind, code, name, population, rank) ORDER BY kind, code, rank), "
        "top AS (SELECT * FROM hit ORDER BY {order} LIMIT %(limit)s) "
        "SELECT kind, code, name, rank, ST_XMin(b.g), ST_YMin(b.g), ST_XMax(b.g), ST_YMax(b.g) "
        "FROM top h CROSS JOIN LATERAL (SELECT ST_Transform(ST_Segmentize("
        "ST_SetSRID(({bbox})::geometry, 2154), {segment}), 4326) AS g OFFSET 0) b "
        "ORDER BY {order}"
    ).format(
        hits=sql.SQL(" UNION ALL ").join(hits),
        order=order,
        bbox=_bbox_2154(),
        segment=sql.Literal(BBOX_SEGMENT_M),
    )


def code_kinds(q: str) -> list[str]:
    """The kinds whose codes have the shape of ``q`` (trimmed): "01" is a département and a
    region code, "2A004" a commune's, "ti-8401" a territory's in either programme."""
    code = q.upper()
    kinds = [k for k, rx in (("commune", _INSEE), ("epci", _SIREN)) if rx.match(code)]
    if _TERRITOIRE.match(q.lower()):
        kinds.append("territoire")
    kinds += [k for k, rx in (("departement", _DEPARTEMENT), ("region", _REGION)) if rx.match(code)]
    return kinds


def label(kind: str, code: str, name: str | None) -> str:
    """The hit as the page lists it: "Ain (département 01)", "Guadeloupe (région 01)"."""
    what = KINDS[kind][0]
    return f"{name} ({what} {code})" if name else f"{what[0].upper()}{what[1:]} {code}"


@router.get(
    "/places",
    summary="Find a commune, EPCI, territory, département or region",
    responses=ok("the places, best first", model=Places),
)
async def places(
    request: Request,
    pool: PoolDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="a name as typed (accents, case, hyphens ignored) or a code: INSEE "
            "(2A004), SIREN, id_ti (ti-8401), département (69, 2A, 971), region (84)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """Places matching ``q``, best first, each with its kind, code, label, bbox (CRS84) and link."""
    # PostgreSQL text cannot hold NUL; like any other punctuation it only separates words.
    typed = q.replace("\x00", " ").strip()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT foncier_search_key(%s)", (typed,))
        key = str((await cur.fetchone() or ("",))[0] or "")
        kinds = code_kinds(typed)
        rows = []
        if key or kinds:
            # key holds only [a-z0-9 ]: nothing in it is a LIKE wildcard.
            params = {
                "key": key,
                "prefix": key + "%",
                "word": "% " + key + "%",
                "contains": "%" + key + "%",
                "code": typed.upper(),
                "ti": typed.lower(),
                "limit": limit,
            }
            query = _query(kinds, key)
            cur = await conn.execute(query, params)
            rows = await cur.fetchall()
    base = str(request.base_url).rstrip("/")
    results = []
    for kind, code, name, rank, x0, y0, x1, y1 in rows:
        collection = KINDS[kind][1]
        results.append(
            {
                "kind": kind,
                "code": code,
                "name": name,
                "label": label(kind, code, name),
                "match": MATCHES[rank],
                "bbox": ([round(v, 6) for v in (x0, y0, x1, y1)] if x0 is not None else None),
                "collection": collection,
                "link": base
                + (
                    f"/collections/{collection}/items/{code}"
                    if collection
                    else f"/territories/{kind}/{code}"
                ),
            }
        )
    return Response(
        orjson.dumps({"q": q, "key": key, "numberReturned": len(results), "places": results}),
        media_type="application/json",
    )
