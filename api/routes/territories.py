"""Territory figures: ZAN account, available hectares by zoning and score band, sites."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Response
from psycopg import sql

from api.db import PoolDep
from db.errors import NotFound

router = APIRouter(tags=["Territories"])

Kind = Literal["epci", "territoire-2023", "territoire-2018", "departement", "region"]
M2_PER_HA = 10_000.0

# The communes of a territory, by kind (a territoire: member EPCIs, or communes inside it).
_COMMUNES = {
    "epci": "SELECT insee FROM commune WHERE siren_epci = %(code)s",
    "departement": "SELECT insee FROM commune WHERE dep = %(code)s",
    "region": "SELECT insee FROM commune WHERE reg = %(code)s",
    "territoire": (
        "SELECT c.insee FROM commune c WHERE c.siren_epci IN (SELECT siren FROM territoire_membre"
        " WHERE programme = %(programme)s AND id_ti = %(code)s) OR EXISTS (SELECT 1 FROM "
        "territoire t WHERE t.programme = %(programme)s AND t.id_ti = %(code)s AND "
        "ST_Intersects(t.geom, ST_PointOnSurface(c.geom)))"
    ),
}
_NAME = {
    "epci": "SELECT nom FROM epci WHERE siren = %(code)s",
    "territoire": "SELECT lib FROM territoire WHERE programme = %(programme)s AND id_ti = %(code)s",
    "departement": "SELECT %(code)s::text FROM commune WHERE dep = %(code)s LIMIT 1",
    "region": "SELECT %(code)s::text FROM commune WHERE reg = %(code)s LIMIT 1",
}


@router.get("/territories/{kind}/{code}", summary="ZAN and land figures of a territory")
async def territory(kind: Kind, code: str, pool: PoolDep) -> Response:
    """For an EPCI (SIREN), a Territoire d'industrie (id_ti), a département or a region (INSEE
    code): the ZAN account (reference, envelope, consumed, remaining, yearly series, projection),
    the available hectares (unbuilt, not excluded parcels) by zoning class and score band, and
    the sites ranked by score."""
    family = "territoire" if kind.startswith("territoire") else kind
    params: dict[str, object] = {
        "code": code,
        "programme": int(kind[-4:]) if family == "territoire" else 0,
        "m2_per_ha": M2_PER_HA,
    }
    communes = sql.SQL(_COMMUNES[family])
    async with pool.connection() as conn:
        cur = await conn.execute(_NAME[family], params)
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no {kind} with code {code!r}")
        name = row[0]
        cur = await conn.execute(
            "SELECT nom, reference_ha, reduction_pct, envelope_ha, consumed_ha, remaining_ha, "
            "projection_2031_ha, guaranteed, pene_ha, years, vintage, computed_at::text "
            # The scoring writes zan_account.territory_type with these very kinds.
            "FROM zan_account WHERE territory_type = %(kind)s AND territory_code = %(code)s",
            {**params, "kind": kind},
        )
        zan_row = await cur.fetchone()
        zan = None
        if zan_row is not None:
            names = [d.name for d in cur.description or []]
            zan = dict(zip(names, zan_row, strict=True))
            name = zan.pop("nom") or name
        cur = await conn.execute(
            sql.SQL(
                "WITH com AS ({communes}) "
                "SELECT coalesce(ps.zone_class, 'unknown'), "
                "CASE WHEN ps.score < 25 THEN '0-25' WHEN ps.score < 50 THEN '25-50' "
                "WHEN ps.score < 75 THEN '50-75' ELSE '75-100' END, "
                "sum(ST_Area(p.geom)) / %(m2_per_ha)s, count(*) "
                "FROM parcel p JOIN parcel_score ps ON ps.idu = p.idu "
                "WHERE p.insee IN (SELECT insee FROM com) AND NOT coalesce(p.built, false) "
                "AND NOT ps.excluded GROUP BY 1, 2 ORDER BY 1, 2"
            ).format(communes=communes),
            params,
        )
        available: dict[str, dict[str, float]] = {}
        total_ha = 0.0
        for zone, band, ha, _n in await cur.fetchall():
            available.setdefault(zone, {})[band] = round(ha, 4)
            total_ha += ha
        cur = await conn.execute(
            sql.SQL(
                "WITH com AS ({communes}) "
                "SELECT s.id, s.nom, s.insee, s.lib_com, s.surface_ha, s.cle_en_main, s.friche, "
                "sc.score, sc.excluded, sc.zan_cost_ha, sc.zone_class FROM site s "
                "LEFT JOIN site_score sc ON sc.site_id = s.id WHERE s.insee IN "
                "(SELECT insee FROM com) ORDER BY sc.score DESC NULLS LAST, s.id LIMIT 500"
            ).format(communes=communes),
            params,
        )
        site_names = [d.name for d in cur.description or []]
        sites = [dict(zip(site_names, r, strict=True)) for r in await cur.fetchall()]
        cur = await conn.execute(
            sql.SQL("SELECT count(*) FROM ({communes}) x").format(communes=communes), params
        )
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
        else "no ZAN account computed yet for this territory (run `foncier score`)",
        "available_ha": {"total": round(total_ha, 4), "by_zoning_and_score": available},
        "sites": sites,
    }
    return Response(orjson.dumps(body), media_type="application/json")
