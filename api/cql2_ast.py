"""The AST of CQL2 filters (OGC 21-065r2, CQL2 1.0.0), shared by both encodings.

:mod:`api.cql2_text` and :mod:`api.cql2_json` read every construct of the standard's BNF and
JSON schema into these nodes, whatever its conformance class, so that the same filter gives
the same tree in either encoding (the standard's paired examples are checked to). What the
server evaluates is decided afterwards, by :mod:`api.cql2`. Literals are plain Python values
(``str``, ``int``, ``float``, ``bool``, ``datetime.date``, ``datetime.datetime``) or the
literal nodes below.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry

from db.errors import InvalidQuery

# --- nodes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    """A property name (``"quoted"`` in text when it is not a plain identifier)."""

    name: str


@dataclass(frozen=True)
class And:
    """``args[0] AND args[1] AND ...`` (a chain is one node, however long)."""

    args: tuple[Any, ...]

    @property
    def lhs(self) -> Any:
        return self.args[0]

    @property
    def rhs(self) -> Any:
        return self.args[-1]


@dataclass(frozen=True)
class Or:
    """``args[0] OR args[1] OR ...``."""

    args: tuple[Any, ...]

    @property
    def lhs(self) -> Any:
        return self.args[0]

    @property
    def rhs(self) -> Any:
        return self.args[-1]


@dataclass(frozen=True)
class Not:
    arg: Any


@dataclass(frozen=True)
class Comparison:
    """``lhs op rhs``, op one of ``= <> < > <= >=``."""

    op: str
    lhs: Any
    rhs: Any


@dataclass(frozen=True)
class Like:
    lhs: Any
    pattern: Any
    not_: bool = False


@dataclass(frozen=True)
class Between:
    lhs: Any
    low: Any
    high: Any
    not_: bool = False


@dataclass(frozen=True)
class In:
    lhs: Any
    sub_nodes: list[Any]
    not_: bool = False


@dataclass(frozen=True)
class IsNull:
    lhs: Any
    not_: bool = False


@dataclass(frozen=True)
class Spatial:
    """A spatial function, ``op`` in lower case (``s_intersects``)."""

    op: str
    lhs: Any
    rhs: Any


@dataclass(frozen=True)
class Call:
    """Any other function or operator, ``name`` as written: ``CASEI``/``ACCENTI``, temporal
    (``T_*``) and array (``A_*``) functions, arithmetic (``+ - * / % div ^``) and custom
    functions (``Buffer``, ``avg``)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Geometry:
    """A geometry literal (WKT in text, GeoJSON in JSON), coordinates as given (z kept)."""

    shape: shapely.Geometry


@dataclass(frozen=True)
class BBox:
    """A BBOX literal: 4 numbers (west, south, east, north) or 6 (with min and max elevation
    after the first and second corner's horizontal coordinates, as in the standard)."""

    coords: tuple[float, ...]


@dataclass(frozen=True)
class Interval:
    """INTERVAL(start, end): each bound a date or timestamp string, ``'..'``, or an expression."""

    start: Any
    end: Any


@dataclass(frozen=True)
class Array:
    """An array literal: ``('a', 'b')`` in text, a JSON array outside an IN list."""

    items: tuple[Any, ...]


SPATIAL_OPS = (
    "s_intersects",
    "s_equals",
    "s_disjoint",
    "s_touches",
    "s_within",
    "s_overlaps",
    "s_crosses",
    "s_contains",
)
TEMPORAL_OPS = (
    "t_after",
    "t_before",
    "t_contains",
    "t_disjoint",
    "t_during",
    "t_equals",
    "t_finishedby",
    "t_finishes",
    "t_intersects",
    "t_meets",
    "t_metby",
    "t_overlappedby",
    "t_overlaps",
    "t_startedby",
    "t_starts",
)
ARRAY_OPS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
ARITHMETIC_OPS = ("+", "-", "*", "/", "%", "div", "^")
COMPARISON_OPS = ("=", "<>", "<", ">", "<=", ">=")

# --- literals shared by both encodings --------------------------------------------------------

