"""Undo a load (``foncier ingest undo RUN_ID``) or an API write (``foncier sites undo AUDIT_ID``).

The versions a run or a write replaced are in the ``history`` schema (migration 0006,
:mod:`db.history`). Undoing puts them back, in one transaction: for every versioned table, the
rows the run or write touched (the keys of its history rows, plus for a run the rows it wrote,
``run_id``) lose their current version, and each gets back the version it had before (the first
one the run or write replaced; none for a row it inserted). The undo is itself a run (or an
audit row) and what it replaces is kept too; an undo is not undone (load the file again).

It is refused, naming who, when a later run or write changed one of the same rows (undo that
one first), when a row the run deleted has been written again since, or when its history was
pruned (``foncier history prune`` with a date after it, :func:`db.prune.pruned_since`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from config import DatabaseSettings
from db.engine import connect_raw, read_sql
from db.history import VERSIONED, set_writer
from db.prune import pruned_since
from ingest.errors import IngestError
from ingest.merge import bump_layer_version
from ingest.sources import get_layer

REFRESH_SITE_PARCELS = read_sql("db.sql", "site_parcel_refresh.sql")


class UndoRefusedError(IngestError):
    """A later run or write touched the same rows, or there is nothing to undo; nothing changed."""


@dataclass(frozen=True)
class _Writer:
    """Whose changes are undone: a run (``hist_run_id``) or an audit row (``hist_audit_id``)."""

    column: str  # hist_run_id | hist_audit_id
    id: int
    created: tuple[str, ...] = ()  # site ids a write created (they have no history row)

    @property
    def is_run(self) -> bool:
        return self.column == "hist_run_id"


@dataclass
class UndoReport:
    """What an undo did: per table, current versions removed and previous versions restored."""

    undone: str  # "run 12" | "audit 7"
    by: str  # "run 13" | "audit 8"
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)


def _ident_list(names: tuple[str, ...] | list[str], alias: str = "") -> sql.Composable:
    prefix = f"{alias}." if alias else ""
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(n) for n in names)


def _columns(cur: psycopg.Cursor, table: str) -> list[str]:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        (f"public.{table}",),
    )
    return [r[0] for r in cur.fetchall()]


def _touched(cur: psycopg.Cursor, table: str, who: _Writer) -> int:
    """Fill ``undo_keys`` with the keys of ``table`` that ``who`` changed; how many."""
    key = VERSIONED[table]
    cur.execute("DROP TABLE IF EXISTS undo_keys")
    parts: list[sql.Composable] = [
        sql.SQL("SELECT {k} FROM history.{t} WHERE {c} = %(id)s").format(
            k=_ident_list(key), t=sql.Identifier(table), c=sql.Identifier(who.column)
        )
    ]
    if who.is_run and "run_id" in _columns(cur, table):
        # The rows the run wrote: still live, or replaced since (a conflict, found below).
        for source in ("{t}", "history.{t}"):
            parts.append(
                sql.SQL("SELECT {k} FROM " + source + " WHERE run_id = %(id)s").format(
                    k=_ident_list(key), t=sql.Identifier(table)
                )
            )
    if who.created and table == "site":
        parts.append(sql.SQL("SELECT unnest(CAST(%(created)s AS text[]))"))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE undo_keys ON COMMIT DROP AS {}").format(
            sql.SQL(" UNION ").join(parts)
        ),
        {"id": who.id, "created": list(who.created)},
    )
    return cur.rowcount


def _undone(cur: psycopg.Cursor) -> dict[str, list[int]]:
    """Runs and writes that were undone, and their undos: what they did is gone, so they do
    not stand in the way of undoing an earlier one."""
    cur.execute(
        "SELECT coalesce(array_agg(x), '{}') FROM (SELECT id FROM ingest_run WHERE undone_by "
        "IS NOT NULL UNION SELECT undone_by FROM ingest_run WHERE undone_by IS NOT NULL) r(x)"
    )
    runs = list(cur.fetchone()[0])  # type: ignore[index]
    cur.execute(
        "SELECT coalesce(array_agg(x), '{}') FROM (SELECT id FROM audit WHERE undone_by "
        "IS NOT NULL UNION SELECT undone_by FROM audit WHERE undone_by IS NOT NULL) a(x)"
    )
    return {"undone_runs": runs, "undone_audits": list(cur.fetchone()[0])}  # type: ignore[index]


def _conflicts(cur: psycopg.Cursor, table: str, who: _Writer, since: object) -> list[str]:
    """Later writers of the rows in ``undo_keys`` (history rows replaced since ``since`` by
    someone else, and live rows a later run wrote again where ``who`` deleted them; an undo
    deletes and re-inserts older versions, which are not later writes)."""
    key = VERSIONED[table]
    match = sql.SQL(" AND ").join(sql.SQL("h.{0} = k.{0}").format(sql.Identifier(c)) for c in key)
    cur.execute(
        sql.SQL(
            "SELECT h.hist_run_id, h.hist_audit_id, count(*) FROM history.{t} h "
            "JOIN undo_keys k ON {match} WHERE h.hist_at >= %(since)s "
            "AND h.{c} IS DISTINCT FROM %(id)s "
            "AND NOT coalesce(h.hist_run_id = ANY(%(undone_runs)s), false) "
            "AND NOT coalesce(h.hist_audit_id = ANY(%(undone_audits)s), false) "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).format(t=sql.Identifier(table), match=match, c=sql.Identifier(who.column)),
        {"since": since, "id": who.id, **_undone(cur)},
    )
    found = [
        f"{'run ' + str(run) if run is not None else 'API write (audit) ' + str(audit)} "
        f"changed {n:,} of the same {table} rows since"
        for run, audit, n in cur.fetchall()
    ]
    if who.is_run and "run_id" in _columns(cur, table):
        live = sql.SQL(" AND ").join(
            sql.SQL("t.{0} = h.{0}").format(sql.Identifier(c)) for c in key
        )
        cur.execute(
            sql.SQL(
                "SELECT t.run_id, count(DISTINCT ({k})) FROM {t} t JOIN history.{t} h ON {live} "
                "JOIN ingest_run r ON r.id = t.run_id WHERE h.hist_run_id = %(id)s "
                "AND h.hist_op = 'D' AND t.run_id <> %(id)s AND r.started_at > %(since)s "
                "GROUP BY 1 ORDER BY 1"
            ).format(k=_ident_list(key, "t"), t=sql.Identifier(table), live=live),
            {"id": who.id, "since": since},
        )
        found += [
            f"run {run} wrote again {n:,} {table} rows that it deleted" for run, n in cur.fetchall()
        ]
    return found


def _restore(cur: psycopg.Cursor, table: str, who: _Writer) -> tuple[int, int]:
    """Replace the rows in ``undo_keys`` by their version before ``who``; (removed, restored)."""
    key = VERSIONED[table]
    cols = _columns(cur, table)
    match = sql.SQL(" AND ").join(sql.SQL("t.{0} = k.{0}").format(sql.Identifier(c)) for c in key)
    cur.execute(
        sql.SQL("DELETE FROM {t} t USING undo_keys k WHERE {match}").format(
            t=sql.Identifier(table), match=match
        )
    )
    removed = cur.rowcount
    cur.execute(
        sql.SQL(
            "INSERT INTO {t} ({cols}) SELECT {cols} FROM (SELECT DISTINCT ON ({k}) * "
            "FROM history.{t} WHERE {c} = %(id)s ORDER BY {k}, hist_id) h"
        ).format(
            t=sql.Identifier(table),
            cols=_ident_list(cols),
            k=_ident_list(key),
            c=sql.Identifier(who.column),
        ),
        {"id": who.id},
    )
    return removed, cur.rowcount


def _undo_tables(
    cur: psycopg.Cursor, who: _Writer, since: object, label: str
) -> dict[str, tuple[int, int]]:
    tables = [t for t in VERSIONED if t != "zan_account"]  # derived: `foncier score` rewrites it
    cur.execute(
        sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        )
    )
    plan = []
    conflicts: list[str] = []
    for table in tables:
        if _touched(cur, table, who):
            conflicts += _conflicts(cur, table, who, since)
            plan.append(table)
    # Its versions may be gone (`foncier history prune`): then it cannot be put back.
    pruned = pruned_since(cur, since, plan or tables)
    if pruned:
        raise UndoRefusedError(f"{label} cannot be undone: {pruned}; nothing was changed")
    if conflicts:
        raise UndoRefusedError(
            f"{label} cannot be undone: " + "; ".join(conflicts) + ". Undo the later one first;"
            " nothing was changed"
        )
    if not plan:
        raise UndoRefusedError(f"{label} changed no row that history holds: nothing to undo")
    done = {}
    for table in plan:
        _touched(cur, table, who)
        done[table] = _restore(cur, table, who)
    if {"site", "parcel"} & set(done):
        # site_parcel is derived: recomputed for every site by the one rule (db/sql).
        cur.execute("DROP TABLE IF EXISTS site_parcel_todo")
        cur.execute("CREATE TEMP TABLE site_parcel_todo ON COMMIT DROP AS SELECT id FROM site")
        cur.execute(REFRESH_SITE_PARCELS)
    return done


def undo_run(db: DatabaseSettings, run_id: int) -> UndoReport:
    """Restore what ingest run ``run_id`` replaced, as a new run; see the module docstring.

    Raises:
        UndoRefusedError: the run is unknown, failed, already undone, or later runs or
            writes changed the same rows (named); nothing changed.
    """
    with connect_raw(db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT layer, source, sha256, vintage, status, undone_by, started_at "
            "FROM ingest_run WHERE id = %s FOR UPDATE",
            (run_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise UndoRefusedError(f"no ingest run {run_id} (see `foncier runs`)")
        layer, source, sha256, vintage, status, undone_by, started_at = row
        if status != "succeeded":
            raise UndoRefusedError(f"run {run_id} is {status}: it merged nothing to undo")
        if undone_by is not None:
            raise UndoRefusedError(f"run {run_id} was already undone by run {undone_by}")
        cur.execute("SELECT id FROM ingest_run WHERE undone_by = %s", (run_id,))
        undid = cur.fetchone()
        if undid is not None:
            raise UndoRefusedError(
                f"run {run_id} is the undo of run {undid[0]}: load that run's file again instead"
            )
        cur.execute(
            "INSERT INTO ingest_run (layer, source, sha256, vintage, status, message) "
            "VALUES (%s, %s, %s, %s, 'running', %s) RETURNING id",
            (layer, f"undo of run {run_id} ({source})", sha256, vintage, f"undo of run {run_id}"),
        )
        undo_id = int(cur.fetchone()[0])  # type: ignore[index]
        set_writer(cur, run_id=undo_id)
        done = _undo_tables(cur, _Writer("hist_run_id", run_id), started_at, f"run {run_id}")
        for version in get_layer(layer).versions:
            bump_layer_version(cur, version)
        cur.execute("UPDATE ingest_run SET undone_by = %s WHERE id = %s", (undo_id, run_id))
        cur.execute(
            "UPDATE ingest_run SET status = 'succeeded', finished_at = now(), "
            "rows_deleted = %s, rows_inserted = %s WHERE id = %s",
            (sum(d for d, _ in done.values()), sum(r for _, r in done.values()), undo_id),
        )
        conn.commit()
    return UndoReport(f"run {run_id}", f"run {undo_id}", done)


def undo_audit(
    db: DatabaseSettings,
    audit_id: int,
    actor: str = "foncier sites undo",
    after: Callable[[psycopg.Connection, str], object] | None = None,
) -> UndoReport:
    """Restore what the API write of ``audit`` row ``audit_id`` replaced (a site created is
    removed; a checklist item put back as it was), recorded as a new ``site.undo`` or
    ``checklist.undo`` audit row. ``after(conn, site_id)`` runs in the same transaction before
    the commit: the caller re-derives what follows from the restored rows (a site's readiness
    follows its checklist; ``ingest`` may not import the scoring that computes it).

    Raises:
        UndoRefusedError: the audit row is unknown or already undone, or later runs or writes
            changed the same site (named); nothing changed.
    """
    with connect_raw(db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT action, target, at, undone_by FROM audit WHERE id = %s FOR UPDATE",
            (audit_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise UndoRefusedError(f"no audit row {audit_id} (see GET /sites/{{id}}/history)")
        action, target, at, undone_by = row
        if undone_by is not None:
            raise UndoRefusedError(f"API write {audit_id} was already undone by {undone_by}")
        if action.endswith(".undo"):
            raise UndoRefusedError(f"audit row {audit_id} is an undo: write the site again instead")
        kind = action.split(".", 1)[0]
        if kind not in ("site", "checklist"):
            raise UndoRefusedError(
                f"audit row {audit_id} is a {action}: only site and checklist writes undo"
            )
        created = (target.removeprefix("site:"),) if action == "site.create" else ()
        cur.execute("SELECT nextval(pg_get_serial_sequence('audit', 'id'))")
        undo_id = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(
            "INSERT INTO audit (id, actor, action, target, changes) VALUES (%s, %s, %s,"
            " %s, jsonb_build_object('undone', %s::bigint))",
            (undo_id, actor, f"{kind}.undo", target, audit_id),
        )
        set_writer(cur, audit_id=undo_id)
        who = _Writer("hist_audit_id", audit_id, created)
        done = _undo_tables(cur, who, at, f"API write {audit_id} ({action} {target})")
        if after is not None:
            after(conn, target.removeprefix("site:"))
        bump_layer_version(cur, "sites")
        cur.execute("UPDATE audit SET undone_by = %s WHERE id = %s", (undo_id, audit_id))
        conn.commit()
    return UndoReport(f"audit {audit_id}", f"audit {undo_id}", done)
