"""site_parcel is filled at the end of the sites and parcels loads (ingest/sql/site_parcel_*.sql).

tests/fixtures/site_parcels: a 4 x 2 grid of 1 ha parcels in Lyon (69123000AA0001-0004 on the
south row, 0005-0008 on the north row, 100 m squares in Lambert-93) and three sites:
- SP-POLY, an L-shaped perimeter: all of 0001, 0002, 0005, 0006, 70 % of 0003, 30 % of 0007;
- SP-SMALL, a 20 m x 20 m plot inside 0008 (no parcel is mostly inside it);
- SP-POINT, a point inside 0004.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text

from tests.conftest import FIXTURES

DIR = FIXTURES / "site_parcels"
PARCELS = DIR / "cadastre-69123-parcelles.json"
SITES = DIR / "sites.geojson"
EXPECTED = {
    "SP-POLY": ["69123000AA0001", "69123000AA0002", "69123000AA0003", "69123000AA0005",
                "69123000AA0006"],
    "SP-SMALL": ["69123000AA0008"],
    "SP-POINT": ["69123000AA0004"],
}  # fmt: skip


def site_parcels(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT site_id, array_agg(idu ORDER BY idu) FROM site_parcel GROUP BY site_id")
        ).all()
    return {site: list(idus) for site, idus in rows}


def test_sites_after_parcels(load, clean_db: Engine) -> None:  # type: ignore[no-untyped-def]
    load("parcels", PARCELS)
    assert site_parcels(clean_db) == {}
    load("sites", SITES)
    assert site_parcels(clean_db) == EXPECTED


def test_parcels_after_sites_and_reloads(load, clean_db: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load("sites", SITES)
    assert site_parcels(clean_db) == {}
    load("parcels", PARCELS)
    assert site_parcels(clean_db) == EXPECTED
    # A new cadastre vintage without 0003 and 0004: the sites lose them.
    data = json.loads(PARCELS.read_text(encoding="utf-8"))
    data["features"] = [
        f for f in data["features"] if f["properties"]["id"][-4:] not in ("0003", "0004")
    ]
    newer = tmp_path / PARCELS.name
    newer.write_text(json.dumps(data), encoding="utf-8")
    load("parcels", newer)
    assert site_parcels(clean_db) == {
        "SP-POLY": [i for i in EXPECTED["SP-POLY"] if not i.endswith("0003")],
        "SP-SMALL": EXPECTED["SP-SMALL"],
    }
    # A sites file without SP-SMALL: its rows go with it.
    sites = json.loads(SITES.read_text(encoding="utf-8"))
    sites["features"] = [f for f in sites["features"] if f["properties"]["site_id"] != "SP-SMALL"]
    fewer = tmp_path / "sites.geojson"
    fewer.write_text(json.dumps(sites), encoding="utf-8")
    load("sites", fewer)
    assert set(site_parcels(clean_db)) == {"SP-POLY"}
