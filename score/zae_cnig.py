"""The inventory's rows in the CNIG "sites économiques" standard (v2024-10 Table Schemas).

One ``site-eco`` row per zone, one ``terrain-eco`` row per land unit, one ``etablissement`` row
per occupant, with exactly the standard's fields in its order (a validator refuses extra or
missing columns). Published CNIG values of a zone (``zae.attributes``) are kept; the inventory
fills what it computes (land units, vacant units and rate, establishments, dates). A required
field the inputs cannot give is ``non renseigné``. Geometries are GeoJSON text in WGS84, as the
standard's ``geojson`` type says.
"""

from __future__ import annotations

from datetime import date
from typing import Any

SITE_ECO_FIELDS = [
    "site_id",
    "pole_id",
    "site_nom",
    "site_type",
    "site_vocadomi",
    "site_etat",
    "site_surf_brute",
    "site_surf_utile",
    "site_creation_date",
    "site_identif_date",
    "site_actu_date",
    "source_producteur",
    "site_description",
    "site_quali_territoire",
    "site_evol_urba",
    "site_url",
    "site_epci_nom",
    "site_epci_siren",
    "site_comm_nom",
    "site_comm_insee",
    "site_moa_type",
    "site_moa_nom",
    "site_moa_amngt",
    "site_moa_comm",
    "site_uf_nbre",
    "site_uf_vacant_nbre",
    "site_taux_vacance",
    "site_uf_bati_nbre",
    "site_nb_etab",
    "site_nb_emploi",
    "site_geomsurf",
    "site_geompoint",
    "site_media",
    "site_surf_comm_dispo",
    "site_surf_projet",
    "site_voca_industrielle",
    "site_voca_commerciale",
    "site_voca_tertiaire",
    "site_voca_artisanale",
    "site_voca_touristique",
    "site_voca_portuaire",
    "site_voca_aeroportuaire",
    "reseau_eau_pluviale",
    "reseau_eau_potable",
    "reseau_assainissement",
    "reseau_gaz",
    "reseau_electrique",
    "reseau_fibre_optique",
    "reseau_fret_ferroviaire",
    "reseau_fluvial",
    "desserte_tc",
    "desserte_route_nom",
    "autoroute_nom",
    "autoroute_echang_dist",
    "gare_nom",
    "gare_dist",
    "gare_fret_nom",
    "gare_fret_dist",
    "aeroport_nom",
    "aeroport_dist",
    "port_nom",
    "port_dist",
]
TERRAIN_ECO_FIELDS = [
    "terr_id",
    "site_id",
    "terr_refcad",
    "terr_surf_brute",
    "terr_utile",
    "terr_identif_date",
    "terr_actu_date",
    "terr_maitrise_fonc",
    "terr_stade_amngt",
    "terr_stade_comm",
    "terr_etat_occup",
    "terr_usage",
    "terr_url_cartofriches",
    "terr_geomsurf",
    "terr_cle_en_main",
    "terr_acquereur",
    "terr_cession_date",
    "terr_vente_montant",
    "terr_m2_prix",
]
ETABLISSEMENT_FIELDS = [
    "SIRET",
    "SIREN",
    "terr_id",
    "ban-id",
    "bat-id",
    "etab_adresse",
    "etab_raison_sociale",
    "etab_nat_juridique",
    "etab_nom",
    "epci_nom",
    "epci_siren",
    "comm_nom",
    "comm_insee",
    "etab_siege",
    "etab_creation_date",
    "etab_identif_date",
    "etab_actu_date",
    "etab_actif",
    "etab_fermeture_date",
    "etab_description",
    "etab_activite_code",
    "etab_activite_libelle",
    "etab_effectif_code",
    "etab_effectif_libelle",
    "etab_effectif_annee",
    "etab_source_info",
    "geocodage_qualite",
    "etab_geompoint",
    "etab_contact_mail",
    "etab_contact_tel",
]
UNKNOWN = "non renseigné"
NOT_PUBLIC = "non diffusé"
# INSEE's tranches d'effectif salarié (trancheEffectifsEtablissement).
TRANCHES = {
    "NN": "unité non employeuse",
    "00": "0 salarié",
    "01": "1 ou 2 salariés",
    "02": "3 à 5 salariés",
    "03": "6 à 9 salariés",
    "11": "10 à 19 salariés",
    "12": "20 à 49 salariés",
    "21": "50 à 99 salariés",
    "22": "100 à 199 salariés",
    "31": "200 à 249 salariés",
    "32": "250 à 499 salariés",
    "41": "500 à 999 salariés",
    "42": "1 000 à 1 999 salariés",
    "51": "2 000 à 4 999 salariés",
    "52": "5 000 à 9 999 salariés",
    "53": "10 000 salariés et plus",
}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def occupation(unit: dict[str, Any], legal: bool) -> str:
    """``terr_etat_occup`` of a unit, saying which rule found it vacant."""
    if legal:
        return "vacant (vacance légale, CFE)" if unit["vacant_legal"] else "occupé"
    if unit["vacant_proxy"]:
        return "vacance apparente (indicateur, pas le taux légal)"
    return "occupé"


