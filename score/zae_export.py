"""The ZAE inventory's files: a CNIG GeoPackage, CNIG CSVs with the land-unit detail, and a
printable HTML report (French), from a :class:`score.zae.Inventory`.

- GeoPackage (EPSG:2154): layers ``site_eco``, ``terrain_eco``, ``etablissement`` with the
  CNIG fields (the ``*_geom*`` GeoJSON fields become the layer geometry), and
  ``unite_fonciere``, the legal statement of each unit (surface, owner, occupants, vacancy).
- CSV (``;``-free, comma-separated, UTF-8): ``site_eco.csv``, ``terrain_eco.csv``,
  ``etablissement.csv`` (the CNIG tables, geometries as GeoJSON text) and
  ``unites_foncieres.csv`` (the detail).
- ``rapport_inventaire_zae.html``: the report the EPCI sends to its SCoT and PLU authorities.

Owner names come from the inventory's rows only, where a private person is "personne
physique": no file can name one.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from jinja2 import Environment, PackageLoader, select_autoescape

from score.zae import UNKNOWN_OWNER, Inventory
from score.zae_cnig import (
    ETABLISSEMENT_FIELDS,
    SITE_ECO_FIELDS,
    TERRAIN_ECO_FIELDS,
    etablissement_row,
    occupation,
    site_eco_row,
    terrain_eco_row,
)
from score.zae_diff import DIFF_FIELDS, diff_inventories, saved_inventory

SRID = 2154
GEOMETRY_FIELDS = {
    "site_eco": "site_geomsurf",
    "terrain_eco": "terr_geomsurf",
    "etablissement": "etab_geompoint",
}
UNIT_FIELDS = [
    "zone_id",
    "zone_nom",
    "zone_statut",
    "uf_id",
    "parcelles",
    "nb_parcelles",
    "surface_m2",
    "proprietaire_type",
    "proprietaire_nom",
    "proprietaire_siren",
    "occupants",
    "occupants_actifs",
    "derniere_annee_cfe",
    "occupation",
    "methode_vacance",
    # Not CNIG: the densification potential (profile [densification]); empty = unknown.
    "taux_bati",
    "densifiable",
    "densification_m2",
]
_ENV = Environment(
    loader=PackageLoader("score", "templates"), autoescape=select_autoescape(["html"])
)


def french_number(value: float, decimals: int = 1) -> str:
    """A number as a French reader writes it.

    Example:
        >>> french_number(33.333), french_number(8.5, 2)
        ('33,3', '8,50')
    """
    return f"{value:.{decimals}f}".replace(".", ",")


_ENV.filters["fr"] = french_number


def cnig_tables(inventory: Inventory, today: date) -> dict[str, list[dict[str, str]]]:
    """The three CNIG tables of an inventory, keyed ``site_eco``, ``terrain_eco``,
    ``etablissement``."""
    legal = {z["id"]: bool(z["legal"]) for z in inventory.zones}
    return {
        "site_eco": [
            site_eco_row(z, inventory.zone_vacancy(z), inventory.zone_rate(z), today)
            for z in inventory.zones
        ],
        "terrain_eco": [terrain_eco_row(u, legal[u["zone_id"]], today) for u in inventory.units],
        "etablissement": [
            etablissement_row(o, (inventory.epci, inventory.epci_nom), today)
            for o in inventory.occupants
        ],
    }


def unit_rows(inventory: Inventory) -> list[dict[str, object]]:
    """The legal statement of each land unit (``unites_foncieres.csv``)."""
    zones = {z["id"]: z for z in inventory.zones}
    rows: list[dict[str, object]] = []
    for u in inventory.units:
        zone = zones[u["zone_id"]]
        occupants = [o for o in inventory.occupants if o["unit_id"] == u["id"]]
        rows.append(
            {
                "zone_id": zone["id"],
                "zone_nom": zone["nom"],
                "zone_statut": "validé" if zone["status"] == "validated" else "brouillon",
                "uf_id": u["id"],
                "parcelles": "|".join(u["idus"]),
                "nb_parcelles": u["parcel_count"],
                "surface_m2": u["surface_m2"],
                "proprietaire_type": u["owner_type"] or UNKNOWN_OWNER,
                "proprietaire_nom": u["owner_name"] or "",
                "proprietaire_siren": u["owner_sirens"] or "",
                "occupants": " ; ".join(
                    f"{o['siret']} {o['naf'] or ''} {'actif' if o['etat'] == 'A' else 'fermé'}"
                    for o in occupants
                ),
                "occupants_actifs": u["active_occupants"],
                "derniere_annee_cfe": u["last_cfe_year"] or "",
                "occupation": occupation(u, bool(zone["legal"])),
                "methode_vacance": inventory.zone_vacancy(zone)[2],
                **densification_cells(u),
            }
        )
    return rows


def densification_cells(unit: dict[str, Any]) -> dict[str, object]:
    """A unit's densification columns: coverage (0-1), oui/non, unbuilt m2; "inconnu" where no
    building layer covers it, "non bâtie" for a unit without building (free land, not
    densification)."""
    if unit["densifiable"] is None:
        return {"taux_bati": "inconnu", "densifiable": "inconnu", "densification_m2": ""}
    if not unit["built"]:
        return {"taux_bati": "0", "densifiable": "non bâtie", "densification_m2": ""}
    return {
        "taux_bati": f"{unit['coverage']:.4f}",
        "densifiable": "oui" if unit["densifiable"] else "non",
        "densification_m2": round(unit["densification_m2"]) if unit["densifiable"] else "",
    }


def _csv_text(fields: list[str] | tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_files(inventory: Inventory, today: date) -> dict[str, str]:
    """File name -> CSV text, the CNIG tables and the land-unit detail."""
    tables = cnig_tables(inventory, today)
    return {
        "site_eco.csv": _csv_text(SITE_ECO_FIELDS, tables["site_eco"]),
        "terrain_eco.csv": _csv_text(TERRAIN_ECO_FIELDS, tables["terrain_eco"]),
        "etablissement.csv": _csv_text(ETABLISSEMENT_FIELDS, tables["etablissement"]),
        "unites_foncieres.csv": _csv_text(UNIT_FIELDS, unit_rows(inventory)),
    }


def _frame(
    rows: list[dict[str, Any]], fields: list[str], geometries: list[object]
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{f: r[f] for f in fields} for r in rows] or None,
        columns=fields,
        geometry=gpd.GeoSeries(geometries, crs=SRID),
    )


def write_geopackage(inventory: Inventory, path: Path, today: date) -> None:
    """The inventory's GeoPackage at ``path`` (EPSG:2154, four layers, see the module)."""
    tables = cnig_tables(inventory, today)
    sources = {
        "site_eco": inventory.zones,
        "terrain_eco": inventory.units,
        "etablissement": inventory.occupants,
    }
    fields = {
        "site_eco": SITE_ECO_FIELDS,
        "terrain_eco": TERRAIN_ECO_FIELDS,
        "etablissement": ETABLISSEMENT_FIELDS,
    }
    # One vectorised parse per layer (the unit geometries serve two layers).
    geoms = {layer: shapely.from_wkb([r["geom"] for r in rows]) for layer, rows in sources.items()}
    for layer, rows in tables.items():
        kept = [f for f in fields[layer] if f != GEOMETRY_FIELDS[layer]]
        _frame(rows, kept, list(geoms[layer])).to_file(path, layer=layer, driver="GPKG")
    detail = unit_rows(inventory)
    _frame(detail, list(UNIT_FIELDS), list(geoms["terrain_eco"])).to_file(
        path, layer="unite_fonciere", driver="GPKG"
    )


