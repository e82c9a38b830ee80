"""``foncier score``: ZAN accounts, land units and availability scores, set-based in PostGIS.

One run is one transaction: readers see the previous scores or the new ones, never a mix. The
heavy lifting is in ``geo/sql/*.sql``; this module chooses the scope, passes the profile as bound
parameters and records the run in ``score_run`` (its layer versions drive ``changed_only``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql

from geo.errors import GeoError
from geo.land_units import dissolve_units
from geo.profile import CRITERIA, ZONE_CLASSES, Profile, load_profile

log = logging.getLogger(__name__)

M2_PER_HA = 10_000.0
# Layers whose changes only affect the communes of the rows that changed; any other change
# (constraints, ENAF, targets, boundaries, profile) re-scores everything.
LOCAL_LAYERS = frozenset({"parcels", "buildings", "sites", "friches", "plu"})
STEPS = (
    "scope",
    "ZAN accounts",
    "constraints",
    "parcel inputs",
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
# A score's breakdown as a format() template (score_rows.sql fills the %s in SQL, then one cast to
# json): about 30% cheaper than 7 nested jsonb_build_object calls per row. The column is json, not
# jsonb: json validates the ~1 KB text and keeps it, jsonb would parse and re-encode it (a third of
# the parcel-score phase), and nothing queries inside a breakdown.
# Passed as a bound parameter: its braces and %s would clash with the SQL file's placeholders.
BREAKDOWN_FORMAT = (
    '[{"criterion":"zoning","input":%s,"known":%s,"value":%s,"weight":%s,"contribution":%s},'
    '{"criterion":"constraints","input":%s,"known":%s,"value":%s,"weight":%s,"contribution":%s},'
    '{"criterion":"zan","input":{"status":%s,"cost_ha":%s,"cost_max_ha":%s,'
    '"remaining_epci_ha":%s,"envelope_share":%s,"pene":%s},"known":%s,"value":%s,"weight":%s,'
    '"contribution":%s},'
    '{"criterion":"size","input":%s,"known":%s,"value":%s,"weight":%s,"contribution":%s},'
    '{"criterion":"brownfield","input":%s,"known":true,"value":%s,"weight":%s,'
    '"contribution":%s},'
    '{"criterion":"turnkey","input":%s,"known":true,"value":%s,"weight":%s,"contribution":%s},'
    '{"criterion":"maturity","input":%s,"known":%s,"value":%s,"weight":%s,"contribution":%s}%s]'
)
EXCLUSION_FORMAT = ',{"criterion":"exclusion","input":%s,"value":1,"weight":null,"contribution":0}'


class ScoreError(GeoError):
    """A scoring run that cannot start (unknown territory, empty scope)."""


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


def read_sql(name: str) -> str:
    """The text of ``geo/sql/<name>``."""
    return resources.files("geo.sql").joinpath(name).read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """Split a ``.sql`` file of ours into statements (they end with ``;`` at a line end)."""
    return [s.strip() for s in re.split(r";\s*\n", text) if s.strip() and not _only_comments(s)]


def _only_comments(stmt: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in stmt.splitlines())


def profile_params(profile: Profile) -> dict[str, object]:
    """The profile as bound parameters of the SQL files."""
    kinds, hard, weights = profile.kind_table()
    params: dict[str, object] = {
        "m2_per_ha": M2_PER_HA,
        "subdivide_vertices": 128,
        "kinds": kinds,
        "hard": hard,
        "weights": weights,
        "exclusion_min_share": profile.exclusion_min_share,
        "breakdown_format": BREAKDOWN_FORMAT,
        "exclusion_format": EXCLUSION_FORMAT,
        "zone_classes": list(ZONE_CLASSES),
        "zone_values": [profile.zoning[c] for c in ZONE_CLASSES],
        "zoning_none": profile.zoning["none"],
        "zan_unknown": profile.zan["unknown_value"],
        "curtilage_m": profile.curtilage_m,
        "candidate_zone_classes": list(profile.candidate_zone_classes),
        "unknown_constraints": profile.unknown["constraints"],
        "unknown_size": profile.unknown["size"],
        "unknown_size_cap": profile.unknown["size_cap"],
        "site_brownfield_pattern": profile.site_brownfield_pattern or "$^",
        "full_penalty_share": profile.zan["full_penalty_share"],
        "size_min_ha": profile.size_min_ha,
        "size_target_ha": profile.size_target_ha,
        "maturity_patterns": [p for p, _ in profile.maturity_patterns],
        "maturity_values": [v for _, v in profile.maturity_patterns],
        "maturity_unknown": profile.maturity_unknown,
        "period_length": profile.zan["period_last_year"] - profile.zan["period_first_year"] + 1,
    }
    for key in (
        "reference_first_year",
        "reference_last_year",
        "period_first_year",
        "period_last_year",
    ):
        params[key] = int(profile.zan[key])
    params["default_reduction_pct"] = profile.zan["default_reduction_pct"]
    params["commune_guarantee_ha"] = profile.zan["commune_guarantee_ha"]
    for criterion in CRITERIA:
        params[f"w_{criterion}"] = profile.weights[criterion]
    return params


def run_file(cur: psycopg.Cursor, name: str, params: dict[str, object], **idents: str) -> None:
    """Execute every statement of ``geo/sql/<name>``; ``idents`` fill ``{placeholders}``."""
    for stmt in statements(read_sql(name)):
        query: sql.SQL | sql.Composed = sql.SQL(stmt)  # type: ignore[arg-type]
        if idents:
            query = sql.SQL(stmt).format(  # type: ignore[arg-type]
                **{k: sql.SQL(v) for k, v in idents.items()}  # type: ignore[arg-type]
            )
        t0 = time.monotonic()
        if "CREATE TEMP VIEW" in stmt:
            # DDL takes no server-side parameters: bind these on the client (values still escaped).
            with psycopg.ClientCursor(cur.connection) as ccur:
                ccur.execute(query, params)
        else:
            cur.execute(query, params)
        log.debug("%s: %.2f s: %s", name, time.monotonic() - t0, " ".join(stmt.split())[:70])


# A territory's communes come from the one membership rule (the view territory_commune, migration
# 0003), shared with the ZAN accounts, /territories and /search.
_TERRITORY_SCOPE = "SELECT insee FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s"
_ALL_SCOPE = (
    "SELECT DISTINCT insee FROM parcel UNION SELECT insee FROM site WHERE insee IS NOT NULL"
)


def parse_territory(territory: str | None) -> tuple[str, str | None]:
    """``(type, code)`` of a ``--territory`` value.

    Example:
        >>> parse_territory("200046977"), parse_territory("69"), parse_territory("reg:84")
        (('epci', '200046977'), ('departement', '69'), ('region', '84'))
    """
    if not territory:
        return "all", None
    if ":" in territory:
        prefix, code = territory.split(":", 1)
        kinds = {
            "reg": "region",
            "region": "region",
            "dep": "departement",
            "epci": "epci",
            "com": "commune",
            "commune": "commune",
            "ti2018": "territoire-2018",
            "ti2023": "territoire-2023",
            "scot": "scot",
        }
        if prefix.lower() not in kinds:
            raise ScoreError(f"unknown territory prefix {prefix!r}; use {', '.join(kinds)}")
        return kinds[prefix.lower()], code
    if re.fullmatch(r"\d{9}", territory):
        return "epci", territory
    if re.fullmatch(r"(\d{2}|2[AB]|97\d)", territory):
        return "departement", territory
    if re.fullmatch(r"[0-9][0-9AB]\d{3}", territory):
        return "commune", territory
    raise ScoreError(
        f"cannot read territory {territory!r}: give an EPCI SIREN (9 digits), a département (69), "
        "a commune (69123) or reg:84 / ti2023:ti-8401"
    )


def _layer_versions(cur: psycopg.Cursor) -> dict[str, int]:
    cur.execute("SELECT layer, version FROM layer_version")
    return {layer: int(v) for layer, v in cur.fetchall()}


def _changed_scope(cur: psycopg.Cursor, profile: Profile, audit_upto: int) -> str | None:
    """For ``changed_only``: 'none', 'all' or 'local' (score_scope holds the changed communes).

    ``audit_upto`` is the last ``audit`` row this run takes in: API writes after it are left to
    the next run.
    """
    cur.execute("SELECT profile_version, layer_versions FROM score_run ORDER BY id DESC LIMIT 1")
    last = cur.fetchone()
    if last is None or last[0] != profile.version:
        return "all"
    seen: dict[str, int] = last[1]
    now = _layer_versions(cur)
    changed = {k for k, v in now.items() if seen.get(k) != v and not k.startswith("_")}
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM audit WHERE id > %s AND id <= %s AND target LIKE 'site:%%')",
        (int(seen.get("_audit", 0)), audit_upto),
    )
    if cur.fetchone()[0]:  # type: ignore[index]
        # An API write committed during the last run: its 'sites' bump was seen, not scored.
        changed.add("sites")
    if not changed:
        return "none"
    if not changed <= LOCAL_LAYERS:
        return "all"
    since = int(seen.get("_ingest_run", 0))
    cur.execute(
        """
        CREATE UNLOGGED TABLE score_scope AS
        WITH api_write AS (
            -- sites written through the API since the last run (they carry no ingest run id)
            SELECT substr(target, 6) AS site_id,
                CASE WHEN jsonb_typeof(changes #> '{parcels,old}') = 'array'
                     THEN changes #> '{parcels,old}' END AS old_parcels
            FROM audit
            WHERE id > %(audit)s AND id <= %(upto)s AND target LIKE 'site:%%'
        )
        SELECT insee FROM parcel WHERE run_id > %(since)s
        UNION SELECT insee FROM site WHERE run_id > %(since)s AND insee IS NOT NULL
        UNION SELECT insee FROM friche WHERE run_id > %(since)s AND insee IS NOT NULL
        UNION SELECT insee FROM plu_zone WHERE run_id > %(since)s
        -- parcels deleted since the last run: their communes' scores and units must go too
        UNION SELECT s.insee FROM parcel_score s WHERE NOT EXISTS
            (SELECT 1 FROM parcel p WHERE p.idu = s.idu)
        -- the API's sites: their communes, and those of the parcels they cover or covered
        -- before a move (an IDU starts with its INSEE code)
        UNION SELECT s.insee FROM api_write w JOIN site s ON s.id = w.site_id
            WHERE s.insee IS NOT NULL
        UNION SELECT p.insee FROM api_write w
            JOIN site_parcel sp ON sp.site_id = w.site_id
            JOIN parcel p ON p.idu = sp.idu
        UNION SELECT left(old.idu, 5) FROM api_write w
            CROSS JOIN LATERAL jsonb_array_elements_text(w.old_parcels) old(idu)
        """,
        {"since": since, "audit": int(seen.get("_audit", 0)), "upto": audit_upto},
    )
    return "local"


def score(
    conn: psycopg.Connection,
    territory: str | None = None,
    profile_path: Path | None = None,
    changed_only: bool = False,
    step: Step | None = None,
) -> ScoreReport:
    """Recompute ZAN accounts, land units, parcel and site scores, and commit.

    Args:
        conn: a psycopg connection (not in autocommit); the run commits on success.
        territory: limit parcels, units and sites to a territory (see :func:`parse_territory`);
            ZAN accounts are always recomputed whole (they are small and aggregate communes).
        profile_path: a scoring profile TOML; ``geo/profiles/default.toml`` when None.
        changed_only: re-score only what changed since the last run (by ``layer_version``):
            nothing, the communes of changed parcels/sites/friches/PLU zones, or everything.
        step: called with each step's name as it starts (progress bars).

    Raises:
        ScoreError: an unknown territory or one without any commune.
    """
    started = time.monotonic()
    profile = load_profile(profile_path)
    params = profile_params(profile)
    report = ScoreReport(territory, profile.version)
    timings: dict[str, float] = {}
    last = time.monotonic()
    current = "start"

    def mark(name: str) -> None:
        nonlocal last, current
        now = time.monotonic()
        timings[current] = now - last
        last, current = now, name
        if step:
            step(name)

    with conn.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        # The CREATE TABLE AS of the parcel path run in parallel workers where it pays.
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 2")
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('foncier score'))")
        # Read before the scope: an API write committed during the run is left to the next one.
        cur.execute("SELECT coalesce(max(id), 0) FROM audit")
        audit_upto = int(cur.fetchone()[0])  # type: ignore[index]
        mark("scope")
        mode = "territory"
        if changed_only and territory is None:
            mode = _changed_scope(cur, profile, audit_upto) or "all"
            if mode == "none":
                conn.rollback()
                report.skipped = True
                report.seconds = time.monotonic() - started
                return report
        if mode != "local":
            kind, code = parse_territory(territory if mode == "territory" else None)
            scope = _ALL_SCOPE if kind == "all" else _TERRITORY_SCOPE
            cur.execute(
                sql.SQL("CREATE UNLOGGED TABLE score_scope AS {}").format(
                    sql.SQL(scope)  # type: ignore[arg-type]
                ),
                {"kind": kind, "code": code},
            )
        cur.execute("DELETE FROM score_scope WHERE insee IS NULL")
        cur.execute("ALTER TABLE score_scope ADD PRIMARY KEY (insee)")
        cur.execute("ANALYZE score_scope")
        cur.execute("SELECT count(*) FROM score_scope")
        report.communes = int(cur.fetchone()[0])  # type: ignore[index]
        if territory and report.communes == 0:
            raise ScoreError(f"territory {territory!r} has no commune: load communes first")
        cur.execute(
            """
            CREATE UNLOGGED TABLE score_extent AS
            SELECT coalesce(
                (SELECT ST_SetSRID(ST_Extent(c.geom), 2154) FROM commune c
                 JOIN score_scope s ON s.insee = c.insee),
                (SELECT ST_SetSRID(ST_Extent(p.geom), 2154) FROM parcel p
                 JOIN score_scope s ON s.insee = p.insee),
                ST_MakeEnvelope(0, 0, 0, 0, 2154)
            ) AS extent
            """
        )
        mark("ZAN accounts")
        run_file(cur, "zan_accounts.sql", params)
        report.accounts = cur.rowcount
        mark("constraints")
        run_file(cur, "score_inputs.sql", params)
        mark("land units")
        run_file(cur, "land_units.sql", params)
        t0 = time.monotonic()
        dissolved = dissolve_units(conn)
        log.debug("dissolve_units: %.2f s: %d units", time.monotonic() - t0, dissolved)
        run_file(cur, "land_unit_rows.sql", params)
        report.land_units = max(cur.rowcount, 0)
        mark("parcel scores")
        run_file(
            cur,
            "score_rows.sql",
            params,
            out="parcel_scored",
            metrics=(
                # A built parcel earns no size points; one of unknown status is sized on its own
                # area, capped (it is in no land unit: units are made of available land).
                "(SELECT i.*, m.unit_id,"
                f" coalesce(m.unit_ha, i.area_m2 / {M2_PER_HA}) AS contiguous_ha,"
                " CASE WHEN i.built AND NOT i.brownfield THEN 'built'"
                " WHEN i.land_status = 'unknown' THEN 'capped' ELSE 'known' END AS size_state"
                " FROM score_input i LEFT JOIN score_unit_member m ON m.idu = i.idu)"
            ),
        )
        vintages = _vintages(cur, profile)
        cur.execute("DELETE FROM parcel_score WHERE insee IN (SELECT insee FROM score_scope)")
        cur.execute(
            """
            INSERT INTO parcel_score (idu, insee, score, excluded, land_status, land_evidence,
                zan_cost_ha, zan_cost_max_ha, known_inputs, envelope_share, land_unit_id,
                zone_class, constrained_share, contiguous_ha, candidate, available, to_qualify,
                breakdown, profile_version, vintages)
            SELECT idu, insee, score, excluded, land_status, land_evidence, cost_ha, cost_max_ha,
                known_inputs, envelope_share, unit_id, zone_class, constrained_share,
                CASE WHEN size_state = 'built' THEN NULL ELSE contiguous_ha END, place_ok,
                available, to_qualify, breakdown, %(version)s, %(vintages)s::jsonb
            FROM parcel_scored
            """,
            {"version": profile.version, "vintages": json.dumps(vintages)},
        )
        report.parcels = cur.rowcount
        mark("site scores")
        run_file(cur, "site_inputs.sql", params)
        run_file(
            cur,
            "score_rows.sql",
            params,
            out="site_scored",
            metrics="site_input",
        )
        cur.execute(
            "DELETE FROM site_score WHERE site_id IN (SELECT s.id FROM site s "
            "JOIN score_scope sc ON sc.insee = s.insee) "
            "OR site_id NOT IN (SELECT id FROM site)"
        )
        cur.execute(
            """
            INSERT INTO site_score (site_id, score, excluded, land_status, land_evidence,
                zan_cost_ha, zan_cost_max_ha, known_inputs, envelope_share, contiguous_ha,
                zone_class, breakdown, profile_version, vintages)
            SELECT key, score, excluded, land_status, land_evidence, cost_ha, cost_max_ha,
                known_inputs, envelope_share, contiguous_ha, zone_class, breakdown, %(version)s,
                %(vintages)s::jsonb
            FROM site_scored
            """,
            {"version": profile.version, "vintages": json.dumps(vintages)},
        )
        report.sites = cur.rowcount
        # PENE sites are charged to the national envelope: reported beside, never deducted.
        cur.execute(
            """
            UPDATE zan_account a SET pene_ha = x.pene_ha FROM (
                SELECT m.territory_type, m.territory_code, sum(s.zan_cost_ha) AS pene_ha
                FROM site_score s JOIN site st ON st.id = s.site_id AND st.pene
                JOIN zan_member m ON m.insee = st.insee
                GROUP BY 1, 2
            ) x WHERE a.territory_type = x.territory_type AND a.territory_code = x.territory_code
            """
        )
        # The temporary views depend on the work tables: drop them before the commit, and the
        # work tables with them (nothing outside this transaction ever saw them).
        cur.execute("DROP VIEW parcel_scored, site_scored")
        cur.execute(
            sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(map(sql.Identifier, WORK_TABLES)))
        )
        mark("versions")
        for layer in ("zan_accounts", "parcels", "sites", "land_units", "scores"):
            cur.execute(
                """
                INSERT INTO layer_version (layer, version, updated_at) VALUES (%s, 1, now())
                ON CONFLICT (layer) DO UPDATE
                SET version = layer_version.version + 1, updated_at = now()
                """,
                (layer,),
            )
        seen: dict[str, int] = _layer_versions(cur)
        cur.execute("SELECT coalesce(max(id), 0) FROM ingest_run")
        seen["_ingest_run"] = int(cur.fetchone()[0])  # type: ignore[index]
        seen["_audit"] = audit_upto
        report.seconds = time.monotonic() - started
        cur.execute(
            "INSERT INTO score_run (territory, profile_version, layer_versions, communes, parcels,"
            " sites, seconds) VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s)",
            (
                territory,
                profile.version,
                json.dumps(seen),
                report.communes,
                report.parcels,
                report.sites,
                report.seconds,
            ),
        )
    conn.commit()
    mark("done")
    timings.pop("start", None)
    report.timings = timings
    return report


def _vintages(cur: psycopg.Cursor, profile: Profile) -> dict[str, object]:
    """The data vintages a score was computed from: the last successful load of each layer."""
    cur.execute(
        "SELECT DISTINCT ON (layer) layer, coalesce(vintage, to_char(finished_at, 'YYYY-MM-DD'))"
        " FROM ingest_run WHERE status = 'succeeded' ORDER BY layer, id DESC"
    )
    out: dict[str, object] = dict(cur.fetchall())
    out["profile"] = profile.version
    return out
