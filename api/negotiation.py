"""Content negotiation for ``/``: JSON clients get the OGC landing page, browsers the map page."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.routes.features import OGC_PREFIX


class JsonLanding:
    """ASGI middleware: ``GET /`` with ``?f=json`` or ``Accept: application/json`` (and not
    ``text/html``) is served by the OGC landing page at ``/ogc``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/":
            query = scope.get("query_string", b"").decode("latin-1")
            accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
            wants_json = "f=json" in query.split("&") or (
                "json" in accept and "text/html" not in accept
            )
            if wants_json:
                scope = {**scope, "path": OGC_PREFIX, "raw_path": OGC_PREFIX.encode()}
        await self.app(scope, receive, send)
