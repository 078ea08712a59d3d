"""The chosen indicator as charts (trend and breakdown, SVG) and as a table (great-tables)."""

from __future__ import annotations

import ipywidgets as w
import polars as pl

from workbench.dashboards import views
from workbench.dashboards.widgets.parts import _html
from workbench.present import charts, labels, tables
from workbench.present.texts import text


def screen_spec(chart) -> dict:
    """A chart of :mod:`workbench.present.charts` made for the screen rather than for print.

    Reports name their font (DejaVu Sans) so that their SVG is the same on every machine;
    vl-convert measures every text of a named font (about 4 ms each: a chart of 40
    nationalities takes 200 ms). A dashboard's chart is drawn anew at every click, so it
    uses the browser's sans-serif, which vl-convert estimates at once, with margins that
    absorb the difference between the estimate and the font the browser draws with.
    The spec is charts.py's own, built from a checked table: its schema check is skipped.
    """
    spec = chart.to_dict(validate=False)
    config = spec.setdefault("config", {})
    for section in (config, *[v for v in config.values() if isinstance(v, dict)]):
        for key in ("font", "labelFont", "titleFont"):
            if key in section:
                section[key] = "sans-serif"
    config.setdefault("axis", {})["labelSeparation"] = 8
    spec["padding"] = {"left": 30, "right": 18, "top": 5, "bottom": 5}
    return spec


class ChartArea(w.HBox):
    """The chosen indicator's trend and breakdown, as SVG.

    Building an altair chart takes about 30 ms (altair copies its schema objects); a chart
    of the same shape (indicator, dimension, language, number of rows) differs from the
    last one only by its rows. So the first chart of a shape is built by
    :mod:`workbench.present.charts`, and the next ones reuse its spec with the new rows, the very
    rows ``charts.breakdown_data`` / ``trend_data`` give (which check the threshold).
    """

    def __init__(self) -> None:
        self.trend = _html(cls="wb-chart")
        self.breakdown = _html(cls="wb-chart")
        self.trend.add_class("wb-chart-trend")
        self.breakdown.add_class("wb-chart-breakdown")
        self._specs: dict[tuple, dict] = {}
        super().__init__([self.trend, self.breakdown], layout=w.Layout(flex_flow="row wrap"))
        self.add_class("wb-row")

    def _spec(self, key: tuple, rows: pl.DataFrame, build) -> dict:
        template = self._specs.get(key)
        if template is None:
            spec = screen_spec(build())
            if len(spec.get("datasets", {})) == 1:  # the shape charts.py gives: one table of rows
                self._specs[key] = spec
            return spec
        (name,) = template["datasets"]
        return {**template, "datasets": {name: rows.to_dicts()}}

    @staticmethod
    def _html(spec: dict, lang: str, key: str) -> str:
        return f"<div class='wb-svg' data-chart='{key}'>{charts.to_svg(spec, lang)}</div>"

    def show_breakdown(self, table: pl.DataFrame, view: views.View, meta, k: int | None) -> None:
        ind, dim, lang = view.indicator, view.breakdown, view.lang
        rows = charts.breakdown_data(table, ind, dim, lang, meta, k=k)
        spec = self._spec(("breakdown", ind, dim, lang, rows.height), rows,
                          lambda: charts.breakdown_chart(table, ind, dim, lang, meta, k=k))
        self.breakdown.value = self._html(spec, lang, f"{ind}/{dim}")

    def show_trend(self, series, view: views.View) -> None:
        """``series``: the :class:`~workbench.disclosure.IndicatorTable` of the trend periods."""
        ind, lang, k, cat = view.indicator, view.lang, series.k, labels.catalogue_of(series)
        rows = charts.trend_data(series.frame, ind, lang, k=k, catalogue=cat)
        title = f"{cat[ind].label[lang]} — {text('dashboard.trend', lang).lower()}"
        spec = self._spec(("trend", ind, lang, rows.height), rows,
                          lambda: charts.trend_chart(series.frame, ind, lang, k=k, title=title, catalogue=cat))
        self.trend.value = self._html(spec, lang, f"{ind}/trend")


class TableView(w.HTML):
    """The table shown: the chosen indicator's total and breakdown (great-tables)."""

    def show(self, table, view: views.View, meta, k: int | None) -> None:
        """``table``: the view's :class:`~workbench.disclosure.IndicatorTable` (a cross-table with a cross)."""
        from workbench.present.crosses import cross_table

        if view.cross:
            gt = cross_table(table, view.indicator, view.breakdown, view.cross, view.lang, meta, k=k)
        else:
            gt = tables.breakdown_table(table, view.indicator, view.breakdown, view.lang, meta, k=k)
        self.value = tables.to_html(gt)
