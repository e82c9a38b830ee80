"""Scoring benchmark: ``foncier score`` (set-based SQL) against a naive geopandas overlay.

    .venv/bin/python bench/score.py --n 1000000 --sample 100000

1. Builds, in SQL, N grid parcels (70 m squares, about 0.5 ha, 20% built, each built one with a
   20 m building in a corner, the others known unbuilt) in 7 km communes
   grouped in 4 EPCIs, 4 PLU zones per commune, ENAF flows per commune, and ``--constraints``
   (default 2,000) constraint polygons of 100-600 m radius with 129 vertices each, spread over
   the parcels' extent (about 15% of the ground covered), one of six kinds (hard and soft).
2. Runs the whole scoring (``score.score``: ZAN accounts, constraint overlaps, land units,
   scores and breakdowns, site scores) and times it.
3. Runs the same parcel computation naively on a ``--sample`` of parcels: read into geopandas,
   ``geopandas.overlay`` with the constraints for the covered share per kind, ``sjoin`` for the
   zone, land units by ``dissolve`` + ``explode`` per commune and zone, the same criteria and
   breakdown in pandas, and the scores and units written back with ``to_sql``/``to_postgis``.
   (No site scoring and no ZAN accounts: the synthetic set has no sites and the accounts take
   milliseconds.)
4. Prints parcels/s for both, their phases, and the ratio.

The database is ``--database-url``, else ``foncier_bench_score`` on the local cluster, dropped
and re-created at each run: never point it at a database you want to keep.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy.dialects.postgresql import JSONB

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import DatabaseSettings  # noqa: E402
from db.engine import connect_raw, make_engine  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from score import score  # noqa: E402
from score.profile import load_profile  # noqa: E402

log = logging.getLogger("bench.score")

PARCEL_SIDE_M = 70.0
COMMUNE_SIDE_PARCELS = 100  # 100 x 100 parcels = 7 km communes
X0, Y0 = 650_000.0, 6_800_000.0
KINDS = ("natura2000_sic", "flood_high", "znieff1", "znieff2", "flood_medium", "polluted_site")
ZONE_CLASSES = ("activity", "urban", "agricultural", "natural")

BUILD_SQL = """
INSERT INTO commune (insee, nom, dep, reg, siren_epci, geom)
SELECT '91' || lpad(c::text, 3, '0'), 'Commune ' || c, '91', '11',
    '20000000' || (c %% 4)::text,
    ST_Multi(ST_MakeEnvelope(%(x0)s + cx * %(cside)s, %(y0)s + cy * %(cside)s,
        %(x0)s + (cx + 1) * %(cside)s, %(y0)s + (cy + 1) * %(cside)s, 2154))
FROM (SELECT c, c %% %(ncx)s AS cx, c / %(ncx)s AS cy
      FROM generate_series(0, %(ncommunes)s - 1) c) g;

INSERT INTO epci (siren, nom, geom)
SELECT siren_epci, 'EPCI ' || siren_epci, ST_Multi(ST_Union(geom)) FROM commune GROUP BY 1;

INSERT INTO parcel (idu, insee, prefixe, section, numero, contenance_m2, built, geom)
SELECT '91' || lpad(c::text, 3, '0') || '000' || 'A' || chr(65 + k / 1000)
        || lpad((k %% 1000)::text, 4, '0'),
    '91' || lpad(c::text, 3, '0'), '000', 'A' || chr(65 + k / 1000),
    lpad((k %% 1000)::text, 4, '0'),
    %(side)s * %(side)s, (hashint4(i) %% 5) = 0,
    ST_Multi(ST_MakeEnvelope(%(x0)s + px * %(side)s, %(y0)s + py * %(side)s,
        %(x0)s + (px + 1) * %(side)s, %(y0)s + (py + 1) * %(side)s, 2154))
FROM (
    SELECT i, gx AS px, gy AS py,
        (gy / %(per)s) * %(ncx)s + gx / %(per)s AS c,
        (gy %% %(per)s) * %(per)s + gx %% %(per)s AS k
    FROM (SELECT i, i %% %(ngx)s AS gx, i / %(ngx)s AS gy FROM generate_series(0, %(n)s - 1) i) a
) b;

-- One 20 m x 20 m building in the corner of each built parcel: the curtilage rule's input.
INSERT INTO building (id, insee, geom)
SELECT 'b' || p.idu, p.insee,
    ST_Multi(ST_MakeEnvelope(ST_XMin(p.geom), ST_YMin(p.geom), ST_XMin(p.geom) + 20,
        ST_YMin(p.geom) + 20, 2154))
