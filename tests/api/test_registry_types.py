"""The registry's property types come from db/models.py: a plain column is typed by its model
column, and a stated type that disagrees with the schema is refused when the registry loads."""

from __future__ import annotations

import pytest

from api.collections import BOOLEAN, COLLECTIONS, INTEGER, Collection, Prop


def _collection(*props: Prop, source: str = "commune c") -> Collection:
    return Collection(
        id="t",
        title="t",
        description="",
        source=source,
        id_expr="c.insee",
        geom_expr="c.geom",
        geometry_type="MultiPolygon",
        props=props,
        versions=(),
        default_sort=("insee",),
    )


def test_plain_columns_take_the_models_types() -> None:
    def kind(collection: str, name: str) -> str:
        prop = COLLECTIONS[collection].prop(name)
        assert prop is not None, (collection, name)
        return prop.type

    assert kind("communes", "population") == "integer" and kind("communes", "nom") == "string"
    assert kind("sites", "surface_ha") == "number" and kind("sites", "cle_en_main") == "boolean"
    assert kind("sites", "score") == "number"  # site_score, through the join's alias
    assert kind("parcels", "breakdown") == "object" and kind("parcels", "land_unit_id") == "integer"
    assert kind("territoires-2023", "programme") == "integer"
    # Expressions state theirs.
    assert kind("sites", "withdrawn") == BOOLEAN


def test_a_type_the_models_contradict_is_refused() -> None:
    with pytest.raises(ValueError, match=r"population is typed number but c.population is integer"):
        _collection(Prop("population", "c.population", "number"))
    assert _collection(Prop("population", "c.population", INTEGER)).props[0].type == INTEGER
    with pytest.raises(ValueError, match="table commune has no column popul in db/models.py"):
        _collection(Prop("popul", "c.popul"))


def test_expressions_and_other_sources_default_to_string() -> None:
    c = _collection(
        Prop("label", "c.nom || ' ' || c.insee"), Prop("big", "c.population > 1000", BOOLEAN)
    )
    assert [p.type for p in c.props] == ["string", "boolean"]
    values = _collection(Prop("nom", "v.nom"), source="(VALUES (1, 'a')) v(id, nom)")
    assert values.props[0].type == "string"
