"""ZAN simulator benchmark: ``simulate`` for a 50-project scenario on a large scored database.

    .venv/bin/python bench/simulate.py --n 1000000 --projects 50 --runs 100

Builds the scoring benchmark's synthetic set (``bench/score.py``: N grid parcels in 7 km
communes, 4 EPCIs, PLU zones, ENAF flows, constraints), scores it, then times
``score.simulate.simulate`` (after a ``VACUUM ANALYZE`` of ``parcel_score``, as autovacuum
does after a run) for one EPCI with ``--projects`` projects in equal thirds: land
units, lists of 20 parcels, and drawn 300 m squares (CRS84) over its parcels; the connection is
set up as the API's pool sets it (JIT off, no parallel workers). Prints p50/p95/max in ms.

The database is ``--database-url``, else ``foncier_bench_simulate`` on the local cluster, dropped
and re-created at each run (``--reuse`` keeps an already built and scored one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.score import build  # noqa: E402
from config import DatabaseSettings  # noqa: E402
from db.engine import connect_raw  # noqa: E402
from score import score  # noqa: E402
from score.simulate import simulate  # noqa: E402

EPCI = "200000000"


def projects(settings: DatabaseSettings, n: int) -> list[dict[str, Any]]:
    """``n`` projects in the EPCI: land units, parcel lists, drawn squares, in equal thirds."""
    third = max(n // 3, 1)
    communes = "SELECT insee FROM territory_commune WHERE kind = 'epci' AND code = %s"
    with connect_raw(settings) as conn:
        units = conn.execute(
            f"SELECT id FROM land_unit WHERE insee IN ({communes}) ORDER BY id LIMIT %s",
            (EPCI, third),
        ).fetchall()
        lists = conn.execute(
            f"SELECT array_agg(idu) FROM (SELECT idu, row_number() OVER (ORDER BY idu) / 20 AS g "
            f"FROM parcel WHERE insee IN ({communes}) ORDER BY idu LIMIT %s) x GROUP BY g",
            (EPCI, third * 20),
        ).fetchall()
        squares = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_Expand(ST_Centroid(geom), 150), 4326))::jsonb "
            f"FROM parcel WHERE insee IN ({communes}) ORDER BY idu LIMIT %s OFFSET 5000",
            (EPCI, n - len(units) - third),
        ).fetchall()
    out: list[dict[str, Any]] = [{"land_unit_id": r[0]} for r in units]
    out += [{"parcels": r[0]} for r in lists[:third]]
    out += [{"geometry": r[0]} for r in squares]
    return [{**p, "start_year": 2024 + i % 7, "share": 0.8} for i, p in enumerate(out[:n])]


async def timed(settings: DatabaseSettings, body: list[dict[str, Any]], runs: int) -> list[float]:
    conn = await psycopg.AsyncConnection.connect(settings.psycopg_dsn, autocommit=True)
    async with conn:
        await conn.execute("SET jit = off")
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        await simulate(conn, "epci", EPCI, body)  # warm the cache and the plan
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await simulate(conn, "epci", EPCI, body)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic parcels")
    parser.add_argument("--constraints", type=int, default=2_000, help="constraint polygons")
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="keep the built, scored database")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url or "postgresql+psycopg://foncier@127.0.0.1:5439/foncier_bench_simulate"
    settings = DatabaseSettings(database_url=url)
    if not args.reuse:
        built_s = build(settings, args.n, args.constraints)
        with connect_raw(settings) as conn:
            report = score(conn)
        # What autovacuum does shortly after a score run: the pages the run rewrote all-visible
        # again, so a land unit's costs are an index-only scan (migration 0011).
        with psycopg.connect(settings.psycopg_dsn, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) parcel_score")
        print(
            f"data: {args.n:,} parcels built in {built_s:.1f} s, scored in {report.seconds:.1f} s"
        )
    body = projects(settings, args.projects)
    times = sorted(asyncio.run(timed(settings, body, args.runs)))
    p95 = times[max(int(round(0.95 * len(times))) - 1, 0)]
    print(
        f"simulate: {len(body)} projects, {len(times)} runs: p50 {statistics.median(times):.1f} ms,"
        f" p95 {p95:.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
