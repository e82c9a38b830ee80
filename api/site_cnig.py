"""The sites export in the CNIG "sites économiques" names (``?schema=cnig``, CSV).

A site of the ``sites`` collection is both a CNIG site économique (SITE-ECO) and, as offered
land, a terrain économique (TERRAIN-ECO, its ``terr_id`` the site's id). Only the standard's
fields the site record holds are written, each under its CNIG name, TERRAIN-ECO's first then
SITE-ECO's, in the standard's order; ``oui``/``non`` for yes/no, surfaces in hectares, dates
ISO, geometries GeoJSON in WGS84 as the standard's ``geojson`` type says. A required text
field the record lacks is ``non renseigné``; two required fields stay blank when the site has
no value: ``terr_actu_date`` (its availability never confirmed) and ``terr_geomsurf`` (a site
known by a point or its commune, no perimeter). The networks
(``reseau_*``) come from the readiness checklist: an item ``done`` is ``oui``, ``in_progress``
or ``not_started`` is ``non`` (not equipped yet), no row or ``not_applicable`` is blank.
The default export (no ``schema``) keeps the collection's own names, which clients use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from score.zae_cnig import SITE_ECO_FIELDS, TERRAIN_ECO_FIELDS, UNKNOWN

# CNIG field -> the collection's property it is read from (value converted by _value).
FROM_PROPS = {
    "terr_id": "id",
    "site_id": "id",
    "terr_surf_brute": "surface_ha",
    "terr_actu_date": "confirmed_at",
    "terr_maitrise_fonc": "maitrise_fonciere",
    "terr_cle_en_main": "cle_en_main",
    "terr_m2_prix": "prix_m2",
    "site_nom": "nom",
    "site_etat": "maturite",
    "site_surf_brute": "surface_ha",
    "site_url": "source_url",
    "site_comm_nom": "lib_com",
    "site_comm_insee": "insee",
    "site_surf_comm_dispo": "surface_dispo_ha",
}
# CNIG network field -> the readiness checklist's item.
NETWORKS = {
    "reseau_eau_potable": "water",
    "reseau_gaz": "gas",
    "reseau_electrique": "electricity",
    "reseau_fibre_optique": "broadband",
}
# Read from the site itself, one query per batch (EXTRAS_SQL).
EXTRAS = {"terr_refcad", "terr_etat_occup", "terr_geomsurf", "site_geompoint"}
FIELDS = [
    f
    for f in (*TERRAIN_ECO_FIELDS, *(f for f in SITE_ECO_FIELDS if f != "site_id"))
    if f in FROM_PROPS or f in NETWORKS or f in EXTRAS
]
# Required text fields the record may not hold: "non renseigné", as the ZAE inventory writes.
REQUIRED_TEXT = ("terr_maitrise_fonc", "terr_etat_occup", "site_etat")
NETWORK_STATE = {"done": "oui", "in_progress": "non", "not_started": "non"}
EXTRAS_SQL = """
SELECT s.id, (SELECT string_agg(sp.idu, '|' ORDER BY sp.idu) FROM site_parcel sp
              WHERE sp.site_id = s.id) AS refcad,
       s.friche, ST_AsGeoJSON(ST_Transform(s.perimeter, 4326), 6) AS perimeter,
       ST_X(ST_Transform(s.geom, 4326)) AS lon, ST_Y(ST_Transform(s.geom, 4326)) AS lat,
       (SELECT jsonb_object_agg(k.item, k.status) FROM site_checklist k
        WHERE k.site_id = s.id AND k.item = ANY(%(items)s)) AS networks
FROM site s WHERE s.id = ANY(%(ids)s)
"""


def fields(restricted: bool) -> list[str]:
    """The CNIG columns written; the price only with a key (as ``prix_m2``)."""
    return [f for f in FIELDS if restricted or f != "terr_m2_prix"]


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def row(props: dict[str, Any], extra: dict[str, Any] | None, names: list[str]) -> list[str]:
    """One site's CNIG row: ``props`` by the collection's names, ``extra`` from EXTRAS_SQL."""
    extra = extra or {}
    networks = extra.get("networks") or {}
    out = {f: _value(props.get(p)) for f, p in FROM_PROPS.items()}
    out |= {f: NETWORK_STATE.get(str(networks.get(item)), "") for f, item in NETWORKS.items()}
    lon, lat = extra.get("lon"), extra.get("lat")
    out |= {
        "terr_refcad": extra.get("refcad") or "",
        # Cartofriches' occupation value when the site is a brownfield; otherwise not known.
        "terr_etat_occup": "friche" if extra.get("friche") else "",
        "terr_geomsurf": extra.get("perimeter") or "",
        "site_geompoint": "" if lon is None else f"{lon:.6f}, {lat:.6f}",
    }
    for f in REQUIRED_TEXT:
        out[f] = out[f] or UNKNOWN
    return [out[f] for f in names]
