"""Territoires d'industrie contracts (issue 17): protocols and action sheets, read and written.

Public readers see a territory's protocol, its governance without names, and its validated
sheets; a key adds the restricted fields (``person_name``) and the other workflow states. An
EPCI editor writes the sheets of the territories its EPCI belongs to (``territoire_membre``) and
submits them; a region (or national) admin validates them or sends them back with a comment.
Every write is an ``audit`` row (target ``contract_sheet:<id>``) and the versions it replaces are
kept in ``history.ti_action_sheet``; ``GET /contracts/sheets/{id}/history`` lists them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
import psycopg
from fastapi import APIRouter, Body, Query, Response
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import Reader, ReaderDep, require_key
from api.db import PoolDep
from api.schemas import ok
from db.contracts.axes import axis_codes
from db.errors import AccessDenied, InvalidQuery, NotFound
from db.history import SET_WRITER_SQL, writer_params

router = APIRouter(tags=["Contracts"])

SHEET_FIELDS = (
    "id", "programme", "id_ti", "code", "title", "axis", "description", "measures", "pilot",
    "partners", "budget_eur", "status", "idea_on", "preparation_on", "committed_on", "done_on",
    "abandoned_on", "due_on", "workflow", "workflow_comment", "workflow_by", "workflow_at",
    "is_example", "updated_at",
)  # fmt: skip
_SHEET_SQL = sql.SQL("SELECT {} FROM ti_action_sheet s ").format(
    sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in SHEET_FIELDS)
)
_PARTS_SQL = {
    "funding": "SELECT financer, financer_kind, committed_eur, paid_eur FROM ti_action_funding "
    "WHERE sheet_id = %s ORDER BY financer",
    "indicators": "SELECT label, unit, target, measured, measured_at FROM ti_action_indicator "
    "WHERE sheet_id = %s ORDER BY label",
    "places": "SELECT place_type, place_id FROM ti_action_place WHERE sheet_id = %s "
    "ORDER BY place_type, place_id",
}
_AUDIT_SQL = (
    "INSERT INTO audit (id, key_id, actor, action, target, changes) VALUES (%s, %s, %s, %s, %s, %s)"
)


def _json(body: object, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type="application/json"
    )


async def _rows(conn: psycopg.AsyncConnection, query: Any, params: Any) -> list[dict[str, Any]]:
    cur = await conn.execute(query, params)
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def _sheet(
    conn: psycopg.AsyncConnection, sheet_id: str, lock: bool = False
) -> dict[str, Any]:
    query = _SHEET_SQL + sql.SQL("WHERE s.id = %s" + (" FOR UPDATE" if lock else ""))
    found = await _rows(conn, query, (sheet_id,))
    if not found:
        raise NotFound(f"no action sheet {sheet_id!r}")
    return found[0]


async def _with_parts(conn: psycopg.AsyncConnection, sheet: dict[str, Any]) -> dict[str, Any]:
    for part, query in _PARTS_SQL.items():
        sheet[part] = await _rows(conn, query, (sheet["id"],))
    return sheet


@router.get(
    "/territories/ti/{id_ti}/contract",
    summary="A Territoire d'industrie's contract: protocol, governance and action sheets",
    responses=ok("the protocol and its sheets"),
)
async def territory_contract(
    id_ti: str,
    pool: PoolDep,
    reader: ReaderDep,
    programme: Annotated[int, Query(description="2018 or 2023")] = 2023,
) -> Response:
    """Public: the protocol, the governance roles without names and the validated sheets. With
    a key: the names and every sheet (drafts, submitted, sent back)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT lib, insee_reg FROM territoire WHERE programme = %s AND id_ti = %s",
            (programme, id_ti),
        )
        ti = await cur.fetchone()
        if ti is None:
            raise NotFound(f"no Territoire d'industrie {id_ti!r} in programme {programme}")
        protocol = await _rows(
            conn,
            "SELECT title, signed_on, document_url, status, is_example FROM ti_protocol "
            "WHERE programme = %s AND id_ti = %s",
            (programme, id_ti),
        )
        names = ", person_name" if reader is not None else ""
        governance = await _rows(
            conn,
            f"SELECT role, rank, organisation{names}, signatory FROM ti_governance "
            "WHERE programme = %s AND id_ti = %s ORDER BY role, rank",
            (programme, id_ti),
        )
        where = "" if reader is not None else " AND s.workflow = 'validated'"
        sheets = await _rows(
            conn,
            _SHEET_SQL + sql.SQL(f"WHERE s.programme = %s AND s.id_ti = %s{where} ORDER BY code"),
            (programme, id_ti),
        )
        for sheet in sheets:
            await _with_parts(conn, sheet)
    return _json(
        {
            "programme": programme,
            "id_ti": id_ti,
            "lib": ti[0],
            "insee_reg": ti[1],
            "protocol": protocol[0] if protocol else None,
            "governance": governance,
            "sheets": sheets,
        }
    )


