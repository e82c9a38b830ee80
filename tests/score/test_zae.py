"""The ZAE inventory (score/zae.py) against a hand computation on tests/fixtures/zae.

The zone is twelve real Morangis parcels (section C, Etalab sample). By hand, from the parcel
adjacency (C0458 touches the eleven others; besides it: 454-455, 455-456, 456-370, 452-451,
451-474, 474-481, 457-448, 448-488) and the owners file:

- SAS (SIREN 100000009) holds 370, 454, 455, 456 (a chain: one unit) and 481 (touches 458 and
  474 only, neither its own: a unit alone);
- the commune (219104320) holds 451, 452, 474 (a chain: one unit);
- the private person holds 448 and 457 (adjacent: one unit, "personne physique");
- 458 and 488 have no owner row: one unit each, flagged. Six units, twelve parcels.

Establishments at 1 January 2026 (period from 1 January 2024): active ones on 456 (unit of the
SAS chain), 452 (commune) and 458; closed 2020-06-30 on 481 and 2021-09-15 on 488.
CFE (last year): 456, 452, 458, 457 in 2025; 481 in 2020; 488 in 2021.

- legal vacancy (CFE at most 2024 or none, and no establishment in the period): 481 and 488,
  2 of 6 = 33.3 %; the private person's unit has CFE 2025 (an activity SIRENE does not place);
- proxy (no establishment in the period, no building known): 481, 488 and the private person's
  unit, 3 of 6 = 50 %.
"""

from __future__ import annotations

import pytest

from config import DatabaseSettings
from db.engine import connect_raw
from score.zae import LEGAL_LABEL, PROXY_LABEL, compute_inventory, draft_zones
from tests.conftest import FIXTURES, SAMPLES

ZAE_DIR = FIXTURES / "zae"
EPCI = "200054781"
ZONE = "91432_SITE-ECO_00001"
MONT_BLANC = "200034882"  # CC Pays du Mont-Blanc (Megève, 74173)
C = "914320000C"

# unit parcels -> (owner type, owner name, surface m2 = sum of contenances, occupants)
UNITS = {
    (f"{C}0370", f"{C}0454", f"{C}0455", f"{C}0456"): (
        "personne morale",
        "SOCIETE DES ENTREPOTS DU SECTEUR C",
        5959 + 4945 + 1709 + 11294,
        ["10000000900015"],
    ),
    (f"{C}0448", f"{C}0457"): ("personne physique", "personne physique", 3637 + 3500, []),
    (f"{C}0451", f"{C}0452", f"{C}0474"): (
        "personne morale",
        "COMMUNE DE MORANGIS",
        10293 + 12676 + 2441,
        ["21910432000047"],
    ),
    (f"{C}0458",): (None, None, 10400, ["10000001700011"]),
    (f"{C}0481",): (
        "personne morale",
        "SOCIETE DES ENTREPOTS DU SECTEUR C",
        2432,
        ["10000002500016"],
    ),
    (f"{C}0488",): (None, None, 15517, ["10000003300012"]),
}
LEGAL_VACANT = {(f"{C}0481",), (f"{C}0488",)}
PROXY_VACANT = LEGAL_VACANT | {(f"{C}0448", f"{C}0457")}


def load_fixture(load, cfe: bool = True) -> None:  # type: ignore[no-untyped-def]
    """The Morangis parcels and the ZAE fixtures (the CFE file when ``cfe``)."""
    load("parcels", SAMPLES / "cadastre" / "etalab" / "cadastre-91432-parcelles.json.gz")
    load("zae", ZAE_DIR / "site_eco_morangis.csv", vintage="2025-06-30")
    load("owners", ZAE_DIR / "parcelles_personnes_morales_91.csv", vintage="2025")
    load("establishments", ZAE_DIR / "stock_etablissement_morangis.csv", vintage="2025-11")
    if cfe:
        load("cfe", ZAE_DIR / "cfe_locaux_morangis_2025.csv", vintage="2025")


def _inventory(settings: DatabaseSettings):  # type: ignore[no-untyped-def]
    with connect_raw(settings) as conn:
        inventory = compute_inventory(conn, EPCI, 2026)
        conn.rollback()
    return inventory


