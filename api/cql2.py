"""CQL2 (text and JSON, OGC API Features Part 3) to parameterised SQL.

pygeofilter parses (its text grammar with the standard's character literal, so 'L''Isle-d''Abeau'
works); this module walks its AST and emits SQL where attributes are looked up in the collection
registry (whitelist) and every literal becomes a bind parameter. Anything it does not know
(functions, arithmetic, temporal operators) is refused with a 400, never passed through.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry
import shapely.ops
from psycopg import sql
from pygeofilter import ast, values

from api.collections import BOOLEAN, INTEGER, NUMBER, STRING, Collection, Prop
from api.query import SQL_TYPES, Binder, check_sortable
from db.errors import InvalidQuery
from geo.crs import Crs

GEOMETRY_NAMES = ("geom", "geometry")

_COMPARISONS: dict[type, str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_SPATIAL: dict[type, str] = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}


# A CQL2 text characterLiteral (OGC 21-065r2 BNF 1.0.0: escapeQuote = "''" | "\\'"; requirement
# /req/cql2-text/escaping: the backslash is the escape character). pygeofilter 0.4 ends a literal
# at its first quote, so 'L''Isle' failed. Possessive (*+): an unclosed literal fails where it
# opens rather than backtracking to end at a doubled quote.
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


def character_literal(token: str) -> str:
    """The value of a CQL2 text character literal (quotes included): ``'L''Isle'`` is ``L'Isle``."""
    return _ESCAPE.sub(lambda m: "'" if m[0] == "''" else _ESCAPED.get(m[1], m[0]), token[1:-1])


@functools.cache
def _text_parser() -> Any:
    """pygeofilter's CQL2 text parser, its character literal terminal replaced by the BNF's."""
    from lark import Lark
    from lark.lexer import PatternRE, TerminalDef
    from pygeofilter.parsers.cql2_text import parser as upstream

    class Transformer(upstream.CQLTransformer):  # type: ignore[misc]
        def SINGLE_QUOTED(self, token: str) -> str:  # noqa: N802 - lark's terminal name
            return character_literal(str(token))

    def edit(t: TerminalDef) -> None:
        if t.name == "SINGLE_QUOTED":
            t.pattern = PatternRE(CHARACTER_LITERAL.pattern)

    return Lark.open(
        "grammar.lark",
        rel_to=upstream.__file__,
        parser="lalr",
        maybe_placeholders=False,
        transformer=Transformer(),
        import_paths=[str(Path(upstream.__file__).parent.parent)],
        edit_terminals=edit,
    )


def _unclosed_literal(text: str, exc: Exception) -> str | None:
    """Where an unterminated character literal opens, if that is what the parser tripped on."""
    pos = getattr(exc, "pos_in_stream", None)
    if pos is None or text[pos : pos + 1] != "'" or CHARACTER_LITERAL.match(text, pos):
        return None
    line, line_start = text.count("\n", 0, pos) + 1, text.rfind("\n", 0, pos) + 1
    return f"line {line}, column {pos - line_start + 1}"


