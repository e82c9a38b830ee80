"""The ZAE inventory pages' texts (merged into ``maps.i18n.MESSAGES``), French and English."""

from __future__ import annotations

ZAE_MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "zae_inventory": "Inventaire des ZAE",
        "zae_zones": "Zones d'activité économique",
        "zae_intro": (
            "Inventaire des zones d'activité économique (article L.318-8-2 du code de "
            "l'urbanisme) au 1er janvier {year} : unités foncières, propriétaires, occupants, "
            "taux de vacance."
        ),
        "zae_legend": "Taux de vacance",
        "zae_rate_unknown": "inconnu (aucune parcelle chargée)",
        "zae_legal": "taux légal (fichier CFE de l'EPCI)",
        "zae_proxy": (
            "sans fichier CFE, indicateur de vacance apparente (aucun établissement actif "
            "depuis deux ans et aucun bâti connu) : ce n'est pas le taux légal"
        ),
        "zae_rule_legal": "taux légal (CFE)",
        "zae_rule_proxy": "taux apparent (proxy)",
        "zae_col_name": "Zone",
        "zae_col_type": "Type",
        "zae_col_vocation": "Vocation",
        "zae_col_status": "Périmètre",
        "zae_col_units": "Unités foncières",
        "zae_col_surface": "Surface (ha)",
        "zae_col_vacancy": "Vacantes / unités",
        "zae_col_rate": "Taux de vacance",
        "zae_col_available": "Disponible (ha)",
        "zae_col_densification": "Densification (ha)",
        "zae_status_validated": "validé",
        "zae_status_draft": "brouillon",
        "zae_not_scored": "non calculé",
        "zae_unknown": "inconnu",
        "zae_download": "Télécharger",
        "zae_gpkg": "GeoPackage CNIG",
        "zae_csv": "CSV CNIG (ZIP)",
        "zae_report": "Rapport imprimable",
        "zae_empty": "Aucune zone d'activité économique n'est enregistrée pour cet EPCI.",
        "zae_empty_draft": (
            "Sans fichier SITE-ECO publié, des périmètres brouillons peuvent être tirés des "
            "zones d'activité du PLU :"
        ),
        "zae_empty_draft_link": "voir l'explication de foncier zae draft",
        "zae_sheet": "Fiche de zone",
        "zae_units_map": "Unités foncières",
        "zae_col_unit": "Unité foncière",
        "zae_col_parcels": "Parcelles",
        "zae_col_surface_m2": "Surface (m²)",
        "zae_col_owner_type": "Propriétaire",
        "zae_col_occupants": "Occupants (SIRET, NAF, état)",
        "zae_col_vacant": "Vacance",
        "zae_col_densifiable": "Densification (m²)",
        "zae_sources": "Sources et millésimes",
        "zae_back": "Retour à l'inventaire",
        "zae_zone_not_found": "Zone {id} inconnue",
        "zae_private_note": "Les personnes physiques ne sont jamais nommées.",
    },
    "en": {
        "zae_inventory": "Business zones inventory (ZAE)",
        "zae_zones": "Economic activity zones",
        "zae_intro": (
            "Inventory of the economic activity zones (article L.318-8-2 of the French town "
            "planning code) at 1 January {year}: land units, owners, occupants, vacancy rate."
        ),
        "zae_legend": "Vacancy rate",
        "zae_rate_unknown": "unknown (no parcel loaded)",
        "zae_legal": "legal rate (the EPCI's CFE business tax file)",
        "zae_proxy": (
            "without a CFE file, apparent vacancy (no active establishment for two years and "
            "no known building): not the legal rate"
        ),
        "zae_rule_legal": "legal rate (CFE)",
        "zae_rule_proxy": "apparent rate (proxy)",
        "zae_col_name": "Zone",
        "zae_col_type": "Type",
        "zae_col_vocation": "Vocation",
        "zae_col_status": "Perimeter",
        "zae_col_units": "Land units",
        "zae_col_surface": "Area (ha)",
        "zae_col_vacancy": "Vacant / units",
        "zae_col_rate": "Vacancy rate",
        "zae_col_available": "Available (ha)",
        "zae_col_densification": "Densification (ha)",
        "zae_status_validated": "validated",
        "zae_status_draft": "draft",
        "zae_not_scored": "not computed",
        "zae_unknown": "unknown",
        "zae_download": "Download",
        "zae_gpkg": "CNIG GeoPackage",
        "zae_csv": "CNIG CSV (ZIP)",
        "zae_report": "Printable report",
        "zae_empty": "No economic activity zone is recorded for this EPCI.",
        "zae_empty_draft": (
            "Without a published SITE-ECO file, draft perimeters can be drawn from the PLU's "
            "activity zones:"
        ),
        "zae_empty_draft_link": "see how foncier zae draft works",
        "zae_sheet": "Zone sheet",
        "zae_units_map": "Land units",
        "zae_col_unit": "Land unit",
        "zae_col_parcels": "Parcels",
        "zae_col_surface_m2": "Area (m²)",
        "zae_col_owner_type": "Owner",
        "zae_col_occupants": "Occupants (SIRET, NACE, state)",
        "zae_col_vacant": "Vacancy",
        "zae_col_densifiable": "Densification (m²)",
        "zae_sources": "Sources and vintages",
        "zae_back": "Back to the inventory",
        "zae_zone_not_found": "Unknown zone {id}",
        "zae_private_note": "Private persons are never named.",
    },
}
