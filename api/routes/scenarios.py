"""Saved ZAN scenarios: save (an editor key scoped to the territory), read by link, compare.

A scenario is saved with the answer the simulator gave, the ZAN account's vintages and the
scoring profile and layer versions of the last score run; reading it with ``recompute=true``
runs it again on today's data and says whether the answer changed.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Path, Query
from psycopg.types.json import Jsonb

from api.auth import Reader, ReaderDep, require_key
from api.db import PoolDep
from api.routes.simulate import FrenchValidationRoute, Kind
from api.zan_schemas import ScenarioIn, ScenarioOut, ScenariosCompareOut, ScenariosOut
from db.errors import AccessDenied, InvalidQuery, NotFound
from score.simulate import simulate

router = APIRouter(tags=["ZAN simulator"], route_class=FrenchValidationRoute)

LINK = r"^[A-Za-z0-9_-]{16,64}$"
_SCOPE = (
    "SELECT count(*), count(*) FILTER (WHERE c.insee IS NULL "
    "OR (%(scope_type)s = 'epci' AND c.siren_epci IS DISTINCT FROM %(scope_code)s) "
    "OR (%(scope_type)s = 'region' AND c.reg IS DISTINCT FROM %(scope_code)s)) "
    "FROM territory_commune tc LEFT JOIN commune c ON c.insee = tc.insee "
    "WHERE tc.kind = %(kind)s AND tc.code = %(code)s"
)
# What a saved answer was computed on: the account's vintages, the last score run's profile and
# layer versions (the parcels' own profile version when no run was recorded).
_VINTAGES = (
    "SELECT jsonb_build_object("
    "'zan_account', (SELECT jsonb_build_object('vintage', a.vintage, 'computed_at', "
    "a.computed_at, 'sources', a.sources) FROM zan_account a "
    "WHERE a.territory_type = %(kind)s AND a.territory_code = %(code)s), "
    "'score_run', (SELECT jsonb_build_object('id', r.id, 'profile_version', r.profile_version, "
    "'layer_versions', r.layer_versions, 'started_at', r.started_at) FROM score_run r "
    "ORDER BY r.id DESC LIMIT 1)), "
    "coalesce((SELECT r.profile_version FROM score_run r ORDER BY r.id DESC LIMIT 1), "
    "(SELECT ps.profile_version FROM parcel_score ps LIMIT 1))"
)
_COLUMNS = (
    "link_id, name, territory_type AS kind, territory_code AS code, body, answer, vintages, "
    "profile_version, created_at"
)
_INSERT = (
    "INSERT INTO zan_scenario (link_id, territory_type, territory_code, name, body, answer, "
    "vintages, profile_version, key_id) VALUES (%(link_id)s, %(kind)s, %(code)s, %(name)s, "
    "%(body)s, %(answer)s, %(vintages)s, %(profile_version)s, %(key_id)s) "
    f"RETURNING {_COLUMNS}"
)
_AUDIT = "INSERT INTO audit (key_id, actor, action, target, changes) VALUES (%s, %s, %s, %s, %s)"
_BY_LINK = (
    f"SELECT {_COLUMNS} FROM zan_scenario WHERE territory_type = %(kind)s "
    "AND territory_code = %(code)s AND link_id = ANY(%(links)s)"
)
_LIST = (
    f"SELECT {_COLUMNS} FROM zan_scenario WHERE territory_type = %(kind)s "
    "AND territory_code = %(code)s ORDER BY created_at DESC, id DESC LIMIT 200"
)
# The parts of an answer that say what the scenario gives (the account's own timestamps aside).
_COMPARED = ("summary", "projects", "years", "envelopes")


async def _check_scope(conn: psycopg.AsyncConnection, who: Reader, kind: str, code: str) -> None:
    """Refuse (403) a key whose EPCI or region does not hold every commune of the territory."""
    params = {"scope_type": who.scope_type, "scope_code": who.scope_code, "kind": kind}
    cur = await conn.execute(_SCOPE, {**params, "code": code})
    row = await cur.fetchone()
    total, outside = row if row else (0, 0)
    if total == 0:
        raise NotFound(f"territoire {kind} {code} inconnu (aucune commune)")
    if who.scope_type != "national" and outside:
        raise AccessDenied(
            f"votre clé couvre {who.scope_type} {who.scope_code} ; {outside} des {total} "
            f"communes de {kind} {code} sont hors de ce périmètre"
        )


def _row(cur: psycopg.AsyncCursor[Any], row: tuple[Any, ...]) -> dict[str, Any]:
    names = [d.name for d in cur.description or []]
    return dict(zip(names, row, strict=True))


@router.post(
    "/territories/{kind}/{code}/scenarios",
    summary="Enregistrer un scénario ZAN (clé d'éditeur du territoire)",
    response_model=ScenarioOut,
    status_code=201,
)
async def save_scenario(
    kind: Kind, code: str, scenario: ScenarioIn, pool: PoolDep, reader: ReaderDep
) -> dict[str, Any]:
    """Simulate the scenario and save it with its answer, the account's vintages and the
    profile version; the answer's ``link_id`` reads it back without a key."""
    who = require_key(reader)
    projects = [p.model_dump(mode="json", exclude_none=True) for p in scenario.projects]
    body = {"projects": projects, "background": scenario.background}
    async with pool.connection() as conn, conn.transaction():
        await _check_scope(conn, who, kind, code)
        answer = await simulate(conn, kind, code, projects, scenario.background)
        cur = await conn.execute(_VINTAGES, {"kind": kind, "code": code})
        vintages_row = await cur.fetchone()
        vintages, profile_version = vintages_row if vintages_row else ({}, None)
        params = {
            "link_id": secrets.token_urlsafe(16),
            "kind": kind,
            "code": code,
            "name": scenario.name,
            "body": Jsonb(body),
            "answer": Jsonb(answer),
            "vintages": Jsonb(vintages),
            "profile_version": profile_version,
            "key_id": who.key_id,
        }
        cur = await conn.execute(_INSERT, params)
        row = await cur.fetchone()
        assert row is not None
        saved = _row(cur, row)
        target = f"zan_scenario:{saved['link_id']}"
        changes = Jsonb({"territory": f"{kind}:{code}", "name": scenario.name})
        await conn.execute(_AUDIT, (who.key_id, who.name, "scenario.create", target, changes))
    return saved


