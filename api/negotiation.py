"""Content negotiation for ``/``: JSON clients get the OGC landing page, browsers the map page.

OGC API Common /req/json/definition: ``Accept: */*`` (curl, requests, OWSLib) must get a
representation the client can use, so JSON wins unless the client prefers ``text/html`` (browsers
list it first, with ``*/*`` at a lower q).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.routes.features import OGC_PREFIX

_JSON = ("application/json", "application/geo+json", "application/*", "*/*")
_HTML = ("text/html", "text/*")


def _accept(header: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their q, in the order given."""
    ranges = []
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q))
    return ranges


def prefers_html(header: str) -> bool:
    """Whether ``header`` ranks ``text/html`` above JSON (ties go to the range listed first).

    Example:
        ``text/html,application/xhtml+xml,*/*;q=0.8`` (a browser) is True; ``*/*``,
        ``application/json`` and an absent header are False.
    """
    best: dict[str, tuple[float, int]] = {}
    for index, (media, q) in enumerate(_accept(header)):
        kind = "html" if media in _HTML else "json" if media in _JSON else None
        if kind and (kind not in best or q > best[kind][0]):
            best[kind] = (q, index)
    html, json = best.get("html", (0.0, 0)), best.get("json", (0.0, 0))
    if html[0] <= 0:
        return False
    return html[0] > json[0] or (html[0] == json[0] and html[1] < json[1])


class JsonLanding:
    """ASGI middleware: ``GET /`` is served by the OGC landing page at ``/ogc`` unless the client
    asks for HTML (``f=html``, or an Accept header that prefers ``text/html``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/":
            query = scope.get("query_string", b"").decode("latin-1").split("&")
            accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
            if "f=json" in query:
                wants_json = True
            elif "f=html" in query:
                wants_json = False
            else:
                wants_json = not prefers_html(accept)
            if wants_json:
                scope = {**scope, "path": OGC_PREFIX, "raw_path": OGC_PREFIX.encode()}
        await self.app(scope, receive, send)
