"""The legal ZAE inventory of an EPCI as a download: CNIG GeoPackage, CSV (ZIP) or HTML report.

The inventory is computed at request time (``score.zae``): an EPCI's zones hold a few hundred
parcels. Files are built in a worker thread (GDAL writes the GeoPackage to a temporary file).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response

from api.db import PoolDep
from api.params import GENERIC_PARAMS, check_params
from db.errors import NotFound
from score.zae import compute_inventory_async
from score.zae_export import csv_zip_bytes, geopackage_bytes, report_html

router = APIRouter(tags=["Territories"])

Format = Literal["html", "gpkg", "csv"]
_MEDIA = {
    "html": "text/html; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "application/zip",
}
_FILES = {"gpkg": "inventaire_zae_{}.gpkg", "csv": "inventaire_zae_{}_csv.zip"}


@router.get("/territories/epci/{siren}/zae-inventory")
async def zae_inventory(
    request: Request,
    pool: PoolDep,
    siren: Annotated[str, Path(pattern=r"^\d{9}$", description="The EPCI's SIREN")],
    f: Annotated[
        Format,
        Query(description="html: printable report; gpkg: CNIG GeoPackage; csv: ZIP of CNIG CSVs"),
    ] = "html",
    year: Annotated[
        int | None,
        Query(ge=2000, le=2100, description="Inventory at 1 January of this year (default: now)"),
    ] = None,
) -> Response:
    """The EPCI's inventory of economic activity zones (article L.318-8-2 of the Code de
    l'urbanisme): per zone its land units (surface, owner type, legal persons' names),
    occupants (SIRENE), vacancy rate with numerator and denominator (legal with the EPCI's CFE
    file, else the apparent-vacancy proxy, labelled), available land and sources. Private
    persons are never named."""
    check_params(request.query_params, GENERIC_PARAMS | {"year"})
    today = date.today()
    # One transaction: the inventory's temporary tables live until its end (the pool's
    # connections are in autocommit), and it writes nothing else.
    async with pool.connection() as conn, conn.transaction():
        inventory = await compute_inventory_async(conn, siren, year or today.year)
    if inventory.epci_nom is None and not inventory.zones:
        raise NotFound(f"no EPCI with SIREN {siren!r} and no zone for it")
    if f == "html":
        at = f"&year={year}" if year else ""
        downloads = {"GeoPackage CNIG": f"?f=gpkg{at}", "CSV CNIG (ZIP)": f"?f=csv{at}"}
        page = report_html(inventory, today, downloads=downloads)
        return Response(page, media_type=_MEDIA["html"])
    build = geopackage_bytes if f == "gpkg" else csv_zip_bytes
    body = await anyio.to_thread.run_sync(build, inventory, today)
    headers = {"Content-Disposition": f'attachment; filename="{_FILES[f].format(siren)}"'}
    return Response(body, media_type=_MEDIA[f], headers=headers)
