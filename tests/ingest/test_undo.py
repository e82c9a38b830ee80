"""History and undo: a reload keeps what it replaced, and undo brings back the exact rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from config import DatabaseSettings, get_database_settings
from ingest.undo import UndoRefusedError, undo_run
from tests.conftest import SAMPLES

JUVISY = SAMPLES / "cadastre" / "etalab" / "cadastre-91326-parcelles.json.gz"
# Every column of every row, in key order: two states are equal when their hashes are.
ROWS_HASH = "SELECT md5(string_agg(md5(p::text), '' ORDER BY p.idu)) FROM parcel p"


def _changed_copy(tmp_path: Path) -> Path:
    """Juvisy a year later: 50 parcels gone, 20 re-measured, one new."""
    data = json.loads(gzip.decompress(JUVISY.read_bytes()))
    features = data["features"][50:]
    for feature in features[:20]:
        feature["properties"]["contenance"] = (feature["properties"]["contenance"] or 0) + 7
    new = json.loads(json.dumps(features[-1]))
    new["id"] = new["properties"]["id"] = "91326000ZZ9999"
    new["properties"]["section"], new["properties"]["numero"] = "ZZ", "9999"
    data["features"] = [*features, new]
    out = tmp_path / "cadastre-91326-parcelles.json.gz"
    out.write_bytes(gzip.compress(json.dumps(data).encode()))
    return out


def _one(db: DatabaseSettings, query: str, *params: object) -> object:
    with psycopg.connect(db.psycopg_dsn) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def test_a_reload_keeps_what_it_replaced(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = load("parcels", JUVISY)
    second = load("parcels", _changed_copy(tmp_path))
    kept = "SELECT hist_op, count(*) FROM history.parcel WHERE hist_run_id = %s GROUP BY 1"
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        ops = dict(conn.execute(kept, (second.run_id,)).fetchall())  # type: ignore[arg-type]
        writers = conn.execute(
            "SELECT DISTINCT run_id FROM history.parcel WHERE hist_run_id = %s", (second.run_id,)
        ).fetchall()
    assert ops == {"D": 50, "U": 20}
    assert writers == [(first.run_id,)]  # the versions kept are those the first load wrote


def test_undo_restores_the_exact_previous_rows(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("parcels", JUVISY)
    before = _one(db_settings, ROWS_HASH)
    second = load("parcels", _changed_copy(tmp_path))
    assert _one(db_settings, ROWS_HASH) != before
    report = undo_run(db_settings, second.run_id)
    # Removed: the 20 re-measured and the new one; restored: the 20 and the 50 deleted.
    assert report.tables["parcel"] == (21, 70)
    assert _one(db_settings, ROWS_HASH) == before
    assert _one(db_settings, "SELECT count(*) FROM parcel") == 2859
    undone_by = _one(db_settings, "SELECT undone_by FROM ingest_run WHERE id = %s", second.run_id)
    assert report.by == f"run {undone_by}"
    with pytest.raises(UndoRefusedError, match="already undone"):
        undo_run(db_settings, second.run_id)
    with pytest.raises(UndoRefusedError, match="load that run's file again"):
        undo_run(db_settings, int(str(undone_by)))


def test_undo_is_refused_when_a_later_run_touched_the_rows(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = load("parcels", JUVISY)
    changed = _changed_copy(tmp_path)
    second = load("parcels", changed)
    before = _one(db_settings, ROWS_HASH)
    with pytest.raises(UndoRefusedError) as err:
        undo_run(db_settings, first.run_id)
    assert f"run {second.run_id} changed 70 of the same parcel rows" in str(err.value)
    assert "nothing was changed" in str(err.value)
    assert _one(db_settings, ROWS_HASH) == before


def test_the_cli_undoes_or_exits_5(load, db_settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    first = load("parcels", JUVISY)
    second = load("parcels", _changed_copy(tmp_path))
    get_database_settings.cache_clear()
    try:
        refused = CliRunner().invoke(app, ["ingest", "undo", str(first.run_id)])
        done = CliRunner().invoke(app, ["ingest", "undo", str(second.run_id)])
    finally:
        get_database_settings.cache_clear()
    assert refused.exit_code == 5, refused.output
    assert f"run {second.run_id}" in refused.output
    assert done.exit_code == 0, done.output
    assert "parcel" in done.output
    assert _one(db_settings, "SELECT count(*) FROM parcel") == 2859
