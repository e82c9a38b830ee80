"""The scoring profile: a versioned TOML file (``score/profiles/default.toml`` or a given path).

Every score stores the profile version, so a score can always be explained by the file that
produced it. Loading checks the file thoroughly: an unknown kind or weights that do not sum to
100 are errors, not silent defaults.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.constraints import KINDS
from geo.errors import GeoError

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.toml"
CRITERIA = ("zoning", "constraints", "zan", "size", "brownfield", "turnkey", "maturity")
ZONE_CLASSES = ("activity", "urban", "to_urbanise", "agricultural", "natural", "none")


class ProfileError(GeoError):
    """A scoring profile that cannot be used (the message names the file and the key)."""


@dataclass(frozen=True)
class Profile:
    """A parsed scoring profile (see default.toml for the meaning of each field)."""

    path: Path
    version: str
    weights: dict[str, float]
    hard_kinds: tuple[str, ...]
    exclusion_min_share: float
    soft_weights: dict[str, float]
    zoning: dict[str, float]
    zan: dict[str, float]
    size_min_ha: float
    size_target_ha: float
    maturity_patterns: tuple[tuple[str, float], ...]
    maturity_unknown: float
    curtilage_m: float
    candidate_zone_classes: tuple[str, ...]
    unknown: dict[str, float]
    site_brownfield_pattern: str
    densification: dict[str, float]

    def kind_table(self) -> tuple[list[str], list[bool], list[float]]:
        """Parallel arrays (kind, hard, weight) for every kind the profile scores."""
        kinds = [*self.hard_kinds, *self.soft_weights]
        hard = [k in self.hard_kinds for k in kinds]
        weights = [1.0 if h else self.soft_weights[k] for k, h in zip(kinds, hard, strict=True)]
        return kinds, hard, weights


def _number(table: dict[str, object], key: str, where: str) -> float:
    value = table.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ProfileError(f"{where}: {key} must be a number, not {value!r}")
    return float(value)


# [densification]: the ZAE inventory's rule for built land units with room left.
_DENSIFICATION_KEYS = ("max_coverage", "min_part_m2", "min_compactness")
_ZAN_KEYS = (
    "reference_first_year",
    "reference_last_year",
    "period_first_year",
    "period_last_year",
    "default_reduction_pct",
    "commune_guarantee_ha",
    "full_penalty_share",
    "unknown_value",
)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read the scoring profile: {exc}") from exc


def _weights(data: dict[str, Any], where: str) -> dict[str, float]:
    """One weight per criterion, summing to 100."""
    weights = {c: _number(data.get("weights", {}), c, f"{where} [weights]") for c in CRITERIA}
    if abs(sum(weights.values()) - 100.0) > 1e-9:
        raise ProfileError(
            f"{where} [weights]: the weights sum to {sum(weights.values())}, not 100"
        )
    return weights


def _kinds(data: dict[str, Any], where: str) -> tuple[tuple[str, ...], dict[str, float]]:
    """The hard constraint kinds and the soft ones with their weights: known, disjoint."""
    hard = tuple(data.get("exclusion", {}).get("hard", []))
    soft = {
        str(k): _number(data.get("soft", {}), k, f"{where} [soft]") for k in data.get("soft", {})
    }
    for kind in (*hard, *soft):
        if kind not in KINDS:
            raise ProfileError(
                f"{where}: unknown constraint kind {kind!r}; known: {', '.join(KINDS)}"
            )
    if set(hard) & set(soft):
        raise ProfileError(f"{where}: kinds both hard and soft: {sorted(set(hard) & set(soft))}")
    return hard, soft


def _candidate_zone_classes(land: dict[str, Any], where: str) -> tuple[str, ...]:
    candidate = tuple(str(c) for c in land.get("candidate_zone_classes", []))
    for cls in candidate:
        if cls not in ZONE_CLASSES[:-1]:
            raise ProfileError(
                f"{where} [land]: unknown zone class {cls!r} in candidate_zone_classes"
            )
    return candidate


def _check_values(profile: Profile) -> None:
    """Shares in 0-1, unknown inputs worth at most 0.5, a size target above its minimum."""
    where = str(profile.path)
    unknown = profile.unknown.values()
    values = [
        *profile.soft_weights.values(),
        *profile.zoning.values(),
        *(v for _, v in profile.maturity_patterns),
        *unknown,
    ]
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ProfileError(
            f"{where}: soft weights, zoning, maturity and unknown values must lie in 0-1"
        )
    # An unknown input is worth no more than a known average one (0.5 of the criterion).
    if any(v > 0.5 for v in (*unknown, profile.zoning["none"], profile.zan["unknown_value"])):
        raise ProfileError(
            f"{where}: a value for an unknown input (zoning.none, zan.unknown_value, [unknown]) "
            "must not exceed 0.5: unknown land never beats known land"
        )
    if profile.size_target_ha <= profile.size_min_ha:
        raise ProfileError(f"{where} [size]: target_ha must be above min_ha")


def load_profile(path: Path | None = None) -> Profile:
    """Read and check a scoring profile.

    Args:
        path: a TOML file; the packaged default when None.

    Raises:
        ProfileError: unreadable file, unknown kind or zone class, weights not summing to 100,
            values outside 0-1.
    """
    path = Path(path) if path else DEFAULT_PROFILE
    data = _read(path)
    where = str(path)
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ProfileError(f"{where}: `version` (a string) is required")
    excl, size = data.get("exclusion", {}), data.get("size", {})
    maturity, land = data.get("maturity", {}), data.get("land", {})
    weights = _weights(data, where)
    hard, soft = _kinds(data, where)
    profile = Profile(
        path=path,
        version=version,
        weights=weights,
        hard_kinds=hard,
        exclusion_min_share=_number(excl, "min_share", f"{where} [exclusion]"),
        soft_weights=soft,
        zoning={c: _number(data.get("zoning", {}), c, f"{where} [zoning]") for c in ZONE_CLASSES},
        zan={k: _number(data.get("zan", {}), k, f"{where} [zan]") for k in _ZAN_KEYS},
        size_min_ha=_number(size, "min_ha", f"{where} [size]"),
        size_target_ha=_number(size, "target_ha", f"{where} [size]"),
        maturity_patterns=tuple((str(p), float(v)) for p, v in maturity.get("patterns", [])),
        maturity_unknown=_number(maturity, "unknown", f"{where} [maturity]"),
        curtilage_m=_number(land, "curtilage_m", f"{where} [land]"),
        candidate_zone_classes=_candidate_zone_classes(land, where),
        unknown={
            k: _number(data.get("unknown", {}), k, f"{where} [unknown]")
            for k in ("constraints", "size", "size_cap")
        },
        site_brownfield_pattern=str(data.get("brownfield", {}).get("site_name_pattern", "")),
        densification={
            k: _number(data.get("densification", {}), k, f"{where} [densification]")
            for k in _DENSIFICATION_KEYS
        },
    )
    _check_values(profile)
    return profile
