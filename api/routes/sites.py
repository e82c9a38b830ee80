"""Writes on sites (API key, scoped to an EPCI or region), each one recorded in ``audit``."""

from __future__ import annotations

import json
from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Response
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth import ReaderDep, check_scope, require_key
from api.db import PoolDep
from db.errors import InvalidQuery, NotFound

router = APIRouter(tags=["Sites (write)"])


class SiteUpdate(BaseModel):
    """The fields an editor may change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL, and lone surrogates are not UTF-8.
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("text must not contain NUL characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        return value

    surface_dispo_ha: float | None = Field(None, ge=0, description="surface encore disponible")
    maturite: str | None = Field(None, max_length=60)
    maitrise_fonciere: str | None = Field(None, max_length=120)
    prix_m2: float | None = Field(None, ge=0)
    contact: str | None = Field(None, max_length=300)
    cle_en_main: bool | None = None


class SiteCreate(SiteUpdate):
    """A new site placed by its lon/lat (CRS84)."""

    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")
    nom: str = Field(min_length=1, max_length=300)
    insee: str = Field(min_length=5, max_length=5, pattern=r"^[0-9][0-9AB][0-9]{3}$")
    lon: float = Field(ge=-5.5, le=10)
    lat: float = Field(ge=41, le=51.5)
    surface_ha: float | None = Field(None, ge=0)
    friche: bool | None = None


AUDIT_SQL = "INSERT INTO audit (key_id, actor, action, target, changes) VALUES (%s, %s, %s, %s, %s)"


async def _bump(conn: object) -> None:
    await conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO layer_version (layer, version, updated_at) VALUES ('sites', 1, now()) "
        "ON CONFLICT (layer) DO UPDATE SET version = layer_version.version + 1, updated_at = now()"
    )


@router.patch(
    "/sites/{site_id}", summary="Update a site's availability, maturity, land control, price"
)
async def update_site(
    site_id: str, update: Annotated[SiteUpdate, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    who = require_key(reader)
    changes = update.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidQuery(f"nothing to change: send one of {', '.join(SiteUpdate.model_fields)}")
    columns = list(changes)  # whitelisted by the model (extra fields are refused)
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT insee, surface_dispo_ha, maturite, maitrise_fonciere, prix_m2, contact, "
            "cle_en_main FROM site WHERE id = %s FOR UPDATE",
            (site_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no site {site_id!r}")
        await check_scope(conn, who, row[0])
        before = dict(
            zip(
                [
                    "surface_dispo_ha",
                    "maturite",
                    "maitrise_fonciere",
                    "prix_m2",
                    "contact",
                    "cle_en_main",
                ],
                row[1:],
                strict=True,
            )
        )
        await conn.execute(
            sql.SQL("UPDATE site SET {} WHERE id = {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c))
                    for c in columns
                ),
                sql.Placeholder("site_id"),
            ),
            {**changes, "site_id": site_id},
        )
        diff = {c: {"old": before[c], "new": changes[c]} for c in columns}
        await conn.execute(
            AUDIT_SQL,
            (who.key_id, who.name, "site.update", f"site:{site_id}", json.dumps(diff)),
        )
        await _bump(conn)
    return Response(orjson.dumps({"id": site_id, "changed": diff}), media_type="application/json")


@router.post("/sites", status_code=201, summary="Add a site")
async def create_site(
    site: Annotated[SiteCreate, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    who = require_key(reader)
    values = site.model_dump()
    async with pool.connection() as conn, conn.transaction():
        await check_scope(conn, who, site.insee)
        cur = await conn.execute("SELECT 1 FROM site WHERE id = %s", (site.id,))
        if await cur.fetchone():
            return Response(
                orjson.dumps(
                    {
                        "type": "about:blank",
                        "title": "Conflict",
                        "status": 409,
                        "detail": f"site {site.id!r} already exists; PATCH it instead",
                    }
                ),
                status_code=409,
                media_type="application/problem+json",
            )
        await conn.execute(
            "INSERT INTO site (id, nom, insee, lib_com, surface_ha, surface_dispo_ha, maturite, "
            "maitrise_fonciere, prix_m2, contact, cle_en_main, friche, location_precision, geom) "
            "SELECT %(id)s, %(nom)s, %(insee)s, c.nom, %(surface_ha)s, %(surface_dispo_ha)s, "
            "%(maturite)s, %(maitrise_fonciere)s, %(prix_m2)s, %(contact)s, "
            "coalesce(%(cle_en_main)s, false), %(friche)s, 'point', "
            "ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 2154) "
            "FROM (SELECT 1) one LEFT JOIN commune c ON c.insee = %(insee)s",
            values,
        )
        await conn.execute(
            AUDIT_SQL,
            (who.key_id, who.name, "site.create", f"site:{site.id}", json.dumps(values)),
        )
        await _bump(conn)
    return Response(
        orjson.dumps({"id": site.id, "href": f"/collections/sites/items/{site.id}"}),
        status_code=201,
        media_type="application/json",
    )