def site_eco_row(
    zone: dict[str, Any], vacancy: tuple[int, int, str], rate: float | None, today: date
) -> dict[str, str]:
    """The ``site-eco`` row of a zone; ``vacancy`` is (vacant units, units, rule label)."""
    given = {k: _text(v) for k, v in (zone["attributes"] or {}).items()}
    row = {f: given.get(f, "") for f in SITE_ECO_FIELDS}
    vacant, units, rule = vacancy
    surface = zone["surface_ha"]
    status = "périmètre validé" if zone["status"] == "validated" else "périmètre brouillon"
    row.update(
        site_id=zone["id"],
        pole_id=row["pole_id"] or UNKNOWN,
        site_nom=zone["nom"],
        site_type=zone["site_type"] or UNKNOWN,
        site_vocadomi=zone["vocadomi"] or UNKNOWN,
        site_etat=zone["etat"] or UNKNOWN,
        site_surf_brute=_text(surface),
        site_surf_utile=row["site_surf_utile"] or _text(surface),
        site_identif_date=row["site_identif_date"] or today.isoformat(),
        site_actu_date=today.isoformat(),
        site_description=(
            f"{status} ; taux de vacance : {rule} ; {vacant} unités foncières vacantes sur {units}"
        ),
        site_epci_nom=zone["epci_nom"] or row["site_epci_nom"] or UNKNOWN,
        site_epci_siren=zone["epci_siren"],
        site_comm_nom=zone["commune_nom"] or row["site_comm_nom"] or UNKNOWN,
        site_comm_insee=zone["insee"] or UNKNOWN,
        site_moa_type=row["site_moa_type"] or UNKNOWN,
        site_uf_nbre=str(units),
        site_uf_vacant_nbre=str(vacant),
        site_taux_vacance=_text(rate),
        site_nb_etab=str(zone["active_occupants"]),
        site_geomsurf=zone["geojson"],
    )
    if zone["available_ha"] is not None:
        row["site_surf_comm_dispo"] = _text(round(zone["available_ha"], 4))
    return row


def terrain_eco_row(unit: dict[str, Any], legal: bool, today: date) -> dict[str, str]:
    """The ``terrain-eco`` row of a land unit (surface in hectares, cadastral refs ``|``)."""
    row = dict.fromkeys(TERRAIN_ECO_FIELDS, "")
    row.update(
        terr_id=unit["id"],
        site_id=unit["zone_id"],
        terr_refcad="|".join(unit["idus"]),
        terr_surf_brute=_text(round(unit["surface_m2"] / 10_000, 4)),
        terr_identif_date=today.isoformat(),
        terr_actu_date=today.isoformat(),
        terr_maitrise_fonc=unit["owner_type"] or "propriétaire inconnu",
        terr_stade_amngt=UNKNOWN,
        terr_stade_comm=UNKNOWN,
        terr_etat_occup=occupation(unit, legal),
        terr_usage=UNKNOWN,
        terr_geomsurf=unit["geojson"],
    )
    return row


def etablissement_row(
    occupant: dict[str, Any], epci: tuple[str, str | None], today: date
) -> dict[str, str]:
    """The ``etablissement`` row of an occupant; ``epci`` is (SIREN, name)."""
    row = dict.fromkeys(ETABLISSEMENT_FIELDS, "")
    name = occupant["enseigne"] or NOT_PUBLIC
    active = occupant["etat"] == "A"
    tranche = occupant["tranche_effectif"] or "NN"
    vintage = occupant["vintage"] or ""
    row.update(
        {
            "SIRET": occupant["siret"],
            "SIREN": occupant["siren"],
            "terr_id": occupant["unit_id"],
            "etab_raison_sociale": name,
            "etab_nat_juridique": UNKNOWN,
            "etab_nom": name,
            "epci_nom": epci[1] or UNKNOWN,
            "epci_siren": epci[0],
            "comm_nom": occupant["commune_nom"] or UNKNOWN,
            "comm_insee": occupant["insee"] or UNKNOWN,
            "etab_creation_date": occupant["created_on"] or occupant["state_since"] or "",
            "etab_identif_date": today.isoformat(),
            "etab_actu_date": today.isoformat(),
            "etab_actif": "oui" if active else "non",
            "etab_fermeture_date": "" if active else occupant["state_since"] or "",
            "etab_activite_code": occupant["naf"] or UNKNOWN,
            "etab_activite_libelle": "voir la nomenclature NAF rév. 2 (INSEE)",
            "etab_effectif_code": tranche,
            "etab_effectif_libelle": TRANCHES.get(tranche, UNKNOWN),
            "etab_effectif_annee": vintage[:4] if vintage[:4].isdigit() else str(today.year),
            "etab_source_info": f"INSEE SIRENE {vintage}".strip(),
            "geocodage_qualite": "coordonnées Lambert-93 du stock SIRENE",
            "etab_geompoint": occupant["geojson"],
        }
    )
    return row
