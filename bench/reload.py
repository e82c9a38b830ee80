"""Reload under load: readers on the live API while the parcels layer is re-ingested and re-scored.

    .venv/bin/python bench/reload.py --n 100000 --clients 4 --reloads 2

1. Recreates the database ``--database-url`` (default ``foncier_bench_reload`` on the local
   cluster), loads the EPCI and commune samples, and writes ``--reloads + 1`` versions of the
   same N synthetic parcels in a few Essonne communes; version k sets every parcel's
   ``contenance_m2`` to 1000 + k, so a response mixing two loads would show two values.
2. Loads version 0, scores, and serves the API with one uvicorn process on 127.0.0.1.
3. ``--clients`` readers loop on items pages (one commune, 1000 parcels) and z14 vector tiles,
   first for ``--baseline-s`` seconds with nothing else running (the peer: the same readers on
   a quiet layer), then while ``foncier ingest parcels`` and ``foncier score`` run each new
   version (real CLI processes).
4. Every answer is checked: status 200 (204 for an empty tile), one ``contenance_m2`` value per
   page and per tile, and the commune's ``numberMatched`` unchanged (a half-loaded commune
   would show another count). Prints requests served, errors, mixed answers, req/s, p50/p95,
   for the quiet phase and the reload phase, and the reload and re-score times.

Exit status 1 if any read failed or mixed versions.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import LOCAL_DATABASE_URL, SAMPLES_DIR, DatabaseSettings, IngestSettings  # noqa: E402

COMMUNES = SAMPLES_DIR / "admin" / "communes_2022_sample.geojson.gz"
EPCI = SAMPLES_DIR / "admin" / "epci_2022_sample.geojson.gz"
# Morangis, Athis-Mons, Juvisy, Savigny, Paray, Chilly: adjacent Essonne communes.
INSEE = ("91432", "91027", "91326", "91589", "91479", "91161")
FONCIER = str(ROOT / ".venv" / "bin" / "foncier")


@dataclass
class Phase:
    """Figures of one phase (quiet or reload)."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    versions: set[int] = field(default_factory=set)
    seconds: float = 0.0

    def line(self, name: str) -> str:
        n = len(self.latencies_ms)
        lat = sorted(self.latencies_ms) or [0.0]
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        return (
            f"{name:<7} requests {n:>6}  errors {len(self.errors):>3}  mixed {len(self.mixed):>3}  "
            f"{n / max(self.seconds, 1e-9):7.1f} req/s  p50 {statistics.median(lat):7.1f} ms  "
            f"p95 {p95:7.1f} ms  versions seen {sorted(self.versions)}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _recreate(url: str) -> DatabaseSettings:
    from db.create import create_database
    from db.engine import make_engine
    from db.migrate import upgrade

    create_database(url, replace=True)
    settings = DatabaseSettings(database_url=url)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


def _write_versions(n: int, versions: int, out: Path) -> tuple[list[Path], dict[str, int]]:
    """The same parcels ``versions`` times, contenance_m2 = 1000 + k; counts by commune."""
    from geo.synth import read_communes, synth_parcels, write_parcels

    communes = read_communes(COMMUNES)
    communes = communes[communes["insee_com"].isin(INSEE)]
    # Small communes, many parcels: shrink the parcels so they fit (urban cadastre is dense).
    area_m2 = float(communes.to_crs(2154).area.sum())
    frame = synth_parcels(communes, n, seed=0, mean_area_m2=min(5000.0, 0.8 * area_m2 / n))
    paths = []
    for k in range(versions):
        frame["contenance"] = 1000 + k
        paths.append(write_parcels(frame, out / f"parcelles-v{k}.gpkg"))
    return paths, frame["commune"].value_counts().to_dict()


def _cli(args: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    r = subprocess.run([FONCIER, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"foncier {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return time.monotonic() - started


def _tiles(communes: list[str], settings: DatabaseSettings) -> list[str]:
    """One z14 tile path at the centre of each commune."""
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    out = []
    with psycopg.connect(settings.psycopg_dsn) as conn:
        for insee in communes:
            row = conn.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326)"
                " AS p FROM commune WHERE insee = %s) x",
                (insee,),
            ).fetchone()
            if row:
                t = tms.tile(row[0], row[1], 14)
                out.append(f"/collections/parcels/tiles/WebMercatorQuad/14/{t.x}/{t.y}")
    return out


def _reader(
    base: str, counts: dict[str, int], tiles: list[str], stop: threading.Event,
    phases: dict[str, Phase], current: list[str], seed: int,
) -> None:  # fmt: skip
    import mapbox_vector_tile

    communes = sorted(counts)
    i = seed
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            i += 1
            phase = phases[current[0]]
            insee = communes[i % len(communes)]
            started = time.monotonic()
            try:
                if i % 2:
                    r = client.get(
                        "/collections/parcels/items",
                        params={"insee": insee, "limit": 1000, "properties": "contenance_m2"},
                    )
                    ms = (time.monotonic() - started) * 1000
                    if r.status_code != 200:
                        phase.errors.append(f"items {r.status_code} {r.text[:200]}")
                        continue
                    body = r.json()
                    values = {f["properties"]["contenance_m2"] for f in body["features"]}
                    if len(values) > 1 or body["numberMatched"] != counts[insee]:
                        phase.mixed.append(f"items {insee}: {values} {body['numberMatched']}")
                else:
                    path = tiles[i % len(tiles)]
                    r = client.get(path)
                    ms = (time.monotonic() - started) * 1000
                    if r.status_code not in (200, 204):
                        phase.errors.append(f"tile {r.status_code} {r.text[:200]}")
                        continue
                    values = set()
                    for layer in mapbox_vector_tile.decode(r.content).values() if r.content else []:
                        values |= {f["properties"].get("contenance_m2") for f in layer["features"]}
                    if len(values) > 1:
                        phase.mixed.append(f"tile {path}: {values}")
            except httpx.HTTPError as exc:
                what = "items" if i % 2 else "tile"
                elapsed = time.monotonic() - started
                phase.errors.append(f"{what} after {elapsed:.1f} s: {type(exc).__name__}: {exc}")
                continue
            phase.latencies_ms.append(ms)
            phase.versions |= {v - 1000 for v in values if isinstance(v, int)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic parcels")
    parser.add_argument("--clients", type=int, default=4, help="concurrent readers")
    parser.add_argument("--reloads", type=int, default=2, help="re-ingest + re-score rounds")
    parser.add_argument("--baseline-s", type=float, default=5.0, help="quiet phase length")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url or LOCAL_DATABASE_URL.rsplit("/", 1)[0] + "/foncier_bench_reload"

    from ingest.pipeline import run_ingest
    from ingest.sources import IngestOptions

    settings = _recreate(url)
    for layer, path in (("epci", EPCI), ("communes", COMMUNES)):
        run_ingest(layer, path, IngestOptions(), settings, IngestSettings())
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}
    with tempfile.TemporaryDirectory(prefix="foncier-reload-") as tmp:
        paths, counts = _write_versions(args.n, args.reloads + 1, Path(tmp))
        print(f"{args.n:,} synthetic parcels in {len(counts)} communes, {len(paths)} versions")
        load_s = _cli(["ingest", "parcels", str(paths[0]), "--vintage", "v0"], env)
        score_s = _cli(["score"], env)
        print(f"initial load {load_s:.1f} s, score {score_s:.1f} s")
        tiles = _tiles(sorted(counts), settings)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            phases = {"quiet": Phase(), "reload": Phase()}
            current = ["quiet"]
            stop = threading.Event()
            readers = [
                threading.Thread(
                    target=_reader, args=(base, counts, tiles, stop, phases, current, k)
                )
                for k in range(args.clients)
            ]
            for t in readers:
                t.start()
            started = time.monotonic()
            time.sleep(args.baseline_s)
            phases["quiet"].seconds = time.monotonic() - started
            current[0] = "reload"
            started = time.monotonic()
            steps = []
            for k in range(1, args.reloads + 1):
                ingest_s = _cli(["ingest", "parcels", str(paths[k]), "--vintage", f"v{k}"], env)
                score_s = _cli(["score"], env)
                steps.append(f"reload v{k}: ingest {ingest_s:.1f} s, score {score_s:.1f} s")
            time.sleep(0.5)  # readers see the last version too
            phases["reload"].seconds = time.monotonic() - started
            stop.set()
            for t in readers:
                t.join()
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    print("\n".join(steps))
    print(f"readers: {args.clients} clients, items (1000 parcels of one commune) and z14 tiles")
    print(phases["quiet"].line("quiet"))
    print(phases["reload"].line("reload"))
    for phase in phases.values():
        for message in (phase.errors + phase.mixed)[:5]:
            print("  ", message)
    bad = sum(len(p.errors) + len(p.mixed) for p in phases.values())
    print("OK: zero failed reads, no mixed versions" if not bad else f"FAILED: {bad} bad reads")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
