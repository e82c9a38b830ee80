"""Each table of a load follows one path, chosen once: staged, early or direct.

On the real database: an empty target of plain columns is loaded by direct COPY when it is
in the first batch, early otherwise or when its rows need SQL checks of their own; a target
with rows, or one whose load updates rows, is staged. Then a real sample loaded by one path
and reloaded by another gives the same table.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from config import DatabaseSettings
from db.engine import connect_raw
from db.timing import PhaseTimes
from ingest.layers.admin import COMMUNE_EPCI
from ingest.layers.buildings import BUILDING_ETALAB
from ingest.layers.constraints import CONSTRAINT
from ingest.layers.parcels import PARCEL_ETALAB
from ingest.normalize import TableSpec
from ingest.strategy import DirectLoad, EarlyLoad, StagedLoad, choose_strategy
from tests.conftest import SAMPLES, scalar

ETALAB_91027 = SAMPLES / "cadastre" / "etalab" / "cadastre-91027-parcelles.json.gz"


def _chosen(settings: DatabaseSettings, spec: TableSpec, first_batch: bool = True) -> type:
    with connect_raw(settings) as conn, conn.cursor() as cur:
        strategy = choose_strategy(cur, spec, 0, PhaseTimes(), None, first_batch)
        conn.rollback()
    return type(strategy)


@pytest.mark.parametrize(
    ("spec", "first_batch", "expected"),
    [
        (PARCEL_ETALAB, True, DirectLoad),
        (PARCEL_ETALAB, False, EarlyLoad),  # the worker builds no direct COPY bytes for it
        (CONSTRAINT, True, EarlyLoad),  # jsonb attributes: no binary COPY into the target
        (BUILDING_ETALAB, True, StagedLoad),  # post-stage SQL places each building in its commune
        (COMMUNE_EPCI, True, StagedLoad),  # update-only: rows to update, not insert
    ],
    ids=["parcels-first", "parcels-later", "constraints", "buildings", "commune-epci"],
)
def test_empty_target_path(
    clean_db: Engine,  # noqa: ARG001 - requested for its side effect: an empty database
    db_settings: DatabaseSettings,
    spec: TableSpec,
    first_batch: bool,
    expected: type,
) -> None:
    assert _chosen(db_settings, spec, first_batch) is expected


def test_reload_is_staged_and_agrees_with_direct(load, engine: Engine, db_settings) -> None:  # type: ignore[no-untyped-def]
    first = load("parcels", ETALAB_91027)
    digest = "SELECT md5(string_agg(idu || ST_AsEWKB(geom)::text, ',' ORDER BY idu)) FROM parcel"
    by_direct = scalar(engine, digest)
    assert _chosen(db_settings, PARCEL_ETALAB) is StagedLoad
    again = load("parcels", ETALAB_91027)
    assert scalar(engine, digest) == by_direct
    assert again.tables[0].loaded == first.tables[0].loaded > 0
    assert again.tables[0].quarantined == first.tables[0].quarantined
    assert again.tables[0].inserted == 0
