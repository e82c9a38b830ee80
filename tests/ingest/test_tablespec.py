"""Layer specs are typed from db/models.py, and a spec the models cannot back is refused."""

import importlib
import pkgutil

import pytest

import ingest.layers
from db.models import metadata
from ingest.normalize import TableSpec
from ingest.tablespec import table_spec


def _layer_specs() -> list[TableSpec]:
    modules = [
        importlib.import_module(f"ingest.layers.{m.name}")
        for m in pkgutil.iter_modules(ingest.layers.__path__)
    ]
    return [v for m in modules for v in vars(m).values() if isinstance(v, TableSpec)]


def test_every_layer_spec_has_the_models_types() -> None:
    specs = {spec.table: spec for spec in _layer_specs()}
    assert {"parcel", "site", "friche", "enaf_flow", "territoire"} <= set(specs)
    site = specs["site"]
    assert site.columns["insee_list"] == "text[]" and site.columns["attributes"] == "jsonb"
    assert site.columns["surface_ha"] == "double precision" and site.columns["pene"] == "boolean"
    assert site.geometries == {"geom": "POINT", "perimeter": "MULTIPOLYGON"}
    assert specs["territoire"].columns["programme"] == "smallint"
    for spec in _layer_specs():
        table = metadata.tables[spec.table]
        assert set(spec.all_columns) <= set(table.c.keys()), spec.table
        assert spec.provenance == ("run_id" in table.c), spec.table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("parcle", ("idu",), ("idu",)), "no table 'parcle' in db/models.py"),
        (("parcel", ("idu",), ("idu", "surface")), "table parcel has no column surface"),
        (("parcel_score", ("idu",), ("idu", "computed_at")), "parcel_score.computed_at is"),
        (("parcel", ("idu",), ("idu",), ("insee",)), "parcel.insee is not a geometry column"),
        (("parcel", ("idu",), ("insee",)), "parcel: key names idu, not among the columns"),
    ],
)
def test_a_spec_the_models_cannot_back_is_refused(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table_spec(*args)  # type: ignore[arg-type]


def test_required_and_scope_must_be_loaded_columns() -> None:
    with pytest.raises(ValueError, match="required names sheet"):
        table_spec("parcel", ("idu",), ("idu", "insee"), required=("sheet",))
    with pytest.raises(ValueError, match="scope names dep"):
        table_spec("commune", ("insee",), ("insee",), scope="dep")