@router.get(
    "/contracts/sheets/{sheet_id}",
    summary="An action sheet with its funding, indicators and places",
    responses=ok("the sheet"),
)
async def get_sheet(sheet_id: str, pool: PoolDep, reader: ReaderDep) -> Response:
    """Public for a validated sheet; a sheet in another workflow state needs a key."""
    async with pool.connection() as conn:
        sheet = await _sheet(conn, sheet_id)
        if reader is None and sheet["workflow"] != "validated":
            raise NotFound(f"no action sheet {sheet_id!r}")
        return _json(await _with_parts(conn, sheet))


@router.get(
    "/contracts/sheets/{sheet_id}/history",
    summary="Who changed an action sheet, when, and what",
    responses=ok("the sheet's audit rows, oldest first"),
)
async def sheet_history(sheet_id: str, pool: PoolDep, reader: ReaderDep) -> Response:
    """The sheet's writes through the API (audit: who, when, the changes) and its imports
    (ingest runs that wrote a version of it)."""
    async with pool.connection() as conn:
        sheet = await _sheet(conn, sheet_id)
        if reader is None and sheet["workflow"] != "validated":
            raise NotFound(f"no action sheet {sheet_id!r}")
        audit = await _rows(
            conn,
            "SELECT id, at, actor, action, changes FROM audit WHERE target = %s ORDER BY id",
            (f"contract_sheet:{sheet_id}",),
        )
        runs = await _rows(
            conn,
            "SELECT r.id AS run_id, r.started_at AS at, r.source FROM ingest_run r WHERE r.id IN "
            "(SELECT run_id FROM ti_action_sheet WHERE id = %(id)s UNION "
            "SELECT run_id FROM history.ti_action_sheet WHERE id = %(id)s) ORDER BY r.id",
            {"id": sheet_id},
        )
    return _json({"id": sheet_id, "changes": audit, "imports": runs})


async def check_territory(
    conn: psycopg.AsyncConnection, reader: Reader, programme: int, id_ti: str
) -> None:
    """Refuse (403) a write on a territory outside the key's EPCI (a member of the territory),
    region (the territory's region) or the nation."""
    if reader.scope_type == "national":
        return
    if reader.scope_type == "epci":
        query = "SELECT 1 FROM territoire_membre WHERE programme = %s AND id_ti = %s AND siren = %s"
    else:
        query = "SELECT 1 FROM territoire WHERE programme = %s AND id_ti = %s AND insee_reg = %s"
    cur = await conn.execute(query, (programme, id_ti, reader.scope_code))
    if await cur.fetchone() is None:
        raise AccessDenied(
            f"your key is scoped to {reader.scope_type} {reader.scope_code}, which is not part "
            f"of Territoire d'industrie {id_ti} ({programme})"
        )


async def _audit(
    conn: psycopg.AsyncConnection, who: Reader, action: str, sheet_id: str, changes: object
) -> None:
    cur = await conn.execute("SELECT nextval(pg_get_serial_sequence('audit', 'id'))")
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(SET_WRITER_SQL, writer_params(audit_id=int(row[0])))
    await conn.execute(
        _AUDIT_SQL,
        (
            row[0],
            who.key_id,
            who.name,
            action,
            f"contract_sheet:{sheet_id}",
            orjson.dumps(changes, default=str).decode(),
        ),
    )
    # The contract_sheets collection's tiles and counts follow the sheets (api/collections.py).
    await conn.execute(
        "INSERT INTO layer_version (layer, version, updated_at) VALUES ('contracts', 1, now()) "
        "ON CONFLICT (layer) DO UPDATE SET version = layer_version.version + 1, updated_at = now()"
    )


