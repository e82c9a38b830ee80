"""The tooling CI enforces stays consistent with pyproject.toml: the lock, the test command."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _locked() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    return {canonicalize_name(m[1]): m[2] for line in lines if (m := PIN.match(line))}


def test_the_lock_pins_every_requirement_of_pyproject() -> None:
    """A requirement added or tightened in pyproject.toml needs the lock compiled again."""
    groups = PYPROJECT["dependency-groups"]
    wanted = [*PYPROJECT["project"]["dependencies"], *(r for g in groups.values() for r in g)]
    locked = _locked()
    stale = []
    for text in wanted:
        req = Requirement(text)
        version = locked.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            stale.append(f"{text} (locked: {version})")
    assert stale == [], "requirements.lock is stale: see README, Dependencies"


def test_scripts_test_lints_and_type_checks_before_the_tests() -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    steps = ["ruff check", "ruff format --check", "mypy", "pytest"]
    at = [script.find(f"-m {step}") for step in steps]
    assert -1 not in at and at == sorted(at), dict(zip(steps, at, strict=True))
