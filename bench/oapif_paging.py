"""GDAL's OAPIF driver with its defaults against our server: the sample parcels, every page.

GDAL 3.6 (Debian 12) pages by 10 whatever the OpenAPI document states, so reading the
15,295 sample parcels takes about 1,530 requests: this times them and counts them.

    .venv/bin/python bench/oapif_paging.py \
        --database-url postgresql+psycopg://foncier@127.0.0.1:5439/foncier_bench_oapif

The database is created, migrated and loaded with ``data/samples/cadastre/etalab`` unless it
already holds those parcels (``--communes`` picks fewer files, for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pyogrio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import DatabaseSettings  # noqa: E402
from db.create import create_database  # noqa: E402
from db.migrate import upgrade_url  # noqa: E402
from tests.live_server import live_server  # noqa: E402

ETALAB = ROOT / "data" / "samples" / "cadastre" / "etalab"
COMMUNES = ("91027", "91326", "91432")


def prepare(url: str, communes: tuple[str, ...]) -> None:
    """Create, migrate and load the parcels of ``communes`` unless they are the only ones there."""
    dsn = DatabaseSettings(database_url=url).psycopg_dsn
    try:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT DISTINCT insee FROM parcel ORDER BY 1").fetchall()
        if tuple(r[0] for r in rows) == tuple(sorted(communes)):
            upgrade_url(url)
            return
    except psycopg.Error:
        pass
    create_database(url, replace=True)
    upgrade_url(url)
    foncier = str(Path(sys.executable).parent / "foncier")
    for c in communes:
        path = ETALAB / f"cadastre-{c}-parcelles.json.gz"
        subprocess.run(
            [foncier, "ingest", "parcels", str(path)],
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )


def read_with_defaults(base: str) -> dict[str, float]:
    """ogr2ogr of the parcels collection with GDAL's defaults: features, requests, seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "parcels.gpkg"
        t = time.perf_counter()
        out = subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(dest), f"OAPIF:{base}/ogc", "parcels", "--debug", "on"],
            capture_output=True, text=True, timeout=1800, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - t
        features = pyogrio.read_info(dest)["features"]
    pages = [line for line in out.stderr.splitlines() if "HTTP: Fetch" in line and "/items" in line]
    matched = httpx.get(f"{base}/collections/parcels/items?limit=1").json()["numberMatched"]
    return {
        "features": features,
        "matched": matched,
        "requests": len(pages),
        "seconds": seconds,
        "ms_per_page": 1000 * seconds / max(len(pages), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print and return its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--communes", nargs="+", default=list(COMMUNES))
    args = parser.parse_args(argv)
    prepare(args.database_url, tuple(args.communes))
    with live_server(args.database_url) as base:
        figures = read_with_defaults(base)
    print(
        f"ogr2ogr OAPIF defaults: {figures['features']} features "
        f"(numberMatched {figures['matched']}), {figures['requests']} item requests, "
        f"{figures['seconds']:.1f} s, {figures['ms_per_page']:.1f} ms per page"
    )
    return figures


if __name__ == "__main__":
    main()
