"""JSON Schema types of the collections' properties, read from the models (``db/models.py``).

A property that is a plain column of a model table (``alias.column`` over the collection's
``source``) is typed by its column, so the registry never restates the schema; expressions
(``coalesce(...)``, a comparison) state their type themselves.
"""

from __future__ import annotations

import re

from sqlalchemy import ARRAY, JSON, Boolean, Date, DateTime, Float, Integer, Numeric, String

from db.models import metadata

# "table alias" at the start of a source or after JOIN (the registry's own SQL, never input).
_SOURCE_TABLE = re.compile(r"(?:^|\bJOIN\s+)(\w+)\s+(\w+)", re.IGNORECASE)
_COLUMN = re.compile(r"(\w+)\.(\w+)")
_JSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (ARRAY, "array"),
    (Boolean, "boolean"),
    (Integer, "integer"),
    ((Float, Numeric), "number"),
    (JSON, "object"),
    ((String, Date, DateTime), "string"),
)


def source_tables(source: str) -> dict[str, str]:
    """The model tables a collection's ``source`` reads, by alias.

    Example:
        >>> source_tables("site s LEFT JOIN site_score sc ON sc.site_id = s.id")
        {'s': 'site', 'sc': 'site_score'}
    """
    pairs = _SOURCE_TABLE.findall(source.strip())
    return {alias: table for table, alias in pairs if table in metadata.tables}


def column_type(source: str, expr: str) -> str | None:
    """The JSON Schema type of ``expr`` when it is a plain column of a model table of
    ``source`` (None otherwise).

    Raises:
        ValueError: the table has no such column, or the column a type with no JSON name.

    Example:
        >>> column_type("parcel p", "p.contenance_m2"), column_type("parcel p", "p.idu || 'x'")
        ('integer', None)
    """
    found = _COLUMN.fullmatch(expr)
    table = source_tables(source).get(found[1]) if found else None
    if found is None or table is None:
        return None
    column = metadata.tables[table].c.get(found[2])
    if column is None:
        raise ValueError(f"{expr}: table {table} has no column {found[2]} in db/models.py")
    for kinds, name in _JSON_TYPES:
        if isinstance(column.type, kinds):
            return name
    raise ValueError(f"{expr}: {table}.{found[2]} is {column.type}, which has no JSON type")
