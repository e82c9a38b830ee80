"""A site's readiness checklist, its evidence PDFs and its readiness (migration 0007).

``GET /sites/{id}/checklist`` answers every item of the definition (``score/checklists/``) with
its status, value, date, source, evidence and who wrote it, the readiness level with its
explanation and the time to a building permit, and the availability's freshness. Editors write
one item with ``PUT`` (the whole item), ``PATCH`` (the fields sent) or ``DELETE`` (back to the
computed value, or to "non renseigné"), under the same key scope as the sites' own writes; every
write is audited and rewrites ``site_readiness`` in its transaction. Evidence is a PDF uploaded
as the raw body of ``POST /sites/{id}/evidence`` (its first bytes are checked, not its name).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from functools import lru_cache
from typing import Annotated, Any, Literal

import orjson
import psycopg
from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Reader, ReaderDep, check_scope, require_key
from api.db import PoolDep
from api.routes.sites import AUDIT_SQL, _bump, _reserve_audit
from api.schemas import ok, problems
from db.errors import InvalidQuery, NotFound, UploadRefused
from score.checklist import Checklist, Item, Readiness, load_checklist
from score.readiness import INPUTS_SQL, ROW_COLUMNS, assemble, refresh_readiness_async

router = APIRouter(tags=["Sites (checklist)"])

PDF_MAGIC = b"%PDF-"
Status = Literal["done", "in_progress", "not_started", "not_applicable"]
# A stored row's columns; the API calls done_on "date".
COLUMNS = (*ROW_COLUMNS[:-1], "actor", "key_id")
_DETAIL_SQL = (
    f"SELECT item, {', '.join(ROW_COLUMNS)}, updated_at FROM site_checklist "
    "WHERE site_id = %s ORDER BY item"
)
_FRESHNESS = (
    "confirmed_at, valid_until, withdrawn_at, "
    "withdrawn_at IS NULL AND (valid_until IS NULL OR valid_until < now())"
)


@lru_cache
def get_checklist() -> Checklist:
    """The checklist definition the API evaluates (read once)."""
    return load_checklist()


class ChecklistItemPatch(BaseModel):
    """The fields of one checklist item an editor may write; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    status: Status | None = None
    value: str | None = Field(None, max_length=60, description="one of the item's values")
    quantity: float | None = Field(None, ge=0, description="MW, m³/jour... (the item's unit)")
    delay_months: float | None = Field(
        None, ge=0, le=240, description="a stated delay replacing the definition's duration"
    )
    date: datetime.date | None = Field(
        None, description="when the status was reached or last checked"
    )
    source: str | None = Field(None, max_length=500)
    evidence_url: str | None = Field(None, max_length=1000, pattern=r"^https?://\S+$")
    evidence_id: int | None = Field(None, description="an evidence PDF uploaded for this site")
    reason: str | None = Field(
        None, max_length=1000, description="required to override a computed item"
    )


class ChecklistItemPut(ChecklistItemPatch):
    """A whole checklist item: fields not sent become empty."""

    status: Status


def _readiness_json(r: Readiness) -> dict[str, Any]:
    return {
        "level": r.level,
        "label": r.label,
        "time_to_permit_months": r.time_to_permit_months,
        "explanation": r.explanation,
    }


def _freshness_json(row: tuple[Any, ...]) -> dict[str, Any]:
    confirmed_at, valid_until, withdrawn_at, stale = row
    status = "retiré" if withdrawn_at else ("à confirmer" if stale else "confirmé")
    return {
        "confirmed_at": confirmed_at,
        "valid_until": valid_until,
        "withdrawn_at": withdrawn_at,
        "a_confirmer": bool(stale),
        "status": status,
    }


def _item_json(site_id: str, state: dict[str, Any], row: tuple[Any, ...] | None) -> dict[str, Any]:
    out = dict(state)
    details = dict(zip((*ROW_COLUMNS, "updated_at"), row[1:], strict=True)) if row else {}
    out["date"] = details.get("done_on")
    for name in ("quantity", "delay_months", "source", "reason", "actor", "updated_at"):
        out[name] = details.get(name)
    evidence_id = details.get("evidence_id")
    out["evidence"] = {
        "url": details.get("evidence_url"),
        "href": f"/sites/{site_id}/evidence/{evidence_id}" if evidence_id else None,
    }
    return out


