"""The Excel annex of a report: the report's figures in a workbook a coordinator can send as it is.

- one sheet per indicator family, in the report's order, with the period's figures: headers,
  indicators, breakdowns and categories in the report's language (category names sorted as
  the report sorts them, :func:`workbench.present.labels.sort_codes`), the total before its
  breakdowns;
- a sheet of the trend rows (the periods before the report's), then a sheet of definitions
  from the catalogue and the legend of the marks the workbook holds;
- figures are numbers with their unit's format (a rate as a percentage, durations in days
  with one decimal, ratios with two); a withheld cell holds the report's mark as text
  ("< 5", "[c]"…, :mod:`workbench.present.cells`), never a value;
- a frozen, filterable header row, column widths fitted to their content, fixed document
  properties (the same figures give the same bytes), and spreadsheet-safe text
  (:func:`workbench.publish.safe_text`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench import disclosure
from workbench.indicators.catalogue import resolve
from workbench.present import cells, labels
from workbench.present.texts import text
from workbench.publish import XLSX_OPTIONS, safe_text

FIGURES = ("value", "numerator", "denominator", "flag")
#: Excel number formats by unit (a rate is written as a fraction and shown as a percentage).
NUMBER_FORMATS = {"count": "#,##0", "rate": "0.0%", "ratio": "#,##0.00", "median": "#,##0.0", "mean": "#,##0.0"}
_WIDTH = (8, 70)


def _dims(rows: pl.DataFrame) -> list[str]:
    return [c for c in rows.columns if c not in ("indicator", "period", *FIGURES)]


def _label_of(row: Mapping[str, Any], dims: list[str], lang: str, meta, cat=None) -> tuple[str, str]:
    """(breakdown, category) of a row: the dimensions it is broken down by, and its categories."""
    used = [d for d in dims if row.get(d) is not None]
    if not used:
        return text("ui.total", lang), text("ui.total", lang)
    return (" × ".join(labels.dimension_label(d, lang, cat) for d in used),
            " × ".join(labels.code_label(d, row[d], lang, meta, cat) for d in used))


def _ordered(rows: pl.DataFrame, lang: str, meta, cat=None) -> list[dict[str, Any]]:
    """Rows in the report's order: indicators as they first appear, each total first, then its
    breakdowns as they first appear, categories in the report's sort order."""
    dims = _dims(rows)
    out: list[dict[str, Any]] = []
    for ind in rows["indicator"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("indicator") == ind).to_dicts()
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in part:
            groups.setdefault(tuple(d for d in dims if row.get(d) is not None), []).append(row)
        for used in sorted(groups, key=lambda u: len(u) > 0):  # the total first, then breakdowns in order
            group = groups[used]
            if used:  # categories in the report's order, the first dimension first (a cross by rows)
                ranks = [{c: n for n, c in enumerate(labels.sort_codes(d, [r[d] for r in group], lang, meta, cat))}
                         for d in used]
                group = sorted(group, key=lambda r: tuple(rank[r[d]] for rank, d in zip(ranks, used)))
            out += group
    return out


def _other_label(code: str, lang: str) -> str:
    """The label of a row outside the catalogue (data-quality counts), from the text catalogue."""
    from workbench.present.texts import has

    for key in (f"annex.rows.{code}", f"report.rules.{code}", f"report.tables.{code}"):
        if has(key):
            return text(key, lang)
    return code


def _number(row: Mapping[str, Any], unit: str) -> float | None:
    value = row.get("value")
    if value is None or row.get("flag"):
        return None
    return value / 100 if unit == "rate" else value


