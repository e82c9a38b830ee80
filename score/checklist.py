"""The readiness checklist: a versioned TOML definition and what it says of one site.

``score/checklists/default.toml`` lists the items (land control, PLU compatibility,
archaeology...), their allowed values, the remaining durations of each status with their
source, and the readiness levels. :func:`evaluate` turns a site's item rows (and the computed
inputs: its PLU zone class, its flood and technological exposure) into a readiness level, its
explanation and the time to a building permit: the longest remaining step.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from geo.errors import GeoError

DEFAULT_CHECKLIST = Path(__file__).parent / "checklists" / "default.toml"
STATUSES = ("done", "in_progress", "not_started", "not_applicable")
REMAINING = ("in_progress", "not_started")
COMPUTED = ("zoning", "flood", "technological")


class ChecklistError(GeoError):
    """A checklist definition or an item row that cannot be used (the message says why)."""


@dataclass(frozen=True)
class Item:
    """One checklist item of the definition (see default.toml)."""

    key: str
    label: str
    source: str
    months: dict[str, float]
    values: dict[str, str] = field(default_factory=dict)
    value_months: dict[str, dict[str, float]] = field(default_factory=dict)
    computed: str | None = None
    computed_status: dict[str, str] = field(default_factory=dict)
    unit: str | None = None

    def remaining_months(self, status: str, value: str | None) -> float:
        """Months left for this item at ``status`` (0 when done or not applicable)."""
        if status not in REMAINING:
            return 0.0
        return self.value_months.get(value or "", {}).get(status, self.months[status])


@dataclass(frozen=True)
class Level:
    """A readiness level: reached when the time to permit is at most ``max_months``."""

    level: int
    label: str
    max_months: float | None


@dataclass(frozen=True)
class Checklist:
    """A parsed checklist definition."""

    path: Path
    version: str
    status_labels: dict[str, str]
    levels: tuple[Level, ...]
    items: dict[str, Item]

    def item(self, key: str) -> Item:
        """The item ``key``; ChecklistError naming the known ones otherwise."""
        if key not in self.items:
            raise ChecklistError(
                f"élément de checklist inconnu {key!r} : attendu l'un de {', '.join(self.items)}"
            )
        return self.items[key]


def _months(table: object, where: str) -> dict[str, float]:
    if not isinstance(table, dict) or not set(table) <= set(REMAINING):
        raise ChecklistError(f"{where}: months takes {' and '.join(REMAINING)}, not {table!r}")
    for status, value in table.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ChecklistError(f"{where}: {status} must be a number of months >= 0")
    return {k: float(v) for k, v in table.items()}


def _item(key: str, raw: dict[str, Any], where: str) -> Item:
    for name in ("label", "source"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise ChecklistError(f"{where}: {name} is required (text)")
    months = _months(raw.get("months"), where)
    if set(months) != set(REMAINING):
        raise ChecklistError(f"{where}: months needs both {' and '.join(REMAINING)}")
    values = dict(raw.get("values", {}))
    value_months = {
        v: _months(m, f"{where}.value_months.{v}") for v, m in raw.get("value_months", {}).items()
    }
    computed = raw.get("computed")
    if computed is not None and computed not in COMPUTED:
        raise ChecklistError(f"{where}: computed must be one of {', '.join(COMPUTED)}")
    computed_status = dict(raw.get("computed_status", {}))
    unknown = [v for v in [*value_months, *computed_status] if v not in values]
    if unknown:
        raise ChecklistError(f"{where}: {', '.join(unknown)} not among its values")
    if any(s not in STATUSES for s in computed_status.values()):
        raise ChecklistError(f"{where}: computed_status values must be statuses")
    if computed and set(computed_status) != set(values):
        raise ChecklistError(f"{where}: a computed item gives a computed_status to each value")
    return Item(
        key, raw["label"], raw["source"], months, values, value_months, computed,
        computed_status, raw.get("unit"),
    )  # fmt: skip


def load_checklist(path: Path | None = None) -> Checklist:
    """Read and check a checklist definition (default: ``score/checklists/default.toml``).

    Raises:
        ChecklistError: a missing or malformed key, named with the file.
    """
    path = path or DEFAULT_CHECKLIST
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChecklistError(f"{path}: {exc}") from exc
    if not isinstance(raw.get("version"), str):
        raise ChecklistError(f"{path}: version is required (text)")
    labels = raw.get("statuses", {})
    if set(labels) != set(STATUSES):
        raise ChecklistError(f"{path}: [statuses] labels exactly {', '.join(STATUSES)}")
    levels = tuple(
        Level(int(lv["level"]), str(lv["label"]), lv.get("max_months"))
        for lv in raw.get("levels", [])
    )
    if not levels or levels[-1].max_months is not None:
        raise ChecklistError(f"{path}: [[levels]] end with one without max_months")
    items = {k: _item(k, v, f"{path}: items.{k}") for k, v in raw.get("items", {}).items()}
    if not items:
        raise ChecklistError(f"{path}: no [items]")
    return Checklist(path, raw["version"], dict(labels), levels, items)


@dataclass(frozen=True)
class Row:
    """A site's stored row for one item (``site_checklist``)."""

    status: str
    value: str | None = None
    quantity: float | None = None
    delay_months: float | None = None
    done_on: date | None = None
    source: str | None = None
    evidence_url: str | None = None
    evidence_id: int | None = None
    reason: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Readiness:
    """What the checklist says of a site."""

    level: int
    label: str
    time_to_permit_months: float
    explanation: str
    items: list[dict[str, Any]]


