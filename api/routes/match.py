"""Requirement matching: an investor's project profile against every candidate site.

``POST /search/match`` takes a :class:`ProjectProfile` and answers every site (withdrawn ones
never) ranked by fit, each with what it meets, what it misses and by how much, and what is
unknown (the site has no value: neither met nor missed). The matching is one statement,
``db/sql/site_match.sql``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.db import PoolDep
from api.schemas import ok
from db.engine import read_sql
from db.errors import InvalidQuery

router = APIRouter(tags=["Investors"])
MATCH_SQL = read_sql("db.sql", "site_match.sql")

# Weight of each criterion in the fit score (share of the asked weights a site meets).
WEIGHTS: dict[str, float] = {
    "contiguous_ha": 3.0,
    "region": 3.0,
    "technological_risk": 3.0,
    "electricity_mw": 2.0,
    "rail_km": 2.0,
    "time_to_permit_months": 2.0,
    "residential_zone": 2.0,
    "water_m3_day": 1.0,
    "port_km": 1.0,
}
# French wording of each criterion: label, unit, and whether the wanted value is a minimum.
LABELS: dict[str, tuple[str, str, bool]] = {
    "contiguous_ha": ("surface d'un seul tenant", "ha", True),
    "electricity_mw": ("puissance électrique", "MW", True),
    "water_m3_day": ("débit d'eau", "m³/jour", True),
    "rail_km": ("distance à une voie ferrée", "km", False),
    "port_km": ("distance à un port de fret", "km", False),
    "time_to_permit_months": ("délai avant permis de construire", "mois", False),
}


class ProjectProfile(BaseModel):
    """An investor's project: every field left out is a criterion not asked."""

    # Strict: a number sent as text is refused as the document says, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)

    # Upper bounds far above any real project (the largest French industrial sites are a few
    # hundred ha): a value past them is a typing error, refused rather than answered as a gap
    # no JSON encoder can write (the fuzzer sent 1.7e308 ha).
    min_contiguous_ha: float | None = Field(
        None, ge=0, le=100_000, description="hectares d'un seul tenant"
    )
    electricity_mw: float | None = Field(
        None, ge=0, le=100_000, description="puissance électrique (MW)"
    )
    water_m3_day: float | None = Field(
        None, ge=0, le=10_000_000, description="débit d'eau (m³/jour)"
    )
    rail_needed: bool = Field(False, description="desserte ferroviaire nécessaire")
    rail_max_km: float | None = Field(
        None, ge=0, le=1_000, description="km maximum à une voie ferrée"
    )
    port_needed: bool = Field(False, description="port de fret nécessaire")
    port_max_km: float | None = Field(
        None, ge=0, le=1_000, description="km maximum à un port de fret"
    )
    max_time_to_permit_months: float | None = Field(
        None, ge=0, le=600, description="délai maximum avant un permis de construire (mois)"
    )
    activity: str | None = Field(None, max_length=200, description="type d'activité (libre)")
    # Recorded with the profile; the site's own constraints come from its Seveso level.
    icpe_regime: Literal["none", "declaration", "registration", "authorisation"] = Field(
        "none", description="régime ICPE de l'activité (none : non classée)"
    )
    seveso: Literal["none", "low", "high"] = Field(
        "none",
        description="niveau Seveso (seuil bas/haut) : exige un site hors zone de PPRT et hors "
        "zone urbaine (proximité résidentielle) selon les couches calculées",
    )
    regions: list[Annotated[str, Field(pattern=r"^\d{2}$")]] | None = Field(
        None, max_length=18, description="codes INSEE des régions visées (texte, ex. '84')"
    )

    @model_validator(mode="after")
    def _needs_distance(self) -> ProjectProfile:
        for kind in ("rail", "port"):
            if getattr(self, f"{kind}_needed") and getattr(self, f"{kind}_max_km") is None:
                raise ValueError(f"{kind}_needed: give {kind}_max_km, the largest distance in km")
        return self


class MatchCriterion(BaseModel):
    code: str
    state: Literal["met", "miss", "unknown"]
    wanted: Any
    offered: Any = None
    gap: float | None = None
    rel_gap: float | None = None
    message: str


class MatchResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    fit: float = Field(ge=0, le=100)
    meets: list[MatchCriterion]
    misses: list[MatchCriterion]
    unknown: list[MatchCriterion]
    link: str


class MatchResults(BaseModel):
    numberReturned: int = Field(ge=0)  # noqa: N815 - the OGC name
    weights: dict[str, float]
    results: list[MatchResult]


def _params(p: ProjectProfile, max_misses: int, limit: int) -> dict[str, object]:
    """The binds of site_match.sql: the profile's bounds (NULL: not asked) and the weights."""
    return {
        "contiguous_ha": p.min_contiguous_ha,
        "electricity_mw": p.electricity_mw,
        "water_m3_day": p.water_m3_day,
        "rail_max_km": p.rail_max_km if p.rail_needed else None,
        "port_max_km": p.port_max_km if p.port_needed else None,
        "max_time_to_permit_months": p.max_time_to_permit_months,
        "regions": p.regions or None,
        "seveso": p.seveso != "none",
        "max_misses": max_misses,
        "limit": limit,
        **{f"w_{code}": w for code, w in WEIGHTS.items()},
    }


def message(c: dict[str, Any]) -> str:
    """The criterion in French: ``il faut 20 MW, le site en offre 12``."""
    code, state, wanted, offered = c["code"], c["state"], c["wanted"], c["offered"]
    if code in LABELS:
        label, unit, minimum = LABELS[code]
        want = f"il faut {'au moins' if minimum else 'au plus'} {wanted:g} {unit}"
        if state == "unknown":
            return f"{label} : {want}, valeur inconnue pour ce site"
        return f"{label} : {want}, le site en offre {offered:g}"
    if code == "region":
        wanted_text = ", ".join(wanted)
        if state == "unknown":
            return f"région : parmi {wanted_text}, région du site inconnue"
        return f"région : parmi {wanted_text}, le site est en région {offered}"
    what = {"technological_risk": "zone de PPRT", "residential_zone": "zone urbaine (habitat)"}
    if state == "unknown":
        return f"Seveso : hors {what[code]} exigé, non calculé pour ce site"
    verb = "hors" if state == "met" else "dans une"
    return f"Seveso : hors {what[code]} exigé, le site est {verb} {what[code]}"


def _result(r: dict[str, Any], base_url: str) -> dict[str, Any]:
    criteria = r.pop("criteria")
    for c in criteria:
        c["message"] = message(c)
    for key, state in (("meets", "met"), ("misses", "miss"), ("unknown", "unknown")):
        r[key] = [c for c in criteria if c["state"] == state]
    r["link"] = f"{base_url}/collections/sites/items/{r['id']}"
    return r


@router.post(
    "/search/match",
    summary="Sites ranked by fit to an investor's project profile",
    responses=ok("every candidate site, best fit first", model=MatchResults),
)
async def match(
    profile: ProjectProfile,
    request: Request,
    pool: PoolDep,
    max_misses: Annotated[int, Query(ge=0, description="misses a site may have")] = 1000,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Every site (not withdrawn) against the profile. ``fit`` = 100 x the weights of the
    criteria met / the weights of the criteria asked (``weights`` in the answer); an unknown
    criterion (the site has no value for it) is neither met nor missed and is listed in
    ``unknown``. Confirmed sites rank before those "à confirmer", then by fit, then by how
    close their misses are (the sum of each miss's gap over the wanted value, at most 1 each).
    Near misses are never hidden: ``max_misses`` only drops sites with more misses."""
    asked = profile.model_dump(exclude_defaults=True, exclude={"activity", "icpe_regime"})
    if not asked:
        raise InvalidQuery("profile: give at least one criterion (e.g. min_contiguous_ha)")
    async with pool.connection() as conn:
        cur = await conn.execute(MATCH_SQL, _params(profile, max_misses, limit))
        rows = await cur.fetchall()
        names = [d.name for d in cur.description or []]
    base_url = str(request.base_url).rstrip("/")
    results = [_result(dict(zip(names, row, strict=True)), base_url) for row in rows]
    body = {"numberReturned": len(results), "weights": WEIGHTS, "results": results}
    return Response(orjson.dumps(body), media_type="application/json")
