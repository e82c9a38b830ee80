"""The query and path parameters the OGC routes declare, as typed FastAPI dependencies.

FastAPI writes them into the OpenAPI document at /api, so the description follows the code: a
parameter added here is documented, and one missing here is refused as unknown (the allowed sets
of api/params.py are read from these classes). Integers and their bounds are validated by
FastAPI; the enums are the constants the routes' own checks use (``parse_crs``, ``check_format``,
the CQL2 parser), which answer with messages naming the accepted values. Values are then read
from the query string by :func:`api.params.feature_query`, together with the property filters,
which depend on the collection and cannot be declared.
"""

from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

from fastapi import Path, Query
from fastapi.params import Param

from api.collections import COLLECTIONS
from geo.crs import SUPPORTED

# "" is accepted and means the default (CRS84).
CRS_VALUES = ("", *SUPPORTED, "CRS84", "EPSG:4326", "EPSG:2154", "EPSG:3857")
FILTER_LANGS = ("cql2-text", "cql2-json")
FEATURE_FORMATS = ("json", "geojson")
TILE_FORMATS = ("mvt",)
BIGINT_MAX = 2**63 - 1
# Said on every route taking property filters (their names are the collection's queryables).
PROPERTY_FILTERS = (
    "Any queryable property is also a filter parameter: `?insee=91432`. An unknown parameter "
    "is a 400."
)


def _one_of(values: tuple[str, ...]) -> dict[str, Any]:
    return {"enum": list(values)}


CollectionId = Annotated[
    str,
    Path(
        description="a collection of /collections (another is a 404)",
        json_schema_extra=_one_of(tuple(COLLECTIONS)),
    ),
]


def _crs(what: str, alias: str | None = None) -> Any:
    return Query(alias=alias, description=what, json_schema_extra=_one_of(CRS_VALUES))


@dataclass
class FilterQuery:
    """CQL2 filter and property selection: items, exports and tiles."""

    filter: Annotated[
        str | None, Query(description="CQL2 filter (text or JSON, see filter-lang)")
    ] = None
    filter_lang: Annotated[
        str | None,
        Query(
            alias="filter-lang",
            description="CQL2 encoding",
            json_schema_extra=_one_of(FILTER_LANGS),
        ),
    ] = None
    filter_crs: Annotated[str | None, _crs("CRS of filter geometries", "filter-crs")] = None
    properties: Annotated[
        str | None,
        Query(description="comma-separated properties to return (see the collection's queryables)"),
    ] = None


@dataclass
class TileQuery(FilterQuery):
    """A vector tile's parameters."""

    f: Annotated[
        str | None,
        Query(
            description="the media type is fixed: f=html is a 400",
            json_schema_extra=_one_of(TILE_FORMATS),
        ),
    ] = None


@dataclass
class ItemQuery:
    """One feature's parameters (no filters: a queryable name is an unknown parameter)."""

    crs: Annotated[str | None, _crs("CRS of the output (default CRS84)")] = None
    properties: Annotated[
        str | None,
        Query(description="comma-separated properties to return (see the collection's queryables)"),
    ] = None
    as_of: Annotated[
        str | None,
        Query(
            description="ISO date (the state at the end of that day, UTC) or date-time: the "
            "features as they were then, from the layer's history (scores stay today's; derived "
            "land-units: a 400)"
        ),
    ] = None
    f: Annotated[
        str | None,
        Query(
            description="the media type is fixed (GeoJSON); f=html is a 400",
            json_schema_extra=_one_of(FEATURE_FORMATS),
        ),
    ] = None


@dataclass
class ItemsQuery(ItemQuery, FilterQuery):
    """A page of features: bbox, paging, sorting, time, as_of and the filters.

    ``limit``'s default and maximum are the server's settings: the OpenAPI document states
    them for each application (api/openapi.py), a limit above the maximum is lowered to it.
    """

    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy (or 6 values with heights) in bbox-crs, "
            "comma-separated; lower corner first",
            examples=["2.30,48.68,2.36,48.72"],
        ),
    ] = None
    bbox_crs: Annotated[str | None, _crs("CRS of bbox (default CRS84)", "bbox-crs")] = None
    limit: Annotated[
        int | None,
        Query(ge=1, description="page size; above the server maximum it is lowered to it"),
    ] = None
    offset: Annotated[int | None, Query(ge=0, le=BIGINT_MAX, description="features to skip")] = None
    sortby: Annotated[
        str | None, Query(description="comma-separated queryables, `-` for descending")
    ] = None
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval (`start/end`, `..` for an open end); no "
            "collection has a temporal property yet, so a valid value selects every feature (a "
            "malformed one is a 400)"
        ),
    ] = None


def query_names(*groups: type) -> frozenset[str]:
    """The query parameter names (aliases) the dataclass dependencies ``groups`` declare.

    Example:
        >>> sorted(query_names(TileQuery))
        ['f', 'filter', 'filter-crs', 'filter-lang', 'properties']
    """
    names: set[str] = set()
    for group in groups:
        for name, hint in get_type_hints(group, include_extras=True).items():
            param = next(
                (m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Param)), None
            )
            if param is not None:
                names.add(param.alias or name)
    return frozenset(names)
