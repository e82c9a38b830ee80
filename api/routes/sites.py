"""Writes on sites (API key, scoped to an EPCI or region), each one recorded in ``audit``.

A write that places a site (POST, or a PATCH of ``lon``/``lat``/``perimeter``) recomputes the
site's parcels (``site_parcel``) in its own transaction, with the rule the loads run
(db/site_parcels.py). Scores stay with ``foncier score``: its ``--changed`` run re-scores the
communes of the sites written here since its last run (it reads ``audit``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Self

import orjson
import psycopg
from fastapi import APIRouter, Body, Response
from geojson_pydantic import MultiPolygon, Polygon
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.auth import ReaderDep, check_scope, require_key
from api.db import PoolDep
from api.schemas import SiteChange, SiteCreated, ok
from db.errors import InvalidQuery, NotFound
from db.history import SET_WRITER_SQL, writer_params
from db.site_parcels import refresh_sites

router = APIRouter(tags=["Sites (write)"])


# Where a site may be placed: metropolitan France, in CRS84 degrees.
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = -5.5, 10.0, 41.0, 51.5

Perimeter = Annotated[Polygon | MultiPolygon, Field(discriminator="type")]


class SiteUpdate(BaseModel):
    """The fields an editor may change; absent fields stay as they are."""

    # Python's JSON reader accepts NaN/Infinity tokens: refuse them here, by field name.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
    lon: float | None = Field(None, ge=LON_MIN, le=LON_MAX, description="CRS84, with lat")
    lat: float | None = Field(None, ge=LAT_MIN, le=LAT_MAX)
    perimeter: Perimeter | None = Field(
        None,
        description="the site's outline (GeoJSON Polygon or MultiPolygon, CRS84): it decides the "
        "site's parcels; null removes it",
    )

    @field_validator("perimeter", mode="after")
    @classmethod
    def _perimeter_in_france(cls, value: Polygon | MultiPolygon | None) -> object:
        if value is None:
            return value
        polygons = value.coordinates if isinstance(value, MultiPolygon) else [value.coordinates]
        for ring in (r for polygon in polygons for r in polygon):
            for position in ring:
                lon, lat = position[0], position[1]
                # Written so that NaN fails too.
                if not (LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX):
                    raise ValueError(
                        f"position ({lon}, {lat}) is outside metropolitan France "
                        f"(lon {LON_MIN} to {LON_MAX}, lat {LAT_MIN} to {LAT_MAX}, CRS84)"
                    )
        return value

    @model_validator(mode="after")
    def _lon_lat_together(self) -> Self:
        given = {"lon", "lat"} & self.model_fields_set
        if given and (given != {"lon", "lat"} or self.lon is None or self.lat is None):
            raise ValueError("lon and lat go together: give both, as numbers")
        return self


class SiteCreate(SiteUpdate):
    """A new site placed by its lon/lat (CRS84), its perimeter, or both."""

    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")
    nom: str = Field(min_length=1, max_length=300)
    insee: str = Field(min_length=5, max_length=5, pattern=r"^[0-9][0-9AB][0-9]{3}$")
    surface_ha: float | None = Field(None, ge=0)
    friche: bool | None = None

    @model_validator(mode="after")
    def _placed(self) -> Self:
        if self.lon is None and self.perimeter is None:
            raise ValueError("place the site: give lon and lat, or a perimeter")
        return self


AUDIT_SQL = (
    "INSERT INTO audit (id, key_id, actor, action, target, changes) VALUES (%s, %s, %s, %s, %s, %s)"
)


async def _reserve_audit(conn: psycopg.AsyncConnection) -> int:
    """The id of this write's audit row, taken first: the history triggers record it with the
    versions the write replaces (``GET /sites/{id}/history``, ``foncier sites undo``)."""
    cur = await conn.execute("SELECT nextval(pg_get_serial_sequence('audit', 'id'))")
    row = await cur.fetchone()
    assert row is not None
    audit_id = int(row[0])
    await conn.execute(SET_WRITER_SQL, writer_params(audit_id=audit_id))
    return audit_id


async def _bump(conn: object) -> None:
    await conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO layer_version (layer, version, updated_at) VALUES ('sites', 1, now()) "
        "ON CONFLICT (layer) DO UPDATE SET version = layer_version.version + 1, updated_at = now()"
    )


# The site's own fields an editor may change, and the fields that place it.
ATTRIBUTES = (
    "surface_dispo_ha",
    "maturite",
    "maitrise_fonciere",
    "prix_m2",
    "contact",
    "cle_en_main",
)
PLACE = ("lon", "lat", "perimeter")
_POINT = "ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 2154)"
# A perimeter as stored: Lambert-93, valid, 2D, MultiPolygon (as the sites load makes it);
# no row when nothing with an area is left.
_PERIMETER_SQL = (
    "SELECT ST_AsEWKB(g) FROM (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Force2D("
    "ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), 2154))), 3)) AS g) x "
    "WHERE NOT ST_IsEmpty(g)"
)
_CURRENT_SQL = (
    f"SELECT insee, {', '.join(ATTRIBUTES)}, location_precision, "
    "round(ST_X(ST_Transform(geom, 4326))::numeric, 7)::float8, "
    "round(ST_Y(ST_Transform(geom, 4326))::numeric, 7)::float8, "
    "ST_AsGeoJSON(ST_Transform(perimeter, 4326), 7), "
    "ARRAY(SELECT sp.idu FROM site_parcel sp WHERE sp.site_id = s.id ORDER BY sp.idu) "
    "FROM site s WHERE id = %s FOR UPDATE"
)


async def _perimeter_2154(conn: psycopg.AsyncConnection, perimeter: dict[str, Any]) -> bytes:
    cur = await conn.execute(_PERIMETER_SQL, (json.dumps(perimeter),))
    row = await cur.fetchone()
    if row is None:
        raise InvalidQuery("perimeter: the outline encloses no area (a line or a point)")
    return bytes(row[0])


async def _place(
    conn: psycopg.AsyncConnection, site_id: str, changes: dict[str, Any], current: tuple[Any, ...]
) -> dict[str, dict[str, Any]]:
    """Move a site or change its perimeter, then recompute its parcels; the changes, old/new."""
    precision, lon, lat, perimeter, parcels = current
    params: dict[str, Any] = {"site_id": site_id, **{k: changes.get(k) for k in ("lon", "lat")}}
    sets = []
    if "perimeter" in changes:
        if changes["perimeter"] is None:
            sets.append("perimeter = NULL")
        else:
            params["perimeter"] = await _perimeter_2154(conn, changes["perimeter"])
            sets.append("perimeter = ST_GeomFromEWKB(%(perimeter)s)")
    if "lon" in changes:
        sets.append(f"geom = {_POINT}")
    elif params.get("perimeter") is not None:
        # As the sites load does: a site given by its outline sits at a point inside it.
        sets.append("geom = ST_PointOnSurface(ST_GeomFromEWKB(%(perimeter)s))")
    outlined = changes["perimeter"] is not None if "perimeter" in changes else perimeter is not None
    moved = "lon" in changes or precision == "polygon"
    params["precision"] = "polygon" if outlined else ("point" if moved else precision)
    sets.append("location_precision = %(precision)s")
    await conn.execute(
        sql.SQL("UPDATE site SET {} WHERE id = %(site_id)s").format(
            sql.SQL(", ").join(map(sql.SQL, sets))  # constant fragments, values are bound
        ),
        params,
    )
    new_parcels = (await refresh_sites(conn, [site_id]))[site_id]
    diff: dict[str, dict[str, Any]] = {}
    if "lon" in changes:
        diff["lon"] = {"old": lon, "new": changes["lon"]}
        diff["lat"] = {"old": lat, "new": changes["lat"]}
    if "perimeter" in changes:
        old = json.loads(perimeter) if perimeter is not None else None
        diff["perimeter"] = {"old": old, "new": changes["perimeter"]}
    if params["precision"] != precision:
        diff["location_precision"] = {"old": precision, "new": params["precision"]}
    if new_parcels != list(parcels):
        diff["parcels"] = {"old": list(parcels), "new": new_parcels}
    return diff


@router.patch(
    "/sites/{site_id}",
    summary="Update a site's availability, maturity, land control, price, position or perimeter",
    responses=ok("the fields changed, old and new", model=SiteChange),
)
async def update_site(
    site_id: str, update: Annotated[SiteUpdate, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    """Change the fields sent. A new position or perimeter recomputes the site's parcels in the
    same transaction; ``changed`` then also lists them (``parcels``, old and new)."""
    who = require_key(reader)
    changes = update.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise InvalidQuery(f"nothing to change: send one of {', '.join(SiteUpdate.model_fields)}")
    columns = [c for c in changes if c in ATTRIBUTES]  # whitelisted by the model
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(_CURRENT_SQL, (site_id,))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no site {site_id!r}")
        await check_scope(conn, who, row[0])
        audit_id = await _reserve_audit(conn)
        before = dict(zip(ATTRIBUTES, row[1 : 1 + len(ATTRIBUTES)], strict=True))
        if columns:
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
        if any(c in changes for c in PLACE):
            diff.update(await _place(conn, site_id, changes, row[1 + len(ATTRIBUTES) :]))
        await conn.execute(
            AUDIT_SQL,
            (audit_id, who.key_id, who.name, "site.update", f"site:{site_id}", json.dumps(diff)),
        )
        await _bump(conn)
    return Response(orjson.dumps({"id": site_id, "changed": diff}), media_type="application/json")


@router.post(
    "/sites",
    status_code=201,
    summary="Add a site",
    responses=ok("the site was created", model=SiteCreated, status=201),
)
async def create_site(
    site: Annotated[SiteCreate, Body()], pool: PoolDep, reader: ReaderDep
) -> Response:
    """Add a site at ``lon``/``lat``, inside ``perimeter``, or both; its parcels are computed in
    the same transaction and returned (``parcels``)."""
    who = require_key(reader)
    values = site.model_dump(mode="json")
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
        audit_id = await _reserve_audit(conn)
        outline = values["perimeter"]
        params = {
            **values,
            "perimeter": await _perimeter_2154(conn, outline) if outline else None,
            "precision": "polygon" if outline else "point",
        }
        await conn.execute(
            "INSERT INTO site (id, nom, insee, lib_com, surface_ha, surface_dispo_ha, maturite, "
            "maitrise_fonciere, prix_m2, contact, cle_en_main, friche, location_precision, geom, "
            "perimeter) "
            "SELECT %(id)s, %(nom)s, %(insee)s, c.nom, %(surface_ha)s, %(surface_dispo_ha)s, "
            "%(maturite)s, %(maitrise_fonciere)s, %(prix_m2)s, %(contact)s, "
            "coalesce(%(cle_en_main)s, false), %(friche)s, %(precision)s, "
            f"coalesce({_POINT}, ST_PointOnSurface(p.geom)), p.geom "
            "FROM (SELECT ST_GeomFromEWKB(%(perimeter)s) AS geom) p "
            "LEFT JOIN commune c ON c.insee = %(insee)s",
            params,
        )
        parcels = (await refresh_sites(conn, [site.id]))[site.id]
        await conn.execute(
            AUDIT_SQL,
            (
                audit_id,
                who.key_id,
                who.name,
                "site.create",
                f"site:{site.id}",
                json.dumps({**values, "parcels": parcels}),
            ),
        )
        await _bump(conn)
    return Response(
        orjson.dumps(
            {"id": site.id, "href": f"/collections/sites/items/{site.id}", "parcels": parcels}
        ),
        status_code=201,
        media_type="application/json",
    )
