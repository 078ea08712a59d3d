"""How one figure reads, in every output: numbers, marks of withheld cells, changes.

The one place that turns a cell of an indicator table (its ``value`` and ``flag``) into
text, for HTML/PDF tables, the Excel annex and exports, chart labels, dashboard tiles,
tables and downloads, and ``workbench diff``. It takes plain values (or a row as a dict)
with the audience's threshold ``k`` and the language, so it works on any indicator table.

========================  ===========  ======================================
flag                      mark         legend (en)
========================  ===========  ======================================
null                      the value
``no_data``               ``–``        no data
``suppressed``            ``< k``      fewer than k
``withheld``              ``[c]``      withheld for confidentiality (any value)
``small_population``      ``[p]``      population under k: not published
========================  ===========  ======================================

>>> cell(1234, None, "count", "fr", 5), cell(None, "suppressed", "count", "fr", 5)
('1\\u202f234', '< 5')
>>> cell(None, "withheld", "rate", "en", 5), cell(12.25, None, "rate", "en", 5)
('[c]', '12.2%')
>>> change(-3, -12.5, "count", "fr"), change(1.5, None, "rate", "en")
('−3 (−12,5 %)', '+1.5 pt')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workbench.periods import LOCALES
from workbench.present.texts import check_language, text

FLAGS = ("no_data", "suppressed", "withheld", "small_population")
#: The marks of flags other than ``suppressed`` (whose mark, "< k", depends on the threshold).
MARKS = {"no_data": "–", "withheld": "[c]", "small_population": "[p]"}
_PATTERNS = {"count": "#,##0", "ratio": "#,##0.00"}  # rates, medians, means: one decimal


def number(value: float | None, unit: str, lang: str = "fr") -> str:
    """A figure in the language's number format: counts whole, ratios two decimals, others one; rates in %."""
    from babel.numbers import format_decimal

    if value is None:
        return ""
    shown = format_decimal(value, format=_PATTERNS.get(unit, "#,##0.0"), locale=LOCALES[check_language(lang)])
    if unit == "rate":
        return shown + (" %" if lang == "fr" else "%")
    return shown


def mark(flag: str | None, k: int | None) -> str | None:
    """The mark of a withheld cell (``None`` for a figure shown as it is)."""
    if flag == "suppressed":
        return f"< {k}" if k else "<"
    return MARKS.get(flag) if flag else None


def cell(value: float | None, flag: str | None, unit: str, lang: str = "fr", k: int | None = None) -> str:
    """The text of one cell: its mark when withheld or empty, else the formatted value."""
    shown = mark(flag, k)
    if shown is not None:
        return shown
    if value is None:
        return MARKS["no_data"]
    return number(value, unit, lang)


def row_cell(row: Mapping[str, Any] | None, unit: str, lang: str = "fr", k: int | None = None) -> str:
    """:func:`cell` of an indicator row (``None``: the figure is not available)."""
    if row is None:
        return text("ui.not_available", lang)
    return cell(row.get("value"), row.get("flag"), unit, lang, k)


def fraction(row: Mapping[str, Any], lang: str = "fr") -> str:
    """``n / N`` of a rate or ratio shown exactly (empty when withheld)."""
    if row.get("flag") or row.get("numerator") is None or row.get("denominator") is None:
        return ""
    return f"{number(row['numerator'], 'count', lang)} / {number(row['denominator'], 'count', lang)}"


def legend(flag: str, lang: str = "fr", k: int | None = None) -> str:
    """One line of legend: the mark and what it means (``« < 5 » : moins de 5``)."""
    meaning = text(f"marks.{flag}", lang, k=k)
    shown = mark(flag, k)
    if lang == "fr":
        return f"« {shown} » : {meaning}"
    if lang == "ar":
        return f"«\u2066{shown}\u2069»: {meaning}"  # the mark kept left to right (LRI … PDI)
    return f"\"{shown}\": {meaning}"


def legends(flags: Iterable[str | None], lang: str = "fr", k: int | None = None) -> list[str]:
    """The legend lines of the marks among ``flags``, in the table's order (no_data, suppressed…)."""
    present = set(flags)
    return [legend(f, lang, k) for f in FLAGS if f in present]


def change(diff: float | None, pct: float | None, unit: str, lang: str = "fr") -> str:
    """A change against a comparison period: the difference (points for a rate, days for a duration)
    and, when there is one, the % change. Empty when no comparison is possible."""
    if diff is None:
        return ""
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    shown = sign + number(abs(diff), unit if unit in ("count", "ratio") else "mean", lang)
    if unit == "rate":
        shown += " " + text("ui.change_points", lang)
    elif unit in ("median", "mean"):
        shown += " " + text("ui.change_days", lang)
    if pct is not None:
        psign = "+" if pct > 0 else "−" if pct < 0 else ""
        shown += f" ({psign}{number(abs(pct), 'rate', lang)})"
    return shown


def with_marks(frame, k: int | None):
    """An indicator table (polars) with a text column ``mark`` after ``value`` (empty for a shown figure)."""
    import polars as pl

    if "flag" not in frame.columns:
        return frame
    marks = {f: mark(f, k) for f in FLAGS}
    column = pl.col("flag").replace_strict(marks, default=None, return_dtype=pl.String).alias("mark")
    out = frame.with_columns(column)
    order = list(frame.columns)
    at = order.index("value") + 1 if "value" in order else len(order)
    return out.select([*order[:at], "mark", *order[at:]])


def legend_frame(flags: Iterable[str | None], lang: str = "fr", k: int | None = None):
    """The legend as a two-column table (mark, meaning), for a spreadsheet."""
    import polars as pl

    present = set(flags)
    rows = [{text("ui.mark", lang): mark(f, k), text("ui.meaning", lang): text(f"marks.{f}", lang, k=k)}
            for f in FLAGS if f in present]
    return pl.DataFrame(rows, schema={text("ui.mark", lang): pl.String, text("ui.meaning", lang): pl.String})
