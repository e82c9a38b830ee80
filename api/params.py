"""Query-string parsing shared by items, tiles and exports: one FeatureQuery from one request.

Every name is checked against the collection registry; an unknown parameter is a 400 that lists
the valid ones (a typo such as ``?inse=91432`` must not silently return everything).
"""

from __future__ import annotations

from starlette.datastructures import QueryParams

from api.collections import Collection
from api.cql2 import parse as parse_cql2
from api.cql2 import to_sql as cql2_to_sql
from api.query import Binder, FeatureQuery, check_sortable, coerce
from config import ApiSettings
from db.errors import InvalidQuery
from geo.crs import check_bbox, parse_crs

ITEMS_PARAMS = frozenset(
    {
        "bbox",
        "bbox-crs",
        "crs",
        "limit",
        "offset",
        "sortby",
        "properties",
        "filter",
        "filter-lang",
        "filter-crs",
        "f",
        "datetime",
    }
)
EXPORT_PARAMS = ITEMS_PARAMS | {"format", "bom"}
TILE_PARAMS = frozenset({"filter", "filter-lang", "filter-crs", "properties", "f"})
BIGINT_MAX = 2**63 - 1


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
        paged: items pages get the default limit and the maximum; exports are unbounded unless
            ``limit`` is given.
    """
    for name in params:
        if name in allowed:
            continue
        prop = c.prop(name)
        if prop is None or not prop.queryable or (prop.restricted and not privileged):
            check_sortable(c, name, privileged, f"unknown parameter {name!r}")
    if params.get("datetime"):
        raise InvalidQuery(f"datetime: collection {c.id} has no temporal property")
    q = FeatureQuery(collection=c, privileged=privileged)
    q.crs = parse_crs(params.get("crs"), "crs")
    if params.get("bbox"):
        q.bbox = parse_bbox(params["bbox"])
        q.bbox_crs = parse_crs(params.get("bbox-crs"), "bbox-crs")
        check_bbox(q.bbox, q.bbox_crs)
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
    elif params.get("filter-lang") and params["filter-lang"] not in ("cql2-text", "cql2-json"):
        raise InvalidQuery("filter-lang: use cql2-text or cql2-json")
    return q
