"""The API documentation page, Swagger UI served from our own node_modules (no CDN), so
/api.html works offline like the map pages."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from maps.assets import SWAGGER_CSS, SWAGGER_JS

router = APIRouter(include_in_schema=False)


@router.get("/api.html")
def api_docs() -> HTMLResponse:
    """Swagger UI on the OpenAPI document at /api."""
    return get_swagger_ui_html(
        openapi_url="/api",
        title="foncier - API",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url="/static/vendor/swagger-ui-dist/favicon-32x32.png",
    )
