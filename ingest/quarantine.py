"""Quarantine: the rows a load refused, with why and their raw source record.

Rows refused in Python (normalisation) and in SQL (staging checks) end up as
:class:`QuarantineRow` and are written to the ``quarantine`` table in the run's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import shapely

from geo.wkb import polygon_wkt
from ingest.jsonb import json_ready, jsonb_text, nul_free
from ingest.normalize import TableLoad


@dataclass
class QuarantineRow:
    """A row refused by a load: where it was in the file, its key, why, and the raw record."""

    feature_index: int | None
    key: str | None
    reason: str
    raw: dict[str, object] | None


def raw_record(raw: pd.DataFrame, pos: int) -> dict[str, object]:
    """Row ``pos`` of the source records as JSON-ready values (geometries as WKT, truncated)."""
    return raw_records(raw, [pos])[0]


def raw_records(raw: pd.DataFrame, positions: Sequence[int]) -> list[dict[str, object]]:
    """Rows ``positions`` of the source records, as :func:`raw_record` words each one.

    The rows are taken in one selection: a row at a time (``iloc[pos]``) builds a mixed-type
    Series per row, which costs more than the few refused rows of a batch are worth.
    """
    if not len(positions):
        return []
    rows = raw.iloc[list(positions)].to_dict("records")
    return [{str(col): _json_value(value) for col, value in row.items()} for row in rows]


def _json_value(value: object) -> object:
    if isinstance(value, bytes):  # WKB from a file read in batches, or GEOS refused it
        try:
            geom = shapely.from_wkb(value, on_invalid="fix")
        except shapely.errors.GEOSException:
            geom = None
        if geom is None:  # e.g. a ring whose end points are NaN: written without GEOS
            return polygon_wkt(value) or value.hex()
        value = geom
    if isinstance(value, shapely.Geometry):
        wkt = value.wkt
        return wkt if len(wkt) <= 20_000 else wkt[:20_000] + "…"
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (dict, list, tuple, np.ndarray)):  # GeoJSON objects and lists
        return json_ready(value)
    return value if isinstance(value, (int, float, bool, str)) else str(value)


def python_quarantine(load: TableLoad) -> list[QuarantineRow]:
    """The rows of ``load`` that normalisation refused, with their raw source records."""
    spec = load.spec
    bad = np.flatnonzero(~load.ok)
    if not len(bad):
        return []
    keys = load.frame[list(spec.key)].iloc[bad].to_numpy(dtype=object)
    indexes = load.frame["_feature_index"].to_numpy()[bad]
    rows = []
    for pos, key_parts, index, raw in zip(
        bad, keys, indexes, raw_records(load.raw, bad.tolist()), strict=True
    ):
        key = None if any(pd.isna(k) for k in key_parts) else "/".join(map(str, key_parts))
        rows.append(QuarantineRow(int(index), key, str(load.problems[pos]), raw))
    return rows


def write_quarantine(
    cur: psycopg.Cursor, run_id: int, layer: str, source: str, rows: list[QuarantineRow]
) -> None:
    """Insert quarantine rows for a run (COPY: a file of mostly bad rows stays fast)."""
    if not rows:
        return
    with cur.copy(
        "COPY quarantine (run_id, layer, source, feature_index, key, reason, raw) FROM STDIN"
    ) as copy:
        for r in rows:
            copy.write_row(
                (
                    run_id,
                    layer,
                    source,
                    r.feature_index,
                    # The key (and a reason quoting a cell) may hold the NUL that refused the row.
                    None if r.key is None else nul_free(r.key),
                    nul_free(r.reason),
                    None if r.raw is None else jsonb_text(r.raw),
                )
            )