def _storable(value: object) -> object:
    """Refuse text PostgreSQL cannot hold (NUL) or that is not UTF-8 (lone surrogates)."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            if "\x00" in text:
                raise ValueError("text must not contain NUL characters")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


class SheetFields(BaseModel):
    """The fields an editor writes; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    _text = field_validator("*", mode="after")(_storable)
    title: str | None = Field(None, min_length=1, max_length=500)
    axis: str | None = None
    description: str | None = None
    measures: list[str] | None = None
    pilot: str | None = None
    partners: list[str] | None = None
    budget_eur: float | None = Field(None, ge=0)
    status: Literal["idea", "in_preparation", "committed", "done", "abandoned"] | None = None
    idea_on: date | None = None
    preparation_on: date | None = None
    committed_on: date | None = None
    done_on: date | None = None
    abandoned_on: date | None = None
    due_on: date | None = None


class SheetCreate(SheetFields):
    """A new sheet of a territory (workflow ``draft``)."""

    programme: Literal[2018, 2023] = 2023
    id_ti: str = Field(min_length=1)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1, max_length=500)
    axis: str


def _check_axis(programme: int, axis: str | None) -> None:
    if axis is not None and axis not in axis_codes(programme):
        raise InvalidQuery(
            f"axis: « {axis} » n'est pas un axe du programme (attendu : "
            f"{', '.join(axis_codes(programme))})"
        )