def parse(text: str, lang: str | None) -> ast.Node:
    """The AST of a CQL2 filter; ``lang`` is ``cql2-text`` (default) or ``cql2-json``."""
    lang = (lang or "cql2-text").lower()
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(json.loads(text))
        if lang == "cql2-text":
            return _text_parser().parse(text)
    except InvalidQuery:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the client's filter
        where = _unclosed_literal(text, exc) if lang == "cql2-text" else None
        if where:
            raise InvalidQuery(
                f"filter: not valid cql2-text: the text opened at {where} has no closing quote "
                "(a quote inside text is written twice: 'L''Isle-d''Abeau')"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidQuery(f"filter: not valid {lang}: {first[:200]}") from None
    raise InvalidQuery(f"filter-lang={lang!r} is not supported; use cql2-text or cql2-json")


# Nesting allowed in a filter (AND/OR chains count once): deeper filters are refused with a 400
# instead of exhausting Python's recursion (a 500) or PostgreSQL's stack.
MAX_DEPTH = 100


def _chain(node: Any) -> list[Any]:
    """The operands of a chain of the same AND/OR (``a OR b OR c`` parses as a left-deep tree),
    flattened without recursion so a long list of alternatives is no deep nesting."""
    kind, stack, out = type(node), [node], []
    while stack:
        n = stack.pop()
        if type(n) is kind:
            stack.extend((n.rhs, n.lhs))
        else:
            out.append(n)
    return out


class _Translator:
    def __init__(self, c: Collection, privileged: bool, binder: Binder, filter_crs: Crs) -> None:
        self.c, self.privileged, self.binder, self.crs = c, privileged, binder, filter_crs
        self.depth = 0

    def condition(self, node: Any) -> sql.Composable:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidQuery(
                f"filter: nested more than {MAX_DEPTH} levels deep; simplify it (IN lists a set "
                "of values)"
            )
        try:
            return self._condition(node)
        finally:
            self.depth -= 1

    def _condition(self, node: Any) -> sql.Composable:
        if isinstance(node, ast.And | ast.Or):
            op = " AND " if isinstance(node, ast.And) else " OR "
            return sql.SQL("({})").format(sql.SQL(op).join(self.condition(n) for n in _chain(node)))
        if isinstance(node, ast.Not):
            return sql.SQL("NOT ({})").format(self.condition(node.sub_node))
        if isinstance(node, ast.Include):
            return sql.SQL("TRUE")
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        if type(node) in _COMPARISONS:
            return self.comparison(node)
        if isinstance(node, ast.Between):
            prop = self.attribute(node.lhs)
            return sql.SQL("{} {}BETWEEN {} AND {}").format(
                sql.SQL(prop.expr),
                sql.SQL("NOT " if node.not_ else ""),
                self.value(node.low, prop),
                self.value(node.high, prop),
            )
        if isinstance(node, ast.Like):
            prop = self.attribute(node.lhs)
            if prop.type != STRING:
                raise InvalidQuery(
                    f"filter: LIKE needs a text property, {prop.name} is {prop.type}"
                )
            # CQL2 uses SQL's own wildcards (% and _); the pattern is a bound value.
            return sql.SQL("{} {}{} {}").format(
                sql.SQL(prop.expr),
                sql.SQL("NOT " if node.not_ else ""),
                sql.SQL("ILIKE" if node.nocase else "LIKE"),
                self.binder.bind(str(node.pattern)),
            )
        if isinstance(node, ast.In):
            prop = self.attribute(node.lhs)
            items = [self.value(v, prop) for v in node.sub_nodes]
            if not items:
                raise InvalidQuery("filter: IN needs at least one value")
            return sql.SQL("{} {}IN ({})").format(
                sql.SQL(prop.expr), sql.SQL("NOT " if node.not_ else ""), sql.SQL(", ").join(items)
            )
        if isinstance(node, ast.IsNull):
            prop = self.attribute(node.lhs)
            return sql.SQL("{} IS {}NULL").format(
                sql.SQL(prop.expr), sql.SQL("NOT " if node.not_ else "")
            )
        if type(node) in _SPATIAL:
            return self.spatial(node)
        if isinstance(node, ast.BBox):
            self.geometry_attribute(node.lhs)
            env = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            return sql.SQL("ST_Intersects({}, {})").format(
                sql.SQL(self.c.geom_expr), self.geometry(env)
            )
        raise InvalidQuery(f"filter: {type(node).__name__} is not supported by this server")

    def comparison(self, node: Any) -> sql.Composable:
        op_text = _COMPARISONS[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            op_text = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op_text, op_text)
        op = sql.SQL(op_text)
        prop = self.attribute(lhs)
        if isinstance(rhs, ast.Attribute):
            other = self.attribute(rhs)
            return sql.SQL("{} {} {}").format(sql.SQL(prop.expr), op, sql.SQL(other.expr))
        return sql.SQL("{} {} {}").format(sql.SQL(prop.expr), op, self.value(rhs, prop))

    def attribute(self, node: Any) -> Prop:
        if not isinstance(node, ast.Attribute):
            raise InvalidQuery(
                f"filter: expected a property name, got {node!r}; arithmetic and functions are "
                "not supported"
            )
        if node.name in GEOMETRY_NAMES:
            raise InvalidQuery(f"filter: {node.name} can only be used in spatial operators")
        return check_sortable(self.c, node.name, self.privileged, "filter")

    def geometry_attribute(self, node: Any) -> None:
        if not (isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES):
            raise InvalidQuery(
                "filter: spatial operators compare the `geom` property to a geometry"
            )

    def value(self, v: Any, prop: Prop) -> sql.Composable:
        ok = {
            STRING: isinstance(v, str),
            INTEGER: isinstance(v, int) and not isinstance(v, bool),
            NUMBER: isinstance(v, int | float) and not isinstance(v, bool),
            BOOLEAN: isinstance(v, bool),
        }.get(prop.type, False)
        if isinstance(v, dt.date | dt.datetime):
            ok = False
        if not ok:
            raise InvalidQuery(
                f"filter: {prop.name} is a {prop.type}; {v!r} is not (quote text, not numbers)"
            )
        return self.binder.bind(v, SQL_TYPES.get(prop.type))

    def spatial(self, node: Any) -> sql.Composable:
        lhs, rhs = node.lhs, node.rhs
        if isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        self.geometry_attribute(lhs)
        func = sql.SQL(_SPATIAL[type(node)])
        return sql.SQL("{}({}, {})").format(func, sql.SQL(self.c.geom_expr), self.geometry(rhs))

    def geometry(self, v: Any) -> sql.Composable:
        if isinstance(v, values.Envelope):
            shape = shapely.box(min(v.x1, v.x2), min(v.y1, v.y2), max(v.x1, v.x2), max(v.y1, v.y2))
        elif (
            isinstance(v, ast.Function)
            and v.name.lower() == "bbox"
            and len(v.arguments) == 4
            and all(isinstance(a, int | float) for a in v.arguments)
        ):
            # CQL2 BBOX(xmin, ymin, xmax, ymax) literal
            shape = shapely.box(*v.arguments)
        elif isinstance(v, values.Geometry):
            try:
                shape = shapely.geometry.shape(v.geometry)
            except Exception as exc:  # noqa: BLE001 - a malformed geometry literal
                raise InvalidQuery(f"filter: invalid geometry literal: {exc}") from None
        else:
            raise InvalidQuery(f"filter: expected a geometry literal, got {v!r}")
        if shape.is_empty or not shapely.is_valid(shape):
            raise InvalidQuery(f"filter: the geometry {shape.wkt[:80]} is empty or invalid")
        if self.crs.lat_lon:
            shape = shapely.ops.transform(lambda x, y: (y, x), shape)
        # The literal is projected to Lambert-93; the column is left alone for the index.
        return sql.SQL("ST_Transform(ST_GeomFromWKB({}, {}), 2154)").format(
            self.binder.bind(shapely.to_wkb(shape)), sql.Literal(self.crs.srid)
        )


def to_sql(
    node: ast.Node, c: Collection, privileged: bool, binder: Binder, filter_crs: Crs
) -> sql.Composable:
    """The SQL condition for a parsed CQL2 filter on ``c``."""
    return _Translator(c, privileged, binder, filter_crs).condition(node)
