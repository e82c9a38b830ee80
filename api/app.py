"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from config import ApiSettings, DatabaseSettings, get_api_settings, get_database_settings


def create_app(
    settings: ApiSettings | None = None, db_settings: DatabaseSettings | None = None
) -> FastAPI:
    """Build the application (no global app object: tests build their own)."""
    settings = settings or get_api_settings()
    db_settings = db_settings or get_database_settings()
    app = FastAPI(title="foncier", docs_url="/api.html", openapi_url="/api")
    app.state.settings = settings
    app.state.db_settings = db_settings

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
