"""RFC 9457 problem+json responses: domain exceptions mapped to statuses in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from db.errors import AccessDenied, DatabaseUnavailable, InvalidQuery, NotFound, UploadRefused
from geo.errors import CrsError, GeoError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

# Domain exception -> (status, title). The first matching class in this order wins.
STATUS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "Not Found"),
    InvalidQuery: (400, "Bad Request"),
    CrsError: (400, "Unsupported CRS"),
    GeoError: (400, "Bad Request"),
    AccessDenied: (403, "Forbidden"),
    # Class 22 (data exception): a value sent by the client that PostgreSQL cannot take, such as
    # a NUL character in text or an integer beyond bigint.
    psycopg.DataError: (400, "Bad Request"),
    psycopg.errors.QueryCanceled: (503, "Query Timeout"),
    DatabaseUnavailable: (503, "Service Unavailable"),
    psycopg.OperationalError: (503, "Service Unavailable"),
}

UPLOAD_TITLES = {413: "Content Too Large", 415: "Unsupported Media Type"}

TIMEOUT_MESSAGE = (
    "the query took longer than the server's statement timeout: narrow the bbox, add filters "
    "or lower `limit`"
)


def problem(status: int, title: str, detail: str, instance: str | None = None) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    for cls, (status, title) in STATUS.items():
        if isinstance(exc, cls):
            if isinstance(exc, AccessDenied):
                status = exc.status
                title = "Unauthorized" if status == 401 else title
            if isinstance(exc, UploadRefused):
                status = exc.status
                title = UPLOAD_TITLES.get(status, title)
            if isinstance(exc, psycopg.errors.QueryCanceled):
                detail = TIMEOUT_MESSAGE
            elif isinstance(exc, psycopg.DataError):
                log.warning("refused value on %s: %s", request.url.path, exc)
                detail = (
                    "a value in the request cannot be used: "
                    # psycopg refuses some values itself (NUL): no server diagnostic then.
                    f"{exc.diag.message_primary or str(exc).splitlines()[0]}"
                )
            elif status >= 500:
                log.error("database unavailable on %s: %s", request.url.path, exc)
                detail = "the database is unavailable; retry later"
            else:
                detail = str(exc)
            return problem(status, title, detail, request.url.path)
    raise exc  # pragma: no cover - only registered for the classes above


def _validation_message(err: dict[str, Any]) -> str:
    """One validation error as ``name: msg``; a query or path number as ``name=value: what is
    wrong`` (as the OGC routes' own checks say it), unless its route translated the message
    (the simulator's are French)."""
    loc, msg = err.get("loc", ()), str(err.get("msg"))
    where = ".".join(str(x) for x in loc if x not in ("query", "body", "path"))
    ctx, kind, value = err.get("ctx") or {}, err.get("type"), err.get("input")
    pydantic_own = msg.startswith("Input should")
    if not where or loc[0] not in ("query", "path") or not pydantic_own:
        return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))
    if kind == "greater_than_equal":
        bound = ctx.get("ge")
        return f"{where}={value}: " + (
            "must not be negative" if bound == 0 else f"must be at least {bound}"
        )
    if kind == "less_than_equal":
        return f"{where}={value}: must be at most {ctx.get('le')}"
    if kind in ("int_parsing", "int_from_float"):
        return f"{where}={value!r}: expected an integer"
    if kind == "float_parsing":
        return f"{where}={value!r}: expected a number"
    return f"{where}: {err.get('msg')}"


def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = "; ".join(_validation_message(err) for err in exc.errors())
    return problem(400, "Bad Request", detail, request.url.path)


def _route_methods(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every API route, walking the included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _route_methods(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        elif isinstance(route, Route) and route.methods and route.include_in_schema:
            yield prefix + route.path, route.methods


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path.

    Starlette's 405 names only the first route whose path matched, so a path served by two
    routes (a GET listing and a POST beside it) would advertise half of what it accepts. The
    API's methods only: the HTML pages sharing an address (GET /sites) are not API operations.
    """
    routes = list(_route_methods(request.app.router.routes))
    # The first template that matches is the one routing chose (routes are tried in order).
    chosen = next((t for t, _ in routes if compile_path(t)[0].match(request.url.path)), None)
    methods: set[str] = set()
    for template, route_methods in routes:
        if template == chosen:
            methods |= route_methods
    return ", ".join(sorted(methods))


def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    response = problem(exc.status_code, _title(exc.status_code), detail, request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        response.headers["Allow"] = allowed
    return response


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The cause goes to the log, never to the client.
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred", request.url.path)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def register_errors(app: FastAPI) -> None:
    """Install the problem+json handlers on ``app``."""
    for cls in STATUS:
        app.add_exception_handler(cls, _domain_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