FROM parcel p WHERE p.built;

INSERT INTO plu_zone (id, insee, libelle, typezone, zone_class, geom)
SELECT c.insee || '-' || q, c.insee, 'Z' || q, 'U', (%(zone_classes)s::text[])[q + 1],
    ST_Multi(ST_MakeEnvelope(ST_XMin(c.geom) + (q %% 2) * %(cside)s / 2,
        ST_YMin(c.geom) + (q / 2) * %(cside)s / 2,
        ST_XMin(c.geom) + (q %% 2 + 1) * %(cside)s / 2,
        ST_YMin(c.geom) + (q / 2 + 1) * %(cside)s / 2, 2154))
FROM commune c CROSS JOIN generate_series(0, 3) q;

INSERT INTO enaf_flow (insee, year, destination, area_m2)
SELECT insee, y, 'total', 20000 + (hashint4(y + length(insee)) %% 10000)
FROM commune CROSS JOIN generate_series(2009, 2023) y;

INSERT INTO constraint_zone (id, kind, source, geom)
SELECT 'c' || j, (%(kinds)s::text[])[1 + j %% 6], 'bench',
    ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(
        %(x0)s + (hashint4(j) & 2147483647)::float8 / 2147483647 * %(width)s,
        %(y0)s + (hashint4(j + 7919) & 2147483647)::float8 / 2147483647 * %(height)s), 2154),
        100 + (hashint4(j + 104729) & 2147483647)::float8 / 2147483647 * 500, 32))
FROM generate_series(1, %(nconstraints)s) j;

