"""The six-year update: an inventory saved with its date (``inventaire.json``), and what changed
since a previous one.

Land units are compared through their parcels, since unit ids are renumbered by each
inventory: a unit with the same parcels is the same unit (its owner, occupants, vacancy and
surface are compared); parcels of several former units now in one unit are a merger
(``fusion``), a former unit's parcels now in several units a split (``division``); parcels that
entered or left the zones are listed too. Private persons are "personne physique" in both
inventories, so no change names one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from score.zae import Inventory

SAVED_VERSION = 1
DIFF_FIELDS = ("zone_id", "changement", "avant", "apres", "detail")


def saved_inventory(inventory: Inventory, today: date) -> dict[str, Any]:
    """The inventory as kept for the next update (JSON-ready)."""
    zones = []
    for z in inventory.zones:
        vacant, units, rule = inventory.zone_vacancy(z)
        zones.append(
            {
                "id": z["id"],
                "nom": z["nom"],
                "status": z["status"],
                "surface_ha": z["surface_ha"],
                "units": units,
                "vacant": vacant,
                "rate": inventory.zone_rate(z),
                "rule": rule,
            }
        )
    occupants: dict[str, list[str]] = {}
    for o in inventory.occupants:
        if o["in_period"]:
            occupants.setdefault(o["unit_id"], []).append(o["siret"])
    unit_rows = [
        {
            "id": u["id"],
            "zone_id": u["zone_id"],
            "idus": list(u["idus"]),
            "surface_m2": u["surface_m2"],
            "owner": u["owner_name"] or u["owner_type"] or "propriétaire inconnu",
            "occupants": sorted(occupants.get(u["id"], [])),
            "vacant": bool(u["vacant_legal"] if u["cfe_known"] else u["vacant_proxy"]),
        }
        for u in inventory.units
    ]
    return {
        "version": SAVED_VERSION,
        "epci": inventory.epci,
        "reference": inventory.reference.isoformat(),
        "established": today.isoformat(),
        "zones": zones,
        "units": unit_rows,
    }


def _row(zone: str, change: str, before: object, after: object, detail: str = "") -> dict[str, str]:
    return {
        "zone_id": zone,
        "changement": change,
        "avant": str(before),
        "apres": str(after),
        "detail": detail,
    }


def _same_unit_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, str]]:
    zone, unit = new["zone_id"], f"{old['id']} -> {new['id']}"
    rows = []
    for key, label in (("owner", "propriétaire"), ("surface_m2", "surface (m²)")):
        if old[key] != new[key]:
            rows.append(_row(zone, label, old[key], new[key], unit))
    if old["occupants"] != new["occupants"]:
        gone = sorted(set(old["occupants"]) - set(new["occupants"]))
        came = sorted(set(new["occupants"]) - set(old["occupants"]))
        detail = f"{unit} ; partis : {', '.join(gone) or '-'} ; arrivés : {', '.join(came) or '-'}"
        rows.append(_row(zone, "occupants", len(old["occupants"]), len(new["occupants"]), detail))
    if old["vacant"] != new["vacant"]:
        rows.append(_row(zone, "vacance", _vacancy(old["vacant"]), _vacancy(new["vacant"]), unit))
    return rows


def _vacancy(vacant: bool) -> str:
    return "vacante" if vacant else "occupée"


def _regrouped(
    old_units: list[dict[str, Any]], new_units: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Mergers, splits and parcels in or out, for the units whose parcels changed."""
    old_of = {idu: u for u in old_units for idu in u["idus"]}
    new_of = {idu: u for u in new_units for idu in u["idus"]}
    rows = []
    for u in new_units:
        sources = {old_of[i]["id"] for i in u["idus"] if i in old_of}
        if len(sources) > 1:
            rows.append(_row(u["zone_id"], "fusion", " + ".join(sorted(sources)), u["id"]))
        added = [i for i in u["idus"] if i not in old_of]
        if added:
            rows.append(_row(u["zone_id"], "parcelles ajoutées", "", u["id"], ", ".join(added)))
    for u in old_units:
        targets = {new_of[i]["id"] for i in u["idus"] if i in new_of}
        if len(targets) > 1:
            rows.append(_row(u["zone_id"], "division", u["id"], " + ".join(sorted(targets))))
        removed = [i for i in u["idus"] if i not in new_of]
        if removed:
            rows.append(_row(u["zone_id"], "parcelles retirées", u["id"], "", ", ".join(removed)))
    return rows


def diff_inventories(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, str]]:
    """What changed from the saved inventory ``old`` to ``new`` (both :func:`saved_inventory`).

    Example:
        >>> unit = {"id": "Z-UF001", "zone_id": "Z", "idus": ["a"], "surface_m2": 10,
        ...         "owner": "personne physique", "occupants": [], "vacant": True}
        >>> inv = {"zones": [], "units": [unit]}
        >>> (row,) = diff_inventories(inv, {"zones": [], "units": [{**unit, "vacant": False}]})
        >>> row["changement"], row["avant"], row["apres"]
        ('vacance', 'vacante', 'occupée')
    """
    rows: list[dict[str, str]] = []
    old_zones = {z["id"]: z for z in old["zones"]}
    new_zones = {z["id"]: z for z in new["zones"]}
    for zid in sorted(old_zones.keys() - new_zones.keys()):
        rows.append(_row(zid, "zone retirée", old_zones[zid]["nom"], ""))
    for zid in sorted(new_zones.keys() - old_zones.keys()):
        rows.append(_row(zid, "zone ajoutée", "", new_zones[zid]["nom"]))
    for zid in sorted(old_zones.keys() & new_zones.keys()):
        before, after = old_zones[zid], new_zones[zid]
        if (before["vacant"], before["units"]) != (after["vacant"], after["units"]):
            rows.append(
                _row(
                    zid,
                    "taux de vacance",
                    f"{before['vacant']}/{before['units']}",
                    f"{after['vacant']}/{after['units']}",
                    after["rule"],
                )
            )
    old_by_parcels = {tuple(u["idus"]): u for u in old["units"]}
    new_by_parcels = {tuple(u["idus"]): u for u in new["units"]}
    for parcels, unit in new_by_parcels.items():
        if parcels in old_by_parcels:
            rows.extend(_same_unit_changes(old_by_parcels[parcels], unit))
    changed_old = [u for p, u in old_by_parcels.items() if p not in new_by_parcels]
    changed_new = [u for p, u in new_by_parcels.items() if p not in old_by_parcels]
    rows.extend(_regrouped(changed_old, changed_new))
    return rows
