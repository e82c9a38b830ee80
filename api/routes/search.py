"""Investor search over sites and land units, and a side-by-side comparison of sites.

Results are ranked by availability score, each with its explanation (the stored breakdown plus
a one-line summary of the largest contributions).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from psycopg import sql

from api.auth import ReaderDep
from api.db import PoolDep
from api.query import Binder
from api.schemas import Comparison, SearchResults, ok
from db.errors import InvalidQuery, NotFound
from db.models import TI_PROGRAMMES as PROGRAMMES
from geo.geometry import M2_PER_HA

router = APIRouter(tags=["Investors"])


def explain(score: float | None, excluded: bool | None, breakdown: object) -> str:
    """One line a user can read: the score and the criteria that weigh most."""
    if score is None:
        return "pas encore de score calculé pour cet élément"
    items = breakdown if isinstance(breakdown, list) else []
    parts = []
    for b in sorted(
        (b for b in items if isinstance(b, dict)),
        key=lambda b: -abs(float(b.get("contribution") or 0)),
    )[:4]:
        contribution = float(b.get("contribution") or 0)
        parts.append(f"{b.get('criterion', '?')} {contribution:+.0f}")
    head = f"score {score:.0f}/100" + (" (exclu par une contrainte forte)" if excluded else "")
    return head + (": " + ", ".join(parts) if parts else "")


# Checked by the route (its message names the two), declared for the document.
Programme = Annotated[
    int,
    Query(
        description="programme of `territoire` (2018 or 2023)",
        json_schema_extra={"enum": list(PROGRAMMES)},
    ),
]

# Each candidate kind is one SELECT with the same columns; filters are appended to its WHERE.
_SITES = """
SELECT 'site' AS kind, s.id::text AS id, s.nom, s.insee, c.nom AS commune, c.siren_epci,
       c.dep, c.reg, s.surface_ha, coalesce(sc.contiguous_ha, s.surface_dispo_ha) AS contiguous_ha,
       sc.score, sc.excluded, sc.zan_cost_ha, sc.envelope_share, sc.zone_class,
       s.cle_en_main, coalesce(s.friche, false) AS friche, sc.breakdown,
       ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6)::json AS geometry, s.location_precision,
       rd.level AS readiness_level, rd.time_to_permit_months,
       (s.valid_until IS NULL OR s.valid_until < now()) AS a_confirmer, s.confirmed_at,
       sc.rail_km, sc.port_km
FROM site s LEFT JOIN site_score sc ON sc.site_id = s.id LEFT JOIN commune c ON c.insee = s.insee
LEFT JOIN site_readiness rd ON rd.site_id = s.id
-- A withdrawn site is no longer on offer (its sheet still says so).
WHERE s.withdrawn_at IS NULL
"""
# Every territory filter is the one membership rule, the view territory_commune.
_IN_TERRITORY = (
    "insee IN (SELECT tc.insee FROM territory_commune tc WHERE tc.kind = {} AND tc.code = {})"
)
_LAND_UNITS = """
SELECT 'land-unit' AS kind, u.id::text AS id, NULL::text AS nom, u.insee, c.nom AS commune,
       c.siren_epci, c.dep, c.reg, u.area_ha AS surface_ha, u.area_ha AS contiguous_ha,
       best.score, best.excluded, agg.zan_cost_ha, agg.envelope_share, u.zone_class,
       false AS cle_en_main, false AS friche, best.breakdown,
       ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(u.geom), 4326), 6)::json AS geometry,
       'polygon'::text AS location_precision, NULL::smallint AS readiness_level,
       NULL::float8 AS time_to_permit_months, NULL::boolean AS a_confirmer,
       NULL::timestamptz AS confirmed_at, u.rail_km, u.port_km
FROM land_unit u LEFT JOIN commune c ON c.insee = u.insee
LEFT JOIN LATERAL (SELECT ps.score, ps.excluded, ps.breakdown FROM parcel_score ps
                   WHERE ps.land_unit_id = u.id ORDER BY ps.score DESC LIMIT 1) best ON true
LEFT JOIN LATERAL (SELECT sum(ps.zan_cost_ha) AS zan_cost_ha,
                          sum(ps.envelope_share) AS envelope_share
                   FROM parcel_score ps WHERE ps.land_unit_id = u.id) agg ON true
