"""Write data/samples/contracts/exemple_ti-2701.xlsx: a FICTITIOUS contract (see its README).

The protocol and the twelve sheets are invented for the demo and the tests, marked
``exemple = oui`` in every row that has the column. Usage: python scripts/make_contract_sample.py
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]

from ingest.contracts import TEMPLATE

OUT = (
    Path(__file__).resolve().parents[1] / "data" / "samples" / "contracts" / "exemple_ti-2701.xlsx"
)
D = date

PROTOCOL = [
    [
        2023,
        "ti-2701",
        "EXEMPLE – protocole fictif",
        D(2024, 3, 15),
        "https://exemple.invalid/protocole-ti-2701.pdf",
        "signé",
        "oui",
    ]
]
GOVERNANCE = [
    ["élu référent", 1, "CC du Val de Morteau", "Élu Exemple", "oui"],
    ["industriel référent", 1, "Entreprise Exemple SA", "Industriel Exemple", "oui"],
    ["préfet", 1, "Préfecture du Doubs", None, "oui"],
    ["région", 1, "Région Bourgogne-Franche-Comté", None, "oui"],
    ["EPCI", 1, "CC du Pays de Maîche", None, "oui"],
    ["EPCI", 2, "CC Loue-Lison", None, "oui"],
]
# code, title, axis, measures, pilot, partners, budget, status, dates (5), due
SHEETS = [
    (
        "F01",
        "Campus des métiers de la précision",
        "recruter",
        "Fonds compétences",
        "CC du Val de Morteau",
        "Lycée; France Travail",
        420000,
        "engagée",
        (D(2023, 9, 1), D(2024, 1, 10), D(2024, 6, 1), None, None),
        D(2026, 6, 30),
    ),
    (
        "F02",
        "Logements pour apprentis",
        "recruter",
        "",
        "CC du Pays de Maîche",
        "Bailleur social",
        1200000,
        "en préparation",
        (D(2024, 2, 1), D(2024, 9, 1), None, None, None),
        D(2027, 12, 31),
    ),
    (
        "F03",
        "Plateforme mutualisée de recrutement",
        "recruter",
        "Appui RH",
        "CC Loue-Lison",
        "",
        85000,
        "réalisée",
        (D(2023, 7, 1), D(2023, 10, 1), D(2024, 1, 15), D(2025, 3, 1), None),
        D(2025, 3, 31),
    ),
    (
        "F04",
        "Centre d'essais microtechniques",
        "innover",
        "Ingénierie Bpifrance",
        "Pôle exemple",
        "Université; CCI",
        2500000,
        "engagée",
        (D(2023, 6, 1), D(2024, 1, 1), D(2024, 11, 1), None, None),
        D(2026, 12, 31),
    ),
    (
        "F05",
        "Diagnostic décarbonation des PME",
        "innover",
        "Diag Décarbon'Action",
        "CCI exemple",
        "ADEME",
        150000,
        "en préparation",
        (D(2024, 5, 1), D(2025, 1, 15), None, None, None),
        D(2025, 9, 30),
    ),
    (
        "F06",
        "Tiers-lieu industriel",
        "innover",
        "",
        "CC du Pays de Maîche",
        "",
        300000,
        "idée",
        (D(2025, 2, 1), None, None, None, None),
        None,
    ),
    (
        "F07",
        "Requalification de la friche horlogère",
        "attirer",
        "Fonds vert friches",
        "CC du Val de Morteau",
        "EPF; Banque des Territoires",
        3200000,
        "engagée",
        (D(2023, 5, 1), D(2023, 12, 1), D(2024, 9, 1), None, None),
        D(2025, 6, 30),
    ),
    (
        "F08",
        "Extension de la zone d'activités",
        "attirer",
        "Sites clés en main",
        "CC du Pays de Maîche",
        "",
        1800000,
        "en préparation",
        (D(2024, 1, 1), D(2024, 10, 1), None, None, None),
        D(2027, 6, 30),
    ),
    (
        "F09",
        "Marketing territorial industriel",
        "attirer",
        "",
        "CC Loue-Lison",
        "Agence régionale",
        60000,
        "abandonnée",
        (D(2023, 8, 1), None, None, None, D(2024, 4, 1)),
        None,
    ),
    (
        "F10",
        "Guichet unique des implantations",
        "simplifier",
        "Accélération des procédures",
        "Préfecture du Doubs",
        "DDT",
        40000,
        "réalisée",
        (D(2023, 6, 1), D(2023, 9, 1), D(2023, 11, 1), D(2024, 5, 1), None),
        D(2024, 6, 30),
    ),
    (
        "F11",
        "Référent foncier unique",
        "simplifier",
        "",
        "CC du Val de Morteau",
        "",
        55000,
        "engagée",
        (D(2024, 1, 1), D(2024, 3, 1), D(2024, 6, 1), None, None),
        D(2024, 12, 31),
    ),
    (
        "F12",
        "Observatoire du foncier économique",
        "attirer",
        "",
        "CC Loue-Lison",
        "Agence d'urbanisme",
        70000,
        "idée",
        (D(2025, 4, 1), None, None, None, None),
        None,
    ),
]
FUNDING = [
    ["F01", "État – Fonds compétences", "État", 150000, 50000],
    ["F01", "Région BFC", "région", 170000, 60000],
    ["F01", "CC du Val de Morteau", "EPCI", 100000, 100000],
    ["F03", "CC Loue-Lison", "EPCI", 85000, 85000],
    ["F04", "Bpifrance", "opérateur", 1000000, 250000],
    ["F04", "Région BFC", "région", 900000, 0],
    ["F04", "FEDER", "Europe", 600000, 0],
    ["F07", "État – Fonds vert", "État", 1600000, 400000],
    ["F07", "Banque des Territoires", "opérateur", 800000, 0],
    ["F07", "CC du Val de Morteau", "EPCI", 800000, 300000],
    ["F10", "État", "État", 40000, 40000],
    ["F11", "CC du Val de Morteau", "EPCI", 55000, 20000],
]
INDICATORS = [
    ["F01", "Apprentis formés", "personnes", 120, 45, D(2025, 9, 1)],
    ["F03", "Recrutements réalisés", "personnes", 200, 230, D(2025, 3, 1)],
    ["F04", "Entreprises utilisatrices", "entreprises", 40, 12, D(2025, 10, 1)],
    ["F07", "Surface de friche requalifiée", "ha", 6.5, 2, D(2025, 11, 1)],
    ["F08", "Surface cessible créée", "ha", 12, None, None],
    ["F10", "Délai moyen d'instruction", "mois", 6, 7.5, D(2024, 5, 1)],
]
PLACES = [
    ["F07", "commune", "25411"],
    ["F08", "commune", "25356"],
    ["F11", "commune", "25411"],
    ["F02", "commune", "25356"],
    ["F12", "commune", "25001"],
]


def sheet_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for code, title, axis, measures, pilot, partners, budget, status, dates, due in SHEETS:
        rows.append(
            [
                code,
                f"EXEMPLE – {title}",
                axis,
                "Fiche fictive (exemple).",
                measures or None,
                pilot,
                partners or None,
                budget,
                status,
                *dates,
                due,
                "oui",
            ]
        )
    return rows


def main() -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    data = {
        "Protocole": PROTOCOL,
        "Gouvernance": GOVERNANCE,
        "Fiches": sheet_rows(),
        "Financements": FUNDING,
        "Indicateurs": INDICATORS,
        "Lieux": PLACES,
    }
    for sheet, columns in TEMPLATE.items():
        ws = book.create_sheet(sheet)
        ws.append([c.header for c in columns])
        for row in data[sheet]:
            ws.append(row)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    book.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
