"""The router registry: assembles the routers, nothing else."""

from fastapi import APIRouter

from api.routes import exports, features, search, sites, territories, tiles

api_router = APIRouter()
api_router.include_router(features.router)
api_router.include_router(tiles.router)
api_router.include_router(exports.router)
api_router.include_router(search.router)
api_router.include_router(territories.router)
api_router.include_router(sites.router)
