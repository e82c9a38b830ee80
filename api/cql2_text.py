"""CQL2 text (OGC 21-065r2, CQL2 1.0.0 BNF) parsed into :mod:`api.cql2_ast` nodes.

The grammar accepts every construct of the BNF, whatever its conformance class (deciding what
is evaluated is :mod:`api.cql2`'s job). It follows the BNF's rules with one merge that keeps it
LALR(1): boolean, comparison and arithmetic expressions share one precedence ladder (``OR`` <
``AND`` < ``NOT`` < comparison < ``+ -`` < ``* / % div`` < ``^`` < unary minus), and the
translator checks that a condition stands where a condition is due. Keywords are
case-insensitive; whitespace is the BNF's ``whitespace`` production, line breaks and a file's
final newline included. The parser runs its callbacks while it reduces (LALR), so neither a
2,000-way OR nor thousands of nested parentheses recurse in Python.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import shapely

from api.cql2_ast import (
    CHARACTER_LITERAL,
    And,
    Array,
    Between,
    Call,
    Comparison,
    Geometry,
    In,
    IsNull,
    Like,
    Not,
    Or,
    Property,
    Spatial,
    bbox_literal,
    character_literal,
    date_literal,
    geometry_literal,
    interval_literal,
    is_number,
    timestamp_literal,
)
from db.errors import InvalidQuery

# The BNF's identifierStart and identifierPart character ranges.
_ID_START = (
    r":_A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFE\u200C-\u200D"
    r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF"
)
_ID_PART = _ID_START + r".0-9\u0300-\u036F\u203F-\u2040"
# The BNF's whitespace production.
_WHITESPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

GRAMMAR = rf"""
?start: expr

?expr: and_expr
     | expr _OR and_expr                         -> or_
?and_expr: not_expr
     | and_expr _AND not_expr                    -> and_
?not_expr: predicate
     | _NOT not_expr                             -> not_
?predicate: value
     | value COMPARE value                       -> compare
     | value _LIKE value                         -> like
     | value _NOT _LIKE value                    -> not_like
     | value _BETWEEN value _AND value           -> between
     | value _NOT _BETWEEN value _AND value      -> not_between
     | value _IN "(" _list ")"                   -> in_
     | value _NOT _IN "(" _list ")"              -> not_in
     | value _IS _NULL                           -> is_null
     | value _IS _NOT _NULL                      -> is_not_null
_list: expr ("," expr)*

?value: product
     | value PLUS product                        -> arithmetic
     | value MINUS product                       -> arithmetic
?product: power
     | product TIMES power                       -> arithmetic
     | product SLASH power                       -> arithmetic
     | product PERCENT power                     -> arithmetic
     | product DIV power                         -> arithmetic
?power: unary
     | unary CARET power                         -> arithmetic
?unary: atom
     | MINUS unary                               -> negative
     | PLUS unary                                -> positive
?atom: NUMBER                                    -> number
     | CHARACTER_LITERAL                         -> string
     | _TRUE                                     -> true
     | _FALSE                                    -> false
     | IDENTIFIER                                -> property
     | QUOTED_IDENTIFIER                         -> quoted_property
     | _DATE "(" CHARACTER_LITERAL ")"           -> date
     | _TIMESTAMP "(" CHARACTER_LITERAL ")"      -> timestamp
     | _INTERVAL "(" expr "," expr ")"           -> interval
     | _BBOX "(" _coordinates ")"                -> bbox
     | geometry
     | spatial_op "(" expr "," expr ")"          -> spatial
     | named_op "(" _list ")"                    -> named_call
     | IDENTIFIER "(" [_list] ")"                -> function
     | "(" expr ")"
     | "(" expr ("," expr)+ ")"                  -> array
     | "(" ")"                                   -> array

!spatial_op: "S_INTERSECTS"i | "S_EQUALS"i | "S_DISJOINT"i | "S_TOUCHES"i | "S_WITHIN"i
     | "S_OVERLAPS"i | "S_CROSSES"i | "S_CONTAINS"i
!named_op: "CASEI"i | "ACCENTI"i
     | "T_AFTER"i | "T_BEFORE"i | "T_CONTAINS"i | "T_DISJOINT"i | "T_DURING"i | "T_EQUALS"i
     | "T_FINISHEDBY"i | "T_FINISHES"i | "T_INTERSECTS"i | "T_MEETS"i | "T_METBY"i
     | "T_OVERLAPPEDBY"i | "T_OVERLAPS"i | "T_STARTEDBY"i | "T_STARTS"i
     | "A_EQUALS"i | "A_CONTAINS"i | "A_CONTAINEDBY"i | "A_OVERLAPS"i

