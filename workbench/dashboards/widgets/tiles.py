"""Key figures as tiles, each with its change against the comparison period."""

from __future__ import annotations

import html

import ipywidgets as w
import polars as pl

from workbench.dashboards import views
from workbench.indicators.catalogue import load_catalogue
from workbench.present import cells
from workbench.present.texts import text


def _figure(row: dict | None, unit: str, lang: str, k: int | None) -> str:
    return html.escape(cells.row_cell(row, unit, lang, k))


def _change(row: dict, unit: str, lang: str, comparison) -> str:
    if comparison is None or "previous_value" not in row:
        return ""
    vs = text("dashboard.vs", lang, period=comparison.label(lang))
    if row.get("change") is None:
        return f"{text('dashboard.no_change', lang)} ({vs})"
    diff = row["change"]
    arrow = "▲" if diff > 0 else "▼" if diff < 0 else "="
    return html.escape(f"{arrow} {cells.change(diff, row.get('change_pct'), unit, lang)} {vs}")


class KeyFigureTiles(w.HTML):
    """Key figures, each with its change against the comparison period."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("wb-tiles-box")

    def show(self, table: pl.DataFrame, ids: tuple[str, ...], view: views.View, k: int | None) -> None:
        cat, lang = load_catalogue(), view.lang
        totals = {r["indicator"]: r for r in table.iter_rows(named=True)}
        tiles = []
        for ind_id in ids:
            ind = cat[ind_id]
            row = totals.get(ind_id)
            value = _figure(row, ind.unit, lang, k)
            raw = "" if row is None or row["value"] is None else f" data-value='{row['value']}'"
            change = _change(row, ind.unit, lang, view.comparison) if row else text("dashboard.not_available", lang)
            cls = "wb-tile" + ("" if row else " wb-tile-na")
            tiles.append(
                f"<div class='{cls}' data-indicator='{ind_id}'{raw} title='{html.escape(ind.definition[lang])}'>"
                f"<div class='wb-tile-label'>{html.escape(ind.label[lang])}</div>"
                f"<div class='wb-tile-value'>{value}</div><div class='wb-tile-change'>{change}</div></div>")
        self.value = f"<div class='wb-tiles'>{''.join(tiles)}</div>"
