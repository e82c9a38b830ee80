"""The migrations build the schema the models describe, with typed geometries and GiST indexes."""

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, Integer, MetaData, text

from db.models import metadata


def test_every_model_table_exists(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    assert set(metadata.tables) <= tables


def test_geometries_are_typed_2154_and_indexed(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns")
        ).all()
        indexed = set(
            conn.execute(
                text(
                    "SELECT t.relname || '.' || a.attname FROM pg_index i "
                    "JOIN pg_class t ON t.oid = i.indrelid "
                    "JOIN pg_class ix ON ix.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = ix.relam JOIN pg_attribute a "
                    "ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) WHERE am.amname = 'gist'"
                )
            ).scalars()
        )
    assert rows, "no geometry column"
    for table, column, srid, gtype in rows:
        assert srid == 2154, (table, column)
        assert gtype in {"MULTIPOLYGON", "POINT", "MULTILINESTRING"}, (table, column, gtype)
        assert f"{table}.{column}" in indexed, f"{table}.{column} has no GiST index"


def test_codes_are_text(engine: Engine) -> None:
    with engine.connect() as conn:
        types: dict[str, str] = dict(
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name, data_type "
                    "FROM information_schema.columns "
                    "WHERE column_name IN ('insee', 'siren', 'idu', 'siren_epci')"
                )
            ).all()
        )
    assert types and all(t in ("character varying", "text") for t in types.values()), types


def test_parcel_sheet_index_leaves_out_etalab_nulls(engine: Engine) -> None:
    # Migration 0002: Etalab parcels (no sheet) are not in the index an EDIGEO reload uses.
    with engine.connect() as conn:
        definition = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_parcel_sheet'")
        ).scalar_one()
    assert definition.endswith("WHERE (sheet IS NOT NULL)"), definition
    index = next(i for i in metadata.tables["parcel"].indexes if i.name == "ix_parcel_sheet")
    assert str(index.dialect_options["postgresql"]["where"]) == "sheet IS NOT NULL"


def test_databases_are_created_with_the_c_collation(engine: Engine) -> None:
    # db/create.py: codes sort by bytes (as the cluster's C.UTF-8 already did) with memcmp and
    # abbreviated keys; upper/lower keep the cluster's character classes.
    with engine.connect() as conn:
        collate, ctype = conn.execute(
            text("SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()")
        ).one()
        assert collate == "C" and ctype.endswith("UTF-8"), (collate, ctype)
        assert conn.execute(text("SELECT upper('île-de-france')")).scalar() == "ÎLE-DE-FRANCE"
        ordered = conn.execute(
            text(
                "SELECT array_agg(x ORDER BY x) "
                "FROM unnest(ARRAY['Île', 'Isère', 'Ain', '2A004', '01001']) x"
            )
        ).scalar()
    assert ordered == ["01001", "2A004", "Ain", "Isère", "Île"]


def _schema_diff(engine: Engine, target: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to bring the database to ``target``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": alembic_helpers.include_object,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, target))


def test_models_and_migrations_agree(engine: Engine) -> None:
    # Tables, columns, types, nullability, server defaults, keys, indexes: db/models.py is
    # the one description of the schema, the migrations must build exactly it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an index Alembic cannot compare is a failure too
        assert _schema_diff(engine, metadata) == []


def test_the_comparison_sees_a_drift(engine: Engine) -> None:
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["parcel"].c.sheet.nullable = False
    drifted.tables["site"].c.prix_m2.type = Integer()
    changes = {(d[0][0], d[0][2], d[0][3]) for d in _schema_diff(engine, drifted)}
    assert changes == {("modify_nullable", "parcel", "sheet"), ("modify_type", "site", "prix_m2")}
