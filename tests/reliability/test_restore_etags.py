"""Tile ETags across a backup restored into the same database (issue 12).

The ETags used to come from the ``layer_version`` counters alone: restore a dump, load again, and
the counters came back to the numbers a client had already seen, so it got a 304 for changed
tiles. Here, in a throwaway database of the test cluster: load a sheet (ETag E1), ``pg_dump``,
load a second sheet (E2), ``pg_restore --clean`` the dump into the same database (same oid, same
cluster), load a third sheet: the counters are back at E2's, the content is neither E1's nor
E2's, and the ETag is new; both old tags get a 200.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import morecantile
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from config import ApiSettings, DatabaseSettings, IngestSettings
from db.create import create_database
from db.engine import connect_raw, make_engine
from db.migrate import upgrade
from ingest.pipeline import run_ingest
from ingest.sources import IngestOptions
from tests.conftest import SAMPLES

SHEETS = SAMPLES / "cadastre" / "edigeo"
# Zoom 10 holds the whole commune 25354: every sheet's parcels fall in one tile.
SETTINGS = ApiSettings(key_salt="restore-salt", parcel_min_zoom=10)
ZOOM = 10


@pytest.fixture
def restore_db(db_settings: DatabaseSettings) -> Iterator[DatabaseSettings]:
    """A migrated throwaway database beside the test database, dropped at the end."""
    url = db_settings.database_url + "_restore"
    create_database(url, replace=True)
    settings = DatabaseSettings(database_url=url)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    try:
        yield settings
    finally:
        base, name = settings.psycopg_dsn.rsplit("/", 1)
        admin = DatabaseSettings(database_url=base + "/postgres")
        with connect_raw(admin, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _load(settings: DatabaseSettings, sheet: str) -> None:
    path = SHEETS / f"edigeo-25354000{sheet}.tar.bz2"
    run_ingest("parcels", path, IngestOptions(vintage="PCI 2019"), settings, IngestSettings())


def _state(settings: DatabaseSettings) -> tuple[int, int, str]:
    """(parcels version, parcel count, the z10 tile's path over the parcels' centre)."""
    with connect_raw(settings) as conn:
        row = conn.execute(
            "SELECT (SELECT version FROM layer_version WHERE layer = 'parcels'), count(*), "
            "ST_X(ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)), 2154), 4326)), "
            "ST_Y(ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)), 2154), 4326)) FROM parcel"
        ).fetchone()
    assert row is not None
    t = morecantile.tms.get("WebMercatorQuad").tile(row[2], row[3], ZOOM)
    return row[0], row[1], f"/collections/parcels/tiles/WebMercatorQuad/{ZOOM}/{t.x}/{t.y}"


def _tile(client: TestClient, path: str, etag: str | None = None) -> tuple[int, str, bytes]:
    r = client.get(path, headers={"If-None-Match": etag} if etag else {})
    assert r.status_code in (200, 304), r.text
    return r.status_code, r.headers["etag"], r.content


def test_a_load_after_a_restore_never_gets_an_old_etag(
    restore_db: DatabaseSettings, tmp_path: Path
) -> None:
    dump = tmp_path / "foncier.dump"
    dsn = restore_db.psycopg_dsn
    bin_dir = restore_db.pg_bin_dir
    with TestClient(create_app(SETTINGS, restore_db), raise_server_exceptions=False) as client:
        _load(restore_db, "AK01")
        v1, n1, path = _state(restore_db)
        _, e1, tile1 = _tile(client, path)
        assert tile1 and _tile(client, path, e1)[0] == 304
        subprocess.run([bin_dir / "pg_dump", "-Fc", "-f", dump, dsn], check=True)

        _load(restore_db, "ZB01")
        v2, n2, _ = _state(restore_db)
        _, e2, tile2 = _tile(client, path)
        assert v2 == v1 + 1 and n2 > n1 and e2 != e1 and tile2 != tile1

        restore: list[str | Path] = [
            bin_dir / "pg_restore",
            "--clean",
            "--if-exists",
            "-d",
            dsn,
            dump,
        ]
        subprocess.run(restore, check=True, capture_output=True)
        assert _state(restore_db)[:2] == (v1, n1)
        # The restored content is E1's (the same features, maybe in another order): its tag may
        # be served again.
        status, etag, tile = _tile(client, path)
        assert status == 200 and etag == e1 and len(tile) == len(tile1)

        _load(restore_db, "ZD01")
        v3, n3, _ = _state(restore_db)
        status3, e3, tile3 = _tile(client, path)
        # The counter is back at E2's number (the old ETags collided here), the content is new.
        assert v3 == v2 and n3 != n2 and tile3 not in (tile1, tile2)
        assert status3 == 200 and e3 not in (e1, e2)
        assert _tile(client, path, e2) == (200, e3, tile3)
        assert _tile(client, path, e1) == (200, e3, tile3)
        assert _tile(client, path, e3)[0] == 304
