"""API benchmark: our OGC API against tipg on the same PostGIS parcels, side by side.

    .venv/bin/python bench/api.py --n 1000000 --requests 200 --concurrency 4

1. Builds (once per ``--n``) N synthetic parcels in SQL: a square grid of 50 m parcels
   (0.25 ha) in Lambert-93 around Essonne, Etalab-style IDUs, a score row for each, GiST
   index, ANALYZE. The database is ``--database-url``, else ``foncier_bench_api`` on the local
   cluster (re-created when its parcel count differs from ``--n``).
2. Starts tipg (``tipg.main:app``, one uvicorn process, table ``public.parcel`` only) and our
   app (``api.app:create_app``, one uvicorn process) on free 127.0.0.1 ports, each with a pool
   of ``--concurrency`` connections.
3. For each server and scenario, runs ``--requests`` requests from ``--concurrency`` client
   tasks over the same random (seeded) town-sized bboxes and tiles:
   items (bbox about 2 km x 2 km, limit 1000), vector tiles at z12 and z14.
4. Prints requests/s, p50 and p95 per server and scenario, and our/tipg throughput ratio.

Our parcels have a minimum tile zoom (13): at z12 we answer 404 without touching the table
(outside the published tileMatrixSetLimits, OGC API Tiles /req/core/tc-error), which is the
point of a minimum zoom; tipg renders the whole tile. Those 404s are the expected answer and
are counted apart from the errors. Both servers run without access logs (tipg's uvicorn at
warning level, ours with FONCIER_API_ACCESS_LOG=false) so neither pays for a log line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import morecantile
import psycopg
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import DatabaseSettings  # noqa: E402
from db.create import create_database  # noqa: E402
from db.migrate import upgrade_url  # noqa: E402

PARCEL_SIDE_M = 50.0
X0, Y0 = 620_000.0, 6_810_000.0  # south-west corner of the grid, Lambert-93 (Essonne)
TOWN_SIDE_M = 2_000.0
TMS = morecantile.tms.get("WebMercatorQuad")

BUILD_SQL = """
INSERT INTO parcel (idu, insee, prefixe, section, numero, contenance_m2, built, geom)
SELECT '91' || lpad((i / 10000)::text, 3, '0') || '000'
       || chr(65 + (i / 260) %% 26) || chr(65 + (i / 10) %% 26) || lpad((i %% 10000)::text, 4, '0'),
       '91' || lpad((i / 10000)::text, 3, '0'), '000',
       chr(65 + (i / 260) %% 26) || chr(65 + (i / 10) %% 26), lpad((i %% 10000)::text, 4, '0'),
       2500, (i %% 5 = 0),
       ST_Multi(ST_MakeEnvelope(%(x0)s + (i %% %(side)s) * %(m)s, %(y0)s + (i / %(side)s) * %(m)s,
                                %(x0)s + (i %% %(side)s + 1) * %(m)s,
                                %(y0)s + (i / %(side)s + 1) * %(m)s, 2154))
FROM generate_series(0, %(n)s - 1) i;
INSERT INTO parcel_score (idu, insee, score, excluded, land_status, zan_cost_ha, envelope_share,
                          breakdown, profile_version, vintages)
SELECT idu, insee, (hashtext(idu) & 100)::float, false, 'enaf', 0.25, 0.001, '[]', 'bench', '{}'
FROM parcel;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, n: int) -> None:
    """Create, migrate and fill the benchmark database unless it already holds ``n`` parcels.

    A database kept from an older checkout is migrated first: the app refuses to serve a schema
    behind its migrations, and every request would fail."""
    dsn = DatabaseSettings(database_url=url).psycopg_dsn
    name = dsn.rsplit("/", 1)[1]
    try:
        with psycopg.connect(dsn) as conn:
            if conn.execute("SELECT count(*) FROM parcel").fetchone()[0] == n:  # type: ignore[index]
                upgrade_url(url)
                print(f"database {name}: {n} parcels already there")
                return
    except psycopg.Error:
        pass
    create_database(url, replace=True)
    upgrade_url(url)
    side = int(n**0.5) + 1
    t = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        params = {"x0": X0, "y0": Y0, "m": PARCEL_SIDE_M, "side": side, "n": n}
        for statement in BUILD_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, params if "%(" in statement else None)  # type: ignore[arg-type]
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE parcel")
        conn.execute("VACUUM ANALYZE parcel_score")
    print(f"database {name}: {n} parcels built in {time.perf_counter() - t:.0f} s")


