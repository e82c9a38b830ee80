"""ARCHITECTURE.md kept true where a machine can check it: imports, registries, checklists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
# What each package must never import (ARCHITECTURE.md, "Packages and what each may import").
FORBIDDEN = {
    "geo": {
        "psycopg",
        "sqlalchemy",
        "geoalchemy2",
        "fastapi",
        "api",
        "maps",
        "ingest",
        "score",
        "db",
    },
    "db": {"api", "maps", "ingest", "score"},
    "ingest": {"api", "maps", "score"},
    "score": {"api", "maps", "ingest"},
    "maps": {"api", "ingest", "score", "db", "psycopg"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_geo_holds_no_sql_files() -> None:
    assert not list((ROOT / "geo").rglob("*.sql"))


def test_every_layer_is_in_the_readme() -> None:
    from ingest.sources import layers

    missing = [name for name in layers() if f"`{name}`" not in README]
    assert missing == []


def test_every_collection_is_in_the_readme() -> None:
    from api.collections import COLLECTIONS

    missing = [cid for cid in COLLECTIONS if f"`{cid}`" not in README]
    assert missing == []


def test_every_score_criterion_has_a_label_in_both_languages() -> None:
    from maps.i18n import messages
    from score.profile import CRITERIA

    for lang in ("fr", "en"):
        labels = messages(lang)
        assert [c for c in CRITERIA if f"v:{c}" not in labels] == [], lang
