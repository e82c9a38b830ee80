"""The investor search on a benchmark database: ``/search`` and ``/search/match``, p50/p95.

1. Statements: runs each route's own SQL (api/routes/search.py's query builder,
   db/sql/site_match.sql with the profile's binds) ``--runs`` times on one connection with the
   app's session settings (JIT off).
2. With ``--http``: starts the app (``api.app:create_app``, one uvicorn process on ``--port``,
   no access log) and times ``--runs`` requests of each route through httpx, the whole answer
   (SQL, JSON, HTTP) as a client sees it.

Read-only unless ``--sites N``: then the database first gets exactly N synthetic sites (ids
``bench-synth-*``, ``attributes.synthetic``), one on every k-th parcel by IDU so they spread over
the parcels' extent and sit in real communes, each with the site_score, site_readiness and
electricity/water checklist rows a scoring run and a readiness computation would store (values
drawn with a fixed seed). Re-run with the same N, they are kept; with another N, re-created.

    .venv/bin/python bench/match.py --sites 5000 --http \
        --database-url postgresql+psycopg://foncier@127.0.0.1:5439/foncier_bench_f
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
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

SYNTHETIC_PREFIX = "bench-synth-"
# Synthetic sites on the parcels: every step-th parcel (by IDU) of the database, so they spread
# over its extent and sit in real communes; values drawn with a fixed seed, as a scoring run and a
# readiness computation would store them. Marked synthetic by their id and attributes.
SITES_SQL = """
CREATE TEMP TABLE synth ON COMMIT DROP AS
SELECT %(prefix)s || lpad(n::text, 6, '0') AS id, p.insee,
       ST_PointOnSurface(p.geom) AS geom, random() AS r1, random() AS r2, random() AS r3,
       random() AS r4, random() AS r5
FROM (SELECT idu, insee, geom, row_number() OVER (ORDER BY idu) AS n FROM parcel) p
WHERE (p.n - 1) %% %(step)s = 0 AND p.n <= %(step)s::bigint * %(sites)s;
INSERT INTO site (id, nom, insee, surface_ha, surface_dispo_ha, maturite, cle_en_main,
                  maitrise_fonciere, attributes, location_precision, geom, confirmed_at,
                  valid_until, vintage)
SELECT id, 'Site synthétique ' || id, insee, round((2 + 60 * r1)::numeric, 1),
       round((1 + 40 * r1)::numeric, 1), 'synthétique', r2 < 0.2,
       (ARRAY['public', 'private_agreement', 'none'])[1 + floor(3 * r3)::int],
       '{"synthetic": true, "source": "bench/match.py"}', 'point', geom,
       now() - (r4 * 300) * interval '1 day', now() + (180 - r4 * 300) * interval '1 day',
       'bench'
FROM synth;
INSERT INTO site_score (site_id, score, excluded, land_status, zan_cost_ha, envelope_share,
                        contiguous_ha, zone_class, breakdown, profile_version, vintages,
                        known_inputs, rail_km, port_km)
SELECT id, round((100 * r5)::numeric, 1), r5 < 0.05, CASE WHEN r2 < 0.6 THEN 'artificialised'
       ELSE 'enaf' END, CASE WHEN r2 < 0.6 THEN 0 ELSE round((1 + 30 * r1)::numeric, 1) END,
       r3, round((1 + 40 * r1)::numeric, 1), 'industrial', '{"synthetic": true}', 'bench',
       '{}', 8, round((25 * r4)::numeric, 2), round((80 * r3)::numeric, 2)
FROM synth;
INSERT INTO site_readiness (site_id, level, label, time_to_permit_months, explanation, items,
                            definition_version)
SELECT id, t.level, t.label, t.months, 'synthétique (bench/match.py)',
       jsonb_build_array(
           jsonb_build_object('item', 'technological_risk',
                              'value', CASE WHEN r5 < 0.15 THEN 'pprt' ELSE 'none' END),
           jsonb_build_object('item', 'plu_compatibility',
                              'value', CASE WHEN r1 < 0.1 THEN 'urban' ELSE 'industrial' END)),
       'bench'
FROM synth CROSS JOIN LATERAL (SELECT m AS months,
       CASE WHEN m = 0 THEN 3 WHEN m <= 6 THEN 2 WHEN m <= 18 THEN 1 ELSE 0 END AS level,
       CASE WHEN m = 0 THEN 'Prêt : permis de construire déposable' WHEN m <= 6 THEN 'Avancé'
            WHEN m <= 18 THEN 'En préparation' ELSE 'Amont' END AS label
       FROM (SELECT (ARRAY[0, 4, 12, 24, 36])[1 + floor(5 * r2)::int]::float8 AS m) x) t;
