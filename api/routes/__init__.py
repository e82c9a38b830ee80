"""The router registry: assembles the routers, nothing else.

The OGC routers are mounted at the root (map pages use /collections/...) and again under /ogc,
the landing page given to OGC clients (GDAL's OAPIF driver appends /collections to it).
"""

from fastapi import APIRouter, Depends

from api.params import reject_unknown_params
from api.routes import (
    admin,
    checklist,
    contract_reports,
    contracts,
    docs,
    exports,
    features,
    history,
    match,
    places,
    scenarios,
    schemas,
    search,
    simulate,
    sites,
    sources,
    territories,
    tiles,
    zae,
)

api_router = APIRouter()
api_router.include_router(features.landing_router)
api_router.include_router(docs.router)
ogc = APIRouter(prefix=features.OGC_PREFIX, include_in_schema=False)
for module in (features, schemas, tiles, exports):
    api_router.include_router(module.router)
    ogc.include_router(module.router)
# Tiles: XYZ order at the root (map pages, TileJSON), the OGC order under /ogc (in the schema).
api_router.include_router(tiles.xyz_router)
api_router.include_router(ogc)
api_router.include_router(tiles.ogc_tile_router, prefix=features.OGC_PREFIX)
# Routes whose query parameters are all declared on them: any other is a 400 naming it.
strict = [Depends(reject_unknown_params)]
for module in (
    contract_reports,
    contracts,
    search,
    match,
    places,
    territories,
    simulate,
    scenarios,
    sites,
    checklist,
    history,
    sources,
    admin,
):
    api_router.include_router(module.router, dependencies=strict)
# Its own formats (f=html|gpkg|csv), so not the JSON-only check; unknown parameters are refused
# by the route itself.
api_router.include_router(zae.router)
