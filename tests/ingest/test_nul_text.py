"""NUL characters (U+0000): jsonb text that keeps them visible, text columns that refuse them,
and GeoJSON string properties put back whole where GDAL cut them short."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.geojson_nul import nul_properties, restore_nul
from ingest.jsonb import json_ready, jsonb_text, nul_free
from ingest.normalize import TableSpec, coerce

NUL = "\x00"
SHOWN = "\\u0000"


def test_jsonb_text_writes_nul_as_visible_text() -> None:
    value = {f"k{NUL}": [f"a{NUL}b", np.array([f"{NUL}"], dtype=object)], "n": float("inf")}
    text = jsonb_text(value)
    assert json.loads(text) == {f"k{SHOWN}": [f"a{SHOWN}b", [SHOWN]], "n": "Infinity"}
    # No escape jsonb refuses: the only \u0000 left are the visible backslashes, doubled.
    assert text.count("\\\\u0000") == 3 and text.count("\\u0000") == 3
    assert jsonb_text({"p": "C:\\u0000"}) == '{"p": "C:\\\\u0000"}'  # the file's own text
    assert nul_free("plain") == "plain" and json_ready(f"x{NUL}") == f"x{SHOWN}"


def test_coerce_refuses_nul_in_text_by_column() -> None:
    spec = TableSpec(table="t", key=("id",), columns={"id": "text", "nom": "text"})
    for nom in (
        pd.Series(["a", f"b{NUL}", None, f" {NUL} "], dtype=object),  # read whole
        pd.Series(pd.array(["a", f"b{NUL}", None, f" {NUL} "], dtype=pd.ArrowDtype(pa.string()))),
        pd.Series(["a", f"b{NUL}", 3, f" {NUL} "], dtype=object),  # mixed: the other path
    ):
        frame = pd.DataFrame({"id": ["r0", "r1", f"r{NUL}2", "r3"], "nom": nom})
        problems = np.full(len(frame), None, dtype=object)
        coerce(frame, spec, problems)
        assert problems.tolist() == [
            None,
            "nom contains a NUL character (U+0000)",
            "id contains a NUL character (U+0000)",  # columns in order: the first wins
            "nom contains a NUL character (U+0000)",
        ]


def test_nul_properties_found_in_any_member_order(tmp_path: Path) -> None:
    features = [
        {"type": "Feature", "properties": {"nom": "a"}, "geometry": None},
        {"properties": {"nom": f"b{NUL}c", "n": 1, "l": ["x", f"{NUL}"]}, "type": "Feature"},
        {"type": "Feature", "properties": None, "geometry": None},
        {"type": "Feature", "properties": {"o": {"k": NUL}, "t": "C:\\u0000"}},
    ]
    doc = {"crs": {"type": "name"}, "features": features, "type": "FeatureCollection"}
    path = tmp_path / "f.geojson.gz"
    path.write_bytes(gzip.compress(json.dumps(doc, indent=2).encode()))
    # Objects are kept whole by GDAL; the text backslash-u0000 is no NUL.
    assert nul_properties(path) == {1: {"nom": f"b{NUL}c", "l": ["x", NUL]}}


def test_restore_nul_keeps_dtypes_and_positions() -> None:
    frame = pd.DataFrame(
        {
            "nom": pd.array(["a", "b", None], dtype="string"),
            "l": pd.Series([None, np.array(["x"]), None], dtype=object),
        }
    )
    found = {11: {"nom": f"b{NUL}c", "l": ["x", NUL], "absent": NUL}, 40: {"nom": NUL}}
    out = restore_nul(frame, found, start=10)
    assert out["nom"].dtype == "string"
    assert out["nom"].tolist() == ["a", f"b{NUL}c", pd.NA]
    assert out["l"].tolist()[1] == ["x", NUL]
