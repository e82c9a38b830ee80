"""The CQL2 standard's own examples (tests/fixtures/cql2_examples), each file classified.

The examples name the standard's properties (``floors``, ``landsat:scene_id``, ...), which no
collection of ours has, and there is no general translation to ours. So the rule each file must
meet, asked of ``/collections/constraints/items`` (whose queryables ``id``, ``name`` and the
geometry let some examples run for real):

- it parses, by its folder as cql2-text or cql2-json, into the same tree as its twin in the
  other encoding (the ``*-alt01`` text variants: as the JSON that cql2-rs, the reference
  implementation, writes for them), and cql2-rs finds it valid;
- the API answers one of:

  - 200, when every property it names is one of the collection's;
  - 400 "unknown property '<a property the example names>'" otherwise;
  - 400 "not supported: ... (CQL2 conformance class X)", X a class absent from /conformance;
  - 400 "the <TYPE> literal is invalid: <reason>" for a geometry literal that is no Simple
    Features geometry (the generated examples 46 and 49: a self-intersecting ring, a hole
    outside its shell);

- never "not valid cql2-...", never a 5xx.

``test_counts`` prints the tally (``pytest tests/api/test_cql2_examples.py -k counts -rP``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import cql2
import pytest
from fastapi.testclient import TestClient

from api.collections import COLLECTIONS
from api.cql2 import parse
from api.cql2_ast import Not, Property, children

EXAMPLES_DIR = Path(__file__).parents[1] / "fixtures" / "cql2_examples"
TEXT = sorted((EXAMPLES_DIR / "text").glob("*.txt"))
JSON = sorted((EXAMPLES_DIR / "json").glob("*.json"))
COLLECTION = "constraints"
OURS = {"geom", "geometry"} | {p.name for p in COLLECTIONS[COLLECTION].props if p.queryable}
CONF = "http://www.opengis.net/spec/cql2/1.0/conf/"
NOT_DECLARED = {"property-property", "temporal-functions", "array-functions", "functions"} | {
    "arithmetic"
}


def lang(path: Path) -> str:
    return "cql2-json" if path.suffix == ".json" else "cql2-text"


def property_names(node: Any) -> set[str]:
    names, stack = set(), [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Property):
            names.add(n.name)
        stack.extend(children(n))
    return names


def classify(client: TestClient, path: Path) -> tuple[str, str]:
    """(outcome, detail) of one example file sent as written, final newline included."""
    text = path.read_text(encoding="utf-8")
    r = client.get(
        f"/collections/{COLLECTION}/items",
        params={"filter": text, "filter-lang": lang(path), "limit": "5"},
    )
    if r.status_code >= 500:
        return "5xx", r.text
    if r.status_code == 200:
        return "200", ""
    detail = r.json()["detail"]
    if "not valid" in detail:
        return "not valid", detail
    if m := re.search(r"not supported: .*\(CQL2 conformance class ([\w-]+)", detail):
        return f"not supported: {m[1]}", detail
    if m := re.search(r"unknown property '([^']+)'", detail):
        return "400 unknown property", m[1]
    if re.search(r"the [A-Z]+ literal is invalid: ", detail):
        return "400 invalid geometry literal", detail
    return f"other {r.status_code}", detail


@pytest.fixture(scope="module")
def conformance(client: TestClient) -> set[str]:
    return set(client.get("/conformance").json()["conformsTo"])


@pytest.mark.parametrize("path", TEXT + JSON, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_is_answered_or_unsupported(
    client: TestClient, conformance: set[str], path: Path
) -> None:
    names = property_names(parse(path.read_text(encoding="utf-8"), lang(path)))
    outcome, detail = classify(client, path)
    if outcome == "200":
        assert names <= OURS, names
    elif outcome == "400 unknown property":
        assert detail in names - OURS, (detail, names)
    elif outcome.startswith("not supported: "):
        klass = outcome.removeprefix("not supported: ")
        assert klass in NOT_DECLARED and CONF + klass not in conformance, detail
    elif outcome == "400 invalid geometry literal":
        assert re.match(r"example(46|49)", path.name), detail
    else:
        pytest.fail(f"{outcome}: {detail}")


def _normal(n: Any) -> Any:
    """NOT LIKE, NOT BETWEEN, NOT IN and IS NOT NULL written as NOT(...), as JSON writes them."""
    if dataclasses.is_dataclass(n) and not isinstance(n, type):
        fields = {f.name: _normal(getattr(n, f.name)) for f in dataclasses.fields(n)}
        if fields.get("not_"):
            return Not(type(n)(**{**fields, "not_": False}))
        return type(n)(**fields)
    if isinstance(n, list | tuple):
        return type(n)(_normal(x) for x in n)
    return n


@pytest.mark.parametrize("path", TEXT, ids=lambda p: p.name)
def test_text_and_json_give_the_same_tree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    twin = path.parent.parent / "json" / f"{path.stem}.json"
    as_json = twin.read_text() if twin.exists() else json.dumps(cql2.parse_text(text).to_json())
    assert _normal(parse(text, "cql2-text")) == _normal(parse(as_json, "cql2-json"))


def reference(path: Path) -> Any:
    """The file as parsed by cql2-rs (the reference implementation)."""
    text = path.read_text(encoding="utf-8")
    return cql2.parse_json(text) if path.suffix == ".json" else cql2.parse_text(text)


def test_reference_implementation_finds_them_valid() -> None:
    # One validation of all of them ANDed: cql2-rs compiles the JSON schema at every call.
    everything = {"op": "and", "args": [reference(p).to_json() for p in TEXT + JSON]}
    try:
        cql2.parse_json(json.dumps(everything)).validate()
    except cql2.ValidationError:
        invalid = []
        for p in TEXT + JSON:
            try:
                reference(p).validate()
            except cql2.ValidationError:
                invalid.append(p.name)
        pytest.fail(f"not valid CQL2 for cql2-rs: {invalid}")


def test_every_json_example_has_its_text_twin() -> None:
    assert {p.stem for p in JSON} <= {p.stem for p in TEXT}
    assert len(TEXT) >= 120 and len(JSON) >= 109  # the snapshot's 229 files


def test_counts(client: TestClient) -> None:
    """The tally by encoding: parsed, answered (200 / 400 with a reason), not supported."""
    tally: Counter[tuple[str, str]] = Counter()
    for path in TEXT + JSON:
        parse(path.read_text(encoding="utf-8"), lang(path))
        tally[lang(path), "parsed"] += 1
        outcome, _ = classify(client, path)
        tally[lang(path), outcome] += 1
    outcomes = sorted({o for _, o in tally})
    print(f"\n{'outcome':45} cql2-text cql2-json")
    for o in outcomes:
        print(f"{o:45} {tally['cql2-text', o]:9} {tally['cql2-json', o]:9}")
    for encoding, files in (("cql2-text", TEXT), ("cql2-json", JSON)):
        assert tally[encoding, "parsed"] == len(files)
        assert tally[encoding, "not valid"] == 0
        assert tally[encoding, "5xx"] == 0
        assert not any(o.startswith("other") for e, o in tally if e == encoding)
