"""Parcels read and loaded in batches: bounded memory, keys repeated across batches, progress.

A tiny ``batch_rows`` makes a hand-made file of a dozen parcels span several batches, so the
cross-batch paths run on data small enough to assert exact values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from config import DatabaseSettings, IngestSettings
from ingest.pipeline import read_sources, run_ingest
from ingest.read import read_batches
from ingest.sources import IngestOptions, get_layer
from tests.conftest import SAMPLES, scalar

ETALAB_91027 = SAMPLES / "cadastre" / "etalab" / "cadastre-91027-parcelles.json.gz"


def parcel(idu: str, x: float, name: str = "") -> dict[str, object]:
    ring = [[x, 48.6], [x + 0.001, 48.6], [x + 0.001, 48.601], [x, 48.601], [x, 48.6]]
    return {
        "type": "Feature",
        "properties": {
            "id": idu,
            "commune": idu[:5],
            "prefixe": idu[5:8],
            "section": idu[8:10],
            "numero": idu[10:],
            "contenance": 1000,
            "note": name,
        },  # fmt: skip
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write(path: Path, features: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def ingest(path: Path, db: DatabaseSettings, batch_rows: int, progress: list[int] | None = None):  # type: ignore[no-untyped-def]
    return run_ingest(
        "parcels",
        path,
        IngestOptions(vintage="test"),
        db,
        IngestSettings(batch_rows=batch_rows, copy_chunk_rows=2),
        progress=None if progress is None else progress.append,
    )


def test_parcels_are_read_in_batches_of_bounded_size() -> None:
    layer = get_layer("parcels")
    batches = list(
        read_sources(layer, ETALAB_91027, IngestOptions(), IngestSettings(batch_rows=1000))
    )
    sizes = [len(b.frame) for b in batches]
    assert max(sizes) == 1000 and sum(sizes) == 6759 and len(sizes) == 7
    # Feature indexes run on across batches, as in the whole file.
    assert batches[3].frame["_feature_index"].iloc[0] == 3000
    assert batches[-1].frame["_feature_index"].iloc[-1] == 6758
    # A layer that reasons over the whole file keeps the one-shot reader.
    whole = list(
        read_sources(
            get_layer("epci"), ETALAB_91027, IngestOptions(), IngestSettings(batch_rows=1000)
        )
    )
    assert [len(b.frame) for b in whole] == [6759]


def test_empty_file_yields_one_empty_batch(tmp_path: Path) -> None:
    batches = list(read_batches(write(tmp_path / "p.geojson", []), batch_size=10))
    assert len(batches) == 1 and batches[0].frame.empty


def test_duplicates_across_batches_are_quarantined(
    clean_db: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    ids = [f"91027000AB{n:04d}" for n in range(1, 11)]
    features = [parcel(i, 2.3 + n * 0.01) for n, i in enumerate(ids)]
    # Features 10 and 11 repeat features 1 and 9, which earlier batches of 3 already had.
    features.append(parcel(ids[1], 2.5, "repeat of 1"))
    features.append(parcel(ids[9], 2.6, "repeat of 9"))
    path = write(tmp_path / "cadastre-91027-parcelles.json", features)
    progress: list[int] = []
    report = ingest(path, db_settings, batch_rows=3, progress=progress)
    assert (report.rows_read, report.loaded, report.quarantined) == (12, 10, 2)
    # One progress step per batch of 3 features, counting the rows sent (the last: 9 only).
    assert progress == [3, 3, 3, 1]
    with clean_db.connect() as conn:
        rows = conn.execute(
            text("SELECT feature_index, key, reason, raw FROM quarantine ORDER BY feature_index")
        ).all()
    assert [(r.feature_index, r.reason) for r in rows] == [
        (10, f"duplicate key {ids[1]}: already at feature 1"),
        (11, f"duplicate key {ids[9]}: already at feature 9"),
    ]
    assert rows[0].raw["note"] == "repeat of 1" and "geometry" in rows[0].raw
    # The first occurrence is the one kept (x 2.31°E, about 649 km; the repeat is at 663 km).
    assert scalar(clean_db, f"SELECT ST_XMin(geom) < 656000 FROM parcel WHERE idu = '{ids[1]}'")
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 10


def test_batched_rerun_changes_nothing_and_deletes_what_left(
    clean_db: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    ids = [f"91027000AC{n:04d}" for n in range(1, 8)]
    path = write(tmp_path / "p.geojson", [parcel(i, 2.3 + n * 0.01) for n, i in enumerate(ids)])
    first = ingest(path, db_settings, batch_rows=2)
    assert first.tables[0].inserted == 7
    again = ingest(path, db_settings, batch_rows=3)
    assert (again.tables[0].inserted, again.tables[0].updated, again.tables[0].deleted) == (0, 0, 0)
    # A parcel gone from the commune's file is deleted, whatever batch it was in.
    write(path, [parcel(i, 2.3 + n * 0.01) for n, i in enumerate(ids) if n != 5])
    last = ingest(path, db_settings, batch_rows=2)
    assert (last.tables[0].inserted, last.tables[0].deleted) == (0, 1)
    assert scalar(clean_db, f"SELECT count(*) FROM parcel WHERE idu = '{ids[5]}'") == 0


def test_batched_load_matches_one_batch(clean_db: Engine, db_settings: DatabaseSettings) -> None:
    whole = ingest(ETALAB_91027, db_settings, batch_rows=100_000)
    digest = "SELECT md5(string_agg(idu || ST_AsEWKB(geom)::text, ',' ORDER BY idu)) FROM parcel"
    before = scalar(clean_db, digest)
    with clean_db.begin() as conn:
        conn.execute(text("TRUNCATE parcel CASCADE"))
    batched = ingest(ETALAB_91027, db_settings, batch_rows=500)
    assert (batched.loaded, batched.quarantined, batched.repaired) == (
        whole.loaded,
        whole.quarantined,
        whole.repaired,
    )
    assert scalar(clean_db, digest) == before


def test_streamed_missing_values_are_null_in_the_raw_record(
    clean_db: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    # Batches keep geometries and text in Arrow, whose missing value is pd.NA: the quarantine
    # must still store JSON nulls, not the text "<NA>".
    ids = [f"91027000AD{n:04d}" for n in range(1, 5)]
    features = [parcel(i, 2.3 + n * 0.01) for n, i in enumerate(ids)]
    features[2]["geometry"] = None
    features[2]["properties"]["note"] = None  # type: ignore[index]
    path = write(tmp_path / "cadastre-91027-parcelles.json", features)
    report = ingest(path, db_settings, batch_rows=2)
    assert (report.loaded, report.quarantined) == (3, 1)
    with clean_db.connect() as conn:
        row = conn.execute(text("SELECT key, reason, raw FROM quarantine")).one()
    assert (row.key, row.reason) == (ids[2], "missing geometry")
    assert row.raw["geometry"] is None and row.raw["note"] is None and row.raw["id"] == ids[2]


def test_first_bulk_load_rebuilds_every_index_and_the_primary_key(
    clean_db: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    # Loaded into an empty table, a file of BULK_INDEX_MIN_ROWS or more drops the target's
    # indexes and primary key and builds them after the last batch: the same ones must be back.
    from geo.synth import read_communes, synth_parcels, write_parcels

    catalog = """
        SELECT string_agg(indexdef, ' | ' ORDER BY indexname) FROM pg_indexes
        WHERE tablename = 'parcel'
        UNION ALL
        SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ' | ' ORDER BY conname)
        FROM pg_constraint WHERE conrelid = 'parcel'::regclass
    """
    with clean_db.connect() as conn:
        before = conn.execute(text(catalog)).scalars().all()
    communes = read_communes(SAMPLES / "admin" / "communes_2022_sample.geojson.gz")
    path = write_parcels(synth_parcels(communes, 12_000, seed=5), tmp_path / "p.gpkg")
    report = ingest(path, db_settings, batch_rows=10_000)  # the first batch: 10,000
    assert report.loaded == 12_000 and scalar(clean_db, "SELECT count(*) FROM parcel") == 12_000
    with clean_db.connect() as conn:
        assert conn.execute(text(catalog)).scalars().all() == before
    assert "PRIMARY KEY (idu)" in before[1]
    # The primary key is enforced again.
    with pytest.raises(IntegrityError), clean_db.begin() as conn:
        conn.execute(text("INSERT INTO parcel SELECT * FROM parcel LIMIT 1"))
