"""A layer's :class:`~ingest.normalize.TableSpec` built from the table ``db/models.py`` describes.

The models are the one description of the schema (migrations build it, a test compares the two):
a layer names the columns its files supply, and their SQL types, geometry types and whether the
table carries provenance (``run_id``, ``vintage``) are read from ``db.models.metadata``. The layer
keeps only what the models cannot say: the merge key, the scope of replacement, which columns a
row must have, and its SQL steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict, get_args

from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql

from db.models import SRID, metadata
from ingest.normalize import GeometryType, SqlType, TableSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_SQL_TYPES: frozenset[str] = frozenset(get_args(SqlType))
_GEOMETRY_TYPES: frozenset[str] = frozenset(get_args(GeometryType))


class SpecOptions(TypedDict, total=False):
    """What a layer says of its table beyond the columns (see :class:`TableSpec`)."""

    required: tuple[str, ...]
    scope: str | None
    delete_missing: bool
    update_only: bool
    optional_geometries: tuple[str, ...]
    post_stage_sql: str | None
    checks: tuple[tuple[str, str], ...]
    post_merge_sql: str | None
    notes: tuple[tuple[str, str], ...]


def sql_template(template: str, **parts: sql.Composable) -> str:
    """A layer's SQL step with ``parts`` composed in by psycopg, ``{stage}`` left for the loader.

    Layer SQL (``post_stage_sql``, ``post_merge_sql``, ``notes``) is one psycopg.sql syntax:
    the loader fills ``{stage}`` with the table's staging table (:func:`ingest.staging.layer_sql`);
    a step needing another table or a constant says so here, quoted as psycopg quotes it
    (``stage=sql.Identifier("territoire")``: a step written for staging run on a table).

    Example:
        >>> print(sql_template("UPDATE {t} SET s = {v} FROM {stage}", t=sql.Identifier("x"),
        ...     v=sql.Literal("it's")))
        UPDATE "x" SET s = 'it''s' FROM {stage}
    """
    parts = {"stage": sql.SQL("{stage}"), **parts}  # a step may name the table it fills
    return sql.SQL(template).format(**parts).as_string(None)


def model_table(name: str) -> Table:
    """The SQLAlchemy table ``name`` of ``db.models``, or ValueError naming the known ones."""
    try:
        return metadata.tables[name]
    except KeyError:
        known = ", ".join(sorted(metadata.tables))
        raise ValueError(f"no table {name!r} in db/models.py (tables: {known})") from None


def sql_type(column: Column[Any]) -> SqlType:
    """The staging type of a model column, one of :data:`~ingest.normalize.SqlType`.

    Codes of fixed width (``VARCHAR(n)``) stage as ``text``: the target's own type holds them
    to their width when the rows are merged.

    Example:
        >>> sql_type(metadata.tables["parcel"].c.insee), sql_type(metadata.tables["site"].c.pene)
        ('text', 'boolean')
    """
    compiled = column.type.compile(dialect=_DIALECT).lower()
    name = "text" if compiled.startswith("varchar") else compiled
    if name not in _SQL_TYPES:
        raise ValueError(
            f"{column.table.name}.{column.name} is {compiled} in db/models.py: the loader "
            f"stages only {', '.join(sorted(_SQL_TYPES))}"
        )
    return name  # type: ignore[return-value]


def geometry_type(column: Column[Any]) -> GeometryType:
    """The geometry type of a model's geometry column (always EPSG:2154).

    Example:
        >>> geometry_type(metadata.tables["site"].c.perimeter)
        'MULTIPOLYGON'
    """
    where = f"{column.table.name}.{column.name}"
    gtype = column.type
    if not isinstance(gtype, Geometry):
        raise ValueError(f"{where} is not a geometry column in db/models.py")
    if gtype.srid != SRID or gtype.geometry_type not in _GEOMETRY_TYPES:
        raise ValueError(
            f"{where} is {gtype.geometry_type} in EPSG:{gtype.srid}: the loader writes "
            f"{' or '.join(sorted(_GEOMETRY_TYPES))} in EPSG:{SRID}"
        )
    return gtype.geometry_type  # type: ignore[return-value]


def _columns(table: Table, names: Iterable[str]) -> list[Column[Any]]:
    missing = [n for n in names if n not in table.c]
    if missing:
        raise ValueError(
            f"table {table.name} has no column {', '.join(missing)} in db/models.py "
            f"(columns: {', '.join(table.c.keys())})"
        )
    return [table.c[n] for n in names]


def _check_named(spec: TableSpec) -> None:
    """Key, required, scope and optional geometries must be columns the spec loads."""
    loaded = set(spec.all_columns)
    named = {
        "key": spec.key,
        "required": spec.required,
        "scope": (spec.scope,) if spec.scope else (),
        "optional_geometries": spec.optional_geometries,
    }
    for what, columns in named.items():
        if stray := [c for c in columns if c not in loaded]:
            raise ValueError(
                f"{spec.table}: {what} names {', '.join(stray)}, not among the columns the "
                f"layer loads ({', '.join(spec.all_columns)})"
            )


def table_spec(
    table: str,
    key: tuple[str, ...],
    columns: Iterable[str],
    geometries: Iterable[str] = (),
    **options: Unpack[SpecOptions],
) -> TableSpec:
    """The spec loading ``columns`` and ``geometries`` of ``table``, typed from ``db.models``.

    Args:
        table: a table of ``db.models``.
        key: natural key columns (conflict target of the merge).
        columns: the plain columns the layer's files supply, in COPY order.
        geometries: the geometry columns they supply (EPSG:2154).
        options: the rest of :class:`TableSpec` (required, scope, SQL steps...).

    Raises:
        ValueError: a table or column the models do not have, a type the loader cannot stage,
            or a key/required/scope column the spec does not load.

    Example:
        >>> spec = table_spec("region", ("code",), ("code", "nom"), required=("nom",))
        >>> spec.columns, spec.provenance
        ({'code': 'text', 'nom': 'text'}, True)
    """
    model = model_table(table)
    spec = TableSpec(
        table=table,
        key=key,
        columns={c.name: sql_type(c) for c in _columns(model, columns)},
        geometries={c.name: geometry_type(c) for c in _columns(model, geometries)},
        provenance="run_id" in model.c and "vintage" in model.c,
        **options,
    )
    _check_named(spec)
    return spec
