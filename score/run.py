"""``foncier score``: ZAN accounts, land units and availability scores, set-based in PostGIS.

One run is one REPEATABLE READ transaction: every step reads the same snapshot of the data, the
layer versions recorded with the run are those of that snapshot, and readers see the previous
scores or the new ones, never a mix. A load that commits a layer version during the run makes
the run's own version bump fail to serialise: the run is then retried on the new data. The
heavy lifting is in ``score/sql/*.sql``; this module chains the steps and records the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import errors, sql

from db.timing import PhaseTimes
from score.checklist import load_checklist
from score.errors import ScoreError
from score.land_units import dissolve_units
from score.params import profile_params
from score.profile import Profile, load_profile
from score.readiness import refresh_readiness
from score.scope import build_scope, layer_versions
from score.sqlfiles import run_file

log = logging.getLogger(__name__)

STEPS = (
    "scope",
    "ZAN accounts",
    "constraints",
    "land units",
    "parcel scores",
    "site scores",
    "versions",
)
Step = Callable[[str], None]
# Work tables of the parcel path: UNLOGGED (parallel workers cannot read temporary tables), created
# and dropped inside the run's transaction, so no other session ever sees them; an advisory lock
# keeps two runs from creating them at once.
WORK_TABLES = (
    "score_scope",
    "score_extent",
    "score_piece",
    "score_base",
    "score_built",
    "score_zone",
    "score_overlap",
    "score_brownfield",
    "score_input",
    "score_cluster",
    "score_unit",
    "score_unit_member",
)
# A run that lost a serialisation race against a load is retried on the new snapshot.
RETRIES = 3
# The parcel rows of score_rows.sql: a built parcel earns no size points; one of unknown status
# is sized on its own area, capped (it is in no land unit: units are made of available land).
PARCEL_METRICS = (
    "(SELECT i.*, m.unit_id, coalesce(m.unit_ha, i.area_m2 / %(m2_per_ha)s) AS contiguous_ha,"
    " CASE WHEN i.built AND NOT i.brownfield THEN 'built'"
    " WHEN i.land_status = 'unknown' THEN 'capped' ELSE 'known' END AS size_state"
    " FROM score_input i LEFT JOIN score_unit_member m ON m.idu = i.idu)"
)


@dataclass
class ScoreReport:
    """What a scoring run did."""

    territory: str | None
    profile_version: str
    communes: int = 0
    parcels: int = 0
    sites: int = 0
    land_units: int = 0
    accounts: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    skipped: bool = False


@dataclass
class _Run:
    """One run's state: its cursor, profile and parameters, report and step timer."""

    cur: psycopg.Cursor
    profile: Profile
    params: dict[str, object]
    report: ScoreReport
    step: Step | None
    times: PhaseTimes = field(default_factory=PhaseTimes)

    def mark(self, name: str | None) -> None:
        """Step ``name`` starts (None: the run is over), the previous one ends."""
        self.times.switch(name)
        if name is not None and self.step:
            self.step(name)


def score(
    conn: psycopg.Connection,
    territory: str | None = None,
    profile_path: Path | None = None,
    changed_only: bool = False,
    step: Step | None = None,
) -> ScoreReport:
    """Recompute ZAN accounts, land units, parcel and site scores, and commit.

    Args:
        conn: a psycopg connection (not in autocommit, no transaction open); the run commits
            on success.
        territory: limit parcels, units and sites to a territory (see
            :func:`score.scope.parse_territory`); ZAN accounts are always recomputed whole.
        profile_path: a scoring profile TOML; ``score/profiles/default.toml`` when None.
        changed_only: re-score only what changed since the last run (by ``layer_version``):
            nothing, the communes of changed parcels/sites/friches/PLU zones, or everything.
        step: called with each step's name as it starts (progress bars).

    Raises:
        ScoreError: an unknown territory or one without any commune.
    """
    profile = load_profile(profile_path)
    previous = conn.isolation_level
    conn.rollback()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        for attempt in range(1, RETRIES + 1):
            try:
                return _score_once(conn, profile, territory, changed_only, step)
            except errors.SerializationFailure:
                conn.rollback()
                if attempt == RETRIES:
                    raise
                log.info("a load committed during the scoring run: run %d again", attempt + 1)
        raise AssertionError("unreachable")
    finally:
        # A failed run leaves its transaction aborted: end it before restoring the level.
        conn.rollback()
        conn.isolation_level = previous