# A CQL2 text characterLiteral (BNF: escapeQuote = "''" | "\\'"; /req/cql2-text/escaping: the
# backslash is the escape character). Possessive (*+): an unclosed literal fails where it opens
# rather than backtracking to end at a doubled quote.
CHARACTER_LITERAL = re.compile(r"'(?:[^'\\]|''|\\[\s\S])*+'")
_ESCAPE = re.compile(r"''|\\([\s\S])")
# The escapes the requirement lists, plus the backslash itself. Any other one (\% and \_ in LIKE
# patterns) is kept whole: PostgreSQL's LIKE escape character is the backslash too.
_ESCAPED = {
    "'": "'",
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z")


def character_literal(token: str) -> str:
    """The value of a CQL2 text character literal (quotes included): ``'L''Isle'`` is ``L'Isle``."""
    return _ESCAPE.sub(lambda m: "'" if m[0] == "''" else _ESCAPED.get(m[1], m[0]), token[1:-1])


def date_literal(text: str) -> dt.date:
    """``DATE('2020-01-31')`` / ``{"date": "2020-01-31"}`` (BNF fullDate)."""
    try:
        if isinstance(text, str) and _DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidQuery(f"filter: DATE({text!r}) is not a date (write 2020-01-31)")


def timestamp_literal(text: str) -> dt.datetime:
    """``TIMESTAMP('2020-01-31T10:00:00Z')`` (BNF: fullDate "T" utcTime, always UTC "Z")."""
    m = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    try:
        if m:
            # Python keeps microseconds: finer digits are dropped, not rounded.
            frac = (m[2] or "")[:6].ljust(6, "0")
            return dt.datetime.fromisoformat(f"{m[1]}.{frac}+00:00")
    except ValueError:
        pass
    raise InvalidQuery(f"filter: TIMESTAMP({text!r}) is not a UTC timestamp (2020-01-31T10:00:00Z)")


def interval_literal(start: Any, end: Any) -> Interval:
    """INTERVAL(start, end): a text bound is a date, a timestamp or '..' (open)."""

    def bound(v: Any) -> Any:
        if not isinstance(v, str) or v == "..":
            return v
        return date_literal(v) if _DATE.fullmatch(v) else timestamp_literal(v)

    return Interval(bound(start), bound(end))


def bbox_literal(numbers: Any) -> BBox:
    if (
        not isinstance(numbers, list | tuple)
        or len(numbers) not in (4, 6)
        or not all(is_number(n) for n in numbers)
    ):
        raise InvalidQuery(f"filter: BBOX takes 4 or 6 numbers, got {numbers!r}"[:200])
    return BBox(tuple(numbers))


def geometry_literal(geojson: dict[str, Any]) -> Geometry:
    """A GeoJSON geometry object (or the same built from WKT) as a :class:`Geometry`."""
    try:
        return Geometry(shapely.geometry.shape(geojson))
    except Exception as exc:  # noqa: BLE001 - shapely's many ways of refusing bad coordinates
        raise InvalidQuery(
            f"filter: not a valid {geojson.get('type')} geometry literal: {exc}"[:200]
        ) from None


# --- walking and describing nodes ------------------------------------------------------------


def is_number(v: Any) -> bool:
    """A CQL2 number: an int or float that is not a bool."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def describe(n: Any) -> str:
    """A short CQL2 text rendering of a node, for messages (sub-expressions elided)."""
    if isinstance(n, Property):
        return n.name
    if isinstance(n, bool):
        return "TRUE" if n else "FALSE"
    if isinstance(n, str):
        return "'" + n.replace("'", "''")[:60] + "'"
    if is_number(n):
        return repr(n)
    if isinstance(n, dt.datetime):
        return f"TIMESTAMP('{n.isoformat().replace('+00:00', 'Z')}')"
    if isinstance(n, dt.date):
        return f"DATE('{n.isoformat()}')"
    if isinstance(n, Geometry):
        return f"{n.shape.geom_type.upper()} literal"
    if isinstance(n, BBox):
        return f"BBOX({', '.join(map(repr, n.coords))})"
    if isinstance(n, Call):
        if n.name in ARITHMETIC_OPS and len(n.args) == 2:
            return f"{_shallow(n.args[0])} {n.name} {_shallow(n.args[1])}"
        return f"{n.name}({', '.join(_shallow(a) for a in n.args)})"
    return {Interval: "INTERVAL(...)", Array: "an array (...)"}.get(type(n), type(n).__name__)


def _shallow(n: Any) -> str:
    return "(...)" if isinstance(n, Call | Array | Interval) else describe(n)


def children(n: Any) -> list[Any]:
    """The operands of a node, in reading order."""
    if isinstance(n, And | Or):
        return list(n.args)
    if isinstance(n, Not):
        return [n.arg]
    if isinstance(n, Comparison | Spatial):
        return [n.lhs, n.rhs]
    if isinstance(n, Like):
        return [n.lhs, n.pattern]
    if isinstance(n, Between):
        return [n.lhs, n.low, n.high]
    if isinstance(n, In):
        return [n.lhs, *n.sub_nodes]
    if isinstance(n, IsNull):
        return [n.lhs]
    if isinstance(n, Call):
        return list(n.args)
    if isinstance(n, Interval):
        return [n.start, n.end]
    if isinstance(n, Array):
        return list(n.items)
    return []


def unsupported(what: str, conformance_class: str) -> InvalidQuery:
    """The 400 for a valid filter of a conformance class this server does not evaluate."""
    return InvalidQuery(
        f"filter: not supported: {what} (CQL2 conformance class {conformance_class}, which this "
        "server does not implement; /conformance lists those it does)"
    )
