"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api.db import lifespan
from api.errors import register_errors
from api.health import SchemaGate
from api.health import router as health_router
from api.limits import BodySizeLimit
from api.negotiation import JsonLanding
from api.openapi import install_openapi
from api.routes import api_router, pages
from config import ApiSettings, DatabaseSettings, get_api_settings, get_database_settings
from db.migrate import head_revision


def create_app(
    settings: ApiSettings | None = None, db_settings: DatabaseSettings | None = None
) -> FastAPI:
    """Build the application (no global app object: tests build their own)."""
    settings = settings or get_api_settings()
    db_settings = db_settings or get_database_settings()
    app = FastAPI(title="foncier", docs_url="/api.html", openapi_url="/api", lifespan=lifespan)
    app.state.settings = settings
    app.state.db_settings = db_settings
    app.state.head_revision = head_revision()
    register_errors(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(JsonLanding)
    app.add_middleware(SchemaGate)
    app.include_router(health_router)
    app.include_router(api_router)

    # The map pages last: /sites/{id} must not shadow the API's /sites/compare.
    pages.mount(app)
    install_openapi(app)
    return app
