"""The FastAPI application factory."""

from __future__ import annotations

import logging
import sys

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.db import lifespan
from api.errors import register_errors
from api.health import SchemaGate
from api.health import router as health_router
from api.limits import BodySizeLimit
from api.metrics import Metrics
from api.metrics import router as metrics_router
from api.middleware import PublicUrl, RequestLog, SecurityHeaders, access_log
from api.negotiation import JsonLanding
from api.openapi import install_openapi
from api.ratelimit import ExportLimit, SlidingWindow
from api.routes import api_router, availability, pages, zae_pages
from config import (
    ApiSettings,
    DatabaseSettings,
    get_api_settings,
    get_database_settings,
    resolve_key_salt,
)
from db.migrate import head_revision


def create_app(
    settings: ApiSettings | None = None, db_settings: DatabaseSettings | None = None
) -> FastAPI:
    """Build the application (no global app object: tests build their own).

    Raises:
        ValueError: no API-key salt is configured outside local development.
    """
    # The server's own role when one is configured (FONCIER_API_DATABASE_URL).
    db_settings = (db_settings or get_database_settings()).for_api()
    settings = resolve_key_salt(settings or get_api_settings(), db_settings)
    # /api.html is api/routes/docs.py: Swagger UI from node_modules, not FastAPI's CDN copy.
    app = FastAPI(title="foncier", docs_url=None, openapi_url="/api", lifespan=lifespan)
    app.state.settings = settings
    app.state.db_settings = db_settings
    app.state.head_revision = head_revision()
    app.state.metrics = Metrics()
    app.state.count_cache = {}  # numberMatched per filter and layer version (api/routes/features)
    app.state.auth_failures = SlidingWindow(settings.auth_failures_per_minute)
    register_errors(app)
    # Innermost first: each add_middleware wraps the ones before it.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.evidence_max_bytes,
    )
    app.add_middleware(JsonLanding)
    app.add_middleware(SchemaGate)
    app.add_middleware(
        ExportLimit,
        concurrent=settings.exports_concurrent_per_ip,
        per_minute=settings.exports_per_minute_per_ip,
    )
    app.add_middleware(PublicUrl, public_url=settings.public_url)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(RequestLog, metrics=app.state.metrics, enabled=settings.access_log)
    if settings.access_log and not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router)

    # The map pages last: /sites/{id} must not shadow the API's /sites/compare.
    app.include_router(zae_pages.router)
    pages.mount(app)
    # The signed links of `foncier sites remind`: pages too, outside the API's schema.
    app.include_router(availability.router)
    install_openapi(app)
    return app
