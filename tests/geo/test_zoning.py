"""geo.zoning: CNIG zone_urba to our zone classes (pure, no database)."""

from __future__ import annotations

import pytest

from geo.zoning import classify_zone, family


@pytest.mark.parametrize(
    ("typezone", "libelle", "destdomi", "libelong", "expected"),
    [
        ("U", "UX", "02", "Zone à vocation d'activités économiques", "activity"),
        ("U", "UX", None, None, "activity"),
        ("U", "Ui", "", None, "activity"),
        ("U", "UYa", "00", None, "activity"),
        ("U", "UZ", "99", None, "activity"),
        ("AUc", "1AUx", None, None, "activity"),
        ("AUs", "2AUi", None, None, "activity"),
        ("U", "UE", None, None, "activity"),  # no destdomi: the letter decides
        ("U", "UE", "05", None, "urban"),  # destdomi says public facilities
        ("U", "UA", "2", None, "activity"),  # destdomi 2 read as 02
        ("U", "UB", None, "Zone d'activités industrielles et artisanales", "activity"),
        ("U", "UT", "04", "Zone à vocation d'activités touristiques", "urban"),
        ("U", "UT", None, "Zone à vocation d'activités touristiques", "urban"),
        ("U", "UH1", "01", "Secteur à vocation dominante d'habitat", "urban"),
        ("U", "UM", "03", None, "urban"),  # mixed housing/activity is not an activity zone
        ("AUc", "AUH-oap2", "03", None, "to_urbanise"),
        ("AUs", "2AU", "03", None, "to_urbanise"),
        ("A", "A", "07", "Zone Agricole", "agricultural"),
        ("A", "Ax", "02", None, "agricultural"),  # family first: A stays agricultural
        ("N", "Nls", "08", None, "natural"),
        ("Nh", "Nh", None, None, "natural"),
        ("ZZ", "ZZ1", None, None, None),
        (None, "UX", "02", None, None),
    ],
)
def test_classify_zone(
    typezone: str | None,
    libelle: str | None,
    destdomi: str | None,
    libelong: str | None,
    expected: str | None,
) -> None:
    assert classify_zone(typezone, libelle, destdomi, libelong) == expected


def test_family() -> None:
    assert [family(t) for t in ("U", "AUc", "aus", "A", "Ah", "N", "", None)] == [
        "U", "AU", "AU", "A", "A", "N", None, None,
    ]  # fmt: skip