class _Sheet:
    """One worksheet being written: header, rows, widths; text made spreadsheet-safe."""

    def __init__(self, book, name: str, header: list[str], styles: dict):
        self.ws, self.styles, self.row = book.add_worksheet(name[:31]), styles, 1
        self.widths = [len(h) for h in header]
        for col, title in enumerate(header):
            self.ws.write_string(0, col, safe_text(title), styles["header"])

    def put(self, col: int, value: Any, fmt: str | None = None) -> None:
        if value is None:
            self.ws.write_blank(self.row, col, None)
            return
        if isinstance(value, str):
            self.ws.write_string(self.row, col, safe_text(value), self.styles.get(fmt or "text"))
            shown = len(value)
        else:
            self.ws.write_number(self.row, col, value, self.styles[fmt or "count"])
            shown = len(f"{value:,.2f}")
        self.widths[col] = max(self.widths[col], shown)

    def figure(self, col: int, row: Mapping[str, Any], key: str, unit: str, k: int | None) -> None:
        """A figure cell: its number in the unit's format, or the report's mark when withheld."""
        shown = cells.mark(row.get("flag"), k)
        if shown is not None:
            self.put(col, shown, "mark")
        elif row.get(key) is None:
            self.put(col, cells.MARKS["no_data"] if key == "value" else None, "mark")
        elif key == "value":
            self.put(col, _number(row, unit), unit)
        else:
            self.put(col, row[key], "count")

    def close(self, columns: int) -> None:
        self.ws.freeze_panes(1, 0)
        if self.row > 1:
            self.ws.autofilter(0, 0, self.row - 1, columns - 1)
        for col, width in enumerate(self.widths[:columns]):
            self.ws.set_column(col, col, min(max(width + 2, _WIDTH[0]), _WIDTH[1]))


def _styles(book) -> dict:
    styles = {unit: book.add_format({"num_format": f}) for unit, f in NUMBER_FORMATS.items()}
    styles["header"] = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top",
                                        "bg_color": "#EDF2F7"})
    styles["text"] = book.add_format({"valign": "top"})
    styles["wrap"] = book.add_format({"valign": "top", "text_wrap": True})
    styles["mark"] = book.add_format({"align": "right"})
    return styles


def _figure_header(lang: str, fractions: bool) -> list[str]:
    return [text("ui.value", lang), text("ui.unit", lang)] + (
        [text("annex.numerator", lang), text("annex.denominator", lang)] if fractions else [])


def _write_rows(sheet: _Sheet, rows: list[dict], lead: list[str], fractions: bool, lang: str, k: int | None,
                meta, with_period: bool, cat=None) -> None:
    cat = resolve(cat)
    dims = sorted({d for r in rows for d in r if d not in ("indicator", "period", *FIGURES)})
    for row in rows:
        ind = cat[row["indicator"]] if row["indicator"] in cat else None
        unit = ind.unit if ind else "count"
        col = 0
        sheet.put(col, ind.label[lang] if ind else _other_label(row["indicator"], lang))
        col += 1
        if with_period:
            from workbench.periods import parse_period

            sheet.put(col, parse_period(row["period"]).label(lang))
            col += 1
        else:
            breakdown, category = _label_of(row, dims, lang, meta, cat)
            sheet.put(col, breakdown)
            sheet.put(col + 1, category)
            col += 2
        sheet.figure(col, row, "value", unit, k)
        sheet.put(col + 1, text(f"ui.unit_{unit}", lang))
        if fractions:
            both = unit in ("rate", "ratio")
            sheet.figure(col + 2, row, "numerator", unit, k) if both else sheet.put(col + 2, None)
            sheet.figure(col + 3, row, "denominator", unit, k) if both else sheet.put(col + 3, None)
        sheet.row += 1
    sheet.close(len(lead) + 2 + (2 if fractions else 0))


