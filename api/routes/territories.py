"""Territory figures: ZAN account, available hectares by zoning and score band, sites."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response
from psycopg import sql

from api.db import PoolDep
from api.params import parse_as_of
from api.schemas import Territory, ok
from db.errors import NotFound
from db.history import as_of_sql
from geo.geometry import M2_PER_HA

router = APIRouter(tags=["Territories"])

Kind = Literal["epci", "scot", "territoire-2023", "territoire-2018", "departement", "region"]

# The one membership rule (view territory_commune, migration 0003): the ZAN accounts, the score
# scopes and /search read the same one.
_COMMUNES = "SELECT insee FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s"
_NAME = {
    "epci": "SELECT nom FROM epci WHERE siren = %(code)s",
    "scot": "SELECT max(nom_scot) FROM scot_membre WHERE scot_id = %(code)s HAVING count(*) > 0",
    "territoire": "SELECT lib FROM territoire WHERE programme = %(programme)s AND id_ti = %(code)s",
    "departement": (
        "SELECT coalesce((SELECT nom FROM departement WHERE code = %(code)s), %(code)s) "
        "WHERE EXISTS (SELECT 1 FROM departement WHERE code = %(code)s) "
        "OR EXISTS (SELECT 1 FROM commune WHERE dep = %(code)s)"
    ),
    "region": (
        "SELECT coalesce((SELECT nom FROM region WHERE code = %(code)s), %(code)s) "
        "WHERE EXISTS (SELECT 1 FROM region WHERE code = %(code)s) "
        "OR EXISTS (SELECT 1 FROM commune WHERE reg = %(code)s)"
    ),
}
_ACCOUNT = (
    "SELECT nom, reference_ha, reduction_pct, envelope_ha, envelope_with_commune_guarantees_ha, "
    "consumed_ha, remaining_ha, projection_2031_ha, guaranteed, pene_ha, years, vintage, "
    "communes, communes_with_flows, last_year, sources, target, computed_at::text "
    "FROM {zan_account} z WHERE territory_type = %(kind)s AND territory_code = %(code)s"
)
# Available land: candidate land (activity zone, site, brownfield) of known status, unbuilt or
# brownfield, not excluded (parcel_score.available); land whose status or zoning is unknown is
# counted apart (to_qualify), never in the total.
_LAND = (
    "WITH com AS (" + _COMMUNES + ") "
    "SELECT ps.available, coalesce(ps.zone_class, 'unknown'), "
    "CASE WHEN ps.score < 25 THEN '0-25' WHEN ps.score < 50 THEN '25-50' "
    "WHEN ps.score < 75 THEN '50-75' ELSE '75-100' END, "
    "ps.land_status, sum(foncier_area_m2(p.geom)) / %(m2_per_ha)s, count(*) "
    "FROM parcel p JOIN parcel_score ps ON ps.idu = p.idu "
    "WHERE p.insee IN (SELECT insee FROM com) AND (ps.available OR ps.to_qualify) "
    "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)
_SITES = (
    "WITH com AS (" + _COMMUNES + ") "
    "SELECT s.id, s.nom, s.insee, s.lib_com, s.surface_ha, s.cle_en_main, s.friche, "
    "s.location_precision, sc.score, sc.excluded, sc.land_status, sc.zan_cost_ha, "
    "sc.zan_cost_max_ha, sc.known_inputs, sc.zone_class FROM {site} s "
    "LEFT JOIN site_score sc ON sc.site_id = s.id WHERE s.insee IN "
    "(SELECT insee FROM com) ORDER BY sc.score DESC NULLS LAST, s.id LIMIT 500"
)
# Projection of the reference tool (MTES-MCT/sparte, land_trajectoires): the pace since 2021
# times 9; ours (projection_2031_ha) times the 10 years of 2021-2030.
_REFERENCE_PROJECTION_YEARS = 9


AS_OF_NOTE = (
    "as_of: the ZAN account is the one `foncier score` had computed by then, the sites as they "
    "were (their scores are today's); available hectares come from the parcel scores, which are "
    "derived and not kept in history: re-score to recompute them"
)


def _table(name: str, as_of: datetime | None) -> sql.Composable:
    """``name``, or with ``as_of`` the table as it was then (bound as ``%(as_of)s``)."""
    if as_of is None:
        return sql.Identifier(name)
    return sql.SQL("({})").format(as_of_sql(name, sql.SQL("%(as_of)s::timestamptz")))


def _sql(template: str, as_of: datetime | None) -> sql.Composed:
    return sql.SQL(template).format(
        zan_account=_table("zan_account", as_of), site=_table("site", as_of)
    )


def _zan(names: list[str], row: tuple[object, ...]) -> dict[str, Any]:
    """The account row as /territories gives it: coverage grouped, the reference tool's
    projection beside ours, figures rounded."""
    zan: dict[str, Any] = dict(zip(names, row, strict=True))
    zan["coverage"] = {
        "communes": zan.pop("communes"),
        "communes_with_flows": zan.pop("communes_with_flows"),
        "complete": False,
        "sources": zan.pop("sources") or [],
    }
    zan["coverage"]["complete"] = (
        zan["coverage"]["communes"] == zan["coverage"]["communes_with_flows"]
    )
    last = zan.get("last_year")
    zan["projection_2030_reference_tool_ha"] = (
        zan["consumed_ha"] / (last - 2020) * _REFERENCE_PROJECTION_YEARS if last else None
    )
    # Hectares to the square metre (4 decimals), percentages to 0.01: the figures a
    # planner checks by hand against the source file, without float noise.
    for key, value in zan.items():
        if isinstance(value, float):
            zan[key] = round(value, 2 if key.endswith("_pct") else 4)
    return zan


def _available(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Available hectares by zoning class and score band, and the hectares to qualify."""
    available: dict[str, dict[str, float]] = {}
    total_ha = 0.0
    to_qualify = {"total": 0.0, "land_status_unknown": 0.0, "zoning_unknown": 0.0}
    for is_available, zone, band, status, ha, _n in rows:
        if is_available:
            available.setdefault(zone, {})[band] = round(
                available.get(zone, {}).get(band, 0.0) + ha, 4
            )
            total_ha += ha
            continue
        to_qualify["total"] += ha
        if status == "unknown":
            to_qualify["land_status_unknown"] += ha
        if zone == "unknown":
            to_qualify["zoning_unknown"] += ha
    return {
        "total": round(total_ha, 4),
        "by_zoning_and_score": available,
        "to_qualify": {k: round(v, 4) for k, v in to_qualify.items()},
    }


