"""The ZAN envelope simulator: a territory's trajectory with a list of projects added.

The computation is one set-based statement (``score/sql/simulate.sql``); this module binds its
parameters, refuses projects that are unknown or outside the territory (French messages naming
the field), and shapes the answer. It reads what ``foncier score`` wrote (``zan_account``, land
status in ``parcel_score`` / ``site_score``) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from db.errors import InvalidQuery, NotFound
from geo.geometry import M2_PER_HA
from score.sqlfiles import read_sql

FIRST_YEAR = 2021
PERIOD_YEARS = 10
HORIZON_YEAR = 2050
LAW_REDUCTION_PCT = 50.0
COMMUNE_GUARANTEE_HA = 1.0
PERIODS = ("2021-2030", "2031-2040", "2041-2050")
# What the 2031-2050 envelopes assume, and the texts they come from (README, "ZAN simulator").
ASSUMPTIONS = (
    "2021-2030 : enveloppe du territoire selon la méthode de Mon Diagnostic Artificialisation "
    "(consommation d'ENAF 2011-2020 × (1 − réduction), au moins 1 ha) ; loi n° 2021-1104 du "
    "22 août 2021 (Climat et résilience), art. 191 et 194, modifiée par la loi n° 2023-630 du "
    "20 juillet 2023.",
    "2031-2040 et 2041-2050 : hypothèse d'une division par deux à chaque décennie de "
    "l'enveloppe précédente, chemin vers l'absence d'artificialisation nette en 2050 (art. 191) ; "
    "les taux réels sont fixés par les SRADDET (décret n° 2023-1096 du 27 novembre 2023) et, "
    "après 2031, mesurés en artificialisation nette (décret n° 2023-1097 du 27 novembre 2023), "
    "pas en consommation d'ENAF.",
    "Projets d'envergure nationale ou européenne (PENE) : comptés dans l'enveloppe nationale "
    "(loi n° 2023-630, art. 3), jamais dans celle du territoire.",
    "Terrain de statut inconnu : compté de 0 à toute sa surface (coût connu, coût maximal).",
)
_ROUND = 4
_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s)"
)


def _params(
    kind: str, code: str, projects: Sequence[Mapping[str, Any]], background: str
) -> dict[str, object]:
    rows = []
    for idx, p in enumerate(projects):
        geometry = p.get("geometry")
        rows.append(
            {
                "idx": idx,
                "site_id": p.get("site_id"),
                "land_unit_id": p.get("land_unit_id"),
                "parcels": p.get("parcels"),
                "geometry": geometry,
                "start_year": p["start_year"],
                "share": p.get("share", 1.0),
                "duration_years": p.get("duration_years", 1),
                "pene": p.get("pene"),
            }
        )
    return {
        "kind": kind,
        "code": code,
        "projects": Jsonb(rows),
        "background": background,
        "first_year": FIRST_YEAR,
        "period_length": PERIOD_YEARS,
        "horizon_year": HORIZON_YEAR,
        "law_reduction_pct": LAW_REDUCTION_PCT,
        "commune_guarantee_ha": COMMUNE_GUARANTEE_HA,
        "m2_per_ha": M2_PER_HA,
    }


def _round(value: object) -> object:
    if isinstance(value, float):
        return round(value, _ROUND)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _check_projects(resolved: list[dict[str, Any]], kind: str, code: str) -> None:
    """Refuse a project that names nothing known, or lies outside the territory."""
    field = {
        "site": "site_id",
        "land_unit": "land_unit_id",
        "parcels": "parcels",
        "polygon": "geometry",
    }
    problems = []
    for p in resolved:
        where = f"projects[{p['idx']}].{field[p['kind']]}"
        if not p["found"]:
            label = "site" if p["kind"] == "site" else "unité foncière"
            problems.append(f"{where} : {label} {p['ref']!r} introuvable")
        elif p["missing"]:
            problems.append(f"{where} : parcelle(s) introuvable(s) : {', '.join(p['missing'])}")
        elif not p["inside"]:
            what = (
                "le polygone ne touche aucune commune"
                if p["kind"] == "polygon"
                else (f"{p['ref']!r} n'est pas")
            )
            problems.append(f"{where} : {what} du territoire {kind} {code}")
    if problems:
        raise InvalidQuery("; ".join(problems))


def _envelopes(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for v in verdicts:
        out.append(
            {
                "name": v["name"],
                "period": PERIODS[v["decade"]],
                "envelope_ha": v["envelope_ha"],
                "consumed_ha": v["consumed_ha"],
                "consumed_worst_ha": v["consumed_worst_ha"],
                "margin_ha": v["envelope_ha"] - v["consumed_ha"],
                "margin_worst_ha": v["envelope_ha"] - v["consumed_worst_ha"],
                "exhaustion_year": v["exhaustion_year"],
                "exhaustion_year_worst": v["exhaustion_year_worst"],
                "assumed": v["decade"] > 0,
                "remaining": v["remaining"],
            }
        )
    return out


async def simulate(
    conn: psycopg.AsyncConnection,
    kind: str,
    code: str,
    projects: Sequence[Mapping[str, Any]],
    background: str = "none",
) -> dict[str, Any]:
    """The trajectory 2021-2050 of territory (``kind``, ``code``) with ``projects`` added.

    Args:
        projects: each with one of ``site_id``, ``land_unit_id``, ``parcels`` (IDU list) or
            ``geometry`` (GeoJSON Polygon/MultiPolygon, CRS84), and ``start_year``, ``share``
            (0-1 of its cost developed), ``duration_years`` (its cost spread evenly), ``pene``.
        background: ``none`` (only observed years and the projects) or ``pace`` (years not yet
            observed up to 2030 consume at the pace observed since 2021).

    Raises:
        NotFound: the territory has no ZAN account (no ENAF flows loaded, or not scored).
        InvalidQuery: a project names an unknown site, land unit or parcel, or lies outside.
    """
    cur = await conn.execute(read_sql("simulate.sql"), _params(kind, code, projects, background))
    row = await cur.fetchone()
    assert row is not None  # an aggregate-only SELECT always returns one row
    account, communes, resolved, years, verdicts = row
    if account is None:
        raise NotFound(
            f"aucun compte ZAN pour {kind} {code} : territoire inconnu ({communes} communes) ou "
            "flux ENAF non chargés (`foncier ingest enaf` puis `foncier score`)"
        )
    resolved = resolved or []
    _check_projects(resolved, kind, code)
    envelopes = _envelopes(verdicts or [])
    main = "territorialised" if account["territorialised"] else "law"
    first = next(e for e in envelopes if e["name"] == main and e["period"] == PERIODS[0])
    out_projects = []
    for p, given in zip(resolved, projects, strict=True):
        out_projects.append(
            {
                "index": p["idx"],
                "label": given.get("label"),
                "kind": p["kind"],
                "ref": p["ref"],
                "start_year": given["start_year"],
                "share": given.get("share", 1.0),
                "duration_years": given.get("duration_years", 1),
                "pene": p["pene"],
                "area_ha": p["area_ha"],
                "cost_ha": p["cost_ha"],
                "cost_max_ha": p["cost_max_ha"],
                "developed_ha": p["developed_ha"],
                "developed_max_ha": p["developed_max_ha"],
                "statuses": p["statuses"],
            }
        )
    pene = [p for p in out_projects if p["pene"]]
    body = {
        "kind": kind,
        "code": code,
        "background": background,
        "account": {k: v for k, v in account.items() if k != "territorialised"},
        "main_envelope": main,
        "summary": {
            "envelope_ha": first["envelope_ha"],
            "consumed_2030_ha": first["consumed_ha"],
            "consumed_2030_worst_ha": first["consumed_worst_ha"],
            "margin_2030_ha": first["margin_ha"],
            "margin_2030_worst_ha": first["margin_worst_ha"],
            "exhaustion_year": first["exhaustion_year"],
            "exhaustion_year_worst": first["exhaustion_year_worst"],
            "projects_ha": sum(p["developed_ha"] for p in out_projects if not p["pene"]),
            "projects_worst_ha": sum(p["developed_max_ha"] for p in out_projects if not p["pene"]),
            "pene_ha": sum(p["developed_ha"] for p in pene),
            "pene_worst_ha": sum(p["developed_max_ha"] for p in pene),
        },
        "projects": out_projects,
        "years": [{**y, "period": PERIODS[y["decade"]]} for y in years or []],
        "envelopes": envelopes,
        "assumptions": list(ASSUMPTIONS),
    }
    return _round(body)  # type: ignore[return-value]


async def candidates(
    conn: psycopg.AsyncConnection, kind: str, code: str, what: str, limit: int
) -> list[dict[str, Any]]:
    """The territory's sites and land units ranked by ZAN cost per hectare made available.

    Brownfields first, then known costs (ascending cost per ha), then land of unknown status by
    its bound; excluded sites and land units are left out. Each row carries ``project``, the
    body of a simulator project (add ``start_year``).

    Args:
        what: ``all``, ``site`` or ``land_unit``.
    """
    params = {"kind": kind, "code": code, "what": what, "limit": limit}
    cur = await conn.execute(_EXISTS, params)
    found = await cur.fetchone()
    if not (found and found[0]):
        raise NotFound(f"territoire {kind} {code} inconnu (aucune commune)")
    cur = await conn.execute(read_sql("candidates.sql"), params)
    names = [d.name for d in cur.description or []]
    return [_round(dict(zip(names, r, strict=True))) for r in await cur.fetchall()]  # type: ignore[misc]
