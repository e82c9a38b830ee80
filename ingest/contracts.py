"""The Territoires d'industrie contract workbook: import and export (``foncier contracts``).

One XLSX sheet per table (Protocole, Gouvernance, Fiches, Financements, Indicateurs, Lieux),
French headers in row 1 (:data:`TEMPLATE`). An import reads every row, checks each cell
(messages name the sheet, the row and the column), quarantines the bad rows with their reason
(``quarantine``, layer ``contracts``; the parts of a quarantined sheet with it) and loads the
rest in one transaction. Unchanged rows are not written again, so the same file twice changes
nothing, and the export writes the same template back, filled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import psycopg
from psycopg import sql

from db.contracts.axes import axis_codes
from db.history import set_writer
from ingest.merge import bump_layer_version
from ingest.quarantine import QuarantineRow, write_quarantine

LAYER = "contracts"
IMPORT_ACTOR = "foncier contracts import"

PROTOCOL_STATUS = {
    "en préparation": "in_preparation",
    "signé": "signed",
    "avenant": "amended",
    "clos": "closed",
}
SHEET_STATUS = {
    "idée": "idea",
    "en préparation": "in_preparation",
    "engagée": "committed",
    "réalisée": "done",
    "abandonnée": "abandoned",
}
ROLE = {
    "élu référent": "elected_official",
    "industriel référent": "industrialist",
    "préfet": "prefect",
    "région": "region",
    "EPCI": "epci",
    "opérateur": "operator",
    "autre": "other",
}
FINANCER = {
    "État": "etat",
    "région": "region",
    "EPCI": "epci",
    "opérateur": "operateur",
    "Europe": "europe",
    "autre": "autre",
}
PLACE = {"site": "site", "unité foncière": "land_unit", "ZAE": "zae", "commune": "commune"}


@dataclass(frozen=True)
class Column:
    """A template column: French header, table column, kind of value, required or not."""

    header: str
    field: str
    kind: str | dict[str, str] = "text"
    required: bool = False


TEXT, INT, EUR, NUM, DATE, LIST, BOOL, AXIS = (
    "text", "int", "eur", "num", "date", "list", "bool", "axis"
)  # fmt: skip
SHEET_REF = Column("fiche", "code", TEXT, True)
DATES = [
    Column("date idée", "idea_on", DATE),
    Column("date préparation", "preparation_on", DATE),
    Column("date engagement", "committed_on", DATE),
    Column("date réalisation", "done_on", DATE),
    Column("date abandon", "abandoned_on", DATE),
]
TEMPLATE: dict[str, list[Column]] = {
    "Protocole": [
        Column("programme", "programme", INT, True),
        Column("territoire", "id_ti", TEXT, True),
        Column("intitulé", "title"),
        Column("date de signature", "signed_on", DATE),
        Column("document", "document_url"),
        Column("statut", "status", PROTOCOL_STATUS, True),
        Column("exemple", "is_example", BOOL),
    ],
    "Gouvernance": [
        Column("rôle", "role", ROLE, True),
        Column("rang", "rank", INT, True),
        Column("organisation", "organisation"),
        Column("nom", "person_name"),
        Column("signataire", "signatory", BOOL),
    ],
    "Fiches": [
        Column("code", "code", TEXT, True),
        Column("titre", "title", TEXT, True),
        Column("axe", "axis", AXIS, True),
        Column("description", "description"),
        Column("mesures du panier de services", "measures", LIST),
        Column("pilote", "pilot"),
        Column("partenaires", "partners", LIST),
        Column("budget (€)", "budget_eur", EUR),
        Column("statut", "status", SHEET_STATUS, True),
        *DATES,
        Column("échéance", "due_on", DATE),
        Column("exemple", "is_example", BOOL),
    ],
    "Financements": [
        SHEET_REF,
        Column("financeur", "financer", TEXT, True),
        Column("type de financeur", "financer_kind", FINANCER, True),
        Column("engagé (€)", "committed_eur", EUR),
        Column("versé (€)", "paid_eur", EUR),
    ],
    "Indicateurs": [
        SHEET_REF,
        Column("indicateur", "label", TEXT, True),
        Column("unité", "unit"),
        Column("cible", "target", NUM),
        Column("mesuré", "measured", NUM),
        Column("date de mesure", "measured_at", DATE),
    ],
    "Lieux": [
        SHEET_REF,
        Column("type de lieu", "place_type", PLACE, True),
        Column("identifiant", "place_id", TEXT, True),
    ],
}
# The table of each sheet and its key columns (after the territory's or the sheet's).
TABLES = {
    "Protocole": ("ti_protocol", ("programme", "id_ti")),
    "Gouvernance": ("ti_governance", ("programme", "id_ti", "role", "rank")),
    "Fiches": ("ti_action_sheet", ("id",)),
    "Financements": ("ti_action_funding", ("sheet_id", "financer")),
    "Indicateurs": ("ti_action_indicator", ("sheet_id", "label")),
    "Lieux": ("ti_action_place", ("sheet_id", "place_type", "place_id")),
}
PARTS = ("Financements", "Indicateurs", "Lieux")


class ContractFileError(ValueError):
    """The workbook cannot be read as a whole (missing sheet or header, another territory)."""


class CellError(ValueError):
    """One cell's value is refused; the message says why (the caller adds where)."""


