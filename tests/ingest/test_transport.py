"""Transport layers (`rail_lines`, `freight_ports`) on real samples: counts, refusals, reruns."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import LayoutError
from ingest.sources import SAMPLES as SAMPLE_FILES
from tests.conftest import SAMPLES, scalar

RAIL = SAMPLES / "transport" / "sncf_rfn_lignes_sample.geojson.gz"
PORTS = SAMPLES / "transport" / "ports_fret_interieurs_osm.geojson"
# Counted by hand in the sample: `zcat ... | jq '.features | length'` = 193 LineStrings, of
# which two pairs are the same line twice in the publication (same `nom`, same 149 and 187
# points: "Ligne de Villeneuve-St-Georges à Montargis", "Ligne d'Andelot-en-Montagne à La
# Cluse"): 191 rows, the second copy of each pair quarantined as a duplicate.
RAIL_FEATURES, RAIL_DUPLICATES = 193, 2
# 33 points; 24 carry an OpenStreetMap id, 9 have `osmId` 0 (placed by hand, ids hashed).
PORTS_FEATURES, PORTS_OSM = 33, 24


def _changes(report) -> int:  # type: ignore[no-untyped-def]
    return sum(t.inserted + t.updated + t.deleted for t in report.tables)


def _features(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def test_samples_are_loaded_by_ingest_samples() -> None:
    layers = {s.path: s.layer for s in SAMPLE_FILES}
    assert layers["transport/sncf_rfn_lignes_sample.geojson.gz"] == "rail_lines"
    assert layers["transport/ports_fret_interieurs_osm.geojson"] == "freight_ports"


def test_rail_sample_counts_and_duplicates(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("rail_lines", RAIL, vintage="SNCF RFN 2026-02")
    assert (report.loaded, report.quarantined) == (RAIL_FEATURES - RAIL_DUPLICATES, 2)
    reasons = scalar(clean_db, "SELECT string_agg(DISTINCT reason, '|') FROM quarantine")
    assert "duplicate" in str(reasons)
    names = scalar(
        clean_db,
        "SELECT string_agg(raw ->> 'nom', '|' ORDER BY raw ->> 'nom') FROM quarantine",
    )
    andelot, villeneuve = (
        "Ligne d'Andelot-en-Montagne à La Cluse",
        "Ligne de Villeneuve-St-Georges à Montargis",
    )
    assert names == f"{andelot}|{villeneuve}"
    kinds = "SELECT string_agg(DISTINCT GeometryType(geom) || ST_SRID(geom), ',') FROM rail_line"
    assert scalar(clean_db, kinds) == "MULTILINESTRING2154"
    # ~11 400 km of line in the sample region (length of the 193 features in Lambert-93:
    # 11 364.5 km, less the two duplicates).
    km = float(scalar(clean_db, "SELECT sum(ST_Length(geom)) / 1000 FROM rail_line"))  # type: ignore[arg-type]
    assert 10_500 < km < 11_364.5
    lyon = "SELECT count(*) FROM rail_line WHERE nom = 'Ligne de Paris-Lyon à Marseille-St-Charles'"
    assert scalar(clean_db, lyon) == 1


def test_rail_rerun_changes_nothing(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    load("rail_lines", RAIL)
    version = "SELECT version FROM layer_version WHERE layer = 'rail_lines'"
    assert scalar(clean_db, version) == 1
    again = load("rail_lines", RAIL)
    assert _changes(again) == 0 and again.loaded == RAIL_FEATURES - RAIL_DUPLICATES
    assert scalar(clean_db, version) == 1
    assert scalar(clean_db, "SELECT count(*) FROM history.rail_line") == 0


def test_a_bad_rail_row_is_quarantined_with_its_reason(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = _features(RAIL)
    features = data["features"]
    features[0]["geometry"] = {"type": "Point", "coordinates": [4.85, 45.75]}
    features[1]["geometry"] = {"type": "LineString", "coordinates": [[4.85, 45.75], [4.85, 45.75]]}
    bad = tmp_path / "rfn_bad.geojson"
    bad.write_text(json.dumps(data), encoding="utf-8")
    report = load("rail_lines", bad)
    assert report.quarantined == RAIL_DUPLICATES + 2
    assert report.loaded == RAIL_FEATURES - RAIL_DUPLICATES - 2
    rows = "SELECT feature_index || ': ' || reason FROM quarantine WHERE feature_index < 2"
    with clean_db.connect() as conn:
        got = sorted(r[0] for r in conn.exec_driver_sql(rows))
    assert got == ["0: wrong geometry type: Point where a line is expected", "1: zero-length line"]


def test_ports_sample_counts_ids_and_rerun(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("freight_ports", PORTS, vintage="OSM 2026-02")
    assert (report.loaded, report.quarantined) == (PORTS_FEATURES, 0)
    osm = "SELECT count(*) FROM freight_port WHERE id LIKE 'osm:%'"
    assert scalar(clean_db, osm) == PORTS_OSM
    herriot = "SELECT id || ' ' || operator FROM freight_port WHERE nom LIKE 'Port Édouard%'"
    assert str(scalar(clean_db, herriot)).startswith("pt:")
    assert str(scalar(clean_db, herriot)).endswith(" CNR")
    # Only the two container terminals of Gennevilliers carry `cargo` in the file.
    assert scalar(clean_db, "SELECT count(*) FROM freight_port WHERE cargo = 'container'") == 2
    again = load("freight_ports", PORTS)
    assert _changes(again) == 0


def test_a_file_of_the_wrong_kind_is_refused(load) -> None:  # type: ignore[no-untyped-def]
    expected = "reads LineString or MultiLineString geometries; this file has Point"
    with pytest.raises(LayoutError, match=expected):
        load("rail_lines", PORTS)