@router.get(
    "/sites/{site_id}/checklist",
    summary="A site's readiness checklist, readiness level, time to a building permit, freshness",
    responses=ok("the checklist, evaluated", schema={"type": "object"}),
)
async def read_checklist(site_id: str, pool: PoolDep) -> Response:
    """Every item of the checklist definition for this site (computed, entered or missing)."""
    checklist = get_checklist()
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT {_FRESHNESS} FROM site WHERE id = %s", (site_id,))
        fresh = await cur.fetchone()
        if fresh is None:
            raise NotFound(f"no site {site_id!r}")
        inputs = await (await conn.execute(INPUTS_SQL, {"site_ids": [site_id]})).fetchall()
        rows = await (await conn.execute(_DETAIL_SQL, (site_id,))).fetchall()
    readiness = assemble(checklist, inputs, [(site_id, r[0], *r[1:-1]) for r in rows])[site_id]
    by_item = {r[0]: r for r in rows}
    body = {
        "id": site_id,
        "definition_version": checklist.version,
        "readiness": _readiness_json(readiness),
        "freshness": _freshness_json(fresh),
        "items": [_item_json(site_id, s, by_item.get(s["item"])) for s in readiness.items],
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _check_item(item: Item, new: dict[str, Any]) -> None:
    """Refuse, in French, what the definition does not allow for ``item``."""
    value = new.get("value")
    if value is not None and item.values and value not in item.values:
        raise InvalidQuery(
            f"{item.key} : valeur {value!r} inconnue ; valeurs possibles : "
            + ", ".join(f"{k} ({v})" for k, v in item.values.items())
        )
    if item.computed and not (new.get("reason") or "").strip():
        raise InvalidQuery(
            f"{item.key} est calculé à partir des couches ({item.label}) : pour le remplacer, "
            "donnez la raison (reason)"
        )
    if new.get("quantity") is not None and item.unit is None:
        raise InvalidQuery(f"{item.key} n'a pas de quantité (seuls les réseaux en ont)")


async def _site_in_scope(conn: psycopg.AsyncConnection, who: Reader, site_id: str) -> None:
    cur = await conn.execute("SELECT insee FROM site WHERE id = %s FOR UPDATE", (site_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no site {site_id!r}")
    await check_scope(conn, who, row[0])


async def _current(conn: psycopg.AsyncConnection, site_id: str, key: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM site_checklist WHERE site_id = %s AND item = %s "
        "FOR UPDATE",
        (site_id, key),
    )
    row = await cur.fetchone()
    return dict(zip(ROW_COLUMNS, row, strict=True)) if row else None


async def _check_evidence(conn: psycopg.AsyncConnection, site_id: str, evidence_id: int) -> None:
    cur = await conn.execute(
        "SELECT 1 FROM site_evidence WHERE id = %s AND site_id = %s", (evidence_id, site_id)
    )
    if await cur.fetchone() is None:
        raise InvalidQuery(
            f"evidence_id {evidence_id} : aucune pièce justificative de ce numéro pour le site "
            f"{site_id} (déposez le PDF avec POST /sites/{site_id}/evidence)"
        )


_UPSERT_SQL = (
    f"INSERT INTO site_checklist (site_id, item, {', '.join(COLUMNS)}, updated_at) "
    f"VALUES (%(site_id)s, %(item)s, {', '.join(f'%({c})s' for c in COLUMNS)}, now()) "
    "ON CONFLICT (site_id, item) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
    + ", updated_at = now()"
)


def _as_row(fields: dict[str, Any]) -> dict[str, Any]:
    """API field names to the stored ones (``date`` is ``done_on``), as JSON values."""
    row = {c: fields.get(c) for c in ROW_COLUMNS if c != "actor"}
    row["done_on"] = fields.get("date", fields.get("done_on"))
    if isinstance(row["done_on"], datetime.date):
        row["done_on"] = row["done_on"].isoformat()
    return row


async def _write_item(
    pool: Any, reader: Reader | None, site_id: str, key: str, fields: dict[str, Any] | None
) -> Response:
    """Write (``fields``) or delete (None) one item, audited, and re-evaluate the site."""
    who = require_key(reader)
    checklist = get_checklist()
    item = checklist.item(key)
    async with pool.connection() as conn, conn.transaction():
        await _site_in_scope(conn, who, site_id)
        old = await _current(conn, site_id, key)
        old_json = _as_row(old) if old else None
        if fields is not None:
            new = _as_row(fields)
            _check_item(item, new)
            if new["evidence_id"] is not None:
                await _check_evidence(conn, site_id, new["evidence_id"])
        audit_id = await _reserve_audit(conn)
        if fields is None:
            await conn.execute(
                "DELETE FROM site_checklist WHERE site_id = %s AND item = %s", (site_id, key)
            )
            action, diff = "checklist.delete", {key: {"old": old_json, "new": None}}
        else:
            params = {**new, "site_id": site_id, "item": key, "actor": who.name}
            await conn.execute(_UPSERT_SQL, {**params, "key_id": who.key_id})
            action, diff = "checklist.update", {key: {"old": old_json, "new": new}}
        await conn.execute(
            AUDIT_SQL,
            (audit_id, who.key_id, who.name, action, f"site:{site_id}", json.dumps(diff)),
        )
        readiness = (await refresh_readiness_async(conn, checklist, [site_id]))[site_id]
        await _bump(conn)
    body = {"id": site_id, "item": key, "changed": diff, "readiness": _readiness_json(readiness)}
    return Response(orjson.dumps(body), media_type="application/json")


_WRITTEN = ok("the item's change (old, new) and the site's readiness", schema={"type": "object"})


@router.put(
    "/sites/{site_id}/checklist/{item}",
    summary="Write one checklist item of a site (the whole item)",
    responses=_WRITTEN,
)
async def put_item(
    site_id: str,
    item: str,
    body: Annotated[ChecklistItemPut, Body()],
    pool: PoolDep,
    reader: ReaderDep,
) -> Response:
    """Replace the item: the fields not sent are emptied."""
    return await _write_item(pool, reader, site_id, item, body.model_dump(mode="json"))


@router.patch(
    "/sites/{site_id}/checklist/{item}",
    summary="Change some fields of one checklist item of a site",
    responses=_WRITTEN,
)
async def patch_item(
    site_id: str,
    item: str,
    body: Annotated[ChecklistItemPatch, Body()],
    pool: PoolDep,
    reader: ReaderDep,
) -> Response:
    """Change the fields sent; an item never written needs its ``status``."""
    sent = body.model_dump(mode="json", exclude_unset=True)
    if not sent:
        raise InvalidQuery("rien à changer : envoyez au moins un champ de l'élément")
    async with pool.connection() as conn:
        old = await _current(conn, site_id, item)
    merged = {**(_as_row(old) if old else {}), **sent}
    if merged.get("status") is None:
        raise InvalidQuery(f"{item} n'a pas encore de statut : donnez status")
    return await _write_item(pool, reader, site_id, item, merged)


@router.delete(
    "/sites/{site_id}/checklist/{item}",
    summary="Remove one checklist item of a site (back to its computed value, or not filled in)",
    responses=_WRITTEN,
)
async def delete_item(site_id: str, item: str, pool: PoolDep, reader: ReaderDep) -> Response:
    """Remove what editors wrote for the item."""
    return await _write_item(pool, reader, site_id, item, None)


def _check_pdf(body: bytes, filename: str, limit: int) -> None:
    """Refuse, in French, an empty, oversized or non-PDF upload (by its bytes, not its name)."""
    if len(body) > limit:
        raise UploadRefused(
            f"le fichier « {filename} » fait {len(body)} octets ; une pièce justificative fait "
            f"au plus {limit} octets",
            413,
        )
    if not body.startswith(PDF_MAGIC):
        found = "est vide" if not body else f"commence par les octets {body[:5].hex(' ')}"
        raise UploadRefused(
            f"le fichier « {filename} » n'est pas un PDF (il {found}, un PDF par « %PDF- ») : "
            "seules des pièces justificatives PDF sont acceptées",
            415,
        )


_PDF_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/sites/{site_id}/evidence",
    status_code=201,
    summary="Upload an evidence PDF for a site's checklist (the raw PDF as the body)",
    responses={**ok("the stored PDF", schema={"type": "object"}, status=201), **problems(413, 415)},
    openapi_extra=_PDF_BODY,
)
async def upload_evidence(
    site_id: str,
    request: Request,
    pool: PoolDep,
    reader: ReaderDep,
    filename: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^/\\\x00]+$")],
) -> Response:
    """Keep the PDF with the site; link it to an item with its ``evidence_id``."""
    who = require_key(reader)
    body = await request.body()
    digest = hashlib.sha256(body).hexdigest()
    async with pool.connection() as conn, conn.transaction():
        await _site_in_scope(conn, who, site_id)
        _check_pdf(body, filename, request.app.state.settings.evidence_max_bytes)
        audit_id = await _reserve_audit(conn)
        cur = await conn.execute(
            "INSERT INTO site_evidence (site_id, filename, size_bytes, sha256, content, actor, "
            "key_id) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (site_id, filename, len(body), digest, body, who.name, who.key_id),
        )
        row = await cur.fetchone()
        assert row is not None
        evidence = {"evidence_id": row[0], "filename": filename, "size_bytes": len(body)}
        changes = json.dumps({**evidence, "sha256": digest})
        await conn.execute(
            AUDIT_SQL,
            (audit_id, who.key_id, who.name, "evidence.upload", f"site:{site_id}", changes),
        )
    href = f"/sites/{site_id}/evidence/{row[0]}"
    return Response(
        orjson.dumps({**evidence, "sha256": digest, "href": href}),
        status_code=201,
        media_type="application/json",
        headers={"Location": href},
    )


@router.get(
    "/sites/{site_id}/evidence/{evidence_id}",
    summary="An evidence PDF of a site",
    responses=ok("the PDF", media="application/pdf", schema={"type": "string"}),
)
async def read_evidence(site_id: str, evidence_id: int, pool: PoolDep) -> Response:
    """The PDF as uploaded, shown in the browser (``inline``)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT filename, content FROM site_evidence WHERE id = %s AND site_id = %s",
            (evidence_id, site_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no evidence {evidence_id} for site {site_id!r}")
    filename, content = row
    quoted = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return Response(
        bytes(content),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{quoted}"'},
    )