@dataclass
class Territory:
    """A Territoire d'industrie: its programme (2018 or 2023) and its id there."""

    programme: int
    id_ti: str

    def sheet_id(self, code: str) -> str:
        """The id of the territory's sheet ``code`` (``ti_action_sheet.id``)."""
        return f"{self.programme}-{self.id_ti}-{code}"


@dataclass
class ImportReport:
    """What an import did: its run, rows read, written, deleted and quarantined."""

    run_id: int
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: list[QuarantineRow] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """The quarantined rows' reasons (sheet, row, column and why)."""
        return [q.reason for q in self.quarantined]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _decimal(text: str) -> Decimal:
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(cleaned.removesuffix("€"))
    except InvalidOperation:
        raise CellError(f"« {text} » n'est pas un nombre") from None
    if not number.is_finite():
        raise CellError(f"« {text} » n'est pas un nombre")
    return number


def _date(value: object, text: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise CellError(f"« {text} » n'est pas une date (attendu : JJ/MM/AAAA ou AAAA-MM-JJ)")


def _choice(text: str, labels: dict[str, str]) -> str:
    for label, code in labels.items():
        if text.casefold() in (label.casefold(), code):
            return code
    raise CellError(f"« {text} » n'est pas une valeur permise (attendu : {', '.join(labels)})")


def parse_cell(column: Column, value: object, programme: int) -> object:
    """The table value of one cell, or :class:`CellError` saying why it is refused."""
    text = _text(value)
    if text is None:
        if column.required:
            raise CellError("valeur manquante")
        return False if column.kind == BOOL else None
    kind = column.kind
    if isinstance(kind, dict):
        return _choice(text, kind)
    if kind == INT:
        if not text.isdigit():
            raise CellError(f"« {text} » n'est pas un nombre entier")
        return int(text)
    if kind in (EUR, NUM):
        number = _decimal(text) if not isinstance(value, int | float) else Decimal(str(value))
        if kind == EUR and number < 0:
            raise CellError(f"« {text} » : un montant en euros ne peut pas être négatif")
        return number if kind == EUR else float(number)
    if kind == DATE:
        return _date(value, text)
    if kind == LIST:
        return [part.strip() for part in text.split(";") if part.strip()]
    if kind == BOOL:
        return _choice(text, {"oui": "true", "non": "false"}) == "true"
    if kind == AXIS:
        axes = axis_codes(programme)
        if text.casefold() not in axes:
            expected = ", ".join(axes)
            raise CellError(f"« {text} » n'est pas un axe du programme (attendu : {expected})")
        return text.casefold()
    return text


@dataclass
class Row:
    """A workbook row whose cells all parsed: its table values and raw cells."""

    sheet: str
    number: int
    values: dict[str, object]
    raw: dict[str, object]


def _rows(book: Any, sheet: str) -> Iterator[tuple[int, dict[str, object]]]:
    """The non-empty rows of ``sheet`` as header -> cell value, with their row number."""
    if sheet not in book.sheetnames:
        raise ContractFileError(f"{sheet} : feuille manquante (attendu : {', '.join(TEMPLATE)})")
    rows = book[sheet].iter_rows(values_only=True)
    header = [_text(h) for h in next(rows, ())]
    missing = [c.header for c in TEMPLATE[sheet] if c.header not in header]
    if missing:
        raise ContractFileError(
            f"{sheet}, ligne 1 : colonne(s) manquante(s) : {', '.join(missing)}"
        )
    for number, cells in enumerate(rows, start=2):
        if any(_text(c) is not None for c in cells):
            yield number, {h: c for h, c in zip(header, cells, strict=False) if h is not None}


def read_sheet(book: Any, sheet: str, programme: int) -> tuple[list[Row], list[QuarantineRow]]:
    """The rows of ``sheet`` whose cells all parse, and the others as quarantine rows."""
    good: list[Row] = []
    bad: list[QuarantineRow] = []
    for number, cells in _rows(book, sheet):
        values: dict[str, object] = {}
        problems: list[str] = []
        for column in TEMPLATE[sheet]:
            try:
                values[column.field] = parse_cell(column, cells.get(column.header), programme)
            except CellError as exc:
                problems.append(f"{sheet}, ligne {number}, colonne {column.header} : {exc}")
        raw: dict[str, object] = {h: _text(v) for h, v in cells.items()}
        if problems:
            key = _text(cells.get("code") or cells.get("fiche"))
            bad.append(QuarantineRow(number, f"{sheet}:{key}", "; ".join(problems), raw))
        else:
            good.append(Row(sheet, number, values, raw))
    return good, bad


def _upsert(
    cur: psycopg.Cursor, table: str, key: tuple[str, ...], row: dict[str, Any], run_id: int
) -> str:
    """Insert or update one row unless it is unchanged: 'inserted', 'updated' or ''."""
    columns = list(row)
    data = [c for c in columns if c not in key]
    ident = sql.Identifier
    join = sql.SQL(", ").join
    update = (
        sql.SQL(
            "UPDATE SET {sets}, run_id = EXCLUDED.run_id, actor = EXCLUDED.actor, key_id = NULL, "
            "updated_at = now() WHERE ({old}) IS DISTINCT FROM ({new})"
        ).format(
            sets=join(sql.SQL("{c} = EXCLUDED.{c}").format(c=ident(c)) for c in data),
            old=join(sql.SQL("{t}.{c}").format(t=ident(table), c=ident(c)) for c in data),
            new=join(sql.SQL("EXCLUDED.{c}").format(c=ident(c)) for c in data),
        )
        if data
        else sql.SQL("NOTHING")
    )
    query = sql.SQL(
        "INSERT INTO {t} ({cols}, run_id, actor) VALUES ({vals}, %(_run)s, %(_actor)s) "
        "ON CONFLICT ({key}) DO {update} RETURNING (xmax = 0)"
    ).format(
        t=ident(table),
        cols=join(map(ident, columns)),
        vals=join(sql.Placeholder(c) for c in columns),
        key=join(map(ident, key)),
        update=update,
    )
    found = cur.execute(query, {**row, "_run": run_id, "_actor": IMPORT_ACTOR}).fetchone()
    if found is None:
        return ""
    return "inserted" if found[0] else "updated"


def _stale(
    cur: psycopg.Cursor,
    table: str,
    key: tuple[str, ...],
    owner: dict[str, Any],
    keep: set[tuple[Any, ...]],
) -> int:
    """Delete ``table``'s rows of ``owner`` (column -> value or list) whose key is not in
    ``keep``: what the file no longer lists for a loaded protocol or sheet."""
    ident = sql.Identifier
    where = sql.SQL(" AND ").join(
        sql.SQL("{c} = ANY(%s)").format(c=ident(c))
        if isinstance(v, list)
        else sql.SQL("{c} = %s").format(c=ident(c))
        for c, v in owner.items()
    )
    select = sql.SQL("SELECT {k} FROM {t} WHERE {w}").format(
        k=sql.SQL(", ").join(map(ident, key)), t=ident(table), w=where
    )
    gone = [k for k in cur.execute(select, list(owner.values())).fetchall() if k not in keep]
    match = sql.SQL(" AND ").join(sql.SQL("{c} = %s").format(c=ident(c)) for c in key)
    for k in gone:
        cur.execute(sql.SQL("DELETE FROM {t} WHERE {m}").format(t=ident(table), m=match), k)
    return len(gone)


def _start_run(cur: psycopg.Cursor, path: Path) -> int:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    row = cur.execute(
        "INSERT INTO ingest_run (layer, source, sha256, status) VALUES (%s, %s, %s, 'running') "
        "RETURNING id",
        (LAYER, str(path), digest),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _territory_rows(
    book: Any, territory: Territory
) -> tuple[dict[str, list[Row]], list[QuarantineRow]]:
    """Every sheet's good rows, keyed for their table, and the quarantined ones; the parts of
    a refused or missing sheet are quarantined with it."""
    good: dict[str, list[Row]] = {}
    bad: list[QuarantineRow] = []
    for sheet in TEMPLATE:
        good[sheet], refused = read_sheet(book, sheet, territory.programme)
        bad += refused
    protocols = good["Protocole"]
    if len(protocols) != 1:
        raise ContractFileError(f"Protocole : une seule ligne attendue, {len(protocols)} lue(s)")
    found = Territory(int(protocols[0].values["programme"]), str(protocols[0].values["id_ti"]))  # type: ignore[call-overload]
    if found != territory:
        raise ContractFileError(
            f"Protocole, ligne {protocols[0].number} : le fichier est celui du territoire "
            f"{found.programme}:{found.id_ti}, pas de {territory.programme}:{territory.id_ti}"
        )
    codes = {str(r.values["code"]) for r in good["Fiches"]}
    for sheet in PARTS:
        kept = []
        for row in good[sheet]:
            if row.values["code"] in codes:
                kept.append(row)
                continue
            reason = (
                f"{sheet}, ligne {row.number}, colonne fiche : « {row.values['code']} » n'est pas "
                "une fiche chargée de l'onglet Fiches"
            )
            bad.append(QuarantineRow(row.number, f"{sheet}:{row.values['code']}", reason, row.raw))
        good[sheet] = kept
    return good, bad


def _table_row(sheet: str, row: Row, territory: Territory) -> dict[str, Any]:
    values = dict(row.values)
    if sheet == "Gouvernance":
        values.update(programme=territory.programme, id_ti=territory.id_ti)
    elif sheet == "Fiches":
        values.update(
            id=territory.sheet_id(str(values["code"])),
            programme=territory.programme,
            id_ti=territory.id_ti,
        )
    elif sheet in PARTS:
        values["sheet_id"] = territory.sheet_id(str(values.pop("code")))
    return values


def import_workbook(conn: psycopg.Connection, path: Path, territory: Territory) -> ImportReport:
    """Load ``path`` for ``territory`` in one transaction (see the module); the caller commits."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    with conn.cursor() as cur:
        if not cur.execute(
            "SELECT 1 FROM territoire WHERE programme = %s AND id_ti = %s",
            (territory.programme, territory.id_ti),
        ).fetchone():
            raise ContractFileError(
                f"territoire {territory.programme}:{territory.id_ti} inconnu (table territoire)"
            )
        good, bad = _territory_rows(book, territory)
        report = ImportReport(_start_run(cur, path), quarantined=bad)
        set_writer(cur, run_id=report.run_id)
        for sheet, rows in good.items():
            table, key = TABLES[sheet]
            keep = set()
            for row in rows:
                values = _table_row(sheet, row, territory)
                keep.add(tuple(values[k] for k in key))
                done = _upsert(cur, table, key, values, report.run_id)
                report.inserted += done == "inserted"
                report.updated += done == "updated"
            report.rows_read += len(rows)
            owner: dict[str, Any] = (
                {"sheet_id": [territory.sheet_id(str(r.values["code"])) for r in good["Fiches"]]}
                if sheet in PARTS
                else {"programme": territory.programme, "id_ti": territory.id_ti}
            )
            if sheet in PARTS or sheet == "Gouvernance":
                report.deleted += _stale(cur, table, key, owner, keep)
        report.rows_read += len(bad)
        write_quarantine(cur, report.run_id, LAYER, str(path), bad)
        if report.inserted or report.updated or report.deleted:
            bump_layer_version(cur, LAYER)  # the contract_sheets collection's caches
        _finish_run(cur, report)
    return report


def _finish_run(cur: psycopg.Cursor, report: ImportReport) -> None:
    loaded = report.rows_read - len(report.quarantined)
    cur.execute(
        "UPDATE ingest_run SET status = 'succeeded', rows_read = %s, rows_loaded = %s, "
        "rows_quarantined = %s, rows_inserted = %s, rows_updated = %s, rows_deleted = %s, "
        "finished_at = now() WHERE id = %s",
        (
            report.rows_read,
            loaded,
            len(report.quarantined),
            report.inserted,
            report.updated,
            report.deleted,
            report.run_id,
        ),
    )


def _cell(column: Column, value: object) -> object:
    """The workbook value of a table value: French labels, lists joined, oui / non."""
    if value is None:
        return None
    if isinstance(column.kind, dict):
        return next(label for label, code in column.kind.items() if code == value)
    if column.kind == LIST:
        return "; ".join(value) if isinstance(value, list) else value
    if column.kind == BOOL:
        return "oui" if value else "non"
    if column.kind == EUR and isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_EXPORT = {
    "Protocole": "SELECT {cols} FROM ti_protocol WHERE programme = %s AND id_ti = %s",
    "Gouvernance": "SELECT {cols} FROM ti_governance WHERE programme = %s AND id_ti = %s "
    "ORDER BY role, rank",
    "Fiches": "SELECT {cols} FROM ti_action_sheet WHERE programme = %s AND id_ti = %s "
    "ORDER BY code",
}
_PART_EXPORT = (
    "SELECT s.code, {cols} FROM {t} p JOIN ti_action_sheet s ON s.id = p.sheet_id "
    "WHERE s.programme = %s AND s.id_ti = %s ORDER BY s.code, {key}"
)


def _export_rows(cur: psycopg.Cursor, sheet: str, territory: Territory) -> list[tuple[Any, ...]]:
    ident = sql.Identifier
    columns = [c.field for c in TEMPLATE[sheet]]
    if sheet in PARTS:
        table, key = TABLES[sheet]
        query = sql.SQL(_PART_EXPORT).format(
            cols=sql.SQL(", ").join(sql.SQL("p.{}").format(ident(c)) for c in columns[1:]),
            t=ident(table),
            key=sql.SQL(", ").join(sql.SQL("p.{}").format(ident(k)) for k in key[1:]),
        )
    else:
        query = sql.SQL(_EXPORT[sheet]).format(cols=sql.SQL(", ").join(map(ident, columns)))
    return cur.execute(query, (territory.programme, territory.id_ti)).fetchall()


def export_workbook(conn: psycopg.Connection, territory: Territory, out: Path) -> dict[str, int]:
    """Write ``territory``'s contract as the import template, filled; rows written by sheet."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    counts: dict[str, int] = {}
    with conn.cursor() as cur:
        for sheet, columns in TEMPLATE.items():
            ws = book.create_sheet(sheet)
            ws.append([c.header for c in columns])
            rows = _export_rows(cur, sheet, territory)
            for row in rows:
                ws.append([_cell(c, v) for c, v in zip(columns, row, strict=True)])
            for col, column in enumerate(columns, start=1):
                letter = openpyxl.utils.get_column_letter(col)
                ws.column_dimensions[letter].width = max(12, len(column.header) + 2)
                if column.kind == DATE:
                    for cell in ws[letter][1:]:
                        cell.number_format = "DD/MM/YYYY"
            counts[sheet] = len(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return counts


# The fictitious example contract of the samples (data/samples/contracts/README.md).
SAMPLE_CONTRACTS = (("contracts/exemple_ti-2701.xlsx", Territory(2023, "ti-2701")),)


def load_sample_contracts(conn: psycopg.Connection, samples_dir: Path) -> list[ImportReport]:
    """Import the example contracts (after the territories), each in its own transaction."""
    reports = []
    for path, territory in SAMPLE_CONTRACTS:
        reports.append(import_workbook(conn, samples_dir / path, territory))
        conn.commit()
    return reports
