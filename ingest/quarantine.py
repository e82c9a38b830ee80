"""Quarantine: the rows a load refused, with why and their raw source record.

Rows refused in Python (normalisation) and in SQL (staging checks) end up as
:class:`QuarantineRow` and are written to the ``quarantine`` table in the run's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import shapely

from geo.wkb import polygon_wkt
from ingest.jsonb import json_ready, jsonb_text
from ingest.normalize import TableLoad


@dataclass
class QuarantineRow:
    feature_index: int | None
    key: str | None
    reason: str
    raw: dict[str, object] | None


def raw_record(raw: pd.DataFrame, pos: int) -> dict[str, object]:
    """Row ``pos`` of the source records as JSON-ready values (geometries as WKT, truncated)."""
    record: dict[str, object] = {}
    for col, value in raw.iloc[pos].items():
        if isinstance(value, bytes):  # WKB from a file read in batches, or GEOS refused it
            try:
                geom = shapely.from_wkb(value, on_invalid="fix")
            except shapely.errors.GEOSException:
                geom = None
            if geom is None:  # e.g. a ring whose end points are NaN: written without GEOS
                record[str(col)] = polygon_wkt(value) or value.hex()
                continue
            value = geom
        if isinstance(value, shapely.Geometry):
            wkt = value.wkt
            record[str(col)] = wkt if len(wkt) <= 20_000 else wkt[:20_000] + "…"
        elif value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            record[str(col)] = None
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            record[str(col)] = value.item()
        elif isinstance(value, (dict, list, tuple, np.ndarray)):  # GeoJSON objects and lists
            record[str(col)] = json_ready(value)
        else:
            record[str(col)] = value if isinstance(value, (int, float, bool, str)) else str(value)
    return record


def python_quarantine(load: TableLoad) -> list[QuarantineRow]:
    """The rows of ``load`` that normalisation refused, with their raw source records."""
    rows = []
    spec = load.spec
    for pos in np.flatnonzero(~load.ok):
        key_parts = [load.frame.at[pos, k] for k in spec.key]
        key = None if any(pd.isna(k) for k in key_parts) else "/".join(map(str, key_parts))
        rows.append(
            QuarantineRow(
                int(load.frame.at[pos, "_feature_index"]),
                key,
                str(load.problems[pos]),
                raw_record(load.raw, pos),
            )
        )
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
                    r.key,
                    r.reason,
                    None if r.raw is None else jsonb_text(r.raw),
                )
            )
