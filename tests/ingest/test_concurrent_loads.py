"""Loads that run at the same time: two first loads of parcels never deadlock, every row lands.

Two ``foncier ingest parcels`` of different communes into an empty table used to deadlock (2
rounds of 6) on ``DROP INDEX``: the second load's emptiness check held a share lock the first
one's index rebuild needed. Loads now take one lock per target table, in name order, first.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import DatabaseSettings, IngestSettings
from db.engine import connect_raw
from ingest.errors import LoadBusyError
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources import IngestOptions
from tests.conftest import SAMPLES, _truncate_all, scalar

ETALAB = SAMPLES / "cadastre" / "etalab"
FILES = (ETALAB / "cadastre-91027-parcelles.json.gz", ETALAB / "cadastre-91432-parcelles.json.gz")


def _load_together(paths: tuple[Path, ...], db: DatabaseSettings) -> list[object]:
    """Run one ingest per path in its own thread, started together; each result or error."""
    results: list[object] = [None] * len(paths)
    start = threading.Barrier(len(paths))

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = run_ingest(
                "parcels", paths[i], IngestOptions(), db, IngestSettings(batch_rows=2000)
            )
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def test_two_first_loads_at_once_never_deadlock(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    indexes = "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes"
    indexes += " WHERE tablename = 'parcel'"
    before = scalar(engine, indexes)
    expected = None
    for round_ in range(6):
        _truncate_all(engine)
        results = _load_together(FILES, db_settings)
        errors = [r for r in results if not isinstance(r, IngestReport)]
        assert not errors, f"round {round_ + 1}: {errors}"
        loaded = sum(r.loaded for r in results if isinstance(r, IngestReport))
        assert scalar(engine, "SELECT count(*) FROM parcel") == loaded
        assert expected is None or loaded == expected
        expected = loaded
        # The indexes the first load dropped and rebuilt are all back.
        assert scalar(engine, indexes) == before


def test_a_load_that_cannot_get_its_tables_says_so(
    clean_db: Engine, db_settings: DatabaseSettings
) -> None:
    # Another session holds the load lock of `parcel`, as a running load of parcels does.
    with connect_raw(db_settings) as other:
        other.execute(
            "SELECT pg_advisory_xact_lock(hashtext('foncier ingest'), hashtext('parcel'))"
        )
        with pytest.raises(LoadBusyError) as caught:
            run_ingest(
                "parcels", FILES[0], IngestOptions(), db_settings, IngestSettings(lock_wait_s=0.5)
            )
    assert str(caught.value).startswith("another load of parcel is running; retry when it ends")
    assert scalar(clean_db, "SELECT count(*) FROM parcel") == 0
    assert scalar(clean_db, "SELECT status FROM ingest_run") == "failed"
