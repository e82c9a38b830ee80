"""Ingest benchmark: our parcels pipeline against ``ogr2ogr -f PostgreSQL`` on the same file.

    .venv/bin/python bench/ingest.py --n 1000000
    BENCH_PHASES=1 .venv/bin/python bench/ingest.py --n 200000   # + seconds per phase (stderr)

1. Generates (or reuses, from ``bench/out/``) a synthetic GeoPackage of N parcels: Voronoi
   cells in real communes with Etalab properties, and a few spoiled rows (repeated ids,
   bow-ties, missing geometries) so repair and quarantine are part of the measured path.
2. Loads it with ``run_ingest("parcels", ...)`` (read, validation, quarantine, COPY, SQL checks,
   merge) into the emptied ``parcel`` table, in a child process whose peak RSS is measured
   (its own ``VmHWM``: see :func:`peak_rss_mb`).
3. Vacuums and analyses our parcels (untimed), so autovacuum does not run during the peer.
4. Loads the same file with ``ogr2ogr -f PostgreSQL`` (``PG_USE_COPY=YES``, reprojected to
   EPSG:2154, promoted to Multi, GiST index: the same table shape) into the schema
   ``bench_peer``, dropped first. GDAL creates that index before its COPY (its default) and
   keeps a serial primary key; ours builds its indexes after the last batch.
5. Prints rows/s for both, the ratio, and our peak memory.

The file is a GeoPackage rather than Etalab's GeoJSON: both loaders then read it through GDAL
at little cost, so the figures compare the loading work itself instead of two JSON parsers.

The database is ``--database-url``, else ``DATABASE_URL``, else ``foncier_bench`` on the local
cluster (created and migrated on first use). Its ``parcel`` table is emptied: never point it
at a database whose parcels you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import LOCAL_DATABASE_URL, SAMPLES_DIR, DatabaseSettings  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"
COMMUNES = SAMPLES_DIR / "admin" / "communes_2022_sample.geojson.gz"
PEER_SCHEMA = "bench_peer"
DEFECT_SHARE = 0.001


def _dsn(url: str) -> str:
    return DatabaseSettings(database_url=url).psycopg_dsn


def _ensure_database(url: str) -> None:
    """Create and migrate the benchmark database if it does not exist yet."""
    from db.create import create_database
    from db.engine import make_engine
    from db.migrate import upgrade

    create_database(url)
    engine = make_engine(DatabaseSettings(database_url=url))
    upgrade(engine)
    engine.dispose()


def synthetic_file(n: int, seed: int, out_dir: Path) -> Path:
    """The cached synthetic GeoPackage for ``(n, seed)``, generated on first use."""
    path = out_dir / f"parcels-synth-{n}-s{seed}.gpkg"
    if path.exists():
        return path
    from geo.synth import read_communes, synth_parcels, write_parcels

    started = time.monotonic()
    frame = synth_parcels(read_communes(COMMUNES), n, seed=seed, defect_share=DEFECT_SHARE)
    tmp = path.with_suffix(".tmp.gpkg")
    write_parcels(frame, tmp)
    tmp.rename(path)
    print(f"generated {path.name} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return path


def _fresh_ours(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE parcel CASCADE")
        conn.execute("DELETE FROM quarantine WHERE layer = 'parcels'")
        conn.execute("CHECKPOINT")


def _settle(dsn: str) -> None:
    """Vacuum and analyse our freshly loaded parcels, untimed, before the peer runs.

    Otherwise autovacuum picks the million new rows up a moment later and competes with the
    peer's load for the same two cores, which flatters our ratio.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) parcel")
        conn.execute("CHECKPOINT")


