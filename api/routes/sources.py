"""The registry of data sources (``geo.sources``) as JSON: what the pages credit, exports cite."""

from __future__ import annotations

from fastapi import APIRouter

from geo.sources import sources_json

router = APIRouter(tags=["Sources"])


@router.get("/sources")
def list_sources() -> dict[str, object]:
    """Every data source the service shows or serves: producer, licence, vintage, layers fed.

    The Licence Ouverte 2.0 requires crediting the producer and dating the data; `attribution`
    is that credit line, as the map pages print it.
    """
    return {"sources": sources_json()}
