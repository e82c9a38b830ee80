"""The scoring profile is checked as it is read: each mistake is named with its file and key."""

from pathlib import Path

import pytest

from score.profile import CRITERIA, DEFAULT_PROFILE, ProfileError, load_profile

DEFAULT = DEFAULT_PROFILE.read_text(encoding="utf-8")


def _profile(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DEFAULT, old
    path = tmp_path / "profile.toml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_default_profile_loads() -> None:
    profile = load_profile()
    assert profile.path == DEFAULT_PROFILE and profile.version == "default-2026.2"
    assert set(profile.weights) == set(CRITERIA) and sum(profile.weights.values()) == 100
    assert "natura2000_sic" in profile.hard_kinds and profile.soft_weights["znieff2"] == 0.3
    assert profile.zan["commune_guarantee_ha"] == 1.0 and profile.zoning["none"] == 0.3
    assert profile.candidate_zone_classes == ("activity",)
    assert profile.size_target_ha > profile.size_min_ha


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('version = "default-2026.2"', "version = 3", r"`version` \(a string\) is required"),
        ("zoning = 30", "zoning = 31", r"\[weights\]: the weights sum to 101.0, not 100"),
        ("zoning = 30", 'zoning = "30"', r"\[weights\]: zoning must be a number, not '30'"),
        ("znieff2 = 0.3", "bogus_kind = 0.3", "unknown constraint kind 'bogus_kind'"),
        ("znieff2 = 0.3", "appb = 0.3", r"kinds both hard and soft: \['appb'\]"),
        ('["activity"]', '["industry"]', "unknown zone class 'industry'"),
        ("znieff2 = 0.3", "znieff2 = 1.3", "must lie in 0-1"),
        ("none = 0.3", "none = 0.6", "must not exceed 0.5: unknown land never beats known"),
        ("unknown_value = 0.5", "unknown_value = 0.7", "must not exceed 0.5"),
        ("min_share = 0.5", "", r"\[exclusion\]: min_share must be a number, not None"),
    ],
)
def test_a_mistake_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _profile(tmp_path, old, new)
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(path)
    assert str(caught.value).startswith(str(path))


def test_size_target_above_minimum_and_unreadable_files(tmp_path: Path) -> None:
    path = _profile(tmp_path, "target_ha = 10.0", "target_ha = 0.5")
    with pytest.raises(ProfileError, match=r"\[size\]: target_ha must be above min_ha"):
        load_profile(path)
    with pytest.raises(ProfileError, match="cannot read the scoring profile"):
        load_profile(tmp_path / "missing.toml")
    path.write_text("version = ", encoding="utf-8")
    with pytest.raises(ProfileError, match="cannot read the scoring profile"):
        load_profile(path)