def test_units_owners_occupants_and_legal_vacancy_equal_the_hand_computation(  # type: ignore[no-untyped-def]
    load, db_settings: DatabaseSettings
) -> None:
    load_fixture(load)
    inventory = _inventory(db_settings)
    units = {tuple(u["idus"]): u for u in inventory.units}
    assert set(units) == set(UNITS)
    for idus, (owner_type, owner_name, surface, sirets) in UNITS.items():
        unit = units[idus]
        assert (unit["owner_type"], unit["owner_name"], unit["surface_m2"]) == (
            owner_type,
            owner_name,
            surface,
        ), idus
        assert unit["owner_known"] is (owner_type is not None), idus
        occupants = sorted(o["siret"] for o in inventory.occupants if o["unit_id"] == unit["id"])
        assert occupants == sirets, idus
    assert {k for k, u in units.items() if u["vacant_legal"]} == LEGAL_VACANT
    assert {k for k, u in units.items() if u["vacant_proxy"]} == PROXY_VACANT
    (zone,) = inventory.zones
    assert (zone["id"], zone["unit_count"], zone["parcel_count"]) == (ZONE, 6, 12)
    assert zone["units_without_owner"] == 2 and zone["units_surface_m2"] == 84803
    assert inventory.zone_vacancy(zone) == (2, 6, LEGAL_LABEL)
    assert inventory.zone_rate(zone) == pytest.approx(33.3)
    closed = {o["siret"] for o in inventory.occupants if not o["in_period"]}
    assert closed == {"10000002500016", "10000003300012"}


def test_without_the_cfe_file_the_rate_is_the_labelled_proxy(  # type: ignore[no-untyped-def]
    load, db_settings: DatabaseSettings
) -> None:
    load_fixture(load, cfe=False)
    inventory = _inventory(db_settings)
    (zone,) = inventory.zones
    assert inventory.zone_vacancy(zone) == (3, 6, PROXY_LABEL)
    assert inventory.zone_rate(zone) == 50.0
    assert "vacance apparente" in PROXY_LABEL and "pas le taux légal" in PROXY_LABEL
    assert all(u["vacant_legal"] is None for u in inventory.units)
    layers = {s["layer"]: s["vintage"] for s in inventory.sources}
    assert layers == {
        "parcels": "2023-03-22",
        "zae": "2025-06-30",
        "owners": "2025",
        "establishments": "2025-11",
    }


def test_an_epci_without_zones_has_an_empty_inventory(load, db_settings: DatabaseSettings) -> None:  # type: ignore[no-untyped-def]
    load_fixture(load, cfe=False)
    with connect_raw(db_settings) as conn:
        inventory = compute_inventory(conn, "242504447", 2026)
    assert (inventory.zones, inventory.units, inventory.occupants) == ([], [], [])


def test_drafts_from_the_plu_activity_zones_of_an_epci_without_zones(  # type: ignore[no-untyped-def]
    load, db_settings: DatabaseSettings
) -> None:
    import geopandas as gpd
    import shapely

    plu = SAMPLES / "urbanisme" / "plu_megeve_74173_zone_urba.geojson.gz"
    load("communes", SAMPLES / "admin" / "communes_2022_sample.geojson.gz")
    load("communes", SAMPLES / "admin" / "communes_2026_epci_sample.csv")
    load("plu", plu)
    # By hand: the UX zones of Megève's PLU (its only activity zones), touching ones as one.
    zones = gpd.read_file(f"/vsigzip/{plu}").to_crs(2154)
    ux = zones[zones["libelle"] == "UX"].geometry.to_numpy()
    groups = shapely.get_parts(shapely.union_all(ux))
    assert (len(ux), len(groups)) == (8, 8)
    with connect_raw(db_settings) as conn:
        assert draft_zones(conn, MONT_BLANC) == 8
        conn.commit()
        assert draft_zones(conn, MONT_BLANC) == 0  # the EPCI has zones now
        inventory = compute_inventory(conn, MONT_BLANC, 2026)
    assert {z["status"] for z in inventory.zones} == {"draft"}
    assert inventory.zones[0]["nom"] == "Zone UX n° 1 de Megève (brouillon d'après le PLU)"
    total_ha = sum(z["surface_ha"] for z in inventory.zones)
    assert total_ha == pytest.approx(sum(g.area for g in groups) / 10_000, rel=1e-3)
    # No parcel of Megève is in the samples: the zones have no land unit yet.
    assert {z["unit_count"] for z in inventory.zones} == {0}


