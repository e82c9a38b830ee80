"""CQL2 filters (OGC API Features Part 3) translated to parameterised SQL.

:mod:`api.cql2_text` and :mod:`api.cql2_json` read either encoding into one AST
(:mod:`api.cql2_ast`); this module walks it and emits SQL where property names are looked up in
the collection registry (whitelist) and every literal becomes a bind parameter. The rules a
client can rely on:

- What is evaluated: the conformance classes of :data:`CONFORMANCE` (served at /conformance).
  A valid filter of another class (temporal, array, arithmetic, custom functions, two literals
  compared) gets a 400 "not supported: ... (CQL2 conformance class X)", never "not valid", and
  that answer depends on the filter alone, not on the collection's properties.
- An unknown property is a 400 "unknown property 'name'" listing the queryables.
- A literal may come first (``50 < score``, ``S_WITHIN(POLYGON(...), geom)``); a property may
  be compared with another property of a comparable type.
- Numbers: a decimal compared with an integer property is compared exactly (as ``numeric``); an
  integer literal beyond 64 bits against an integer property is refused.
- ``CASEI(x)`` is ``lower(x)`` plus the two folds of Unicode full case folding that lower()
  lacks (ß to ss, final ς to σ); ``ACCENTI(x)`` is ``unaccent`` (the extension migration 0004
  installs) of the NFC form, so an "e" followed by a combining U+0301 loses its accent too.
- Geometry literals: see :mod:`api.cql2_geometry` (z dropped, range and validity checked).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import sql

from api.collections import BOOLEAN, INTEGER, NUMBER, STRING, Collection, Prop
from api.cql2_ast import (
    ARITHMETIC_OPS,
    ARRAY_OPS,
    CHARACTER_LITERAL,
    TEMPORAL_OPS,
    And,
    Array,
    BBox,
    Between,
    Call,
    Comparison,
    Geometry,
    In,
    Interval,
    IsNull,
    Like,
    Not,
    Or,
    Property,
    Spatial,
    character_literal,
    children,
    describe,
    is_number,
    unsupported,
)
from api.cql2_geometry import GEOMETRY_NAMES, spatial_sql
from api.cql2_json import parse_json
from api.cql2_text import parse_text
from api.query import Binder
from db.errors import InvalidQuery
from geo.crs import Crs

__all__ = ["CHARACTER_LITERAL", "CONFORMANCE", "character_literal", "parse", "to_sql"]

_CONF = "http://www.opengis.net/spec/cql2/1.0/conf/"
# The CQL2 classes evaluated in full; every other class is parsed and refused by name.
CONFORMANCE = tuple(
    _CONF + name
    for name in (
        "cql2-text",
        "cql2-json",
        "basic-cql2",
        "advanced-comparison-operators",
        "case-insensitive-comparison",
        "accent-insensitive-comparison",
        "basic-spatial-functions",
        "basic-spatial-functions-plus",
        "spatial-functions",
    )
)

GEOMETRY, DATE, TIMESTAMP = "geometry", "date", "timestamp"
_FOLD = {
    "CASEI": sql.SQL("replace(translate(lower({}), 'ς', 'σ'), 'ß', 'ss')"),
    "ACCENTI": sql.SQL("unaccent(normalize({}, NFC))"),
}
_BIGINT = (-(2**63), 2**63 - 1)
# Literal Python types and their CQL2 types (bool before int, datetime before date).
_LITERAL_TYPES = (
    (bool, BOOLEAN),
    (str, STRING),
    (int, INTEGER),
    (float, NUMBER),
    (dt.datetime, TIMESTAMP),
    (dt.date, DATE),
    (Geometry | BBox, GEOMETRY),
)

# Nesting allowed in a filter (AND/OR chains count once): deeper filters are refused with a 400
# instead of exhausting Python's recursion (a 500) or PostgreSQL's stack.
MAX_DEPTH = 100


def check_supported(node: Any) -> None:
    """Refuse, by conformance class, the first construct (in reading order) of a class this
    server does not evaluate, before any property is looked up: the answer depends on the
    filter, not on the collection."""
    stack = [node]
    while stack:  # no recursion: a filter may be thousands of levels deep
        n = stack.pop()
        if isinstance(n, Call):
            name = n.name.lower()
            if name in TEMPORAL_OPS:
                raise unsupported(f"the temporal function {n.name.upper()}", "temporal-functions")
            if name in ARRAY_OPS:
                raise unsupported(f"the array function {n.name.upper()}", "array-functions")
            if name in ARITHMETIC_OPS:
                raise unsupported(f"arithmetic: {describe(n)}", "arithmetic")
            if name not in ("casei", "accenti"):
                raise unsupported(f"the function {n.name}()", "functions")
        elif isinstance(n, Interval):
            raise unsupported("INTERVAL literals", "temporal-functions")
        elif isinstance(n, Array):
            raise unsupported("array literals", "array-functions")
        stack.extend(reversed(children(n)))


def _chain(node: And | Or) -> list[Any]:
    """The operands of nested ANDs (or ORs), flattened without recursion: a long list of
    alternatives is no deep nesting."""
    kind, stack, out = type(node), [node], []
    while stack:
        n = stack.pop()
        if type(n) is kind:
            stack.extend(reversed(n.args))
        else:
            out.append(n)
    return out


@dataclass
class _Operand:
    """One side of a comparison: its SQL (None for a bare literal, bound once the other side's
    type is known), its type, and whether it reads a property (perhaps through CASEI)."""

    label: str
    type: str
    sql: sql.Composable | None = None
    value: Any = None
    on_property: bool = False


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
        if isinstance(node, And | Or):
            op = " AND " if isinstance(node, And) else " OR "
            return sql.SQL("({})").format(sql.SQL(op).join(self.condition(n) for n in _chain(node)))
        if isinstance(node, Not):
            return sql.SQL("NOT ({})").format(self.condition(node.arg))
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, Like):
            return self.like(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, In):
            return self.in_list(node)
        if isinstance(node, IsNull):
            o = self.operand(node.lhs)
            if not o.on_property:
                raise unsupported(f"{o.label} IS NULL on a literal", "property-property")
            return sql.SQL("{} IS {}NULL").format(o.sql, sql.SQL("NOT " if node.not_ else ""))
        if isinstance(node, Spatial):
            return spatial_sql(node, self.c, self.privileged, self.binder, self.crs)
        if isinstance(node, Property):
            raise InvalidQuery(
                f"filter: the property {node.name} alone is not a condition; compare it "
                f"({node.name} = true)"
            )
        raise InvalidQuery(f"filter: expected a condition, got {describe(node)}")

    # --- scalar operands ----------------------------------------------------------------------

    def prop(self, name: str) -> Prop:
        p = self.c.prop(name)
        if p is None or not p.queryable or (p.restricted and not self.privileged):
            valid = [q.name for q in self.c.visible_props(self.privileged) if q.queryable]
            raise InvalidQuery(
                f"filter: unknown property {name!r}: not a queryable property of {self.c.id}; "
                f"use one of: {', '.join(['geom', *valid])}"
            )
        return p

    def operand(self, node: Any) -> _Operand:
        if isinstance(node, Property):
            if node.name in GEOMETRY_NAMES:
                return _Operand(node.name, GEOMETRY, sql.SQL(self.c.geom_expr), on_property=True)
            p = self.prop(node.name)
            return _Operand(p.name, p.type, sql.SQL(p.expr), on_property=True)
        if isinstance(node, Call) and node.name.upper() in _FOLD:
            name = node.name.upper()
            if len(node.args) != 1:
                raise InvalidQuery(f"filter: {name}() takes one argument")
            inner = self.operand(node.args[0])
            if inner.type != STRING:
                raise InvalidQuery(f"filter: {name}() takes text; {inner.label} is a {inner.type}")
            arg = inner.sql if inner.sql is not None else self.binder.bind(inner.value, "text")
            folded = _FOLD[name].format(arg)
            return _Operand(f"{name}({inner.label})", STRING, folded, on_property=inner.on_property)
        kind = next((k for t, k in _LITERAL_TYPES if isinstance(node, t)), None)
        if kind is None:
            raise InvalidQuery(f"filter: expected a value, got {describe(node)}")
        return _Operand(describe(node), kind, value=node)

    def bind(self, lit: _Operand, target: _Operand) -> sql.Composable:
        """The literal ``lit`` as a bind parameter of ``target``'s type, or a 400 naming both."""
        if lit.sql is not None:  # CASEI('x'): already bound as text
            if target.type == STRING:
                return lit.sql
        elif target.type == STRING and isinstance(lit.value, str):
            return self.binder.bind(lit.value)
        elif target.type == BOOLEAN and isinstance(lit.value, bool):
            return self.binder.bind(lit.value, "boolean")
        elif target.type in (INTEGER, NUMBER) and is_number(lit.value):
            return self.number(lit, target)
        hint = ""
        if target.type == STRING and is_number(lit.value):
            hint = f" (quote text: '{lit.value}')"
        elif target.type in (INTEGER, NUMBER) and isinstance(lit.value, str):
            hint = " (numbers are written without quotes)"
        raise InvalidQuery(f"filter: {target.label} is a {target.type}; {lit.label} is not{hint}")

    def number(self, lit: _Operand, target: _Operand) -> sql.Composable:
        v = lit.value
        if target.type == INTEGER:
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, float):
                # A decimal against an integer property: compared exactly, as numeric.
                return self.binder.bind(Decimal(repr(v)), "numeric")
            if not _BIGINT[0] <= v <= _BIGINT[1]:
                raise InvalidQuery(
                    f"filter: {lit.label[:30]} is out of range for {target.label} (a 64-bit "
                    "integer)"
                )
            return self.binder.bind(v, "bigint")
        try:
            return self.binder.bind(float(v), "double precision")
        except OverflowError:
            raise InvalidQuery(f"filter: {lit.label[:30]} is out of range") from None

    def comparison(self, node: Comparison) -> sql.Composable:
        lhs, rhs = self.operand(node.lhs), self.operand(node.rhs)
        for o in (lhs, rhs):
            if o.type == GEOMETRY:
                raise InvalidQuery(
                    f"filter: {o.label} is a geometry: use it in spatial functions "
                    "(S_INTERSECTS, ...) or IS NULL"
                )
        if not (lhs.on_property or rhs.on_property):
            raise unsupported(
                f"{lhs.label} {node.op} {rhs.label} compares two literals; one side must be a "
                "property name",
                "property-property",
            )
        if lhs.on_property and rhs.on_property:
            numeric = {lhs.type, rhs.type} <= {INTEGER, NUMBER}
            if lhs.type != rhs.type and not numeric:
                raise InvalidQuery(
                    f"filter: cannot compare {lhs.label} ({lhs.type}) with {rhs.label} ({rhs.type})"
                )
        left = lhs.sql if lhs.on_property else self.bind(lhs, rhs)
        right = rhs.sql if rhs.on_property else self.bind(rhs, lhs)
        return sql.SQL("{} {} {}").format(left, sql.SQL(node.op), right)

    def property_operand(self, node: Any, what: str) -> _Operand:
        """The left side of LIKE, BETWEEN and IN: a property (the basic classes' rule)."""
        o = self.operand(node)
        if not o.on_property:
            raise unsupported(
                f"{what} on the literal {o.label}; its left side must be a property name",
                "property-property",
            )
        return o

    def literal_operand(self, node: Any, what: str) -> _Operand:
        o = self.operand(node)
        if o.on_property:
            raise unsupported(f"{what} taken from the property {o.label}", "property-property")
        return o

    def like(self, node: Like) -> sql.Composable:
        lhs = self.property_operand(node.lhs, "LIKE")
        if lhs.type != STRING:
            raise InvalidQuery(f"filter: LIKE needs a text property, {lhs.label} is {lhs.type}")
        pattern = self.literal_operand(node.pattern, "a LIKE pattern")
        if pattern.type != STRING:
            raise InvalidQuery(f"filter: a LIKE pattern is text, {pattern.label} is not")
        # CQL2 uses SQL's own wildcards (% and _); the pattern is a bound value.
        return sql.SQL("{} {}LIKE {}").format(
            lhs.sql, sql.SQL("NOT " if node.not_ else ""), self.bind(pattern, lhs)
        )

    def between(self, node: Between) -> sql.Composable:
        lhs = self.property_operand(node.lhs, "BETWEEN")
        if lhs.type not in (INTEGER, NUMBER, STRING):
            raise InvalidQuery(f"filter: BETWEEN compares numbers, {lhs.label} is a {lhs.type}")
        low = self.literal_operand(node.low, "a BETWEEN bound")
        high = self.literal_operand(node.high, "a BETWEEN bound")
        return sql.SQL("{} {}BETWEEN {} AND {}").format(
            lhs.sql,
            sql.SQL("NOT " if node.not_ else ""),
            self.bind(low, lhs),
            self.bind(high, lhs),
        )

    def in_list(self, node: In) -> sql.Composable:
        lhs = self.property_operand(node.lhs, "IN")
        if lhs.type == GEOMETRY:
            raise InvalidQuery(f"filter: {lhs.label} is a geometry: IN compares values")
        if not node.sub_nodes:
            raise InvalidQuery("filter: IN needs at least one value")
        items = [self.bind(self.literal_operand(v, "an IN value"), lhs) for v in node.sub_nodes]
        return sql.SQL("{} {}IN ({})").format(
            lhs.sql, sql.SQL("NOT " if node.not_ else ""), sql.SQL(", ").join(items)
        )


def parse(text: str, lang: str | None) -> Any:
    """The AST of a CQL2 filter; ``lang`` is ``cql2-text`` (default) or ``cql2-json``."""
    lang = (lang or "cql2-text").lower()
    if lang == "cql2-json":
        return parse_json(text)
    if lang == "cql2-text":
        return parse_text(text)
    raise InvalidQuery(f"filter-lang={lang!r} is not supported; use cql2-text or cql2-json")


def to_sql(
    node: Any, c: Collection, privileged: bool, binder: Binder, filter_crs: Crs
) -> sql.Composable:
    """The SQL condition for a parsed CQL2 filter on ``c`` (a 400 for what it cannot be)."""
    check_supported(node)
    return _Translator(c, privileged, binder, filter_crs).condition(node)
