"""Place search on what French users type: one normalised form of names, indexed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00

- Extensions ``unaccent`` and ``pg_trgm``: both are trusted, so the database's owner creates them
  without being a superuser.
- ``foncier_search_key(text)``: THE normalised form a name is matched on (``/places``): accents
  and case dropped, every run of other characters (hyphens, apostrophes, spaces, quotes) one
  space, and the words "st"/"ste" read as "saint"/"sainte"; "Saint-Étienne", "saint etienne" and
  "ST-ETIENNE" all give "saint etienne". ``unaccent`` itself is only STABLE (its dictionary could
  be changed); the wrapper names the dictionary and is declared IMMUTABLE so it can be indexed.
- Trigram GIN indexes on that key for the names of communes, EPCIs and Territoires d'industrie,
  so a "contains" match stays an index scan.
- ``territory_commune`` keeps its rows, but every branch now gives ``code`` the view's own type
  (varchar): PostgreSQL pushes a condition on a UNION ALL column into the branches only when
  they agree on its type, and ``scot_id``/``id_ti`` are text. ``code = 'ti-8401'`` then filters
  each branch instead of computing every territory's communes first (the ``/search`` filters,
  ``/territories``, ``/places`` bboxes).
- btree indexes on ``commune.dep`` and ``commune.reg``: the département and region branches of
  the view select communes by them.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The schemas are read from the catalogue (regnamespace prints them quoted when needed): the
# function must not depend on the search_path, which pg_dump's restore empties.
SEARCH_KEY = r"""
CREATE FUNCTION foncier_search_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(
        btrim(regexp_replace(
            lower({unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, name)),
            '[^a-z0-9]+', ' ', 'g')),
        '\mst(e?)\M', 'saint\1', 'g')
$$
"""
# The rule of migration 0003, unchanged but for the casts of `code`.
TERRITORY_COMMUNE = """
CREATE OR REPLACE VIEW territory_commune AS
SELECT 'commune'::text AS kind, c.insee::varchar AS code, c.insee FROM commune c
UNION ALL
SELECT 'epci', c.siren_epci::varchar, c.insee FROM commune c WHERE c.siren_epci IS NOT NULL
UNION ALL
SELECT 'departement', c.dep::varchar, c.insee FROM commune c
UNION ALL
SELECT 'region', c.reg::varchar, c.insee FROM commune c WHERE c.reg IS NOT NULL
UNION ALL
SELECT 'scot', s.scot_id::varchar, s.insee FROM scot_membre s
UNION ALL
SELECT DISTINCT 'territoire-' || x.programme, x.id_ti::varchar, x.insee FROM (
    SELECT m.programme, m.id_ti, c.insee
    FROM territoire_membre m JOIN commune c ON c.siren_epci = m.siren
    WHERE m.nature = 'EPCI'
    UNION ALL
    SELECT m.programme, m.id_ti, c.insee
    FROM territoire_membre m JOIN commune c ON c.siren = m.siren
    WHERE m.nature = 'COM'
    UNION ALL
    SELECT t.programme, t.id_ti, c.insee
    FROM territoire t
    JOIN commune c ON t.geom IS NOT NULL AND c.geom && t.geom
        AND ST_Intersects(t.geom, ST_PointOnSurface(c.geom))
    WHERE EXISTS (
        SELECT 1 FROM territoire_membre m
        WHERE m.programme = t.programme AND m.id_ti = t.id_ti AND m.nature <> 'EPCI'
    )
) x
"""
# (index, table, name column)
NAME_INDEXES = (
    ("ix_commune_nom_key", "commune", "nom"),
    ("ix_epci_nom_key", "epci", "nom"),
    ("ix_territoire_lib_key", "territoire", "lib"),
)


def _schema(extension: str) -> str:
    return str(
        op.get_bind()
        .execute(
            sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = :e"),
            {"e": extension},
        )
        .scalar_one()
    )


def _view_0003() -> str:
    """Migration 0003's definition of the view, read from its file (one copy of the old rule)."""
    path = Path(__file__).with_name("0003_checkable_figures.py")
    spec = importlib.util.spec_from_file_location("foncier_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.TERRITORY_COMMUNE).replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(SEARCH_KEY.format(unaccent=_schema("unaccent")))
    trgm = _schema("pg_trgm")
    for index, table, column in NAME_INDEXES:
        op.execute(
            f"CREATE INDEX {index} ON {table} "
            f"USING gin (foncier_search_key({column}) {trgm}.gin_trgm_ops)"
        )
    op.create_index(op.f("ix_commune_dep"), "commune", ["dep"])
    op.create_index(op.f("ix_commune_reg"), "commune", ["reg"])
    op.execute(TERRITORY_COMMUNE)


def downgrade() -> None:
    op.execute(_view_0003())
    op.drop_index(op.f("ix_commune_reg"), table_name="commune")
    op.drop_index(op.f("ix_commune_dep"), table_name="commune")
    for index, table, _ in NAME_INDEXES:
        op.drop_index(index, table_name=table)
    op.execute("DROP FUNCTION foncier_search_key(text)")
    # The extensions stay: other objects of the database may use them.