def geopackage_bytes(inventory: Inventory, today: date) -> bytes:
    """The GeoPackage as bytes (written to a temporary file: GDAL writes files)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventaire.gpkg"
        write_geopackage(inventory, path, today)
        return path.read_bytes()


def csv_zip_bytes(inventory: Inventory, today: date) -> bytes:
    """The CSV files in one ZIP archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in csv_files(inventory, today).items():
            archive.writestr(name, text)
    return out.getvalue()


def report_html(
    inventory: Inventory,
    today: date,
    previous: dict[str, Any] | None = None,
    downloads: dict[str, str] | None = None,
) -> str:
    """The printable report (French); with ``previous`` (a saved inventory), its changes; with
    ``downloads`` (label -> address), links to the files (the API's page)."""
    zones = []
    for z in inventory.zones:
        vacant, units, rule = inventory.zone_vacancy(z)
        zones.append(
            {
                **z,
                "vacant": vacant,
                "units": units,
                "rule": rule,
                "rate": inventory.zone_rate(z),
                "rows": [r for r in unit_rows(inventory) if r["zone_id"] == z["id"]],
            }
        )
    changes = None
    if previous is not None:
        changes = diff_inventories(previous, saved_inventory(inventory, today))
    return _ENV.get_template("zae_report.html").render(
        inventory=inventory,
        zones=zones,
        today=today,
        previous=previous,
        changes=changes,
        downloads=downloads or {},
    )


def write_inventory(
    inventory: Inventory, out_dir: Path, today: date, previous: dict[str, Any] | None = None
) -> list[Path]:
    """Every file of the inventory in ``out_dir`` (created), ``inventaire.json`` (the saved
    inventory for the next update) and, with ``previous``, ``evolutions.csv``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg = out_dir / f"inventaire_zae_{inventory.epci}.gpkg"
    gpkg.unlink(missing_ok=True)
    write_geopackage(inventory, gpkg, today)
    files = dict(csv_files(inventory, today))
    saved = saved_inventory(inventory, today)
    files["inventaire.json"] = json.dumps(saved, ensure_ascii=False, indent=1)
    if previous is not None:
        files["evolutions.csv"] = _csv_text(DIFF_FIELDS, diff_inventories(previous, saved))
    files["rapport_inventaire_zae.html"] = report_html(inventory, today, previous)
    paths = [gpkg]
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        paths.append(out_dir / name)
    return paths
