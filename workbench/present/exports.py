"""Writing indicator tables: CSV, JSON, XLSX, Parquet.

Every export checks the table against its threshold first (:func:`disclosure.check`),
so a suppressed cell cannot reappear in a file. CSV and Excel files are spreadsheet-safe
(:mod:`workbench.publish`): cells are never formulas, and a text beginning with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a quote; numbers stay
numbers. CSV and Parquet keep the ``flag`` column as it is; an Excel annex shows each
withheld cell's mark as text (:mod:`workbench.present.cells`) with a legend sheet.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from workbench import disclosure
from workbench.exceptions import ParameterError
from workbench.publish import XLSX_OPTIONS, safe_frame

FORMATS = ("csv", "json", "xlsx", "parquet")


def _unwrap(table, k: int | None) -> tuple[pl.DataFrame, int | None, dict]:
    """A plain frame, its threshold and what vouches for it (an IndicatorTable's audience, k, unavailable)."""
    if hasattr(table, "frame"):  # a disclosure.IndicatorTable
        info = {"audience": table.audience, "threshold": table.k, "unavailable": dict(table.unavailable)}
        return table.frame, table.k if k is None else k, info
    return table, k, {"audience": None, "threshold": k, "unavailable": {}}


def _checked(table: pl.DataFrame, k: int | None) -> pl.DataFrame:
    table, k = disclosure.frame_and_k(table, k)
    disclosure.check(table, k)
    return table


def to_csv(table: pl.DataFrame, k: int | None = None) -> str:
    from workbench.indicators.engine import format_values

    return safe_frame(format_values(_checked(table, k))).write_csv()


def to_json(table: pl.DataFrame, k: int | None = None) -> str:
    table, k, info = _unwrap(table, k)
    _checked(table, k)
    payload = {
        **info,
        "columns": table.columns,
        "rows": table.to_dicts(),
    }
    return json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n"


def to_xlsx(sheets: dict[str, pl.DataFrame], k: int | None = None, lang: str | None = None) -> bytes:
    """A workbook with one sheet per table (sheet names cut to Excel's 31 characters).

    With ``lang``, each table gets a text column ``mark`` after ``value`` ("< 5", "[c]"…) and
    the workbook a last sheet with the legend of the marks it holds.
    """
    import datetime as dt

    import xlsxwriter

    from workbench.present import cells

    buf = io.BytesIO()
    flags: set[str] = set()
    with xlsxwriter.Workbook(buf, {"in_memory": True, **XLSX_OPTIONS}) as book:
        # Fixed document properties: the same tables give the same bytes.
        book.set_properties({"created": dt.datetime(2000, 1, 1)})
        for name, table in sheets.items():
            table, k_table = disclosure.frame_and_k(table, k)
            _checked(table, k_table)
            frame = pl.DataFrame(table)
            if lang is not None and "flag" in frame.columns:
                flags |= set(frame["flag"].drop_nulls().to_list())
                frame = cells.with_marks(frame, k_table)
            safe_frame(frame).write_excel(book, worksheet=name[:31], autofit=True, float_precision=2)
        if lang is not None and flags:
            legend = cells.legend_frame(flags, lang, k)
            safe_frame(legend).write_excel(book, worksheet=_legend_name(sheets, lang), autofit=True)
    return buf.getvalue()


def _legend_name(sheets: dict, lang: str) -> str:
    from workbench.present.texts import text

    name = text("ui.legend", lang)
    return name if name not in sheets else f"{name} (2)"


def write(table: pl.DataFrame, path: str | Path | None, fmt: str, k: int | None = None) -> bytes | str:
    """Write ``table`` in ``fmt`` to ``path`` (or return the text/bytes when ``path`` is None)."""
    if fmt not in FORMATS:
        raise ParameterError(f"Unknown format '{fmt}': use {', '.join(FORMATS)}.")
    given, (table, k, _info) = table, _unwrap(table, k)
    if fmt == "csv":
        data: bytes | str = to_csv(table, k)
    elif fmt == "json":
        data = to_json(given, k)
    elif fmt == "xlsx":
        data = to_xlsx({"indicators": table}, k)
    else:
        _checked(table, k)
        buf = io.BytesIO()
        pl.DataFrame(table).write_parquet(buf, statistics=False)
        data = buf.getvalue()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    return data