INSERT INTO site_checklist (site_id, item, status, quantity, source, actor)
SELECT id, k.item, 'done', k.q, 'synthétique (bench/match.py)', 'bench'
FROM synth CROSS JOIN LATERAL (VALUES ('electricity', round((40 * r3)::numeric, 1)::float8),
                                      ('water', round((2000 * r4)::numeric)::float8)) k(item, q);
"""
CLEAR_SQL = (
    "DELETE FROM site_score WHERE site_id LIKE %(like)s;"
    "DELETE FROM site WHERE id LIKE %(like)s"  # readiness, checklist: ON DELETE CASCADE
)


def synthetic_sites(conn: psycopg.Connection[Any], n: int) -> None:
    """Make the database hold exactly ``n`` synthetic sites (re-created when the count differs)."""
    like = SYNTHETIC_PREFIX + "%"
    row = conn.execute("SELECT count(*) FROM site WHERE id LIKE %s", [like]).fetchone()
    if row and row[0] == n:
        return
    parcels = conn.execute("SELECT count(*) FROM parcel").fetchone()[0]  # type: ignore[index]
    if n > parcels:
        raise SystemExit(f"--sites {n}: the database has only {parcels} parcels to place them on")
    with conn.transaction():
        conn.execute("SELECT setseed(0.15)")
        for stmt in CLEAR_SQL.split(";"):
            conn.execute(stmt, {"like": like})
        params = {"prefix": SYNTHETIC_PREFIX, "step": max(1, parcels // max(n, 1)), "sites": n}
        for stmt in filter(str.strip, SITES_SQL.split(";")):
            conn.execute(stmt, params)
    conn.execute("ANALYZE site; ANALYZE site_score; ANALYZE site_readiness; ANALYZE site_checklist")


def _percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50_ms": statistics.median(ms), "p95_ms": ms[max(0, round(0.95 * len(ms)) - 1)]}


def _time(
    conn: psycopg.Connection[Any], query: Any, params: dict[str, object], runs: int
) -> dict[str, float]:
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(query, params).fetchall()
        ms.append((time.perf_counter() - t0) * 1000)
    return _percentiles(ms)


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    """The app in one uvicorn process on 127.0.0.1:``port``, once it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FONCIER_")}
    env |= {"DATABASE_URL": url, "FONCIER_API_ACCESS_LOG": "false", "FONCIER_POOL_SIZE": "2"}
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/conformance", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"the app did not start on port {port} (see its output above)")


def _time_http(url: str, port: int, runs: int) -> dict[str, dict[str, float]]:
    """p50/p95 of GET /search and POST /search/match through a uvicorn server."""
    proc = _serve(url, port)
    body = PROFILE.model_dump(exclude_defaults=True)
    calls = {
        "http search": ("GET", "/search", {"limit": 20}, None),
        "http match": ("POST", "/search/match", {"limit": 100}, body),
    }
    figures = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for name, (method, path, query, payload) in calls.items():
                client.request(method, path, params=query, json=payload).raise_for_status()
                ms = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    client.request(method, path, params=query, json=payload).raise_for_status()
                    ms.append((time.perf_counter() - t0) * 1000)
                figures[name] = _percentiles(ms)
    finally:
        proc.terminate()
        proc.wait(10)
    return figures


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--sites", type=int, default=None, help="synthetic sites to hold first")
    ap.add_argument("--http", action="store_true", help="also time the routes through uvicorn")
    ap.add_argument("--port", type=int, default=8106, help="the app's port with --http")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Time both statements (and routes); return their p50/p95 (ms) and the counts."""
    args = _args(argv)
    dsn = DatabaseSettings(database_url=args.database_url).psycopg_dsn
    figures: dict[str, dict[str, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        if args.sites is not None:
            synthetic_sites(conn, args.sites)
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
    if args.http:
        figures |= _time_http(args.database_url, args.port, args.runs)
    for name, f in figures.items():
        print(f"{name}: p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms over {args.runs} runs")
    print(f"database: {counts['parcels']:,} parcels, {counts['sites']:,} sites")
    figures["counts"] = {k: float(v) for k, v in counts.items()}
    return figures


if __name__ == "__main__":
    main()