def _fresh_peer(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ident = psycopg.sql.Identifier(PEER_SCHEMA)
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute("CHECKPOINT")


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        parts = [psycopg.sql.Identifier(p) for p in table.split(".")]
        query = psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.SQL(".").join(parts))
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def peak_rss_mb() -> float:
    """This process's peak resident size since it started (``VmHWM``), in MB.

    Not the ``ru_maxrss`` that ``wait4`` reports for a child: Linux carries into it the
    peak of the parent whose copy the child was before ``exec``, so a bench process that
    had just generated the 1M synthetic file (2.2 GB) reported 2,188 MB for every load it
    ran, whatever the load used.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_child(path: Path, url: str) -> None:
    """In the child process: one ``run_ingest`` of the parcels layer; prints its report as JSON."""
    from config import IngestSettings
    from ingest.pipeline import run_ingest
    from ingest.sources import IngestOptions

    if os.environ.get("BENCH_PHASES"):  # time spent per phase, on stderr
        import logging

        logging.basicConfig(stream=sys.stderr, format="%(name)s: %(message)s")
        logging.getLogger("ingest.pipeline").setLevel(logging.DEBUG)
    started = time.monotonic()
    report = run_ingest(
        "parcels",
        path,
        IngestOptions(vintage="bench"),
        DatabaseSettings(database_url=url),
        IngestSettings(),
    )
    seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "read": report.rows_read,
                "loaded": report.loaded,
                "repaired": report.repaired,
                "quarantined": report.quarantined,
                "peak_mb": peak_rss_mb(),
            }
        )
    )


def load_ours(path: Path, url: str) -> dict[str, float]:
    """Our pipeline in a child process: its report, with its own peak RSS (MB)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(path),
            "--database-url",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"our load failed (exit {proc.returncode})")
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def load_peer(path: Path, dsn: str) -> dict[str, float]:
    """``ogr2ogr`` into ``bench_peer.parcel``: COPY, reprojection to 2154, Multi, GiST index."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise SystemExit("ogr2ogr not found: install gdal-bin (scripts/setup does)")
    command = [
        ogr2ogr, "-f", "PostgreSQL", f"PG:{dsn}", str(path),
        "-nln", f"{PEER_SCHEMA}.parcel", "-t_srs", "EPSG:2154", "-nlt", "PROMOTE_TO_MULTI",
        "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST",
        "--config", "PG_USE_COPY", "YES",
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(command, check=True)
    seconds = time.monotonic() - started
    return {"seconds": seconds, "loaded": _count(dsn, f"{PEER_SCHEMA}.parcel")}


def bench(n: int, seed: int, url: str, out_dir: Path) -> dict[str, object]:
    """Run both loads on the same file and return the figures."""
    path = synthetic_file(n, seed, out_dir)
    dsn = _dsn(url)
    _fresh_ours(dsn)
    ours = load_ours(path, url)
    ours["in_table"] = _count(dsn, "parcel")
    _settle(dsn)
    _fresh_peer(dsn)
    try:
        peer = load_peer(path, dsn)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(
                    psycopg.sql.Identifier(PEER_SCHEMA)
                )
            )
    ours_rate = ours["read"] / ours["seconds"]
    peer_rate = n / peer["seconds"]
    return {
        "n": n,
        "file": str(path),
        "file_mb": path.stat().st_size / 1e6,
        "ours": {**ours, "rows_per_s": ours_rate},
        "ogr2ogr": {**peer, "rows_per_s": peer_rate},
        "ratio": ours_rate / peer_rate,
    }


def _print(figures: dict[str, object]) -> None:
    ours = figures["ours"]
    peer = figures["ogr2ogr"]
    assert isinstance(ours, dict) and isinstance(peer, dict)
    print(f"file      {figures['file']} ({figures['file_mb']:.0f} MB, {figures['n']:,} parcels)")
    print(
        f"ours      {ours['seconds']:7.1f} s  {ours['rows_per_s']:9,.0f} rows/s  "
        f"peak RSS {ours['peak_mb']:,.0f} MB  (read {ours['read']:,}, loaded {ours['loaded']:,}, "
        f"repaired {ours['repaired']:,}, quarantined {ours['quarantined']:,})"
    )
    print(
        f"ogr2ogr   {peer['seconds']:7.1f} s  {peer['rows_per_s']:9,.0f} rows/s  "
        f"(loaded {peer['loaded']:,}, no validation)"
    )
    print(f"ratio     {figures['ratio']:.2f} (ours / ogr2ogr throughput; target >= 1)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of parcels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1, help="runs, each with both loads")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="synthetic file cache")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = (
        args.database_url
        or os.environ.get("DATABASE_URL")
        or LOCAL_DATABASE_URL.rsplit("/", 1)[0] + "/foncier_bench"
    )
    if args.child:
        run_child(args.child, url)
        return
    _ensure_database(url)
    runs = []
    for run in range(args.runs):
        figures = bench(args.n, args.seed, url, args.out_dir)
        runs.append(figures)
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"run {run + 1}/{args.runs}")
            _print(figures)
    if args.runs > 1 and not args.json:
        _print_runs(runs)


def _print_runs(runs: list[dict[str, object]]) -> None:
    """Peak RSS and ratio of every run, then their range: the memory bound holds in each."""
    peaks = [float(r["ours"]["peak_mb"]) for r in runs]  # type: ignore[index]
    ratios = [float(r["ratio"]) for r in runs]  # type: ignore[arg-type]
    shown_peaks = ", ".join(f"{p:,.0f}" for p in peaks)
    shown_ratios = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"peak RSS per run (MB): {shown_peaks}; max {max(peaks):,.0f}")
    print(f"ratio per run: {shown_ratios}; median {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()