def _state(item: Item, row: Row | None, computed: dict[str, str]) -> dict[str, Any]:
    """One item's status, value, remaining months and where they come from."""
    auto = computed.get(item.computed) if item.computed else None
    if row is not None:
        status, value, origin = row.status, row.value, "override" if item.computed else "entered"
    elif auto is not None:
        status, value, origin = item.computed_status[auto], auto, "computed"
    else:
        # A computed item without its input (a site placed at its commune) is not computable.
        origin = "not_computed" if item.computed else "missing"
        status, value = "not_started", None
    months = item.remaining_months(status, value)
    if row is not None and row.delay_months is not None and status in REMAINING:
        months = row.delay_months
    return {
        "item": item.key,
        "label": item.label,
        "status": status,
        "value": value,
        "value_label": item.values.get(value or ""),
        "origin": origin,
        "computed_value": auto,
        "remaining_months": months,
        "duration_source": "délai déclaré" if row and row.delay_months is not None
        and status in REMAINING else item.source,
        "unit": item.unit,
    }  # fmt: skip


def evaluate(checklist: Checklist, rows: dict[str, Row], computed: dict[str, str]) -> Readiness:
    """The readiness of a site from its rows and its computed inputs.

    Args:
        checklist: the definition.
        rows: the site's rows by item key (an override of a computed item is a row).
        computed: ``zoning`` (the PLU zone class or ``none``), ``flood`` and
            ``technological`` (the strongest exposure kind or ``none``); absent: unknown.

    Example:
        >>> c = load_checklist()
        >>> r = evaluate(c, {k: Row("done") for k in c.items}, {})
        >>> r.level, r.time_to_permit_months
        (3, 0.0)
    """
    unknown = sorted(set(rows) - set(checklist.items))
    if unknown:
        raise ChecklistError(f"éléments inconnus de la checklist : {', '.join(unknown)}")
    states = [_state(item, rows.get(key), computed) for key, item in checklist.items.items()]
    longest = max(states, key=lambda s: s["remaining_months"])
    months = float(longest["remaining_months"])
    level = next(lv for lv in checklist.levels if lv.max_months is None or months <= lv.max_months)
    return Readiness(level.level, level.label, months, _explain(checklist, states, longest), states)


def _explain(checklist: Checklist, states: list[dict[str, Any]], longest: dict[str, Any]) -> str:
    counts = {s: sum(1 for st in states if st["status"] == s) for s in STATUSES}
    missing = sum(1 for st in states if st["origin"] in ("missing", "not_computed"))
    tally = " ; ".join(f"{checklist.status_labels[s]} : {n}" for s, n in counts.items() if n)
    tally += f" (dont non renseignés : {missing})" if missing else ""
    months = longest["remaining_months"]
    if not months:
        return f"Toutes les étapes sont faites ou sans objet : permis déposable. {tally}."
    status = checklist.status_labels[longest["status"]]
    return (
        f"Environ {months:g} mois avant un permis de construire : étape la plus longue « "
        f"{longest['label']} » ({status}, {months:g} mois ; source : "
        f"{longest['duration_source'].rstrip('.')}). {tally}."
    )
