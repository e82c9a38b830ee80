"""Query-string parsing shared by items, tiles and exports: one FeatureQuery from one request.

Every name is checked against the collection registry; an unknown parameter is a 400 that lists
the valid ones (a typo such as ``?inse=91432`` must not silently return everything).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi import Request
from fastapi.routing import APIRoute
from psycopg import sql
from starlette.datastructures import QueryParams

from api.collections import Collection
from api.cql2 import parse as parse_cql2
from api.cql2 import to_sql as cql2_to_sql
from api.query import Binder, FeatureQuery, bbox_parts, check_sortable, coerce
from api.route_params import (
    BIGINT_MAX,
    FILTER_LANGS,
    ItemQuery,
    ItemsQuery,
    TileQuery,
    query_names,
)
from config import ApiSettings
from db.errors import InvalidQuery
from db.history import VERSIONED
from geo.crs import check_bbox, parse_crs

# Accepted on every route (OGC API Common): the output format and the language.
GENERIC_PARAMS = frozenset({"f", "lang"})
# What the routes declare (api/route_params.py), so the OpenAPI document lists what is accepted.
ITEMS_PARAMS = GENERIC_PARAMS | query_names(ItemsQuery)
TILE_PARAMS = GENERIC_PARAMS | query_names(TileQuery)
ITEM_PARAMS = GENERIC_PARAMS | query_names(ItemQuery)
# RFC 3339 date-time (the "T" and "Z" in either case, fractions of seconds, an offset).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def check_params(params: QueryParams, allowed: frozenset[str] = GENERIC_PARAMS) -> None:
    """A 400 naming every parameter of ``params`` this route does not know (OGC API Features
    /req/core/query-param-unknown), so a typo never passes silently."""
    unknown = sorted({name for name in params if name not in allowed})
    if unknown:
        raise InvalidQuery(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"this resource accepts: {', '.join(sorted(allowed))}"
        )


def declared_params(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` declares (its own and its dependencies'), plus the generic
    ones: what its OpenAPI operation lists."""
    found = _DECLARED.get(route.unique_id)
    if found is None:
        names: set[str] = set()
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            names.update(p.alias for p in dependant.query_params)
            stack.extend(dependant.dependencies)
        found = _DECLARED[route.unique_id] = GENERIC_PARAMS | names
    return found


_DECLARED: dict[str, frozenset[str]] = {}