?geometry: _POINT _Z? point_text                 -> point
     | _LINESTRING _Z? line_text                 -> linestring
     | _POLYGON _Z? polygon_text                 -> polygon
     | _MULTIPOINT _Z? "(" multipoint_item ("," multipoint_item)* ")" -> multipoint
     | _MULTILINESTRING _Z? "(" line_text ("," line_text)* ")" -> multilinestring
     | _MULTIPOLYGON _Z? "(" polygon_text ("," polygon_text)* ")" -> multipolygon
     | _GEOMETRYCOLLECTION _Z? "(" geometry ("," geometry)* ")" -> geometrycollection
point_text: "(" coordinate ")"
?multipoint_item: point_text | coordinate
line_text: "(" coordinate ("," coordinate)* ")"
polygon_text: "(" line_text ("," line_text)* ")"
coordinate: signed signed signed?
_coordinates: signed ("," signed)*
?signed: NUMBER                                  -> number
     | MINUS NUMBER                              -> negative_number
     | PLUS NUMBER                               -> number_with_plus

_OR: "OR"i
_AND: "AND"i
_NOT: "NOT"i
_LIKE: "LIKE"i
_BETWEEN: "BETWEEN"i
_IN: "IN"i
_IS: "IS"i
_NULL: "NULL"i
_TRUE: "TRUE"i
_FALSE: "FALSE"i
_DATE: "DATE"i
_TIMESTAMP: "TIMESTAMP"i
_INTERVAL: "INTERVAL"i
_BBOX: "BBOX"i
_POINT: "POINT"i
_LINESTRING: "LINESTRING"i
_POLYGON: "POLYGON"i
_MULTIPOINT: "MULTIPOINT"i
_MULTILINESTRING: "MULTILINESTRING"i
_MULTIPOLYGON: "MULTIPOLYGON"i
_GEOMETRYCOLLECTION: "GEOMETRYCOLLECTION"i
_Z: "Z"i
DIV: "DIV"i
PLUS: "+"
MINUS: "-"
TIMES: "*"
SLASH: "/"
PERCENT: "%"
CARET: "^"
COMPARE: "<>" | "<=" | ">=" | "=" | "<" | ">"
NUMBER: /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/
CHARACTER_LITERAL: /{CHARACTER_LITERAL.pattern}/
IDENTIFIER: /[{_ID_START}][{_ID_PART}]*/
QUOTED_IDENTIFIER: /"[^"]*"/
%ignore /[{_WHITESPACE}]+/
"""


def _chain(kind: type[And] | type[Or], a: Any, b: Any) -> Any:
    # Left-deep as parsed: extend the chain instead of nesting one node per operator.
    return kind((*a.args, b)) if type(a) is kind else kind((a, b))


def _number(token: str) -> int | float:
    try:
        if re.fullmatch(r"[0-9]+", token):
            return int(token)
        value = float(token)
    except ValueError:  # more digits than Python converts (4,300)
        raise InvalidQuery(f"filter: the number {token[:40]}... is too long") from None
    if not math.isfinite(value):
        raise InvalidQuery(f"filter: the number {token[:40]} is out of range")
    return value


def _geojson(kind: str, coordinates: Any) -> Geometry:
    return geometry_literal({"type": kind, "coordinates": coordinates})


def _transformer() -> Any:
    from lark import Transformer, v_args

    @v_args(inline=True)
    class ToNodes(Transformer):  # type: ignore[type-arg]
        """Lark callbacks, run while parsing (LALR): no recursion over the finished tree."""

        def or_(self, a: Any, b: Any) -> Any:
            return _chain(Or, a, b)

        def and_(self, a: Any, b: Any) -> Any:
            return _chain(And, a, b)

        def not_(self, a: Any) -> Any:
            return Not(a)

        def compare(self, a: Any, op: Any, b: Any) -> Any:
            return Comparison(str(op), a, b)

        def like(self, a: Any, b: Any) -> Any:
            return Like(a, b)

        def not_like(self, a: Any, b: Any) -> Any:
            return Like(a, b, True)

        def between(self, a: Any, lo: Any, hi: Any) -> Any:
            return Between(a, lo, hi)

        def not_between(self, a: Any, lo: Any, hi: Any) -> Any:
            return Between(a, lo, hi, True)

        def in_(self, a: Any, *items: Any) -> Any:
            return In(a, list(items))

        def not_in(self, a: Any, *items: Any) -> Any:
            return In(a, list(items), True)

        def is_null(self, a: Any) -> Any:
            return IsNull(a)

        def is_not_null(self, a: Any) -> Any:
            return IsNull(a, True)

        def arithmetic(self, a: Any, op: Any, b: Any) -> Any:
            return Call(str(op).lower(), (a, b))

        def negative(self, _op: Any, a: Any) -> Any:
            # A signed numeric literal is a number; a negated property is arithmetic, written
            # as the JSON encoding (which has no unary minus) writes it: -1 * x.
            return -a if is_number(a) else Call("*", (-1, a))

        def positive(self, _op: Any, a: Any) -> Any:
            return a if is_number(a) else Call("*", (1, a))

        def number(self, token: Any) -> Any:
            return _number(str(token))

        def negative_number(self, _op: Any, token: Any) -> Any:
            return -_number(str(token))

        def number_with_plus(self, _op: Any, token: Any) -> Any:
            return _number(str(token))

        def string(self, token: Any) -> Any:
            return character_literal(str(token))

        def true(self) -> Any:
            return True

        def false(self) -> Any:
            return False

        def property(self, token: Any) -> Any:
            return Property(str(token))

        def quoted_property(self, token: Any) -> Any:
            return Property(str(token)[1:-1])

        def date(self, token: Any) -> Any:
            return date_literal(character_literal(str(token)))

        def timestamp(self, token: Any) -> Any:
            return timestamp_literal(character_literal(str(token)))

        def interval(self, start: Any, end: Any) -> Any:
            return interval_literal(start, end)

        def bbox(self, *numbers: Any) -> Any:
            return bbox_literal(numbers)

        def spatial_op(self, token: Any) -> Any:
            return str(token).lower()

        def spatial(self, op: str, a: Any, b: Any) -> Any:
            return Spatial(op, a, b)

        def named_op(self, token: Any) -> Any:
            return str(token).upper()

        def named_call(self, name: str, *args: Any) -> Any:
            return Call(name, args)

        def function(self, name: Any, *args: Any) -> Any:
            return Call(str(name), tuple(a for a in args if a is not None))

        def array(self, *items: Any) -> Any:
            return Array(items)

        def coordinate(self, *numbers: Any) -> Any:
            return list(numbers)

        def point_text(self, coordinate: Any) -> Any:
            return coordinate

        def line_text(self, *coordinates: Any) -> Any:
            return list(coordinates)

        def polygon_text(self, *rings: Any) -> Any:
            return list(rings)

        def point(self, c: Any) -> Any:
            return _geojson("Point", c)

        def linestring(self, c: Any) -> Any:
            return _geojson("LineString", c)

        def polygon(self, c: Any) -> Any:
            return _geojson("Polygon", c)

        def multipoint(self, *c: Any) -> Any:
            return _geojson("MultiPoint", list(c))

        def multilinestring(self, *c: Any) -> Any:
            return _geojson("MultiLineString", list(c))

        def multipolygon(self, *c: Any) -> Any:
            return _geojson("MultiPolygon", list(c))

        def geometrycollection(self, *parts: Geometry) -> Any:
            return Geometry(shapely.GeometryCollection([p.shape for p in parts]))

    return ToNodes()


@functools.cache
def _text_parser() -> Any:
    from lark import Lark

    return Lark(
        GRAMMAR,
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        transformer=_transformer(),
    )


def _unclosed_literal(text: str, exc: Exception) -> str | None:
    """Where an unterminated character literal opens, if that is what the parser tripped on."""
    pos = getattr(exc, "pos_in_stream", None)
    if pos is None or text[pos : pos + 1] != "'" or CHARACTER_LITERAL.match(text, pos):
        return None
    line, line_start = text.count("\n", 0, pos) + 1, text.rfind("\n", 0, pos) + 1
    return f"line {line}, column {pos - line_start + 1}"


def parse_text(text: str) -> Any:
    """The AST of a cql2-text filter."""
    from lark.exceptions import LarkError

    try:
        # Callbacks run inline (LALR): one that refuses a literal raises InvalidQuery itself.
        return _text_parser().parse(text)
    except LarkError as exc:
        where = _unclosed_literal(text, exc)
        if where:
            raise InvalidQuery(
                f"filter: not valid cql2-text: the text opened at {where} has no closing quote "
                "(a quote inside text is written twice: 'L''Isle-d''Abeau')"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidQuery(f"filter: not valid cql2-text: {first[:200]}") from None
