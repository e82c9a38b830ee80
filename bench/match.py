"""The investor search's statements on a benchmark database: ``/search`` and ``/search/match``.

Runs each route's own SQL (api/routes/search.py's query builder, db/sql/site_match.sql with
the profile's binds) ``--runs`` times on one connection with the app's session settings (JIT
off) and prints p50/p95 in ms. Read-only: it never writes to the database, so it can time the
shared 1M-parcel database (``foncier_bench_f``), whose schema the app may refuse to serve when
it is behind main's migrations.

    .venv/bin/python bench/match.py \
        --database-url postgresql+psycopg://foncier@127.0.0.1:5439/foncier_bench_f
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.query import Binder  # noqa: E402
from api.routes.match import MATCH_SQL, ProjectProfile, _params  # noqa: E402
from api.routes.search import _LAND_UNITS, _SITES, _search_query  # noqa: E402
from config import DatabaseSettings  # noqa: E402

PROFILE = ProjectProfile.model_validate(
    {
        "min_contiguous_ha": 5,
        "electricity_mw": 20,
        "water_m3_day": 500,
        "rail_needed": True,
        "rail_max_km": 5,
        "max_time_to_permit_months": 18,
        "seveso": "low",
        "regions": ["84", "11"],
    }
)


def _time(
    conn: psycopg.Connection[Any], query: Any, params: dict[str, object], runs: int
) -> dict[str, float]:
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(query, params).fetchall()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"p50_ms": statistics.median(ms), "p95_ms": ms[max(0, round(0.95 * len(ms)) - 1)]}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Time both statements; return their p50/p95 (ms) and the row counts they answer."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args(argv)
    dsn = DatabaseSettings(database_url=args.database_url).psycopg_dsn
    figures: dict[str, dict[str, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET jit = off")  # as the app's connections (DESIGN.md)
        conn.execute("SET default_transaction_read_only = on")
        b = Binder()
        search = _search_query([_SITES, _LAND_UNITS], [], b, 20, 0)
        params = _params(PROFILE, 1000, 100)
        counts = {
            "sites": conn.execute(
                "SELECT count(*) FROM site WHERE withdrawn_at IS NULL"
            ).fetchone()[0],  # type: ignore[index]
            "parcels": conn.execute("SELECT count(*) FROM parcel").fetchone()[0],  # type: ignore[index]
        }
        figures["search"] = _time(conn, search, b.params, args.runs)
        figures["match"] = _time(conn, MATCH_SQL, params, args.runs)
        figures["match"]["rows"] = len(conn.execute(MATCH_SQL, params).fetchall())
    for name, f in figures.items():
        print(f"{name}: p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms over {args.runs} runs")
    print(f"database: {counts['parcels']:,} parcels, {counts['sites']:,} sites")
    figures["counts"] = {k: float(v) for k, v in counts.items()}
    return figures


if __name__ == "__main__":
    main()
