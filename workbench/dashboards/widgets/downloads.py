"""The table shown, as CSV and Excel downloads (checked against the threshold)."""

from __future__ import annotations

import base64
import re

import ipywidgets as w
import polars as pl

from workbench.dashboards import views
from workbench.present import exports
from workbench.present.texts import text


def _safe_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") for p in parts if p)


def download_rows(table, view: views.View) -> pl.DataFrame:
    """The rows of the table shown, as exported (with the filters in force, when any)."""
    rows = table.select("indicator", "period", view.breakdown, *([view.cross] if view.cross else []), "value",
                        "numerator", "denominator", "flag")
    active = view.selection.active()
    if active:
        described = "; ".join(f"{name}={'|'.join(codes)}" for name, codes in active.items())
        rows = rows.with_columns(pl.lit(described).alias("filters"))
    return rows


class Downloads(w.HTML):
    """Links that download the table shown as CSV and Excel (checked against the threshold)."""

    def show(self, table, view: views.View, k: int | None) -> None:
        rows = download_rows(table, view)
        name = _safe_name("workbench", view.indicator, view.period.code, view.breakdown, view.cross or "")
        csv = exports.to_csv(rows, k).encode("utf-8")
        lang = view.lang
        xlsx = exports.to_xlsx({"indicators": rows}, k, lang=lang)
        self.value = (
            "<div class='wb-downloads'>"
            f"<a class='wb-download-csv' download='{name}.csv' "
            f"href='data:text/csv;charset=utf-8;base64,{base64.b64encode(csv).decode()}'>"
            f"{text('dashboard.download_csv', lang)}</a>"
            f"<a class='wb-download-xlsx' download='{name}.xlsx' "
            "href='data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,"
            f"{base64.b64encode(xlsx).decode()}'>{text('dashboard.download_xlsx', lang)}</a></div>")
