"""PLU zoning classes: what a CNIG ``zone_urba`` zone means for industrial land.

Our classes: ``activity`` (urban or to-be-urbanised zones for economic activity), ``urban``,
``to_urbanise``, ``agricultural``, ``natural``.

The CNIG PLU standard's ``typezone`` gives the family: ``U``, ``AUc`` / ``AUs`` (to be
urbanised, open or closed), ``A``, ``N`` (older files also have ``Ah``/``Nh``/``Nd``...; they
keep their family letter). ``destdomi`` gives the dominant use (CNIG codes, confirmed against
the GPU's labels): 00 none/not yet defined, 01 housing, 02 **activity**, 03 mixed housing and
activity, 04 leisure and tourism, 05 public facilities, 07 agriculture, 08 natural area,
09 remarkable area (coast or mountain), 10 quarry, 99 other.

An U/AU zone is ``activity`` when ``destdomi`` is 02; when ``destdomi`` says another use
(01, 03, 04, 05, 07, 08, 09, 10) it is not, whatever its name (Megève's ``UE`` is 05, public
facilities); when ``destdomi`` is missing, 00 or 99 the label decides: the usual activity
letters after U or AU (``UX``, ``UXa``, ``Ui``, ``UY``, ``UZ``, ``UE``, ``1AUx``, ``AUi``...), or a
long label mentioning economic, industrial, artisanal or logistics activity.
"""

from __future__ import annotations

import re
from typing import Literal

ZoneClass = Literal["activity", "urban", "to_urbanise", "agricultural", "natural"]

ACTIVITY_DESTDOMI = "02"
# destdomi values that say what the zone is for (anything but "none", "other" or blank).
_DECISIVE_DESTDOMI = {"01", "02", "03", "04", "05", "06", "07", "08", "09", "10"}
# U or AU (optionally numbered: 1AU, 2AU) then X, I, Y, Z or E: the usual activity letters.
_ACTIVITY_LABEL = re.compile(r"^\d?(?:U|AU)[XIYZE]", re.IGNORECASE)
_ACTIVITY_TEXT = re.compile(
    r"activit[ée]s?\s+(?:[ée]conomique|industriel|artisana|logisti|productive)"
    r"|industri|artisana|logistique|zone d'activit[ée]s? [ée]conomique",
    re.IGNORECASE,
)


def family(typezone: str | None) -> str | None:
    """The CNIG family of a ``typezone``: ``U``, ``AU``, ``A`` or ``N`` (None if unknown).

    Example:
        >>> [family(t) for t in ("U", "AUc", "AUs", "A", "Nh", "ZZ")]
        ['U', 'AU', 'AU', 'A', 'N', None]
    """
    if not isinstance(typezone, str) or not typezone.strip():
        return None
    t = typezone.strip().upper()
    if t.startswith("AU"):
        return "AU"
    if t[:1] in ("U", "A", "N"):
        return t[:1]
    return None


def classify_zone(
    typezone: str | None,
    libelle: str | None = None,
    destdomi: str | None = None,
    libelong: str | None = None,
) -> ZoneClass | None:
    """Our class for one CNIG ``zone_urba`` zone, or None when ``typezone`` is unknown.

    Args:
        typezone: CNIG zone type (U, AUc, AUs, A, N).
        libelle: short label (``UX``, ``1AUx``...).
        destdomi: CNIG dominant-use code (``02`` = activity); ``2`` is read as ``02``.
        libelong: long label.

    Example:
        >>> classify_zone("U", "UX", "02", "Zone à vocation d'activités économiques")
        'activity'
        >>> classify_zone("U", "UE", "05")
        'urban'
        >>> classify_zone("AUc", "1AUx")
        'activity'
        >>> classify_zone("AUs", "2AU", "03")
        'to_urbanise'
    """
    fam = family(typezone)
    if fam == "A":
        return "agricultural"
    if fam == "N":
        return "natural"
    if fam is None:
        return None
    otherwise: ZoneClass = "urban" if fam == "U" else "to_urbanise"
    dest = destdomi.strip() if isinstance(destdomi, str) else ""
    if dest.isdigit():
        dest = dest.zfill(2)
    if dest in _DECISIVE_DESTDOMI:
        return "activity" if dest == ACTIVITY_DESTDOMI else otherwise
    if isinstance(libelle, str) and _ACTIVITY_LABEL.match(libelle.strip()):
        return "activity"
    if isinstance(libelong, str) and _ACTIVITY_TEXT.search(libelong):
        return "activity"
    return otherwise