@router.post("/contracts/sheets", summary="Draft a new action sheet", responses=ok("the sheet"))
async def create_sheet(
    body: Annotated[SheetCreate, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    """An editor of the territory (EPCI member, its region or national) drafts a sheet."""
    who = require_key(reader)
    _check_axis(body.programme, body.axis)
    values = body.model_dump(exclude_none=True)
    values["id"] = f"{body.programme}-{body.id_ti}-{body.code}"
    async with pool.connection() as conn, conn.transaction():
        await check_territory(conn, who, body.programme, body.id_ti)
        cur = await conn.execute("SELECT 1 FROM ti_action_sheet WHERE id = %s", (values["id"],))
        if await cur.fetchone() is not None:
            raise InvalidQuery(f"action sheet {values['id']} already exists: PATCH it")
        await _audit(conn, who, "contract_sheet.create", values["id"], values)
        columns = [*values, "status", "actor", "key_id"]
        params = {
            **values,
            "status": body.status or "idea",
            "actor": who.name,
            "key_id": who.key_id,
        }
        await conn.execute(
            sql.SQL("INSERT INTO ti_action_sheet ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys(columns))),
                sql.SQL(", ").join(sql.Placeholder(c) for c in dict.fromkeys(columns)),
            ),
            params,
        )
        sheet = await _sheet(conn, values["id"])
    return _json(sheet, 201)


@router.patch(
    "/contracts/sheets/{sheet_id}",
    summary="Change an action sheet's fields",
    responses=ok("the fields changed, old and new"),
)
async def update_sheet(
    sheet_id: str, body: Annotated[SheetFields, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    """An editor of the sheet's territory changes the fields sent; a validated sheet goes back
    to ``draft`` (it must be submitted and validated again)."""
    who = require_key(reader)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidQuery(f"nothing to change: send one of {', '.join(SheetFields.model_fields)}")
    async with pool.connection() as conn, conn.transaction():
        sheet = await _sheet(conn, sheet_id, lock=True)
        await check_territory(conn, who, sheet["programme"], sheet["id_ti"])
        _check_axis(sheet["programme"], changes.get("axis"))
        changed = {k: {"old": sheet[k], "new": v} for k, v in changes.items() if sheet[k] != v}
        if changed:
            await _audit(conn, who, "contract_sheet.update", sheet_id, changed)
            sets = {k: changes[k] for k in changed}
            if sheet["workflow"] == "validated":
                sets["workflow"] = "draft"
            await conn.execute(
                sql.SQL(
                    "UPDATE ti_action_sheet SET {}, actor = %(_who)s, key_id = %(_key)s, "
                    "updated_at = now(), run_id = NULL WHERE id = %(_id)s"
                ).format(
                    sql.SQL(", ").join(
                        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k))
                        for k in sets
                    )
                ),
                {**sets, "_who": who.name, "_key": who.key_id, "_id": sheet_id},
            )
    return _json({"id": sheet_id, "changed": changed})


# The workflow: which move an editor or an admin may make, from which states, to which.
MOVES = {
    "submit": ("editor", ("draft", "sent_back"), "submitted"),
    "validate": ("admin", ("submitted",), "validated"),
    "send-back": ("admin", ("submitted", "validated"), "sent_back"),
}


class Move(BaseModel):
    """A workflow move's comment (required to send a sheet back)."""

    model_config = ConfigDict(extra="forbid")
    _text = field_validator("*", mode="after")(_storable)
    comment: str | None = Field(None, max_length=4000)


MoveBody = Annotated[Move | None, Body()]


@router.post(
    "/contracts/sheets/{sheet_id}/submit",
    summary="Submit an action sheet to the region (an editor of its territory)",
    responses=ok("the sheet's new workflow state"),
)
async def submit_sheet(
    sheet_id: str, pool: PoolDep, reader: ReaderDep, body: MoveBody = None
) -> Response:
    """A draft or sent-back sheet goes to ``submitted``."""
    return await _move(sheet_id, "submit", pool, reader, body)


@router.post(
    "/contracts/sheets/{sheet_id}/validate",
    summary="Validate a submitted action sheet (a region or national admin)",
    responses=ok("the sheet's new workflow state"),
)
async def validate_sheet(
    sheet_id: str, pool: PoolDep, reader: ReaderDep, body: MoveBody = None
) -> Response:
    """A submitted sheet becomes ``validated``: public."""
    return await _move(sheet_id, "validate", pool, reader, body)


@router.post(
    "/contracts/sheets/{sheet_id}/send-back",
    summary="Send an action sheet back to its editors with a comment (a region or national admin)",
    responses=ok("the sheet's new workflow state"),
)
async def send_back_sheet(
    sheet_id: str, pool: PoolDep, reader: ReaderDep, body: MoveBody = None
) -> Response:
    """A submitted or validated sheet becomes ``sent_back``; the comment says why."""
    return await _move(sheet_id, "send-back", pool, reader, body)


async def _move(
    sheet_id: str, move: str, pool: Any, reader: Reader | None, body: Move | None
) -> Response:
    """An editor of the territory submits its draft; a region or national admin validates it
    or sends it back with a comment (an EPCI key never validates)."""
    who = require_key(reader)
    role, sources, target = MOVES[move]
    comment = body.comment if body is not None else None
    if role == "admin" and (who.role != "admin" or who.scope_type == "epci"):
        raise AccessDenied(
            f"only a region or national admin key can {move} a sheet; yours is "
            f"{who.role} of {who.scope_type} {who.scope_code}"
        )
    if move == "send-back" and not comment:
        raise InvalidQuery("comment: say why the sheet is sent back")
    async with pool.connection() as conn, conn.transaction():
        sheet = await _sheet(conn, sheet_id, lock=True)
        await check_territory(conn, who, sheet["programme"], sheet["id_ti"])
        if sheet["workflow"] not in sources:
            raise InvalidQuery(
                f"the sheet is {sheet['workflow']}: {move} needs it {' or '.join(sources)}"
            )
        changes = {"workflow": {"old": sheet["workflow"], "new": target}, "comment": comment}
        await _audit(conn, who, f"contract_sheet.{move}", sheet_id, changes)
        await conn.execute(
            "UPDATE ti_action_sheet SET workflow = %s, workflow_comment = %s, workflow_by = %s, "
            "workflow_at = now(), run_id = NULL WHERE id = %s",
            (target, comment, who.name, sheet_id),
        )
    return _json({"id": sheet_id, "workflow": target, "comment": comment})
