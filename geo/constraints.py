"""The registry of constraint kinds and how publishers' attributes map to them.

A kind names what a polygon is (a Natura 2000 site, a high-probability flood zone...). Whether a
kind excludes land (hard) or only penalises it (soft, with a weight) is decided by the scoring
profile (``score/profiles/default.toml``), so one data load can be scored under several policies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ConstraintKind:
    """A kind of constraint polygon.

    Attributes:
        name: the code stored in ``constraint_zone.kind``.
        label: a French label for users.
        family: protection, risk or pollution.
    """

    name: str
    label: str
    family: str


KINDS: dict[str, ConstraintKind] = {
    k.name: k
    for k in (
        ConstraintKind(
            "natura2000_sic", "Natura 2000 - ZSC/SIC (directive Habitats)", "protection"
        ),
        ConstraintKind("natura2000_zps", "Natura 2000 - ZPS (directive Oiseaux)", "protection"),
        ConstraintKind("znieff1", "ZNIEFF de type I", "protection"),
        ConstraintKind("znieff2", "ZNIEFF de type II", "protection"),
        ConstraintKind(
            "reserve_naturelle", "Réserve naturelle (nationale ou régionale)", "protection"
        ),
        ConstraintKind("appb", "Arrêté de protection de biotope", "protection"),
        ConstraintKind("parc_national_coeur", "Cœur de parc national", "protection"),
        ConstraintKind("flood_high", "Zone inondable - forte probabilité (~10 ans)", "risk"),
        ConstraintKind("flood_medium", "Zone inondable - probabilité moyenne (~100 ans)", "risk"),
        ConstraintKind("flood_low", "Zone inondable - faible probabilité (extrême)", "risk"),
        ConstraintKind("ppr_technological", "PPR technologiques - zone réglementée", "risk"),
        ConstraintKind("polluted_site", "Site pollué (intervention ADEME, BASOL)", "pollution"),
    )
}

# INPN / IGN Géoplateforme layers merged with a ``type_zone`` column (patrinat_* WFS names too).
TYPE_ZONE_KINDS: dict[str, str] = {
    "znieff1": "znieff1",
    "znieff2": "znieff2",
    "n2000_zsc": "natura2000_sic",
    "n2000_sic": "natura2000_sic",
    "zsc": "natura2000_sic",
    "sic": "natura2000_sic",
    "n2000_zps": "natura2000_zps",
    "zps": "natura2000_zps",
    "appb": "appb",
    "rnn": "reserve_naturelle",
    "rnr": "reserve_naturelle",
    "rn": "reserve_naturelle",
}

# Directive Inondation (COVADIS N_TRI_*_INONDABLE_S) ``scenario`` codes.
FLOOD_SCENARIO_KINDS: dict[str, str] = {
    "01for": "flood_high",
    "02moy": "flood_medium",
    "03mcc": "flood_medium",  # medium probability with climate change: the 100-year hazard
    "04fai": "flood_low",
}

# A polluted site published as a point (ADEME interventions) is drawn as the disc of its declared
# surface; without a surface, this radius. Capped so one bad surface cannot cover a whole town.
POINT_DEFAULT_RADIUS_M = 50.0
POINT_MAX_RADIUS_M = 1_000.0


def kind_of(value: object, mapping: dict[str, str]) -> str | None:
    """The kind for a publisher's code, case-insensitively, or None when unknown.

    Example:
        >>> kind_of("N2000_ZPS", TYPE_ZONE_KINDS)
        'natura2000_zps'
    """
    if not isinstance(value, str):
        return None
    return mapping.get(value.strip().lower())


def disc_radius_m(surface_m2: float | None) -> float:
    """Radius (m, EPSG:2154) of the disc of ``surface_m2`` used for a point constraint.

    Example:
        >>> round(disc_radius_m(31_415.9), 1)
        100.0
    """
    if surface_m2 is None or not math.isfinite(surface_m2) or surface_m2 <= 0:
        return POINT_DEFAULT_RADIUS_M
    return min(math.sqrt(surface_m2 / math.pi), POINT_MAX_RADIUS_M)
