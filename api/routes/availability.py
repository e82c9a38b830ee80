"""The signed one-click links of ``foncier sites remind``: confirm or withdraw a site, no account.

``GET /disponibilite/{token}`` shows the site and one button; the button POSTs to the same
address, which confirms (valid again for ``site_validity_days``) or withdraws the site, audited
with the actor "lien signé". The token (``api/freshness.py``) names the site and the action and
expires; a forged or expired one gets a page saying so (403) and writes nothing.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.db import PoolDep
from api.freshness import LINK_ACTOR, action_params, action_sql, verify
from api.routes.pages import LangQuery, _page
from api.routes.sites import AUDIT_SQL, _bump, _reserve_audit
from db.errors import AccessDenied
from maps.base import MapParts
from maps.i18n import messages, pick_lang

router = APIRouter(include_in_schema=False)
_SITE_SQL = "SELECT nom, lib_com, confirmed_at, valid_until, withdrawn_at FROM site WHERE id = %s"
_EMPTY = MapParts("", "", "")


def _error(request: Request, lang: str | None, message: str, status: int) -> HTMLResponse:
    return _page(
        request, "availability.html", "availability", lang, _EMPTY, status, state="error",
        message=message,
    )  # fmt: skip


@router.get("/disponibilite/{token}", response_class=HTMLResponse)
async def availability_page(
    request: Request, token: str, pool: PoolDep, lang: LangQuery = None
) -> HTMLResponse:
    """The site the link is about, and the one button that confirms or withdraws it."""
    try:
        site_id, action = verify(request.app.state.settings, token)
    except AccessDenied as exc:
        return _error(request, lang, str(exc), 403)
    async with pool.connection() as conn:
        row = await (await conn.execute(_SITE_SQL, (site_id,))).fetchone()
    if row is None:
        t = messages(pick_lang(lang))
        return _error(request, lang, t["site_not_found"].replace("{id}", site_id), 404)
    return _page(
        request, "availability.html", "availability", lang, _EMPTY, state="ask", action=action,
        site_name=row[0], commune=row[1], action_url=request.url.path, site_id=site_id,
    )  # fmt: skip


@router.post("/disponibilite/{token}", response_class=HTMLResponse)
async def availability_answer(
    request: Request, token: str, pool: PoolDep, lang: LangQuery = None
) -> HTMLResponse:
    """Confirm or withdraw the site, audited; the page says it is done."""
    settings = request.app.state.settings
    try:
        site_id, action = verify(settings, token)
    except AccessDenied as exc:
        return _error(request, lang, str(exc), 403)
    async with pool.connection() as conn, conn.transaction():
        old = await (await conn.execute(_SITE_SQL + " FOR UPDATE", (site_id,))).fetchone()
        if old is None:
            t = messages(pick_lang(lang))
            return _error(request, lang, t["site_not_found"].replace("{id}", site_id), 404)
        audit_id = await _reserve_audit(conn)
        cur = await conn.execute(action_sql(action), action_params(site_id, settings))
        new = await cur.fetchone()
        assert new is not None
        names = ("confirmed_at", "valid_until", "withdrawn_at")
        diff = {
            n: {"old": o and o.isoformat(), "new": v and v.isoformat()}
            for n, o, v in zip(names, old[2:], new, strict=True)
            if o != v
        }
        await conn.execute(
            AUDIT_SQL,
            (audit_id, None, LINK_ACTOR, f"site.{action}", f"site:{site_id}", json.dumps(diff)),
        )
        await _bump(conn)
    return _page(
        request, "availability.html", "availability", lang, _EMPTY, state="done", action=action,
        site_id=site_id,
    )  # fmt: skip