@router.get(
    "/territories/{kind}/{code}/scenarios",
    summary="Les scénarios ZAN d'un territoire (avec une clé)",
    response_model=ScenariosOut,
)
async def list_scenarios(kind: Kind, code: str, pool: PoolDep, reader: ReaderDep) -> dict[str, Any]:
    """The territory's saved scenarios, newest first: listing needs a key covering it."""
    who = require_key(reader)
    async with pool.connection() as conn:
        await _check_scope(conn, who, kind, code)
        cur = await conn.execute(_LIST, {"kind": kind, "code": code})
        rows = [_row(cur, r) for r in await cur.fetchall()]
    return {"kind": kind, "code": code, "scenarios": rows}


async def _by_links(
    conn: psycopg.AsyncConnection, kind: str, code: str, links: list[str]
) -> dict[str, dict[str, Any]]:
    cur = await conn.execute(_BY_LINK, {"kind": kind, "code": code, "links": links})
    found = {r[0]: _row(cur, r) for r in await cur.fetchall()}
    missing = [link for link in links if link not in found]
    if missing:
        raise NotFound(f"scénario(s) introuvable(s) pour {kind} {code} : {', '.join(missing)}")
    return found


def _signature(project: dict[str, Any]) -> str:
    """What tells two projects apart in a comparison: what they cover, when, how much."""
    ref = project["ref"] if project["kind"] != "polygon" else project.get("label") or "polygone"
    return f"{project['kind']}:{ref}@{project['start_year']}×{project['share']}"


@router.get(
    "/territories/{kind}/{code}/scenarios/compare",
    summary="Comparer deux à quatre scénarios ZAN",
    response_model=ScenariosCompareOut,
)
async def compare_scenarios(
    kind: Kind,
    code: str,
    pool: PoolDep,
    ids: Annotated[str, Query(description="2 à 4 liens de scénarios, séparés par des virgules")],
) -> dict[str, Any]:
    """Side by side: each scenario's cost, margin at 2030 and exhaustion year, the projects
    common to all, and those only some have."""
    links = [x.strip() for x in ids.split(",") if x.strip()]
    if not 2 <= len(links) <= 4 or len(set(links)) != len(links):
        raise InvalidQuery("ids : donner de 2 à 4 liens de scénarios différents")
    async with pool.connection() as conn:
        found = await _by_links(conn, kind, code, links)
    signatures = {
        link: [_signature(p) for p in found[link]["answer"]["projects"]] for link in links
    }
    common = set.intersection(*(set(s) for s in signatures.values()))
    out = []
    for link in links:
        saved = found[link]
        out.append(
            {
                "link_id": link,
                "name": saved["name"],
                "summary": saved["answer"]["summary"],
                "projects": signatures[link],
                "only_here": [s for s in signatures[link] if s not in common],
                "vintages": saved["vintages"],
                "profile_version": saved["profile_version"],
            }
        )
    return {"kind": kind, "code": code, "common": sorted(common), "scenarios": out}


@router.get(
    "/territories/{kind}/{code}/scenarios/{link_id}",
    summary="Un scénario ZAN enregistré (par son lien)",
    response_model=ScenarioOut,
)
async def read_scenario(
    kind: Kind,
    code: str,
    link_id: Annotated[str, Path(pattern=LINK)],
    pool: PoolDep,
    recompute: bool = False,
) -> dict[str, Any]:
    """The scenario as saved (its answer, vintages, profile version); with ``recompute=true``
    also today's answer (``current``) and whether it differs (``changed``)."""
    async with pool.connection() as conn:
        saved = (await _by_links(conn, kind, code, [link_id]))[link_id]
        if recompute:
            body = saved["body"]
            current = await simulate(conn, kind, code, body["projects"], body["background"])
            cur = await conn.execute(_VINTAGES, {"kind": kind, "code": code})
            vintages_row = await cur.fetchone()
            saved["current"] = current
            saved["current_vintages"] = vintages_row[0] if vintages_row else None
            saved["changed"] = any(current[k] != saved["answer"][k] for k in _COMPARED)
    return saved
