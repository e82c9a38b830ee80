"""The ZAE inventory pages: an EPCI's "Inventaire des ZAE" and a zone's sheet.

Unlike the other map pages these are rendered with their figures: the inventory is computed at
request time (``score.zae``, as the API's report), and the map embeds the zones' GeoJSON.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import geopandas as gpd
import shapely
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from api.db import PoolDep
from api.routes.pages import LangQuery, _not_found, _page
from maps.base import MapParts, render_parts
from maps.i18n import messages, pick_lang
from maps.zae import UNKNOWN_COLOR, VACANCY_BANDS, vacancy_color, zae_map
from score.zae import Inventory, compute_inventory_async
from score.zae_export import densification_cells, unit_rows

router = APIRouter(include_in_schema=False)
SirenPath = Annotated[str, Path(pattern=r"^\d{9}$")]


async def _inventory(pool: Any, siren: str) -> Inventory:
    # One transaction: the inventory's temporary tables live until its end.
    async with pool.connection() as conn, conn.transaction():
        return await compute_inventory_async(conn, siren, date.today().year)


def _zone_rows(inventory: Inventory) -> list[dict[str, Any]]:
    rows = []
    for z in inventory.zones:
        vacant, units, rule = inventory.zone_vacancy(z)
        rate = inventory.zone_rate(z)
        rows.append(
            {
                **z,
                "vacant": vacant,
                "units": units,
                "rate": rate,
                "rule": rule,
                "color": vacancy_color(rate),
            }
        )
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    geoms = shapely.from_wkb([r["geom"] for r in rows]) if rows else []
    data = [{c: r[c] for c in columns} for r in rows]
    return gpd.GeoDataFrame(data or None, columns=columns, geometry=list(geoms), crs=2154)


def _legend(t: dict[str, str]) -> list[dict[str, str]]:
    bounds = [b for b, _ in VACANCY_BANDS[1:]] + [None]
    items = [
        {"color": c, "label": f"{low:g} – {high:g} %" if high else f"≥ {low:g} %"}
        for (low, c), high in zip(VACANCY_BANDS, bounds, strict=True)
    ]
    return [*items, {"color": UNKNOWN_COLOR, "label": t["zae_rate_unknown"]}]


@router.get("/territoires/epci/{siren}/zae", response_class=HTMLResponse)
async def zae_page(
    request: Request, pool: PoolDep, siren: SirenPath, lang: LangQuery = None
) -> HTMLResponse:
    """The EPCI's inventory: zones by vacancy rate on the map, their table, the downloads."""
    t = messages(pick_lang(lang))
    inventory = await _inventory(pool, siren)
    if inventory.epci_nom is None and not inventory.zones:
        message = t["territory_not_found"].replace("{kind}", "epci").replace("{code}", siren)
        return _not_found(request, lang, message, "planner")
    zones = _zone_rows(inventory)
    frame = _frame(zones, ["id", "nom", "color"])
    parts = render_parts(zae_map(frame, t["zae_zones"], ["nom"]))
    if not zones:  # the empty state shows no map: its script would find no container
        parts = MapParts(parts.header, "", "")
    api = f"/territories/epci/{siren}/zae-inventory"
    return _page(
        request,
        "zae.html",
        "zae",
        lang,
        parts,
        kind="epci",
        code=siren,
        inventory=inventory,
        zones=zones,
        legend=_legend(t),
        api=api,
    )


@router.get("/territoires/epci/{siren}/zae/{zone_id}", response_class=HTMLResponse)
async def zae_zone_page(
    request: Request, pool: PoolDep, siren: SirenPath, zone_id: str, lang: LangQuery = None
) -> HTMLResponse:
    """A zone's sheet: its land units (owners, occupants, vacancy), their map, the sources."""
    t = messages(pick_lang(lang))
    inventory = await _inventory(pool, siren)
    zone = next((z for z in _zone_rows(inventory) if z["id"] == zone_id), None)
    if zone is None:
        message = t["zae_zone_not_found"].replace("{id}", zone_id)
        return _not_found(request, lang, message, "planner")
    units = [u for u in inventory.units if u["zone_id"] == zone_id]
    legal = bool(zone["legal"])
    for u in units:
        vacant = u["vacant_legal"] if legal else u["vacant_proxy"]
        u["color"] = UNKNOWN_COLOR if vacant is None else vacancy_color(100.0 if vacant else 0.0)
    frame = _frame(units, ["id", "owner_type", "color"])
    m = zae_map(frame, t["zae_units_map"], ["id"] if units else [])
    rows = {r["uf_id"]: r for r in unit_rows(inventory) if r["zone_id"] == zone_id}
    for u in units:
        rows[u["id"]].update(densification_cells(u))
    return _page(
        request,
        "zae_zone.html",
        "zae-zone",
        lang,
        render_parts(m),
        kind="epci",
        code=siren,
        inventory=inventory,
        zone=zone,
        rows=list(rows.values()),
        legend=_legend(t),
    )
