"""The demo's Excel template: a quarterly detention return per centre, as a ministry would send it.

:func:`build` writes the workbook with openpyxl (the shipped copy,
``assets/templates/returns/detention_return.xlsx``, is made by it: ``python -m
workbench.reports.return_demo FOLDER``) and :data:`MAP` is its map
(``detention_return.yaml`` beside it). The sheet is protected, its input cells unlocked,
and two cells hold formulas (the total of exits, the change in placements) that filling keeps.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHEET = "Retour trimestriel"
#: The map shipped beside the template (see :mod:`workbench.reports.templates`).
MAP = f"""# Quarterly detention return per centre (demo). Cells of the ministry's template -> figures.
template: detention_return.xlsx
audience: public
cells:
  "'{SHEET}'!C3": {{text: centre}}
  "'{SHEET}'!C4": {{text: period}}
  "'{SHEET}'!C5": {{text: extracted_on}}
  "'{SHEET}'!C8": {{indicator: detention_placements}}
  "'{SHEET}'!D8": {{indicator: detention_placements, period: -1}}
  "'{SHEET}'!C9": {{indicator: detention_placements, by: sex, category: female}}
  "'{SHEET}'!C10": {{indicator: detention_placements, by: sex, category: male}}
  "'{SHEET}'!C11": {{indicator: children_in_detention}}
  "'{SHEET}'!C12": {{indicator: detention_persons_held}}
  "'{SHEET}'!C14": {{indicator: detention_exits, by: outcome, category: removed_country_of_origin}}
  "'{SHEET}'!C15": {{indicator: detention_exits, by: outcome, category: released_judge}}
  "'{SHEET}'!C16": {{indicator: detention_exits, by: outcome, category: released_max_duration}}
  "'{SHEET}'!C18": {{indicator: detention_duration_mean_days}}
  "'{SHEET}'!C19": {{indicator: removal_rate}}
  "'{SHEET}'!C20": {{indicator: assistance_rate}}
"""

_LINES = [
    (8, "Placements en rétention", "#,##0"), (9, "  dont femmes", "#,##0"), (10, "  dont hommes", "#,##0"),
    (11, "Enfants en rétention", "#,##0"), (12, "Personnes retenues pendant le trimestre", "#,##0"),
    (14, "Sorties : éloignement vers le pays d'origine", "#,##0"), (15, "Sorties : libération par le juge", "#,##0"),
    (16, "Sorties : fin de la durée maximale", "#,##0"), (17, "Total des trois motifs ci-dessus", "#,##0"),
    (18, "Durée moyenne de rétention (jours)", "0.0"), (19, "Taux d'éloignement", "0.0%"),
    (20, "Taux de personnes assistées", "0.0%"),
]


def build(path: str | Path) -> Path:
    """Write the demo template to ``path``."""
    import openpyxl
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = SHEET
    thin = Side(style="thin", color="999999")
    box = Border(top=thin, bottom=thin, left=thin, right=thin)
    ws["B1"] = "Ministère de l'Intérieur — retour trimestriel de l'assistance juridique en rétention"
    ws["B1"].font = Font(bold=True, size=13)
    for row, label in ((3, "Centre"), (4, "Trimestre"), (5, "Données extraites le")):
        ws.cell(row, 2, label).font = Font(bold=True)
    ws["C7"], ws["D7"], ws["E7"] = "Trimestre", "Trimestre précédent", "Évolution"
    for cell in (ws["B7"], ws["C7"], ws["D7"], ws["E7"]):
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1A365D")
    ws["B7"] = "Indicateur"
    for row, label, fmt in _LINES:
        ws.cell(row, 2, label).border = box
        value = ws.cell(row, 3)
        value.number_format, value.border = fmt, box
        value.alignment = Alignment(horizontal="right")
        value.fill = PatternFill("solid", fgColor="FFF9DB")
    ws["C17"] = "=SUM(C14:C16)"
    ws["D8"].number_format, ws["D8"].border = "#,##0", box
    ws["D8"].alignment = Alignment(horizontal="right")
    ws["E8"] = '=IF(AND(ISNUMBER(C8),ISNUMBER(D8)),C8-D8,"")'
    ws["B22"] = "Les cases jaunes sont remplies par l'association ; « < 10 » : moins de 10 (secret statistique)."
    ws["B22"].font = Font(italic=True, size=9)
    for ref in ("C3", "C4", "C5", "D8", *(f"C{r}" for r, _, _ in _LINES if r != 17)):
        ws[ref].protection = Protection(locked=False)
    ws.column_dimensions["B"].width = 46
    for col in "CDE":
        ws.column_dimensions[col].width = 18
    ws.protection.sheet = True
    ws.protection.password = "demo"
    path = Path(path)
    book.properties.creator = "workbench demo"
    book.save(path)
    return path


def write(folder: str | Path) -> tuple[Path, Path]:
    """The template and its map in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "detention_return.yaml").write_text(MAP, encoding="utf-8")
    return build(folder / "detention_return.xlsx"), folder / "detention_return.yaml"


if __name__ == "__main__":  # pragma: no cover - regenerates the shipped copy
    write(sys.argv[1] if len(sys.argv) > 1 else "workbench/assets/templates/returns")