"""


# Access distances (score/sql/access_distances.sql): an unknown one (no transport layer loaded)
# never matches a bound.
RailKm = Annotated[
    float | None, Query(ge=0, description="km à vol d'oiseau jusqu'à la voie ferrée la plus proche")
]
PortKm = Annotated[
    float | None, Query(ge=0, description="km à vol d'oiseau jusqu'au port de fret le plus proche")
]


@router.get(
    "/search",
    summary="Investor search over sites and land units",
    responses=ok("the matches, best first", model=SearchResults),
)
async def search(
    request: Request,
    pool: PoolDep,
    kind: Literal["all", "sites", "land-units"] = "all",
    surface_min_ha: Annotated[float | None, Query(ge=0)] = None,
    surface_max_ha: Annotated[float | None, Query(ge=0)] = None,
    contiguous_min_ha: Annotated[float | None, Query(ge=0)] = None,
    contiguous_max_ha: Annotated[float | None, Query(ge=0)] = None,
    region: Annotated[str | None, Query(max_length=3, description="code INSEE région")] = None,
    departement: Annotated[str | None, Query(max_length=3)] = None,
    epci: Annotated[str | None, Query(min_length=9, max_length=9, description="SIREN")] = None,
    scot: Annotated[str | None, Query(max_length=40, description="identifiant du SCoT")] = None,
    territoire: Annotated[
        str | None, Query(max_length=40, description="id_ti (ex. ti-2703)")
    ] = None,
    territoire_programme: Programme = PROGRAMMES[-1],
    activity_only: bool = False,
    turnkey_only: bool = False,
    brownfield_only: bool = False,
    max_zan_cost_ha: Annotated[float | None, Query(ge=0)] = None,
    no_hard_constraint: bool = False,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    min_readiness: Annotated[int | None, Query(ge=0, le=3, description="niveau 0-3")] = None,
    max_time_to_permit_months: Annotated[float | None, Query(ge=0)] = None,
    confirmed_only: bool = False,
    max_rail_km: RailKm = None,
    max_port_km: PortKm = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Sites and land units matching every criterion: confirmed sites first, then by score
    (withdrawn sites never); ``turnkey_only``, ``brownfield_only``, ``confirmed_only`` and
    ``min_readiness`` keep sites only (land units have no checklist)."""
    _check_ranges(territoire_programme, (surface_min_ha, surface_max_ha, "surface"))
    _check_ranges(territoire_programme, (contiguous_min_ha, contiguous_max_ha, "contiguous"))
    b = Binder()
    conds = _filters(
        b,
        (
            (surface_min_ha, "surface_ha >= {}"),
            (surface_max_ha, "surface_ha <= {}"),
            (contiguous_min_ha, "contiguous_ha >= {}"),
            (contiguous_max_ha, "contiguous_ha <= {}"),
            (max_zan_cost_ha, "zan_cost_ha <= {}"),
            (min_score, "score >= {}"),
            (min_readiness, "readiness_level >= {}"),
            (max_time_to_permit_months, "time_to_permit_months <= {}"),
            (max_rail_km, "rail_km <= {}"),
            (max_port_km, "port_km <= {}"),
        ),
        (
            ("region", region),
            ("departement", departement),
            ("epci", epci),
            ("scot", scot),
            (f"territoire-{territoire_programme}", territoire),
        ),
        (
            (activity_only, "zone_class = 'activity'"),
            (turnkey_only, "cle_en_main"),
            (brownfield_only, "friche"),
            (no_hard_constraint, "excluded IS FALSE"),
            (confirmed_only, "a_confirmer IS FALSE"),
        ),
    )
    site_only = turnkey_only or brownfield_only or confirmed_only or min_readiness is not None
    parts = _parts(kind, site_only)
    if not parts:
        return _json({"numberReturned": 0, "results": []})
    query = _search_query(parts, conds, b, limit, offset)
    async with pool.connection() as conn:
        cur = await conn.execute(query, b.params)
        rows = await cur.fetchall()
        names = [d.name for d in cur.description or []]
    base_url = str(request.base_url).rstrip("/")
    results = [_result(dict(zip(names, row, strict=True)), base_url) for row in rows]
    matched = rows[0][-1] if rows else 0
    return _json({"numberMatched": matched, "numberReturned": len(results), "results": results})


