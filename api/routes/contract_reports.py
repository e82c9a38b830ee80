"""Contract reports (issue 17): the Territoires d'industrie action sheets of a territory, a
region or the nation by axis and status, their funding committed vs paid per financer, their
indicators' progress and the overdue sheets.

The figures are set-based SQL (``db/sql/contract_scope.sql`` and ``contract_report_*.sql``).
Public reports count validated sheets only. The example sheets (``is_example``, the demo's
fictitious contract) are reported apart under ``example``, never summed with the real ones.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from psycopg import AsyncConnection

from api.db import PoolDep
from api.schemas import ok
from db.engine import read_sql
from db.errors import NotFound

router = APIRouter(tags=["Contracts"])

_SCOPE = read_sql("db.sql", "contract_scope.sql")
_PARTS = ("sheets", "funding", "indicators", "overdue", "territories", "places")
_SQL = {part: _SCOPE + read_sql("db.sql", f"contract_report_{part}.sql") for part in _PARTS}
_TERRITORY = (
    "SELECT t.lib, t.insee_reg, p.title, p.signed_on::text, p.status, p.document_url, "
    "p.is_example FROM territoire t LEFT JOIN ti_protocol p "
    "ON p.programme = t.programme AND p.id_ti = t.id_ti "
    "WHERE t.programme = %(programme)s AND t.id_ti = %(id_ti)s"
)
_REGION = (
    "SELECT coalesce((SELECT nom FROM region WHERE code = %(region)s), %(region)s) "
    "WHERE EXISTS (SELECT 1 FROM region WHERE code = %(region)s) "
    "OR EXISTS (SELECT 1 FROM territoire WHERE insee_reg = %(region)s)"
)
STATUSES = ("idea", "in_preparation", "committed", "done", "abandoned")
PUBLIC_NOTE = "public report: validated sheets only"
EXAMPLE_NOTE = "exemple: fictitious sample sheets, counted apart from the real ones"

Programme = Annotated[int, Query(description="the programme: 2023 (2023-2027) or 2018")]


def _empty() -> dict[str, Any]:
    return {
        "sheets": {"total": 0, "by_status": dict.fromkeys(STATUSES, 0), "by_axis": {}},
        "funding": {"committed_eur": 0.0, "paid_eur": 0.0, "by_financer": []},
        "indicators": {"total": 0, "with_target": 0, "reached": 0, "items": []},
        "overdue": {"total": 0, "items": []},
    }


def _add_sheets(part: dict[str, Any], axis: str, status: str, n: int) -> None:
    sheets = part["sheets"]
    sheets["total"] += n
    sheets["by_status"][status] = sheets["by_status"].get(status, 0) + n
    by_axis = sheets["by_axis"].setdefault(axis, {"total": 0, **dict.fromkeys(STATUSES, 0)})
    by_axis["total"] += n
    by_axis[status] = by_axis.get(status, 0) + n


def _add_indicator(part: dict[str, Any], row: dict[str, Any]) -> None:
    ind = part["indicators"]
    ind["total"] += 1
    if row["target"] is not None and row["target"] > 0:
        ind["with_target"] += 1
        if row["measured"] is not None and row["measured"] >= row["target"]:
            ind["reached"] += 1
    ind["items"].append(row)


async def _rows(conn: AsyncConnection[Any], part: str, params: dict[str, Any]) -> list[dict]:  # type: ignore[type-arg]
    cur = await conn.execute(_SQL[part], params)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


async def _report(
    conn: AsyncConnection[Any], params: dict[str, Any], territories: bool
) -> dict[str, Any]:
    """The real and the example figures of the sheets in scope (see contract_scope.sql)."""
    out = {False: _empty(), True: _empty()}
    for r in await _rows(conn, "sheets", params):
        _add_sheets(out[r["is_example"]], r["axis"], r["status"], r["sheets"])
    for r in await _rows(conn, "funding", params):
        funding = out[r.pop("is_example")]["funding"]
        funding["committed_eur"] = round(funding["committed_eur"] + r["committed_eur"], 2)
        funding["paid_eur"] = round(funding["paid_eur"] + r["paid_eur"], 2)
        funding["by_financer"].append(r)
    for r in await _rows(conn, "indicators", params):
        _add_indicator(out[r.pop("is_example")], r)
    for r in await _rows(conn, "overdue", params):
        overdue = out[r.pop("is_example")]["overdue"]
        overdue["total"] += 1
        overdue["items"].append(r)
    if not territories:  # the territory report: the sheets' places for its map
        for part in out.values():
            part["places"] = []
        for r in await _rows(conn, "places", params):
            out[r.pop("is_example")]["places"].append(r)
    else:
        for part in out.values():
            part["territories"] = []
        for r in await _rows(conn, "territories", params):
            out[r.pop("is_example")]["territories"].append(r)
    example = out[True] if out[True]["sheets"]["total"] else None
    return {"real": out[False], "example": example, "example_note": EXAMPLE_NOTE}


def _params(programme: int | None, id_ti: str | None, region: str | None) -> dict[str, Any]:
    return {
        "public": True,
        "programme": programme,
        "id_ti": id_ti,
        "region": region,
        "today": date.today(),
    }


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/territories/ti/{id_ti}/contract/report",
    summary="Contract report of a Territoire d'industrie",
    responses=ok("the territory's contract figures"),
)
async def territory_report(id_ti: str, pool: PoolDep, programme: Programme = 2023) -> Response:
    """The territory's protocol (title, signature date, status, document link) and its action
    sheets: by axis and status, funding committed vs paid per financer, indicators (measured /
    target), overdue sheets (due date passed, neither done nor abandoned). Validated sheets
    only; the example sheets apart under ``example``."""
    params = _params(programme, id_ti, None)
    async with pool.connection() as conn:
        cur = await conn.execute(_TERRITORY, params)
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no Territoire d'industrie {id_ti!r} in programme {programme}")
        report = await _report(conn, params, territories=False)
    name, region, title, signed_on, status, url, is_example = row
    protocol = None
    if status is not None:
        protocol = {"title": title, "signed_on": signed_on, "status": status}
        protocol |= {"document_url": url, "is_example": is_example}
    scope = {"level": "territory", "programme": programme, "id_ti": id_ti, "name": name}
    scope["region"] = region
    return _json({"scope": scope, "protocol": protocol, "note": PUBLIC_NOTE, **report})


@router.get(
    "/regions/{code}/contracts/report",
    summary="Contract report of a region's Territoires d'industrie",
    responses=ok("the region's contract figures"),
)
async def region_report(code: str, pool: PoolDep, programme: Programme = 2023) -> Response:
    """The figures of the territory report summed over the region's Territoires d'industrie
    (``territoire.insee_reg``), and each territory's progress under ``territories``."""
    params = _params(programme, None, code)
    async with pool.connection() as conn:
        cur = await conn.execute(_REGION, params)
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no region with code {code!r}")
        report = await _report(conn, params, territories=True)
    scope = {"level": "region", "programme": programme, "code": code, "name": row[0]}
    return _json({"scope": scope, "note": PUBLIC_NOTE, **report})


