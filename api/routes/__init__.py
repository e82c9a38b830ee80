"""The router registry: assembles the routers, nothing else."""

from fastapi import APIRouter

from api.routes import features

api_router = APIRouter()
api_router.include_router(features.router)
