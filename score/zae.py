"""The legal ZAE inventory of an EPCI (article L.318-8-2 of the Code de l'urbanisme).

:func:`compute_inventory` runs ``score/sql/zae_inventory.sql`` (set-based, temporary tables) for
one EPCI and a reference date (1 January of the inventory year), then reads its zones, land
units and occupants. Land units are adjacent parcels of a zone with the same holders
(``parcel_owner``); a parcel without known owner is a unit by itself, flagged. Private persons
are never named: their units say ``personne physique``.

Vacancy: the legal rule where the EPCI's CFE file (``cfe_premises``) covers every unit of the
zone (no CFE-liable activity at the last two 1 January, and no establishment in the period),
else the apparent-vacancy proxy (no SIRENE establishment active in the last two years and no
building known), labelled :data:`PROXY_LABEL` wherever the rate is shown. Reads only: the
temporary tables are dropped at commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from geo.geometry import M2_PER_HA
from score.profile import load_profile
from score.sqlfiles import read_sql, statements

LEGAL_LABEL = "vacance légale (fichier CFE de l'EPCI, art. L.318-8-2 du code de l'urbanisme)"
PROXY_LABEL = (
    "indicateur de vacance apparente (sans fichier CFE : aucun établissement SIRENE actif "
    "depuis deux ans et aucun bâti connu), ce n'est pas le taux légal"
)
NO_UNITS_LABEL = "aucune parcelle chargée dans la zone : taux non calculable"
PRIVATE = "personne physique"
UNKNOWN_OWNER = "propriétaire inconnu (parcelle absente du fichier des propriétaires)"
# Parcels of the cadastre touch along their common boundary; 10 cm absorbs digitising gaps.
ADJACENT_M = 0.1
# The input layers whose vintages an inventory cites (ingest layer -> what it gives).
SOURCE_LAYERS = {
    "zae": "périmètres (CNIG SITE-ECO)",
    "parcels": "parcelles (DGFiP PCI)",
    "owners": "propriétaires (DGFiP, personnes morales)",
    "establishments": "établissements (INSEE SIRENE)",
    "cfe": "locaux et CFE (fichier de l'EPCI)",
    "buildings": "bâti",
}

_ZONES = """
SELECT z.id, z.nom, z.site_type, z.vocadomi, z.etat, z.status, z.epci_siren, z.insee,
    z.surface_ha, z.attributes, e.nom AS epci_nom, c.nom AS commune_nom, f.*,
    ST_AsGeoJSON(ST_Transform(z.geom, 4326), 7) AS geojson, z.geom AS geom
FROM inv_zone z
JOIN inv_zone_figures f ON f.zone_id = z.id
LEFT JOIN epci e ON e.siren = z.epci_siren
LEFT JOIN commune c ON c.insee = z.insee
ORDER BY z.id
"""

_UNITS = """
SELECT u.id, u.zone_id, u.parcel_count, u.idus, u.surface_m2, u.owner_known, u.owner_type,
    coalesce(u.owner_legal_names, CASE WHEN u.owner_type = %(private)s THEN %(private)s END)
        AS owner_name,
    u.owner_sirens, u.built, u.built_known, v.occupied, v.occupants, v.active_occupants,
    v.last_cfe_year, v.cfe_known, v.vacant_legal, v.vacant_proxy,
    dn.coverage, dn.densifiable, CASE WHEN dn.densifiable THEN dn.unbuilt_m2 END
        AS densification_m2,
    ST_AsGeoJSON(ST_Transform(u.geom, 4326), 7) AS geojson, u.geom AS geom
FROM inv_unit u JOIN inv_vacancy v ON v.unit_id = u.id
JOIN inv_densification dn ON dn.unit_id = u.id
ORDER BY u.id
"""

_OCCUPANTS = """
SELECT o.unit_id, u.zone_id, o.siret, o.siren, o.naf, o.etat, o.state_since, o.created_on,
    o.enseigne, o.tranche_effectif, o.in_period, o.vintage, e.insee, c.nom AS commune_nom,
    ST_AsGeoJSON(ST_Transform(o.geom, 4326), 7) AS geojson, o.geom AS geom