def reject_unknown_params(request: Request) -> None:
    """Router dependency: the items rule (:func:`check_params`, then :func:`check_format`) for a
    route whose parameters are all declared on it, such as /search, /places, /territories."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        check_params(request.query_params, declared_params(route))
    check_format(request.query_params)


def check_format(params: QueryParams, offered: tuple[str, ...] = ("json",)) -> None:
    """Refuse an ``f`` this resource cannot answer in (rather than silently answering JSON)."""
    f = params.get("f")
    if f is None or f == "" or f in offered:
        return
    if f == "html":
        raise InvalidQuery(
            f"f=html is not offered for this resource; use f={offered[0]} "
            "(the HTML pages are the planner at / and the API docs at /api.html)"
        )
    raise InvalidQuery(f"f={f!r} is not offered for this resource; use {', '.join(offered)}")


def _instant(raw: str) -> datetime | None:
    """An RFC 3339 date-time or full date (None for an open end ``..`` or empty)."""
    if raw in ("", ".."):
        return None
    if _DATE.match(raw):
        return datetime.fromisoformat(raw)
    if not _RFC3339.match(raw):
        raise ValueError(raw)
    return datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))


def parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    """``datetime``: an RFC 3339 instant or an interval ``start/end`` (``..`` or empty: open).

    Raises:
        InvalidQuery: a malformed value, an interval open at both ends or ending before it starts.
    """
    parts = raw.split("/")
    try:
        if len(parts) == 1:
            if parts[0] in ("", ".."):
                raise ValueError(raw)
            start = end = _instant(parts[0])
        elif len(parts) == 2:
            start, end = _instant(parts[0]), _instant(parts[1])
            if start is None and end is None:  # "../..": the grammar wants one end
                raise ValueError(raw)
        else:
            raise ValueError(raw)
        if start is not None and end is not None and _aware(start) > _aware(end):
            raise InvalidQuery(f"datetime={raw!r}: the interval ends before it starts")
    except ValueError:
        raise InvalidQuery(
            f"datetime={raw!r}: expected an RFC 3339 date-time (2024-01-31T12:00:00Z), a date, "
            "or an interval start/end with '..' for an open end"
        ) from None
    return start, end


def parse_as_of(raw: str) -> datetime:
    """``as_of``: an ISO date (the state at the end of that day, UTC) or date-time (UTC when
    it has no offset).

    Raises:
        InvalidQuery: neither.
    """
    try:
        if _DATE.match(raw):
            return datetime.fromisoformat(raw).replace(tzinfo=UTC) + timedelta(
                days=1, microseconds=-1
            )
        return _aware(datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00")))
    except (ValueError, OverflowError):
        raise InvalidQuery(
            f"as_of={raw!r}: expected an ISO date (2025-12-31, the state at the end of that day, "
            "UTC) or date-time (2025-12-31T18:00:00Z)"
        ) from None


def _aware(value: datetime) -> datetime:
    """Dates and naive values compare as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(params: QueryParams, name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQuery(f"{name}={raw!r}: expected an integer") from None
    if value < 0:
        raise InvalidQuery(f"{name}={raw!r}: must not be negative")
    if value > BIGINT_MAX:
        raise InvalidQuery(f"{name}={raw!r}: must be at most {BIGINT_MAX}")
    return value


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` as four floats (6 values with heights: these are dropped)."""
    try:
        nums = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidQuery(f"bbox={raw!r}: expected 4 comma-separated numbers") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or any(n != n or n in (float("inf"), float("-inf")) for n in nums):
        raise InvalidQuery(f"bbox={raw!r}: expected 4 comma-separated finite numbers")
    return (nums[0], nums[1], nums[2], nums[3])


def as_of_param(c: Collection, raw: str | None, binder: Binder) -> sql.Composable | None:
    """The placeholder of ``as_of`` for collection ``c`` (None: not asked), refused when ``c``
    keeps no history."""
    if raw is None:
        return None
    at = parse_as_of(raw)
    if c.table not in VERSIONED:
        raise InvalidQuery(
            f"as_of: {c.id} is derived (rebuilt by `foncier score`) and keeps no history; "
            "as_of is offered on the layers loaded or written"
        )
    return binder.bind(at, "timestamptz")


def feature_query(
    c: Collection,
    params: QueryParams,
    settings: ApiSettings,
    privileged: bool,
    binder: Binder,
    allowed: frozenset[str] = ITEMS_PARAMS,
    paged: bool = True,
) -> FeatureQuery:
    """Parse and validate ``params`` for collection ``c`` (filters bound into ``binder``).

    Args:
        c: the collection queried; its properties whitelist the filters and sort keys.
        params: the request's query parameters.
        privileged: the caller holds a key: restricted properties may be filtered and sorted on.
        allowed: the parameters accepted besides the collection's queryables.
        paged: items pages get the default limit and the maximum; exports are unbounded unless
            ``limit`` is given.
    """
    for name in params:
        if name in allowed:
            continue
        prop = c.prop(name)
        if prop is None or not prop.queryable or (prop.restricted and not privileged):
            check_sortable(c, name, privileged, f"unknown parameter {name!r}")
    if params.get("datetime") is not None and "datetime" in allowed:
        # No collection has a temporal property: a valid value selects everything
        # (OGC API Features /req/core/fc-time-response), a malformed one is still a 400.
        parse_datetime(params["datetime"])
    q = FeatureQuery(collection=c, privileged=privileged)
    q.as_of = as_of_param(c, params.get("as_of") if "as_of" in allowed else None, binder)
    q.crs = parse_crs(params.get("crs"), "crs")
    if params.get("bbox"):
        q.bbox = parse_bbox(params["bbox"])
        q.bbox_crs = parse_crs(params.get("bbox-crs"), "bbox-crs")
        # An antimeridian bbox (minx > maxx in degrees) is checked as its two halves.
        for part in bbox_parts(q.bbox, q.bbox_crs):
            check_bbox(part, q.bbox_crs)
    elif params.get("bbox-crs"):
        parse_crs(params.get("bbox-crs"), "bbox-crs")
    if paged:
        limit = _int(params, "limit", settings.default_limit)
        assert limit is not None
        if limit == 0:
            raise InvalidQuery("limit=0: ask for at least one feature")
        # OGC API Features: a limit above the maximum is clamped, not refused.
        q.limit = min(limit, settings.max_limit)
    else:
        q.limit = _int(params, "limit", None)
        if q.limit == 0:
            raise InvalidQuery("limit=0: ask for at least one feature, or leave limit out")
    q.offset = _int(params, "offset", 0) or 0
    if params.get("sortby"):
        for key in params["sortby"].split(","):
            key = key.strip()
            desc = key.startswith("-")
            name = key.lstrip("+-")
            q.sortby.append((check_sortable(c, name, privileged, "sortby"), desc))
    if params.get("properties") is not None and "properties" in allowed:
        wanted = [n.strip() for n in params["properties"].split(",") if n.strip()]
        visible = {p.name: p for p in c.visible_props(privileged)}
        unknown = [n for n in wanted if n not in visible]
        if unknown:
            raise InvalidQuery(
                f"properties: unknown {', '.join(unknown)}; {c.id} has: {', '.join(visible)}"
            )
        q.properties = [visible[n] for n in wanted]
    for name, raw in params.multi_items():
        if name in allowed:
            continue
        prop = check_sortable(c, name, privileged, name)
        q.equals.append((prop, coerce(prop, raw, name)))
    # Checked even without a filter: a typo must not pass silently (as for bbox-crs).
    filter_crs = parse_crs(params.get("filter-crs"), "filter-crs")
    if params.get("filter"):
        node = parse_cql2(params["filter"], params.get("filter-lang"))
        q.cql = cql2_to_sql(node, c, privileged, binder, filter_crs)
    elif "filter-lang" in params and params["filter-lang"] not in FILTER_LANGS:
        raise InvalidQuery(f"filter-lang: use {' or '.join(FILTER_LANGS)}")
    return q
