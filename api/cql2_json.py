"""CQL2 JSON (OGC 21-065r2, the schema cql2.json) read into :mod:`api.cql2_ast` nodes.

Every operation of the schema is read, whatever its conformance class; an ``op`` the schema does
not name is a custom function. Operator names are matched case-insensitively ("isNull",
"t_finishedBy"). BETWEEN is the standard's ``[value, low, high]``, a bbox literal is
``{"bbox": [west, south, east, north]}`` (or 6 numbers, elevations third and sixth) in that
order. Nesting is bounded before Python's recursion limit is.
"""

from __future__ import annotations

import json
import math
from typing import Any

from api.cql2_ast import (
    ARITHMETIC_OPS,
    ARRAY_OPS,
    COMPARISON_OPS,
    SPATIAL_OPS,
    TEMPORAL_OPS,
    And,
    Array,
    Between,
    Call,
    Comparison,
    In,
    IsNull,
    Like,
    Not,
    Or,
    Property,
    Spatial,
    bbox_literal,
    date_literal,
    geometry_literal,
    interval_literal,
    is_number,
    timestamp_literal,
)
from db.errors import InvalidQuery

# How deep a JSON filter may nest (objects within objects): a bound well under Python's
# recursion limit; the translator's own limit on conditions is lower.
JSON_MAX_DEPTH = 300
_GEOJSON_TYPES = (
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
# JSON "op" names of the schema, by their lower-case form ("isNull", "t_finishedBy", ...).
_ARITY = (
    dict.fromkeys((*COMPARISON_OPS, "like", *SPATIAL_OPS, *TEMPORAL_OPS, *ARRAY_OPS), 2)
    | dict.fromkeys(ARITHMETIC_OPS, 2)
    | {"not": 1, "isnull": 1, "between": 3, "in": 2, "casei": 1, "accenti": 1}
)


def _bad_json(what: str) -> InvalidQuery:
    return InvalidQuery(f"filter: not valid cql2-json: {what}"[:300])


def _from_json(v: Any, depth: int = 0) -> Any:
    if depth > JSON_MAX_DEPTH:
        raise InvalidQuery(f"filter: nested more than {JSON_MAX_DEPTH} levels deep")
    if isinstance(v, bool | str) or is_number(v):
        if isinstance(v, float) and not math.isfinite(v):
            raise _bad_json(f"the number {v} is out of range")
        return v
    if isinstance(v, list):
        items = []
        for x in v:
            items.append(_from_json(x, depth + 1))
        return Array(tuple(items))
    if not isinstance(v, dict):
        raise _bad_json(f"{json.dumps(v)} is not a CQL2 expression")
    if "op" in v:
        return _op_from_json(v, depth)
    if set(v) == {"property"} and isinstance(v["property"], str):
        return Property(v["property"])
    if set(v) == {"date"}:
        return date_literal(v["date"])
    if set(v) == {"timestamp"}:
        return timestamp_literal(v["timestamp"])
    if set(v) == {"interval"} and isinstance(v["interval"], list) and len(v["interval"]) == 2:
        start, end = (_from_json(x, depth + 1) for x in v["interval"])
        return interval_literal(start, end)
    if set(v) == {"bbox"}:
        return bbox_literal(v["bbox"])
    if v.get("type") in _GEOJSON_TYPES:
        return geometry_literal(v)
    raise _bad_json(f"{json.dumps(v)[:100]} is not a CQL2 expression")


def _op_from_json(v: dict[str, Any], depth: int) -> Any:
    op, args = v.get("op"), v.get("args", [])
    if not isinstance(op, str) or not isinstance(args, list) or set(v) - {"op", "args"}:
        raise _bad_json('an operation is {"op": name, "args": [...]}')
    name = op.lower()
    if name in ("and", "or"):
        if len(args) < 2:
            raise _bad_json(f'"{op}" takes at least 2 arguments')
        parts = []
        for a in args:
            parts.append(_from_json(a, depth + 1))
        return (And if name == "and" else Or)(tuple(parts))
    arity = _ARITY.get(name)
    if arity is not None and len(args) != arity:
        raise _bad_json(f'"{op}" takes {arity} argument{"s" if arity > 1 else ""}')
    if name == "in":
        if not isinstance(args[1], list):
            raise _bad_json('"in" takes a property and an array of values')
        items = [_from_json(a, depth + 2) for a in args[1]]
        return In(_from_json(args[0], depth + 1), items)
    a = []
    for x in args:
        a.append(_from_json(x, depth + 1))
    if name == "not":
        return Not(a[0])
    if name == "isnull":
        return IsNull(a[0])
    if name == "like":
        return Like(a[0], a[1])
    if name == "between":
        return Between(a[0], a[1], a[2])
    if name in COMPARISON_OPS:
        return Comparison(name, a[0], a[1])
    if name in SPATIAL_OPS:
        return Spatial(name, a[0], a[1])
    if name in ARITHMETIC_OPS:
        return Call(name, tuple(a))
    if arity is not None:  # CASEI, ACCENTI, temporal and array functions
        return Call(name.upper(), tuple(a))
    return Call(op, tuple(a))  # a custom function keeps its name as written


def _refuse_constant(name: str) -> None:
    raise _bad_json(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """The AST of a cql2-json filter."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except InvalidQuery:
        raise
    except RecursionError:
        raise InvalidQuery(f"filter: nested more than {JSON_MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise _bad_json(str(exc).splitlines()[0]) from None
    return _from_json(value)