FROM inv_occupant o
JOIN inv_unit u ON u.id = o.unit_id
JOIN establishment e ON e.siret = o.siret
LEFT JOIN commune c ON c.insee = e.insee
ORDER BY o.unit_id, o.siret
"""

_SOURCES = """
SELECT DISTINCT ON (layer) layer, vintage, finished_at::date AS loaded_on
FROM ingest_run
WHERE status = 'succeeded' AND undone_by IS NULL AND layer = ANY (%(layers)s)
ORDER BY layer, finished_at DESC
"""


@dataclass
class Inventory:
    """An EPCI's inventory at a reference date: rows as dicts (geometries as GeoJSON in WGS84
    and EWKB in EPSG:2154), and the vintages of its sources."""

    epci: str
    epci_nom: str | None
    reference: date
    zones: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    occupants: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def zone_vacancy(self, zone: dict[str, Any]) -> tuple[int, int, str]:
        """The zone's vacant units, its units, and which rule counted them."""
        if not zone["unit_count"]:
            return 0, 0, NO_UNITS_LABEL
        if zone["legal"]:
            return zone["vacant_legal"], zone["unit_count"], LEGAL_LABEL
        return zone["vacant_proxy"], zone["unit_count"], PROXY_LABEL

    def zone_rate(self, zone: dict[str, Any]) -> float | None:
        """The vacancy rate in percent (None for a zone without land units)."""
        vacant, units, _ = self.zone_vacancy(zone)
        return round(100 * vacant / units, 1) if units else None


def inventory_params(epci: str, year: int) -> dict[str, object]:
    """The binds of ``zae_inventory.sql`` for an inventory at 1 January ``year`` (the
    densification rule and curtilage from the default profile's ``[densification]``, ``[land]``).

    Example:
        >>> inventory_params("200054781", 2026)["last_cfe_max"]
        2024
    """
    profile = load_profile()
    return {
        "epci": epci,
        "reference": f"{year}-01-01",
        "window_start": f"{year - 2}-01-01",
        "last_cfe_max": year - 2,
        "adjacent_m": ADJACENT_M,
        "m2_per_ha": M2_PER_HA,
        "curtilage_m": profile.curtilage_m,
        **profile.densification,
    }


def _statements(epci: str, year: int) -> list[tuple[str, dict[str, object]]]:
    params = inventory_params(epci, year)
    return [(stmt, params) for stmt in statements(read_sql("zae_inventory.sql"))]


# What an inventory reads once its temporary tables exist: name -> (query, binds).
_READS: dict[str, tuple[str, dict[str, object]]] = {
    "epci": ("SELECT nom FROM epci WHERE siren = %(epci)s", {}),
    "zones": (_ZONES, {}),
    "units": (_UNITS, {"private": PRIVATE}),
    "occupants": (_OCCUPANTS, {}),
    "sources": (_SOURCES, {"layers": list(SOURCE_LAYERS)}),
}


def _assemble(epci: str, year: int, rows: dict[str, list[dict[str, Any]]]) -> Inventory:
    name = rows["epci"][0]["nom"] if rows["epci"] else None
    return Inventory(
        epci,
        name,
        date(year, 1, 1),
        zones=rows["zones"],
        units=rows["units"],
        occupants=rows["occupants"],
        sources=[{**r, "what": SOURCE_LAYERS[r["layer"]]} for r in rows["sources"]],
    )


def compute_inventory(conn: psycopg.Connection, epci: str, year: int) -> Inventory:
    """The inventory of EPCI ``epci`` at 1 January ``year``, read in one transaction.

    Args:
        conn: a connection (its transaction is committed or rolled back by the caller; the
            temporary tables live until then).
        epci: the EPCI's SIREN.
        year: the inventory year (vacancy looks at the two years before 1 January).
    """
    rows: dict[str, list[dict[str, Any]]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for stmt, params in _statements(epci, year):
            cur.execute(stmt, params)
        for name, (query, binds) in _READS.items():
            cur.execute(query, {"epci": epci, **binds})
            rows[name] = cur.fetchall()
    return _assemble(epci, year, rows)


async def compute_inventory_async(
    conn: psycopg.AsyncConnection[Any], epci: str, year: int
) -> Inventory:
    """:func:`compute_inventory` on an asynchronous connection (the API's pool)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with conn.cursor(row_factory=dict_row) as cur:
        for stmt, params in _statements(epci, year):
            await cur.execute(stmt, params)
        for name, (query, binds) in _READS.items():
            await cur.execute(query, {"epci": epci, **binds})
            rows[name] = await cur.fetchall()
    return _assemble(epci, year, rows)


def draft_zones(conn: psycopg.Connection, epci: str) -> int:
    """Draft perimeters from the PLU's activity zones for EPCI ``epci`` if it has no zone yet.

    Touching activity zones of one commune become one ``draft`` zone named after their labels
    (``score/sql/zae_drafts.sql``). The caller commits.

    Returns:
        The number of drafts written (0 when the EPCI already has zones, or no activity zone).
    """
    with conn.cursor() as cur:
        cur.execute(read_sql("zae_drafts.sql"), {"epci": epci, "m2_per_ha": M2_PER_HA})
        return cur.rowcount