def test_a_zone_of_a_whole_commune_numbers_thousands_of_units(  # type: ignore[no-untyped-def]
    load, db_settings: DatabaseSettings
) -> None:
    load_fixture(load, cfe=False)
    with connect_raw(db_settings) as conn:
        conn.execute(
            "INSERT INTO zae (id, nom, status, epci_siren, insee, source, geom) "
            "SELECT '91432_SITE-ECO_00002', 'Morangis', 'draft', '999999999', '91432', 'test', "
            "ST_Multi(ST_Buffer(ST_Union(geom), 1)) FROM parcel WHERE insee = '91432'"
        )
        inventory = compute_inventory(conn, "999999999", 2026)
        conn.rollback()
    # By hand: the sample's 5,166 parcels, of which the owned ones form the fixture's units
    # (4, 2 and 3 parcels, and C0481 alone): 5,166 - 3 - 1 - 2 = 5,160 units.
    ids = [u["id"] for u in inventory.units]
    assert len(ids) == len(set(ids)) == 5160
    assert "91432_SITE-ECO_00002-UF1000" in ids and "91432_SITE-ECO_00002-UF001" in ids


# Densification (profile [densification]: coverage < 20 %, or an unbuilt piece of at least
# 5,000 m2 with compactness 4πA/P² >= 0.4; capacity = the unit less a 10 m curtilage around
# its own buildings). tests/fixtures/zae/cadastre-91432-batiments.json holds three buildings,
# measured by hand with shapely on the parcels' Lambert-93 geometries:
# - a 30 x 30 m shed on C0456: the SAS chain (24,037 m2) is 3.74 % built, densifiable, with an
#   unbuilt part of 21,623 m2 (one elongated piece, 0.28: the coverage rule counts it);
# - C0452 less 3 m: the commune's unit (25,484 m2) is 44.5 % built, but C0451 and C0474 leave a
#   compact piece of 12,161 m2 (0.73): densifiable;
# - C0458 less 2 m: 81.8 % built, no unbuilt piece left: not densifiable.
# The three units without a building are free land (land status), not densification.
DENSIFIABLE = {
    (f"{C}0370", f"{C}0454", f"{C}0455", f"{C}0456"): (0.0374, 21623),
    (f"{C}0451", f"{C}0452", f"{C}0474"): (0.4454, 12161),
}


def test_densification_equals_the_hand_computation(load, db_settings: DatabaseSettings) -> None:  # type: ignore[no-untyped-def]
    load_fixture(load)
    load("buildings", ZAE_DIR / "cadastre-91432-batiments.json", vintage="2024")
    inventory = _inventory(db_settings)
    units = {tuple(u["idus"]): u for u in inventory.units}
    for idus, (coverage, unbuilt_m2) in DENSIFIABLE.items():
        assert units[idus]["densifiable"] is True
        assert units[idus]["coverage"] == pytest.approx(coverage, abs=0.002)
        assert units[idus]["densification_m2"] == pytest.approx(unbuilt_m2, rel=0.01)
    assert units[(f"{C}0458",)]["densifiable"] is False
    unbuilt = [u for idus, u in units.items() if idus not in DENSIFIABLE and len(idus) != 1]
    unbuilt += [units[(f"{C}0481",)], units[(f"{C}0488",)]]
    assert all(u["densifiable"] is False and not u["built"] for u in unbuilt)
    (zone,) = inventory.zones
    assert zone["densification_units"] == 2
    assert zone["densification_ha"] == pytest.approx((21623 + 12161) / 10_000, rel=0.01)


def test_without_buildings_densification_is_unknown(load, db_settings: DatabaseSettings) -> None:  # type: ignore[no-untyped-def]
    load_fixture(load)
    inventory = _inventory(db_settings)
    (zone,) = inventory.zones
    assert zone["densification_ha"] is None and zone["densification_units"] is None
    assert all(u["densifiable"] is None for u in inventory.units)
