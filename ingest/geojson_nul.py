r"""GeoJSON string properties holding a NUL character (U+0000), which GDAL cuts short.

GDAL hands a string property over as a C string, so ``"Zo\u0000ne"`` (or a bare NUL byte,
which it accepts too) arrives as ``"Zo"``, and a list's elements likewise: the row would load
with a shortened value and nothing said. When the file's bytes hold a NUL (found in the
UTF-8 pass :mod:`ingest.read` makes anyway), the file is decoded once more by Python's JSON
decoder, feature by feature, and the properties holding a NUL are put back whole into the
frame GDAL read. Normalisation then refuses the row by column name
(:func:`ingest.normalize.coerce`) and the quarantine's raw record keeps the value
(:mod:`ingest.jsonb`). A rare, slower path: files without a NUL never take it.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ingest.errors import SourceError
from ingest.jsonb import NUL

# How a NUL is written in the bytes of a GeoJSON file: escaped, or bare (invalid, read anyway).
NUL_BYTES = (b"\\u0000", b"\x00")
_SPACE = re.compile(r"\s*")

NulProperties = dict[int, dict[str, object]]


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, list):  # GDAL cuts a string list's elements short too
        return any(isinstance(v, str) and NUL in v for v in value)
    return False  # objects: GDAL keeps them as JSON, NUL and all


def _features(text: str, decoder: json.JSONDecoder) -> Iterator[object]:
    """The features of a FeatureCollection's text, decoded one at a time (the members of
    the top-level object in any order; only ``features`` is kept)."""

    def skip(pos: int) -> int:
        match = _SPACE.match(text, pos)
        assert match is not None  # \s* always matches
        return match.end()

    pos = skip(0)
    if text[pos] != "{":
        raise ValueError(f"expected an object at character {pos}")
    pos = skip(pos + 1)
    while text[pos] != "}":
        name, pos = decoder.raw_decode(text, pos)
        pos = skip(skip(pos) + 1)  # past the ':'
        if name != "features":
            pos = skip(decoder.raw_decode(text, pos)[1])
        else:
            pos = skip(pos + 1)  # past the '['
            while text[pos] != "]":
                feature, pos = decoder.raw_decode(text, pos)
                yield feature
                pos = skip(pos)
                if text[pos] == ",":
                    pos = skip(pos + 1)
            pos = skip(pos + 1)
        if text[pos] == ",":
            pos = skip(pos + 1)


def nul_properties(path: Path, encoding: str | None = None) -> NulProperties:
    """The string properties of ``path`` (GeoJSON, gzipped or not) that hold a NUL, by
    feature index (0-based, GDAL's order), as the file has them.

    Raises:
        SourceError: the file cannot be walked as a FeatureCollection (GDAL read it, so this
            is unlikely): the message says a NUL is there and would be cut short.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding or "utf-8-sig") as fh:
        text = fh.read()
    decoder = json.JSONDecoder(strict=False)  # strict=False: a bare NUL, as GDAL reads it
    found: NulProperties = {}
    try:
        for index, feature in enumerate(_features(text, decoder)):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict):
                nul = {str(k): v for k, v in props.items() if _holds_nul(v)}
                if nul:
                    found[index] = nul
    except (ValueError, IndexError) as exc:
        raise SourceError(
            f"{path}: holds a NUL character (U+0000), which GDAL cuts short, and its features "
            f"could not be walked to find which ({exc})"
        ) from exc
    return found


def restore_nul(frame: pd.DataFrame, found: NulProperties, start: int = 0) -> pd.DataFrame:
    """``frame`` (features ``start`` onwards, in file order) with the values of ``found``
    put back whole where GDAL cut them short at their NUL. Only rows and columns in
    ``found`` are touched: a column is rebuilt once, with its own dtype."""
    cells: dict[str, dict[int, object]] = {}
    for index, props in found.items():
        if start <= index < start + len(frame):
            for name, value in props.items():
                if name in frame.columns:
                    cells.setdefault(name, {})[index - start] = value
    for name, by_pos in cells.items():
        column = frame[name]
        values = column.to_numpy(dtype=object, na_value=None).copy()
        for pos, value in by_pos.items():
            values[pos] = value  # a list stays one cell of an object array
        if column.dtype == object:
            frame[name] = pd.Series(values, index=frame.index, dtype=object)
        else:
            frame[name] = pd.Series(pd.array(values, dtype=column.dtype), index=frame.index)
    return frame


def nul_in(line: bytes) -> bool:
    """Whether a line of a GeoJSON file's bytes holds a NUL, escaped or bare."""
    return any(b in line for b in NUL_BYTES)