@router.get(
    "/contracts/report",
    summary="National contract report",
    responses=ok("the nation's contract figures"),
)
async def national_report(pool: PoolDep, programme: Programme = 2023) -> Response:
    """The figures of every Territoire d'industrie of the programme, and each one's progress."""
    params = _params(programme, None, None)
    async with pool.connection() as conn:
        report = await _report(conn, params, territories=True)
    scope = {"level": "nation", "programme": programme}
    return _json({"scope": scope, "note": PUBLIC_NOTE, **report})


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TI_COLUMNS = (
    ("id_ti", "Territoire (id)"), ("ti_lib", "Territoire"), ("sheets", "Fiches"),
    ("idea", "Idée"), ("in_preparation", "En préparation"), ("committed", "Engagées"),
    ("done", "Réalisées"), ("abandoned", "Abandonnées"), ("committed_eur", "Engagé (€)"),
    ("paid_eur", "Versé (€)"), ("overdue", "En retard"),
)  # fmt: skip
_FUNDING_COLUMNS = (
    ("financer", "Financeur"), ("financer_kind", "Type"), ("committed_eur", "Engagé (€)"),
    ("paid_eur", "Versé (€)"), ("sheets", "Fiches"),
)  # fmt: skip
_OVERDUE_COLUMNS = (
    ("id_ti", "Territoire (id)"), ("ti_lib", "Territoire"), ("code", "Fiche"),
    ("title", "Intitulé"), ("status", "Statut"), ("due_on", "Échéance"),
)  # fmt: skip


def _xlsx(name: str, report: dict[str, Any]) -> bytes:
    """The regional steering committee's workbook: the territories' progress, the funding per
    financer and the overdue sheets; the example, if any, on sheets of its own named so."""
    import io

    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    wb.remove(wb.active)
    parts = [("", report["real"])]
    if report["example"]:
        parts.append((" (exemple)", report["example"]))
    for suffix, part in parts:
        tables = (
            ("Territoires", _TI_COLUMNS, part["territories"]),
            ("Financeurs", _FUNDING_COLUMNS, part["funding"]["by_financer"]),
            ("En retard", _OVERDUE_COLUMNS, part["overdue"]["items"]),
        )
        for title, columns, rows in tables:
            ws = wb.create_sheet((title + suffix)[:31])
            ws.append([f"{name} : {title.lower()}{suffix} — {PUBLIC_NOTE}"])
            ws.append([label for _, label in columns])
            for row in rows:
                ws.append([row.get(key) for key, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@router.get(
    "/regions/{code}/contracts/report.xlsx",
    summary="The region's contract report as a workbook (regional steering committee)",
    responses=ok("the workbook", media=XLSX_MEDIA),
)
async def region_report_xlsx(code: str, pool: PoolDep, programme: Programme = 2023) -> Response:
    """The region report as XLSX: sheets Territoires, Financeurs, En retard (and the same three
    suffixed "(exemple)" for the example contract, never summed with the real ones)."""
    params = _params(programme, None, code)
    async with pool.connection() as conn:
        cur = await conn.execute(_REGION, params)
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no region with code {code!r}")
        report = await _report(conn, params, territories=True)
    filename = f"contrats_region_{code}_{programme}.xlsx"
    return Response(
        _xlsx(f"Région {row[0]} ({programme})", report),
        media_type=XLSX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