@router.get(
    "/territories/{kind}/{code}",
    summary="ZAN and land figures of a territory",
    responses=ok("the territory's figures", model=Territory),
)
async def territory(
    kind: Kind,
    code: str,
    pool: PoolDep,
    as_of: Annotated[
        str | None,
        Query(description="ISO date or date-time: the figures as they were then (history)"),
    ] = None,
) -> Response:
    """For an EPCI (SIREN), a SCoT, a Territoire d'industrie (id_ti), a département or a region
    (INSEE code): the ZAN account (reference, envelope by the reference method and with the
    communes' pooled guarantees, consumed, remaining, yearly series, projection, target) with its
    coverage (communes, communes with ENAF flows, sources), the available hectares by zoning
    class and score band, the hectares still to qualify (land status or zoning unknown), and the
    sites ranked by score. With ``as_of``, the account and sites of that time (see
    ``as_of_note``)."""
    at = parse_as_of(as_of) if as_of is not None else None
    family = "territoire" if kind.startswith("territoire") else kind
    params: dict[str, object] = {
        "kind": kind,
        "code": code,
        "programme": int(kind[-4:]) if family == "territoire" else 0,
        "m2_per_ha": M2_PER_HA,
        "as_of": at,
    }
    async with pool.connection() as conn:
        cur = await conn.execute(_NAME[family], params)
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no {kind} with code {code!r}")
        name = row[0]
        cur = await conn.execute(_sql(_ACCOUNT, at), params)
        zan_row = await cur.fetchone()
        zan = _zan([d.name for d in cur.description or []], zan_row) if zan_row else None
        name = (zan.pop("nom") if zan else None) or name
        available_ha = None
        if at is None:  # parcel scores are not kept in history
            cur = await conn.execute(_LAND, params)
            available_ha = _available(await cur.fetchall())
        cur = await conn.execute(_sql(_SITES, at), params)
        site_names = [d.name for d in cur.description or []]
        sites = [dict(zip(site_names, r, strict=True)) for r in await cur.fetchall()]
        cur = await conn.execute(f"SELECT count(*) FROM ({_COMMUNES}) x", params)
        count_row = await cur.fetchone()
        n_communes = count_row[0] if count_row else 0
    body = {
        "kind": kind,
        "code": code,
        "name": name,
        "communes": n_communes,
        "zan": zan,
        "zan_note": None
        if zan
        else (
            f"no ENAF consumption loaded for any of the {n_communes} communes of this territory"
            " (load the Cerema flows with `foncier ingest enaf`, then `foncier score`)"
        ),
        "available_ha": available_ha,
        "sites": sites,
    }
    if at is not None:
        body["as_of"] = at.isoformat()
        body["as_of_note"] = AS_OF_NOTE
    return Response(orjson.dumps(body), media_type="application/json")