def annex_xlsx(rows: pl.DataFrame, lang: str = "fr", k: int | None = None, period: str | None = None,
               meta=None, document_date: dt.date | None = None, catalogue=None) -> bytes:
    """The annex workbook of a report's indicator rows (see the module docstring).

    ``period`` is the report's period (other periods' rows go to the trend sheet); ``meta``
    names sites and centres; ``document_date`` becomes the workbook's creation date; ``catalogue``
    (default: the one an indicator table was computed with, else the built-in one) labels an
    organisation's own indicators, dimensions and codes. A cross (two dimensions) is a block of
    its own, rows in the order of the first dimension then the second.
    """
    import xlsxwriter

    cat = labels.catalogue_of(rows, catalogue)
    rows, k = disclosure.frame_and_k(rows, k)
    disclosure.check(rows, k)
    period = period or (rows["period"][0] if rows.height else None)
    current = rows.filter(pl.col("period") == period) if period else rows
    trend = rows.filter(pl.col("period") != period) if period else rows.clear()
    family_of = {i.id: i.family for i in cat}
    buf = io.BytesIO()
    when = dt.datetime.combine(document_date or dt.date(2000, 1, 1), dt.time())
    with xlsxwriter.Workbook(buf, {"in_memory": True, **XLSX_OPTIONS}) as book:
        book.set_properties({"created": when, "title": "", "author": "", "company": ""})
        styles = _styles(book)
        ordered = _ordered(current, lang, meta, cat)
        families = list(dict.fromkeys(family_of.get(r["indicator"], "data_quality") for r in ordered))
        names: set[str] = set()
        for family in families:
            part = [r for r in ordered if family_of.get(r["indicator"], "data_quality") == family]
            fractions = any(family_of.get(r["indicator"]) and cat[r["indicator"]].unit in ("rate", "ratio")
                            for r in part)
            lead = [text("annex.indicator", lang), text("annex.breakdown", lang), text("annex.category", lang)]
            name = _sheet_name(cat.families[family][lang] if family in cat.families
                               else text("annex.data_quality", lang), names)
            _write_rows(_Sheet(book, name, lead + _figure_header(lang, fractions), styles), part, lead, fractions,
                        lang, k, meta, with_period=False, cat=cat)
        if trend.height:
            lead = [text("annex.indicator", lang), text("ui.period", lang)]
            sheet = _Sheet(book, _sheet_name(text("annex.trends", lang), names), lead + _figure_header(lang, False),
                           styles)
            order = {i: n for n, i in enumerate(trend["indicator"].unique(maintain_order=True).to_list())}
            trend_rows = sorted(trend.to_dicts(), key=lambda r: order[r["indicator"]])  # stable: periods in order
            _write_rows(sheet, trend_rows, lead, False, lang, k, meta, with_period=True, cat=cat)
        _definitions(book, styles, [i for i in rows["indicator"].unique(maintain_order=True).to_list() if i in cat],
                     lang, names, cat)
        _legend(book, styles, set(rows["flag"].drop_nulls().to_list()) if "flag" in rows.columns else set(),
                lang, k, names)
    return buf.getvalue()


def _definitions(book, styles: dict, indicators: list[str], lang: str, names: set[str], cat=None) -> None:
    cat = resolve(cat)
    header = [text("annex.indicator", lang), text("annex.family", lang), text("ui.unit", lang),
              text("annex.definition", lang)]
    sheet = _Sheet(book, _sheet_name(text("annex.definitions", lang), names), header, styles)
    for ind_id in indicators:
        ind = cat[ind_id]
        sheet.put(0, ind.label[lang])
        sheet.put(1, cat.families[ind.family][lang])
        sheet.put(2, text(f"ui.unit_{ind.unit}", lang))
        sheet.ws.write_string(sheet.row, 3, safe_text(ind.definition.get(lang, "")), styles["wrap"])
        sheet.row += 1
    sheet.widths[3] = 90
    sheet.close(len(header))


def _legend(book, styles: dict, flags: set[str], lang: str, k: int | None, names: set[str]) -> None:
    if not flags:
        return
    sheet = _Sheet(book, _sheet_name(text("ui.legend", lang), names), [text("ui.mark", lang),
                                                                    text("ui.meaning", lang)], styles)
    for flag in cells.FLAGS:
        if flag in flags:
            sheet.put(0, cells.mark(flag, k), "mark")
            sheet.put(1, text(f"marks.{flag}", lang, k=k))
            sheet.row += 1
    sheet.close(2)


def _sheet_name(name: str, taken: set[str]) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, " ")
    name, n = name[:31], 2
    while name in taken:
        name = f"{name[:27]} ({n})"
        n += 1
    taken.add(name)
    return name
