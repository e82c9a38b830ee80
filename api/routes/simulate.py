"""The ZAN simulator: a territory's trajectory with projects added (stateless).

Validation errors on these routes are in French and name the field (``projects.0.start_year``):
the simulator page shows them to planners as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.db import PoolDep
from api.zan_schemas import CandidatesOut, SimulationIn, SimulationOut
from score.simulate import candidates, simulate

Kind = Literal[
    "commune", "epci", "scot", "territoire-2023", "territoire-2018", "departement", "region"
]

_FR: dict[str, str] = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "finite_number": "nombre fini attendu",
    "bool_parsing": "booléen attendu (true ou false)",
    "bool_type": "booléen attendu (true ou false)",
    "string_type": "texte attendu",
    "list_type": "liste attendue",
    "model_type": "objet attendu",
    "dict_type": "objet attendu",
    "model_attributes_type": "objet attendu",
    "json_invalid": "JSON invalide",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "greater_than": "doit être strictement supérieur à {gt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "less_than": "doit être strictement inférieur à {lt}",
    "too_long": "au plus {max_length} éléments",
    "too_short": "au moins {min_length} élément(s)",
    "string_too_long": "au plus {max_length} caractères",
    "string_too_short": "au moins {min_length} caractère(s)",
    "string_pattern_mismatch": "format invalide",
    "literal_error": "valeur attendue parmi {expected}",
    "union_tag_invalid": "type attendu parmi {expected_tags}",
}


def french(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic error with its message in French (the field stays in ``loc``)."""
    ctx = error.get("ctx") or {}
    if error.get("type") == "value_error" and "error" in ctx:
        msg = str(ctx["error"])
    else:
        template = _FR.get(str(error.get("type")), "valeur invalide ({type})")
        try:
            msg = template.format(**ctx, type=error.get("type"))
        except (KeyError, IndexError):
            msg = template
    return {**error, "msg": msg}


class FrenchValidationRoute(APIRoute):
    """An APIRoute whose request-validation errors carry French messages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError([french(e) for e in exc.errors()]) from None

        return route


router = APIRouter(tags=["ZAN simulator"], route_class=FrenchValidationRoute)


@router.post(
    "/territories/{kind}/{code}/simulate",
    summary="Simuler la trajectoire ZAN d'un territoire avec des projets",
    response_model=SimulationOut,
)
async def simulate_route(
    kind: Kind, code: str, body: SimulationIn, pool: PoolDep
) -> dict[str, Any]:
    """The trajectory 2021-2030 of the territory with the projects added to the observed ENAF
    consumption: the remaining envelope year by year, the year it runs out (with the known cost
    and if all unknown land is consumed), the margin at 2030; against the law's envelope, the
    pooled communal guarantees and the territorialised target when one applies; 2031-2050 with
    the envelope halved per decade (an assumption, stated in ``assumptions``). PENE projects are
    counted apart (national envelope)."""
    projects = [p.model_dump(mode="json", exclude_none=True) for p in body.projects]
    async with pool.connection() as conn:
        return await simulate(conn, kind, code, projects, body.background)


@router.get(
    "/territories/{kind}/{code}/candidates",
    summary="Sites et unités foncières classés par coût ZAN par hectare",
    response_model=CandidatesOut,
)
async def candidates_route(
    kind: Kind,
    code: str,
    pool: PoolDep,
    type: Annotated[Literal["all", "site", "land_unit"], Query()] = "all",  # noqa: A002
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The territory's sites and land units (not excluded) ranked by ZAN cost per hectare made
    available: brownfields first, then known costs, then land of unknown status by its bound.
    Each carries ``project``, ready to add to a simulation with a ``start_year``."""
    async with pool.connection() as conn:
        rows = await candidates(conn, kind, code, type, limit)
    return {"kind": kind, "code": code, "candidates": rows}
