"""The scope of a scoring run: a territory's communes, every scored commune, or what changed."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from score.errors import ScoreError
from score.sqlfiles import run_file

# Layers whose changes only affect the communes of the rows that changed; any other change
# (constraints, ENAF, targets, boundaries, profile) re-scores everything.
LOCAL_LAYERS = frozenset({"parcels", "buildings", "sites", "friches", "plu"})
# A territory's communes come from the one membership rule (the view territory_commune, migration
# 0003), shared with the ZAN accounts, /territories and /search.
TERRITORY_SCOPE = "SELECT insee FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s"
ALL_SCOPE = "SELECT DISTINCT insee FROM parcel UNION SELECT insee FROM site WHERE insee IS NOT NULL"


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


def layer_versions(cur: psycopg.Cursor) -> dict[str, int]:
    """Every layer's version (``layer_version``), as the run's snapshot sees them."""
    cur.execute("SELECT layer, version FROM layer_version")
    return {layer: int(v) for layer, v in cur.fetchall()}


def changed_scope(cur: psycopg.Cursor, profile_version: str, audit_upto: int) -> str:
    """For ``changed_only``: 'none', 'all' or 'local' (score_scope then holds the communes).

    ``audit_upto`` is the last ``audit`` row this run takes in: API writes after it are left to
    the next run.
    """
    cur.execute("SELECT profile_version, layer_versions FROM score_run ORDER BY id DESC LIMIT 1")
    last = cur.fetchone()
    if last is None or last[0] != profile_version:
        return "all"
    seen: dict[str, int] = last[1]
    now = layer_versions(cur)
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
    params = {
        "since": int(seen.get("_ingest_run", 0)),
        "audit": int(seen.get("_audit", 0)),
        "upto": audit_upto,
    }
    run_file(cur, "changed_scope.sql", params)
    return "local"


def build_scope(
    cur: psycopg.Cursor,
    territory: str | None,
    changed_only: bool,
    profile_version: str,
    audit_upto: int,
) -> int | None:
    """Create ``score_scope (insee)`` and ``score_extent``; the number of communes, or None when
    ``changed_only`` finds nothing to do.

    Raises:
        ScoreError: a territory given by the user that has no commune.
    """
    mode = "territory"
    if changed_only and territory is None:
        mode = changed_scope(cur, profile_version, audit_upto)
        if mode == "none":
            return None
    if mode != "local":
        kind, code = parse_territory(territory if mode == "territory" else None)
        scope = ALL_SCOPE if kind == "all" else TERRITORY_SCOPE
        cur.execute(
            sql.SQL("CREATE UNLOGGED TABLE score_scope AS {}").format(sql.SQL(scope)),
            {"kind": kind, "code": code},
        )
    cur.execute("DELETE FROM score_scope WHERE insee IS NULL")
    cur.execute("ALTER TABLE score_scope ADD PRIMARY KEY (insee)")
    cur.execute("ANALYZE score_scope")
    cur.execute("SELECT count(*) FROM score_scope")
    communes = int(cur.fetchone()[0])  # type: ignore[index]
    if territory and communes == 0:
        raise ScoreError(f"territory {territory!r} has no commune: load communes first")
    run_file(cur, "score_extent.sql", {})
    return communes