def _parts(kind: str, site_only: bool) -> list[str]:
    """The candidate SELECTs searched: sites, land units (not when a filter is site-only)."""
    parts = [_SITES] if kind in ("all", "sites") else []
    if kind in ("all", "land-units") and not site_only:
        parts.append(_LAND_UNITS)
    return parts


def _filters(
    b: Binder,
    bounds: tuple[tuple[object, str], ...],
    territories: tuple[tuple[str, str | None], ...],
    flags: tuple[tuple[bool, str], ...],
) -> list[sql.Composable]:
    """The WHERE conditions of the given bounds, territories and flags, values bound in ``b``."""
    conds: list[sql.Composable] = [
        sql.SQL(text).format(b.bind(bound)) for bound, text in bounds if bound is not None
    ]
    conds += [
        sql.SQL(_IN_TERRITORY).format(b.bind(kind), b.bind(code))
        for kind, code in territories
        if code
    ]
    conds += [sql.SQL(text) for flag, text in flags if flag]
    return conds


def _check_ranges(programme: int, *ranges: tuple[float | None, float | None, str]) -> None:
    """Refuse an unknown Territoires d'industrie programme and a minimum above its maximum."""
    if programme not in PROGRAMMES:
        raise InvalidQuery(
            f"territoire_programme={programme}: use {' or '.join(map(str, PROGRAMMES))}"
        )
    for lo, hi, name in ranges:
        if lo is not None and hi is not None and lo > hi:
            raise InvalidQuery(f"{name}_min_ha ({lo}) is larger than {name}_max_ha ({hi})")


def _search_query(
    parts: list[str], conds: list[sql.Composable], b: Binder, limit: int, offset: int
) -> sql.Composed:
    """The union of the ``parts`` (sites, land units) filtered by ``conds``, one page of it."""
    where = sql.SQL(" AND ").join(conds) if conds else sql.SQL("TRUE")
    return sql.SQL(
        "SELECT kind, id, nom, insee, commune, siren_epci, dep, reg, surface_ha, contiguous_ha, "
        "score, excluded, zan_cost_ha, envelope_share, zone_class, cle_en_main, friche, "
        "breakdown, geometry, location_precision, readiness_level, time_to_permit_months, "
        "a_confirmer, confirmed_at, rail_km, port_km, count(*) OVER () "
        "FROM ({union}) x WHERE {where} "
        # Confirmed sites first; then, by score, the others (land units confirm nothing).
        "ORDER BY coalesce(a_confirmer, true), score DESC NULLS LAST, "
        "contiguous_ha DESC NULLS LAST, kind, id "
        "LIMIT {limit} OFFSET {offset}"
    ).format(
        union=sql.SQL(" UNION ALL ").join(sql.SQL(p) for p in parts),
        where=where,
        limit=b.bind(limit),
        offset=b.bind(offset),
    )