ANALYZE;
"""


def _recreate(url: str) -> None:
    from db.create import create_database

    create_database(url, replace=True)


def build(settings: DatabaseSettings, n: int, constraints: int) -> float:
    """Create the synthetic data set; returns the seconds it took."""
    started = time.monotonic()
    _recreate(settings.database_url)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    per = COMMUNE_SIDE_PARCELS
    ngx = max(per, int(round(n**0.5 / per)) * per)  # grid width, whole communes wide
    ngy = -(-n // ngx)
    ncx = ngx // per
    ncommunes = ncx * (-(-ngy // per))
    params = {
        "n": n,
        "ngx": ngx,
        "per": per,
        "ncx": ncx,
        "ncommunes": ncommunes,
        "side": PARCEL_SIDE_M,
        "cside": PARCEL_SIDE_M * per,
        "x0": X0,
        "y0": Y0,
        "width": ngx * PARCEL_SIDE_M,
        "height": ngy * PARCEL_SIDE_M,
        "kinds": list(KINDS),
        "zone_classes": list(ZONE_CLASSES),
        "nconstraints": constraints,
    }
    with connect_raw(settings) as conn, conn.cursor() as cur:
        for stmt in [s for s in BUILD_SQL.split(";\n") if s.strip()]:
            cur.execute(stmt, params)  # type: ignore[arg-type]
        conn.commit()
    return time.monotonic() - started


def naive(settings: DatabaseSettings, sample: int) -> tuple[int, float, dict[str, float]]:
    """The parcel scoring written naively with geopandas on ``sample`` parcels.

    It computes what ``foncier score`` computes for parcels, as far as is reasonable: constraint
    shares by kind (overlay), exclusions, zone (sjoin), ZAN cost against the EPCI envelope,
    contiguous land units (dissolve + explode of the unbuilt, non-excluded parcels per commune and
    zone), every criterion, the per-parcel breakdown, and writes scores and units back to PostGIS
    (``to_sql``/``to_postgis``). Returns the parcels scored, the seconds, and per-phase seconds.
    """
    profile = load_profile()
    engine = make_engine(settings)
    started = last = time.monotonic()
    phases: dict[str, float] = {}

    def mark(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        phases[name] = now - last
        last = now

    parcels = gpd.read_postgis(
        "SELECT p.idu, p.insee, coalesce(p.built, false) AS built, c.siren_epci, p.geom"
        " FROM parcel p JOIN commune c USING (insee) ORDER BY p.idu LIMIT %(n)s",
        engine,
        geom_col="geom",
        params={"n": sample},
    )
    buildings = gpd.read_postgis(
        "SELECT b.geom FROM building b JOIN (SELECT idu, geom FROM parcel ORDER BY idu"
        " LIMIT %(n)s) p ON b.geom && p.geom",
        engine,
        geom_col="geom",
        params={"n": sample},
    )
    cons = gpd.read_postgis("SELECT kind, geom FROM constraint_zone", engine, geom_col="geom")
    zones = gpd.read_postgis("SELECT id, zone_class, geom FROM plu_zone", engine, geom_col="geom")
    accounts = pd.read_sql(
        "SELECT territory_code AS siren_epci, remaining_ha FROM zan_account "
        "WHERE territory_type = 'epci'",
        engine,
    )
    mark("read")
    parcels["area_m2"] = parcels.area
    pieces = gpd.overlay(parcels[["idu", "geom"]], cons, how="intersection", keep_geom_type=True)
    # Same-kind overlaps would be counted twice here: dissolve per parcel and kind first.
    dissolved = pieces.dissolve(by=["idu", "kind"]).reset_index()
    dissolved["covered_m2"] = dissolved.area
    share = dissolved.merge(parcels[["idu", "area_m2"]], on="idu")
    share["share"] = (share["covered_m2"] / share["area_m2"]).clip(upper=1)
    kinds, hard, weights = profile.kind_table()
    kind_weight = dict(zip(kinds, weights, strict=True))
    share["penalty"] = share["kind"].map(kind_weight) * share["share"]
    share["hard_hit"] = share["kind"].isin(profile.hard_kinds) & (
        share["share"] >= profile.exclusion_min_share
    )
    share["share4"] = share["share"].round(4)
    per_parcel = share.groupby("idu").agg(
        penalty=("penalty", "sum"),
        excluded=("hard_hit", "any"),
        constrained_share=("share", "max"),
    )
    per_parcel["shares"] = share.groupby("idu")[["kind", "share4"]].apply(
        lambda g: dict(zip(g["kind"], g["share4"], strict=True))
    )
    per_parcel["hard_kinds"] = (
        share[share["hard_hit"]].groupby("idu")["kind"].apply(lambda k: sorted(k))
    )
    points = parcels[["idu", "geom"]].copy()
    points["geom"] = parcels.representative_point()
    points = points.set_geometry("geom")
    zone_of = gpd.sjoin(points, zones, predicate="within").drop_duplicates("idu")
    df = parcels.merge(per_parcel.reset_index(), on="idu", how="left")
    df = df.merge(zone_of[["idu", "id", "zone_class"]], on="idu", how="left")
    df = df.merge(accounts, on="siren_epci", how="left")
    df["penalty"] = df["penalty"].fillna(0)
    df["constrained_share"] = df["constrained_share"].fillna(0)
    df["excluded"] = df["excluded"].astype("boolean").fillna(False).astype(bool)
    mark("constraints and inputs")
    # Land status from evidence: built parcels cost their area beyond a curtilage of their
    # buildings, unbuilt ones (the synthetic set has a building layer everywhere) their area.
    curtilage = buildings.copy()
    curtilage["geom"] = curtilage.buffer(profile.curtilage_m)
    curtilage = curtilage.set_geometry("geom")
    built = df[df["built"]][["idu", "geom"]]
    beyond = gpd.overlay(built, curtilage, how="difference", keep_geom_type=True)
    beyond_m2 = pd.Series(beyond.area.to_numpy(), index=beyond["idu"].to_numpy())
    df["land_status"] = "enaf"
    df.loc[df["built"], "land_status"] = "artificialised"
    cost = (df["area_m2"] / 10_000).where(~df["built"], df["idu"].map(beyond_m2).fillna(0) / 10_000)
    # Available land: candidate zone, known unbuilt, not excluded; only it forms land units.
    candidate = df["zone_class"].isin(profile.candidate_zone_classes)
    df["available"] = candidate & ~df["built"] & ~df["excluded"]
    free = df[df["available"]]
    units = (
        free[["insee", "id", "geom"]]
        .dissolve(by=["insee", "id"], dropna=False)
        .explode(index_parts=False)
        .reset_index()
    )
    units["unit_id"] = range(len(units))
    units["area_ha"] = units.area / 10_000
    free_points = points[points["idu"].isin(free["idu"])]
    member = gpd.sjoin(free_points, units[["unit_id", "area_ha", "geom"]], predicate="within")
    df = df.merge(
        member[["idu", "unit_id", "area_ha"]].drop_duplicates("idu"), on="idu", how="left"
    )
    df["contiguous_ha"] = df["area_ha"].fillna(df["area_m2"] / 10_000)
    mark("land units")
    w = profile.weights
    zoning = df["zone_class"].fillna("none").map(profile.zoning)
    envelope_share = (cost / df["remaining_ha"]).where(cost > 0, 0.0)
    zan = (1 - envelope_share / profile.zan["full_penalty_share"]).clip(lower=0)
    zan = zan.where(cost > 0, 1.0)
    size = (
        (
            (df["contiguous_ha"] - profile.size_min_ha)
            / (profile.size_target_ha - profile.size_min_ha)
        )
        .clip(0, 1)
        .where(~df["built"], 0.0)
    )
    values = {
        "zoning": zoning,
        "constraints": 1 - df["penalty"].clip(upper=1),
        "zan": zan,
        "size": size,
        "brownfield": pd.Series(0.0, index=df.index),  # no friches in the synthetic set
        "turnkey": pd.Series(0.0, index=df.index),  # no sites either
        "maturity": pd.Series(0.0, index=df.index),
    }
    contributions = {c: (w[c] * v).round(2).where(~df["excluded"], 0.0) for c, v in values.items()}
    df["score"] = sum(contributions.values())
    inputs = {
        "zoning": df["zone_class"].fillna("unknown"),
        "constraints": df["shares"].apply(lambda d: d if isinstance(d, dict) else {}),
        "zan": [
            {
                "status": s,
                "cost_ha": round(c, 4),
                "cost_max_ha": round(c, 4),
                "remaining_epci_ha": r,
                "envelope_share": e,
                "pene": False,
            }
            for s, c, r, e in zip(
                df["land_status"], cost, df["remaining_ha"], envelope_share, strict=True
            )
        ],
        "size": df["contiguous_ha"].round(4).astype(object).where(~df["built"], "built"),
        "brownfield": [False] * len(df),
        "turnkey": [False] * len(df),
        "maturity": [None] * len(df),
    }
    columns = [
        list(zip(inputs[c], values[c].round(4), contributions[c], strict=True)) for c in values
    ]
    names = list(values)
    df["breakdown"] = [
        [
            {
                "criterion": n,
                "input": i,
                "known": n != "zoning" or i != "unknown",
                "value": v,
                "weight": w[n],
                "contribution": c,
            }
            for n, (i, v, c) in zip(names, row, strict=True)
        ]
        + (
            [{"criterion": "exclusion", "input": hk, "value": 1, "weight": None, "contribution": 0}]
            if ex
            else []
        )
        for row, ex, hk in zip(
            zip(*columns, strict=True), df["excluded"], df["hard_kinds"], strict=True
        )
    ]
    df["zan_cost_ha"] = cost
    df["envelope_share"] = envelope_share
    mark("scores and breakdowns")
    df[
        [
            "idu",
            "insee",
            "score",
            "excluded",
            "land_status",
            "zan_cost_ha",
            "envelope_share",
            "available",
            "unit_id",
            "zone_class",
            "constrained_share",
            "contiguous_ha",
            "breakdown",
        ]
    ].to_sql(
        "naive_parcel_score", engine, if_exists="replace", index=False, dtype={"breakdown": JSONB}
    )
    units[["unit_id", "insee", "id", "area_ha", "geom"]].to_postgis(
        "naive_land_unit", engine, if_exists="replace", index=False
    )
    mark("write")
    engine.dispose()
    return len(df), time.monotonic() - started, phases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic parcels")
    parser.add_argument("--sample", type=int, default=20_000, help="parcels for the naive peer")
    parser.add_argument("--constraints", type=int, default=2_000, help="constraint polygons")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = args.database_url or "postgresql+psycopg://foncier@127.0.0.1:5439/foncier_bench_score"
    settings = DatabaseSettings(database_url=url)
    built_s = build(settings, args.n, args.constraints)
    print(
        f"data: {args.n:,} parcels, {args.constraints:,} constraint polygons,"
        f" built in {built_s:.1f} s"
    )
    with connect_raw(settings) as conn:
        report = score(conn)
    ours = report.parcels / report.seconds
    print(
        f"foncier score: {report.parcels:,} parcels, {report.land_units:,} land units in "
        f"{report.seconds:.1f} s = {ours:,.0f} parcels/s"
    )
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    count, naive_s, phases = naive(settings, min(args.sample, args.n))
    peer = count / naive_s
    print(f"geopandas overlay: {count:,} parcels in {naive_s:.1f} s = {peer:,.0f} parcels/s")
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    print(
        f"ratio: {ours / peer:.1f}x (foncier score {ours:,.0f} parcels/s on {report.parcels:,}"
        f" / geopandas {peer:,.0f} parcels/s on {count:,})"
    )


if __name__ == "__main__":
    main()
