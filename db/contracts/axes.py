"""The programmes' axes, read from ``axes.toml`` beside this module.

>>> axis_codes(2023)
('recruter', 'innover', 'attirer', 'simplifier')
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

AXES_FILE = Path(__file__).with_name("axes.toml")


@cache
def axes() -> dict[int, dict[str, str]]:
    """Each programme's axes: code -> French label, in the file's order."""
    data = tomllib.loads(AXES_FILE.read_text(encoding="utf-8"))
    return {int(p["year"]): {a["code"]: a["label"] for a in p["axes"]} for p in data["programme"]}


def axis_codes(programme: int) -> tuple[str, ...]:
    """The axis codes of ``programme`` (2018 or 2023); KeyError for another."""
    return tuple(axes()[programme])


def axes_version() -> str:
    """The definition file's version (exports carry it)."""
    return str(tomllib.loads(AXES_FILE.read_text(encoding="utf-8"))["version"])