def _result(r: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A search row as answered: its score explained, a link to its feature."""
    r.pop("count")
    r["explanation"] = {
        "summary": explain(r["score"], r["excluded"], r["breakdown"]),
        "breakdown": r.pop("breakdown"),
    }
    collection = "sites" if r["kind"] == "site" else "land-units"
    r["link"] = f"{base_url}/collections/{collection}/items/{r['id']}"
    return r


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/sites/compare",
    summary="Compare 2 to 5 sites side by side",
    responses=ok("the sites side by side", model=Comparison),
)
async def compare(
    pool: PoolDep,
    reader: ReaderDep,
    ids: Annotated[str, Query(description="2 to 5 site ids separated by commas")],
) -> Response:
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if not 2 <= len(wanted) <= 5 or len(set(wanted)) != len(wanted):
        raise InvalidQuery(
            f"ids: give 2 to 5 distinct site ids separated by commas (got {len(wanted)})"
        )
    restricted = sql.SQL(", s.prix_m2, s.contact" if reader is not None else "")
    query = sql.SQL(
        "SELECT s.id, s.nom, s.insee, s.lib_com, s.surface_ha, s.surface_dispo_ha, s.maturite, "
        "s.cle_en_main, s.maitrise_fonciere, s.friche, s.pene, sc.score, sc.excluded, "
        "sc.land_status, sc.zan_cost_ha, sc.envelope_share, sc.contiguous_ha, sc.zone_class, "
        "sc.profile_version, sc.breakdown, rd.level AS readiness_level, "
        "rd.time_to_permit_months, sc.rail_km, sc.port_km, s.confirmed_at, s.valid_until, "
        "(s.valid_until IS NULL OR s.valid_until < now()) AS a_confirmer, "
        "ARRAY(SELECT sp.idu FROM site_parcel sp WHERE sp.site_id = s.id ORDER BY sp.idu) "
        "AS parcels{restricted} "
        "FROM site s LEFT JOIN site_score sc ON sc.site_id = s.id "
        "LEFT JOIN site_readiness rd ON rd.site_id = s.id WHERE s.id = ANY({ids})"
    ).format(restricted=restricted, ids=sql.Placeholder("ids"))
    async with pool.connection() as conn:
        cur = await conn.execute(query, {"ids": wanted})
        rows = await cur.fetchall()
        names = [d.name for d in cur.description or []]
    found = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"unknown site id(s): {', '.join(missing)}")
    sites = [found[i] for i in wanted]
    criteria: dict[str, dict[str, object]] = {}
    for s in sites:
        s["explanation"] = explain(s["score"], s["excluded"], s["breakdown"])
        for item in s["breakdown"] or []:
            if isinstance(item, dict) and "criterion" in item:
                criteria.setdefault(str(item["criterion"]), {})[s["id"]] = item.get("contribution")
    best = max(sites, key=lambda s: -1 if s["score"] is None else s["score"])
    return _json(
        {
            "ids": wanted,
            "sites": sites,
            "criteria": criteria,
            "best": best["id"] if best["score"] is not None else None,
        }
    )


_SITE_PARCELS = """
SELECT s.id, s.perimeter IS NOT NULL, p.idu, p.insee, p.contenance_m2, p.built,
       ST_Area(p.geom) / %(m2_per_ha)s,
       CASE WHEN s.perimeter IS NOT NULL
            THEN ST_Area(ST_Intersection(p.geom, s.perimeter)) / %(m2_per_ha)s END,
       ps.score, ps.excluded, ps.zan_cost_ha, ps.zone_class,
       ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)
FROM site s
LEFT JOIN site_parcel sp ON sp.site_id = s.id
LEFT JOIN parcel p ON p.idu = sp.idu
LEFT JOIN parcel_score ps ON ps.idu = p.idu
WHERE s.id = %(id)s
ORDER BY p.idu
"""
_PARCEL_FIELDS = (
    "idu", "insee", "contenance_m2", "built", "surface_ha", "inside_ha", "score", "excluded",
    "zan_cost_ha", "zone_class",
)  # fmt: skip


@router.get("/sites/{site_id}/parcels", summary="A site's cadastral parcels (GeoJSON, CRS84)")
async def site_parcels(site_id: str, pool: PoolDep) -> Response:
    """The parcels of a site (``site_parcel``, filled by the sites and parcels loads): each with
    its surface in hectares (``surface_ha``), the part inside the site's perimeter
    (``inside_ha``, null for a site known by a point) and its score; the totals in
    ``surface_ha``/``inside_ha``. A site placed only at its commune has none."""
    async with pool.connection() as conn:
        cur = await conn.execute(_SITE_PARCELS, {"id": site_id, "m2_per_ha": M2_PER_HA})
        rows = await cur.fetchall()
    if not rows:
        raise NotFound(f"unknown site id {site_id!r}")
    features = [
        {
            "type": "Feature",
            "id": r[2],
            "geometry": orjson.Fragment(r[12]),
            "properties": dict(zip(_PARCEL_FIELDS, r[2:12], strict=True)),
        }
        for r in rows
        if r[2] is not None
    ]
    has_perimeter = bool(rows[0][1])
    return Response(
        orjson.dumps(
            {
                "type": "FeatureCollection",
                "site_id": site_id,
                "numberReturned": len(features),
                "surface_ha": sum(f["properties"]["surface_ha"] for f in features),
                "inside_ha": (
                    sum(f["properties"]["inside_ha"] for f in features) if has_perimeter else None
                ),
                "features": features,
            }
        ),
        media_type="application/geo+json",
    )