def workload(n: int, count: int, seed: int = 0) -> dict[str, list[str]]:
    """The same random bboxes (CRS84) and tiles for both servers."""
    rng = random.Random(seed)
    extent = (int(n**0.5) + 1) * PARCEL_SIDE_M
    to_lonlat = Transformer.from_crs(2154, 4326, always_xy=True)
    items, z12, z14 = [], [], []
    for _ in range(count):
        x = X0 + rng.uniform(0, extent - TOWN_SIDE_M)
        y = Y0 + rng.uniform(0, max(extent * 0.9 - TOWN_SIDE_M, 1))
        lon0, lat0 = to_lonlat.transform(x, y)
        lon1, lat1 = to_lonlat.transform(x + TOWN_SIDE_M, y + TOWN_SIDE_M)
        items.append(f"bbox={lon0:.6f},{lat0:.6f},{lon1:.6f},{lat1:.6f}&limit=1000")
        cx, cy = to_lonlat.transform(x + TOWN_SIDE_M / 2, y + TOWN_SIDE_M / 2)
        for z, out in ((12, z12), (14, z14)):
            tile = TMS.tile(cx, cy, z)
            out.append(f"{z}/{tile.x}/{tile.y}")
    return {"items": items, "tiles z12": z12, "tiles z14": z14}


async def run_loop(
    base: str, paths: list[str], concurrency: int, expected: frozenset[int] = frozenset()
) -> tuple[float, list[float], int]:
    """(requests/s, latencies in s, error count) for ``paths`` with ``concurrency`` tasks.

    An error is a status of 300 or more that is not in ``expected``."""
    queue = list(reversed(paths))
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await client.get(paths[0])  # warm the pools

        async def worker() -> None:
            nonlocal errors
            while queue:
                path = queue.pop()
                t = time.perf_counter()
                r = await client.get(path)
                await r.aread()
                latencies.append(time.perf_counter() - t)
                if r.status_code >= 300 and r.status_code not in expected:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return len(paths) / elapsed, latencies, errors


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/conformance", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{cmd} did not start")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic parcels")
    parser.add_argument("--requests", type=int, default=100, help="requests per scenario")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = (
        args.database_url
        or DatabaseSettings().database_url.rsplit("/", 1)[0] + "/foncier_bench_api"
    )
    prepare(url, args.n)
    dsn = DatabaseSettings(database_url=url).psycopg_dsn
    work = workload(args.n, args.requests)
    py = sys.executable
    servers = {}
    tipg_port, our_port = _free_port(), _free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "FONCIER_"))}
    tipg_env = {
        **base_env,
        "DATABASE_URL": dsn,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.parcel"]',
        "DB_MIN_CONN_SIZE": "1",
        "DB_MAX_CONN_SIZE": str(args.concurrency),
    }
    our_env = {
        **base_env,
        "DATABASE_URL": url,
        "FONCIER_POOL_SIZE": str(args.concurrency),
        "FONCIER_API_ACCESS_LOG": "false",
    }
    servers["tipg"] = (
        start(
            [
                py,
                "-m",
                "uvicorn",
                "tipg.main:app",
                "--port",
                str(tipg_port),
                "--log-level",
                "warning",
            ],
            tipg_env,
            tipg_port,
        ),
        f"http://127.0.0.1:{tipg_port}",
        "/collections/public.parcel",
    )
    servers["foncier"] = (
        start(
            [
                py,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--port",
                str(our_port),
                "--log-level",
                "warning",
            ],
            our_env,
            our_port,
        ),
        f"http://127.0.0.1:{our_port}",
        "/collections/parcels",
    )
    results: dict[tuple[str, str], float] = {}
    try:
        print(
            f"{args.n} parcels, {args.requests} requests per scenario, "
            f"concurrency {args.concurrency}"
        )
        print(
            f"{'scenario':<11} {'server':<8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>8}"
        )
        for scenario, paths in work.items():
            for name, (_proc, base, prefix) in servers.items():
                if scenario == "items":
                    full = [f"{prefix}/items?{p}" for p in paths]
                else:
                    full = [f"{prefix}/tiles/WebMercatorQuad/{p}" for p in paths]
                # Below our parcels' minimum zoom a 404 is the standard's answer.
                below_min_zoom = scenario == "tiles z12" and name == "foncier"
                expected = frozenset({404}) if below_min_zoom else frozenset()
                rps, lat, errors = asyncio.run(run_loop(base, full, args.concurrency, expected))
                q = statistics.quantiles(lat, n=20)
                results[(scenario, name)] = rps
                print(
                    f"{scenario:<11} {name:<8} {rps:8.1f} {statistics.median(lat) * 1000:8.1f} "
                    f"{q[18] * 1000:8.1f} {errors:8d}"
                )
            print(
                f"{scenario:<11} ratio foncier/tipg: "
                f"{results[(scenario, 'foncier')] / results[(scenario, 'tipg')]:.1f}x"
            )
    finally:
        for proc, _base, _prefix in servers.values():
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
