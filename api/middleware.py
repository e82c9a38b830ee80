"""Cross-cutting ASGI middleware: request ids, access logs and metrics; security headers; links
built from the public URL.

All three are plain ASGI classes (no BaseHTTPMiddleware): they never buffer a streamed body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import unexpected_error
from api.metrics import Metrics
from config import ApiSettings

access_log = logging.getLogger("foncier.access")
# A client's X-Request-ID is echoed when it is a plain token; anything else is replaced.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_PATHS = ("/api.html", "/docs/oauth2-redirect")


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/collections/{collection_id}/items``), ``{path}``
    under a mount, or ``unmatched``: a bounded set of metric labels, whatever the URL."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    if route.__class__.__name__ == "Mount":
        return str(path).rstrip("/") + "/{path}"
    return str(path)


class RequestLog:
    """Give each request an id (``X-Request-ID``, echoed or generated), count it in the metrics
    and write one JSON line for it on the ``foncier.access`` logger."""

    def __init__(self, app: ASGIApp, metrics: Metrics, enabled: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            if self.enabled:
                access_log.info(
                    orjson.dumps(
                        {
                            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": scope["method"],
                            "route": route,
                            "path": scope["path"],
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                            "request_id": request_id,
                        }
                    ).decode()
                )


def content_security_policy(settings: ApiSettings, docs: bool = False) -> str:
    """The CSP of the pages: scripts, styles and data from this origin (/static, /assets, the
    API), basemap tiles from ``settings.tile_hosts``. Folium writes inline scripts and styles,
    hence 'unsafe-inline' for those two; nothing may frame the pages."""
    tiles = " ".join(settings.tile_hosts)
    del docs  # the API docs page loads Swagger UI from this origin too (api/routes/docs.py)
    # Local development only: browser tests (Playwright's wait_for_function) evaluate strings in
    # the page. The pages themselves never eval; production refuses it.
    evaluate = " 'unsafe-eval'" if settings.environment == "local" else ""
    return (
        "default-src 'self'; "
        f"script-src 'self' 'unsafe-inline'{evaluate}; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {tiles}; "
        f"connect-src 'self' {tiles}; "
        "font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """nosniff, a referrer policy, no framing and the CSP on every response (and HSTS when the
    public URL is https)."""

    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": content_security_policy(settings),
        }
        if settings.public_url and settings.public_url.startswith("https://"):
            self.headers["Strict-Transport-Security"] = "max-age=31536000"
        self.docs_csp = content_security_policy(settings, docs=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in DOCS_PATHS
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
                if docs:
                    headers["Content-Security-Policy"] = self.docs_csp
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                raise
            # Answered here rather than by Starlette's outermost error middleware, so that the
            # 500 carries the headers too (the handler logs the cause).
            response = unexpected_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)


class PublicUrl:
    """Make every URL the app builds (links, TileJSON, ``request.base_url``) start with the
    configured public URL, or the address the server listens on, never with the request's Host
    header, which any client chooses (``Host: evil.example``).

    The route modules keep using ``request.url``/``request.base_url``: this rewrites the scope's
    scheme and Host before they see it.
    """

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.scheme: str | None = None
        self.host: bytes | None = None
        if public_url:
            parts = urlsplit(public_url)
            self.scheme, self.host = parts.scheme, parts.netloc.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.host is not None:
            scheme, host = self.scheme, self.host
        else:
            scheme = scope.get("scheme", "http")
            server = scope.get("server")
            host = None
            if server:
                name, port = server
                default = 443 if scheme == "https" else 80
                host = (name if port in (None, default) else f"{name}:{port}").encode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
        if host is not None:
            headers.append((b"host", host))
        # In place: the outer middleware read the matched route from this same scope.
        scope["headers"], scope["scheme"] = headers, scheme
        await self.app(scope, receive, send)
