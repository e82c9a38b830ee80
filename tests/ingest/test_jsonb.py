"""Non-finite file values: jsonb text PostgreSQL accepts, and number columns that refuse them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ingest.jsonb import json_ready, jsonb_text
from ingest.normalize import TableSpec, coerce

INF, NAN = math.inf, math.nan


def test_jsonb_text_writes_non_finite_numbers_as_their_tokens() -> None:
    value = {
        "a": INF,
        "b": [np.float64(-INF), np.float32(NAN), 1.5],
        "c": {"d": np.int64(3), "e": np.array([NAN, 2.0])},
        "f": "NaN",
    }
    text = jsonb_text(value)
    assert json.loads(text) == {
        "a": "Infinity",
        "b": ["-Infinity", "NaN", 1.5],
        "c": {"d": 3, "e": ["NaN", 2.0]},
        "f": "NaN",
    }
    assert "Infinity," not in text and ": NaN" not in text  # no bare token jsonb would refuse
    assert jsonb_text({"x": 1, "n": None}) == '{"x": 1, "n": null}'
    assert json_ready(np.float64(2.5)) == 2.5 and type(json_ready(np.float64(2.5))) is float


SPEC = TableSpec(
    table="t",
    key=("id",),
    columns={"id": "text", "surface_ha": "double precision", "contenance_m2": "integer"},
)


def test_coerce_refuses_non_finite_numbers_row_by_row() -> None:
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(7)],
            "surface_ha": [1.5, INF, -INF, NAN, 2.0, 3.0, 4.0],  # NaN here is a null
            "contenance_m2": ["1500", "1600", "1600", "NaN", "-Infinity", "12,5", " inf "],
        }
    )
    problems = np.full(len(frame), None, dtype=object)
    out = coerce(frame, SPEC, problems)
    assert problems.tolist() == [
        None,
        "wrong type: surface_ha = Infinity is not a finite number",
        "wrong type: surface_ha = -Infinity is not a finite number",
        "wrong type: contenance_m2 = 'NaN' is not a finite number",  # the surface is null
        "wrong type: contenance_m2 = '-Infinity' is not a finite number",
        "wrong type: contenance_m2 = '12,5' is not an integer",
        "wrong type: contenance_m2 = ' inf ' is not a finite number",
    ]
    assert out["surface_ha"].isna().tolist() == [False, True, True, True, False, False, False]
    assert out["contenance_m2"].tolist()[:1] == [1500]


def test_coerce_names_an_integer_column_of_floats_with_infinity() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "contenance_m2": [1500.0, INF, 1500.5]})
    problems = np.full(len(frame), None, dtype=object)
    out = coerce(frame, SPEC, problems)
    assert problems.tolist() == [
        None,
        "wrong type: contenance_m2 = Infinity is not a finite number",
        "wrong type: contenance_m2 = 1500.5 is not an integer",
    ]
    assert out["contenance_m2"].tolist() == [1500, pd.NA, pd.NA]