def _score_once(
    conn: psycopg.Connection,
    profile: Profile,
    territory: str | None,
    changed_only: bool,
    step: Step | None,
) -> ScoreReport:
    report = ScoreReport(territory, profile.version)
    with conn.cursor() as cur:
        run = _Run(cur, profile, profile_params(profile), report, step)
        audit_upto = begin_run(run)
        run.mark("scope")
        communes = build_scope(cur, territory, changed_only, profile.version, audit_upto)
        if communes is None:
            conn.rollback()
            report.skipped = True
            report.seconds = run.times.elapsed
            return report
        report.communes = communes
        run.mark("ZAN accounts")
        run_file(cur, "zan_accounts.sql", run.params)
        report.accounts = cur.rowcount
        score_parcels(run, conn)
        run.mark("site scores")
        score_sites(run)
        run.mark("versions")
        record_run(run, audit_upto)
    conn.commit()
    run.mark(None)
    report.timings = dict(run.times.seconds)
    return report


def begin_run(run: _Run) -> int:
    """Settings and lock of the run's transaction; returns the last ``audit`` id it takes in."""
    cur = run.cur
    cur.execute("SET LOCAL jit = off")
    # The CREATE TABLE AS of the parcel path run in parallel workers where it pays.
    cur.execute("SET LOCAL max_parallel_workers_per_gather = 2")
    # Runs queue here; the snapshot is the one of this first statement, so a waiting run may
    # find the layer versions changed under it and be retried.
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('foncier score'))")
    # Read in the snapshot: an API write committed during the run is left to the next one.
    cur.execute("SELECT coalesce(max(id), 0) FROM audit")
    return int(cur.fetchone()[0])  # type: ignore[index]


def score_parcels(run: _Run, conn: psycopg.Connection) -> None:
    """Constraint overlaps, land status, land units, then parcel scores and breakdowns."""
    cur, params = run.cur, run.params
    run.mark("constraints")
    run_file(cur, "score_inputs.sql", params)
    run.mark("land units")
    run_file(cur, "land_units.sql", params)
    dissolved = dissolve_units(conn)
    log.debug("dissolve_units: %d units", dissolved)
    run_file(cur, "land_unit_rows.sql", params)
    run.report.land_units = max(cur.rowcount, 0)
    run.mark("parcel scores")
    run_file(cur, "score_rows.sql", params, out="parcel_scored", metrics=PARCEL_METRICS)
    writes = {"version": run.profile.version, "vintages": json.dumps(_vintages(run))}
    run.params.update(writes)
    run_file(cur, "parcel_scores_write.sql", run.params)
    run.report.parcels = cur.rowcount


def score_sites(run: _Run) -> None:
    """Site inputs (footprint, parcels, brownfield, land units) and site scores; PENE hectares."""
    cur = run.cur
    run_file(cur, "site_inputs.sql", run.params)
    run_file(cur, "score_rows.sql", run.params, out="site_scored", metrics="site_input")
    cur.execute(sql.SQL("SELECT count(*) FROM site_input"))
    run.report.sites = int(cur.fetchone()[0])  # type: ignore[index]
    run_file(cur, "site_scores_write.sql", run.params)
    # Distances to the nearest rail line and freight port, for the scope's land units and sites.
    run_file(cur, "access_distances.sql", run.params)
    # The checklist's computed items follow the zoning and constraint layers: every site's
    # readiness is re-evaluated with them (a few statements per run, sites are few).
    refresh_readiness(cur.connection, load_checklist())
    # The temporary views depend on the work tables: drop them before the commit, and the
    # work tables with them (nothing outside this transaction ever saw them).
    cur.execute("DROP VIEW parcel_scored, site_scored")
    cur.execute(
        sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(map(sql.Identifier, WORK_TABLES)))
    )


def record_run(run: _Run, audit_upto: int) -> None:
    """Bump the derived layers' versions and record the run with the versions it saw."""
    cur, report = run.cur, run.report
    seen: dict[str, int] = layer_versions(cur)
    cur.execute("SELECT coalesce(max(id), 0) FROM ingest_run")
    seen["_ingest_run"] = int(cur.fetchone()[0])  # type: ignore[index]
    seen["_audit"] = audit_upto
    # Our own bumps are part of what the run saw (the next --changed must not redo them).
    for layer in ("zan_accounts", "parcels", "sites", "land_units", "scores"):
        seen[layer] = seen.get(layer, 0) + 1
    report.seconds = run.times.elapsed
    run_file(
        cur,
        "record_run.sql",
        {
            "territory": report.territory,
            "version": run.profile.version,
            "seen": json.dumps(seen),
            "communes": report.communes,
            "parcels": report.parcels,
            "sites": report.sites,
            "seconds": report.seconds,
        },
    )


def _vintages(run: _Run) -> dict[str, object]:
    """The data vintages a score was computed from: the last successful load of each layer."""
    run.cur.execute(
        "SELECT DISTINCT ON (layer) layer, coalesce(vintage, to_char(finished_at, 'YYYY-MM-DD'))"
        " FROM ingest_run WHERE status = 'succeeded' ORDER BY layer, id DESC"
    )
    out: dict[str, object] = dict(run.cur.fetchall())
    out["profile"] = run.profile.version
    return out


__all__ = ["STEPS", "ScoreError", "ScoreReport", "score"]
