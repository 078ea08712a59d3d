"""Dashboard and exploration widgets (ipywidgets), for Voilà and JupyterLab.

The widgets are a thin shell over :mod:`workbench.dashboards.views`: a control changes the
:class:`~workbench.dashboards.views.View`, the :class:`~workbench.dashboards.views.Session` computes its
figures with the indicator engine (the functions reports and the command line use),
and the widgets show them:

- :class:`FilterPanel`: period (type, calendar period or date range), comparison
  period, sites or centres, and the persons' sex, age group, nationality and legal
  status (internal audience only);
- :class:`IndicatorPicker` (with the indicator's definition) and :class:`BreakdownPicker`;
- :class:`KeyFigureTiles`: key figures with their change against the comparison period;
- :class:`ChartArea`: the indicator's trend and its breakdown, as SVG rendered by
  :func:`workbench.present.charts.to_svg` (no JavaScript, no network);
- every figure, mark ("< k", "[c]", "[p]", "–") and change is written by
  :mod:`workbench.present.cells`, as in reports;
- :class:`TableView` and :class:`Downloads`: the table shown, and the same table as CSV
  and Excel (:mod:`workbench.present.exports`, checked against the threshold).

:class:`Dashboard` puts them together for a page of ``dashboards.yaml``; in JupyterLab::

    from workbench import extract

    from workbench.dashboards import widgets
    widgets.explorer(extract.load("demo"))

Every figure shown comes from a table computed with the session's audience, so with a
partner or public audience every tile, table, chart and download is suppressed.
"""

from __future__ import annotations

import base64
import contextlib
import html
import logging
import re
import sys

import ipywidgets as w
import polars as pl

from workbench.present import charts

from workbench.present import exports

from workbench import selection as filters

from workbench.present import cells, labels
from workbench.present.texts import text

from workbench.present import tables

from workbench.dashboards import views
from workbench.indicators.catalogue import load_catalogue
from workbench.exceptions import WorkbenchError
from workbench.periods import parse_period, period_containing

log = logging.getLogger(__name__)


def _skip_slow_iri_grammar() -> None:
    """Spare every kernel 3 to 6 s: jsonschema (imported by altair) imports ``rfc3987_syntax`` when
    it is installed (an extra of jupyter-events), which builds a parser at import; it serves only
    the "iri" format check, which altair's schema validation never runs."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


_skip_slow_iri_grammar()

STYLE = """
<style>
.wb-dashboard { font-family: "DejaVu Sans", var(--jp-ui-font-family), sans-serif; color: #1a202c;
  max-width: 1180px; }
.wb-dashboard .widget-html-content { line-height: 1.35; }
.wb-header h1 { font-size: 1.5em; margin: 0 0 2px 0; font-weight: 600; }
.wb-header .wb-sub { color: #4a5568; font-size: 0.95em; }
.wb-badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 0.85em;
  background: #ebf8ff; color: #2c5282; margin-top: 4px; }
.wb-badge.wb-suppressed { background: #fefcbf; color: #744210; }
.wb-notice { background: #fffaf0; border-left: 4px solid #dd6b20; padding: 6px 10px; margin: 6px 0;
  font-size: 0.9em; }
.wb-error { background: #fff5f5; border-left: 4px solid #c53030; padding: 6px 10px; margin: 6px 0; }
.wb-tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 4px 0; }
.wb-tile { flex: 1 1 160px; max-width: 190px; border: 1px solid #e2e8f0; border-radius: 6px;
  padding: 8px 10px; background: #fff; }
.wb-tile-label { font-size: 0.82em; color: #4a5568; min-height: 2.4em; line-height: 1.2em; }
.wb-tile-value { font-size: 1.7em; font-weight: 600; color: #2b6cb0; margin: 2px 0; }
.wb-tile-change { font-size: 0.78em; color: #4a5568; }
.wb-tile-na .wb-tile-value { color: #a0aec0; font-size: 1.1em; }
.wb-section { font-size: 1.1em; font-weight: 600; margin: 14px 0 4px 0; border-bottom: 1px solid #e2e8f0;
  padding-bottom: 2px; }
.wb-scope { color: #4a5568; font-size: 0.9em; margin: 2px 0 6px 0; }
.wb-hint { color: #718096; font-size: 0.85em; }
.wb-definition { color: #4a5568; font-size: 0.88em; max-width: 900px; }
.wb-chart { min-width: 300px; }
.wb-chart svg { max-width: 100%; height: auto; }
.wb-downloads a { display: inline-block; margin: 6px 8px 6px 0; padding: 4px 12px; border: 1px solid #2b6cb0;
  border-radius: 4px; color: #2b6cb0; text-decoration: none; font-size: 0.9em; }
.wb-downloads a:hover { background: #ebf8ff; }
.wb-link { font-size: 0.85em; }
.wb-row { gap: 12px 24px; align-items: flex-start; }
.wb-filters .widget-label { min-width: 0; }
</style>
"""


def _html(value: str = "", cls: str = "") -> w.HTML:
    box = w.HTML(value=value)
    if cls:
        box.add_class(cls)
    return box


def _close(widget: w.Widget) -> None:
    """Close a widget and everything in it (their models leave the kernel and the page)."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _row(children) -> w.HBox:
    box = w.HBox(children, layout=w.Layout(flex_flow="row wrap"))
    box.add_class("wb-row")
    return box


# --------------------------------------------------------------------------- filter panel

class FilterPanel(w.VBox):
    """Period, comparison and (internal audience) filters on places and persons."""

    def __init__(self, session: views.Session, page: views.Page, view: views.View) -> None:
        self.session, self.page = session, page
        lang = view.lang
        t = lambda key: text(f"dashboard.{key}", lang)  # noqa: E731
        style = {"description_width": "initial"}
        self.kind = w.Dropdown(options=[(t(f"kind_{k}"), k) for k in self.session.kinds], value=view.period.kind,
                               description=t("period_kind"), style=style, layout=w.Layout(width="220px"))
        self.period = w.Dropdown(description=t("period"), style=style, layout=w.Layout(width="220px"))
        self.start = w.DatePicker(description=t("start"), style=style, layout=w.Layout(width="200px"))
        self.end = w.DatePicker(description=t("end"), style=style, layout=w.Layout(width="200px"))
        self.compare = w.Dropdown(options=[(t(f"compare_{c}"), c) for c in views.COMPARISONS],
                                  value=view.compare, description=t("compare"), style=style,
                                  layout=w.Layout(width="300px"))
        self.lang = lang
        self.selects: dict[str, w.SelectMultiple] = {}
        ex, known = session.extract, session.choices
        rows = []
        if session.filters_allowed:
            for name in ("sites", "centres"):
                if name in page.places and getattr(known, name):
                    dim = "site" if name == "sites" else "centre"
                    self.selects[name] = w.SelectMultiple(
                        options=[(labels.code_label(dim, c, lang, ex.meta), c) for c in getattr(known, name)],
                        description=t(name), rows=min(5, len(getattr(known, name))), style=style,
                        layout=w.Layout(width="330px"))
            persons = []
            for name in filters.ATTRIBUTES:
                codes = getattr(known, name)
                options = [(labels.code_label(name, c, lang), c) for c in codes]
                if name == "nationality":
                    options.sort(key=lambda o: (o[1] == "unknown", o[0]))
                self.selects[name] = w.SelectMultiple(options=options, description=t(name),
                                                      rows=min(5, len(options)), style=style,
                                                      layout=w.Layout(width="340px"))
                persons.append(self.selects[name])
            places = [s for n, s in self.selects.items() if n in ("sites", "centres")]
            more = w.Accordion(children=[w.VBox([w.HBox(persons[:2]), w.HBox(persons[2:]),
                                                 _html(f"<span class='wb-hint'>{t('select_hint')}</span>")])],
                               titles=(t("more_filters"),), selected_index=None)
            self.more = more
            rows = [w.HBox(places), more] if places else [more]
        for name, box in (("period-kind", self.kind), ("period", self.period), ("start", self.start),
                          ("end", self.end), ("compare", self.compare), *self.selects.items()):
            box.add_class(f"wb-filter-{name}")  # stable hooks for the browser tests
        self.dates = w.HBox([self.start, self.end])
        top = w.HBox([self.kind, self.period, self.dates, self.compare], layout=w.Layout(flex_flow="row wrap"))
        super().__init__([top, *rows])
        self.add_class("wb-filters")
        self.show(view)

    def controls(self) -> list[w.Widget]:
        return [self.kind, self.period, self.start, self.end, self.compare, *self.selects.values()]

    def _period_options(self, kind: str) -> list[tuple[str, str]]:
        return [(p.label(self.lang), p.code) for p in self.session.periods(kind)]

    def show(self, view: views.View) -> None:
        """Set the controls to ``view`` (callers silence their observers)."""
        p = view.period
        self.kind.value = p.kind
        if p.kind == "range":
            self.period.layout.display = "none"
            self.dates.layout.display = None
            self.start.value, self.end.value = p.start, p.end
        else:
            self.period.layout.display = None
            self.dates.layout.display = "none"
            options = self._period_options(p.kind)
            if self.period.options != tuple(options):
                self.period.options = options
            self.period.value = p.code
        self.compare.value = view.compare
        for name, box in self.selects.items():
            box.value = getattr(view.selection, name)
        if self.selects and any(getattr(view.selection, n) for n in filters.ATTRIBUTES):
            self.more.selected_index = 0

    def read(self, view: views.View, changed: str | None = None) -> views.View:
        """The view the controls ask for (not yet checked)."""
        from dataclasses import replace

        kind = self.kind.value
        if changed == "kind":
            if kind == "range":
                period = parse_period(f"{view.period.start}..{view.period.end}")
            else:
                offered = self.session.periods(kind)
                within = period_containing(view.period.end, kind)
                period = within if within in offered else offered[0]
        elif kind == "range":
            start, end = self.start.value, self.end.value
            if start is None or end is None:
                raise WorkbenchError(text("dashboard.range_incomplete", self.lang))
            period = parse_period(f"{start}..{end}")
        else:
            period = parse_period(self.period.value)
        selection = filters.Selection(**{n: tuple(box.value) for n, box in self.selects.items()})
        return replace(view, period=period, compare=self.compare.value, selection=selection)


# --------------------------------------------------------------------------- pickers

class IndicatorPicker(w.VBox):
    """A drop-down of the page's indicators and the chosen one's definition."""

    def __init__(self, session: views.Session, page: views.Page, view: views.View) -> None:
        cat, lang = load_catalogue(), view.lang
        families = cat.families
        self.lang = lang
        self.dropdown = w.Dropdown(
            options=[(f"{families[cat[i].family][lang]} · {cat[i].label[lang]}", i)
                     for i in session.indicator_choices(page)],
            description=text("dashboard.indicator", lang), style={"description_width": "initial"},
            layout=w.Layout(width="520px"))
        self.dropdown.add_class("wb-indicator")
        self.definition = _html(cls="wb-definition")
        super().__init__([self.dropdown, self.definition])
        self.show(view)

    def show(self, view: views.View) -> None:
        self.dropdown.value = view.indicator
        ind = load_catalogue()[view.indicator]
        note = f" {ind.notes[view.lang]}" if ind.notes.get(view.lang) else ""
        self.definition.value = f"<div class='wb-definition'>{html.escape(ind.definition[view.lang] + note)}</div>"


class BreakdownPicker(w.Dropdown):
    """A drop-down of the breakdowns the chosen indicator allows."""

    def __init__(self, view: views.View) -> None:
        super().__init__(description=text("dashboard.breakdown", view.lang), style={"description_width": "initial"},
                         layout=w.Layout(width="320px"))
        self.add_class("wb-breakdown")
        self.show(view)

    def show(self, view: views.View) -> None:
        options = [(labels.dimension_label(d, view.lang), d) for d in views.breakdowns_of(view.indicator)]
        if self.options != tuple(options):
            self.options = options
        self.value = view.breakdown


# --------------------------------------------------------------------------- outputs

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
        ind, lang, k = view.indicator, view.lang, series.k
        rows = charts.trend_data(series.frame, ind, lang, k=k)
        title = f"{load_catalogue()[ind].label[lang]} — {text('dashboard.trend', lang).lower()}"
        spec = self._spec(("trend", ind, lang, rows.height), rows,
                          lambda: charts.trend_chart(series.frame, ind, lang, k=k, title=title))
        self.trend.value = self._html(spec, lang, f"{ind}/trend")


class TableView(w.HTML):
    """The table shown: the chosen indicator's total and breakdown (great-tables)."""

    def show(self, table: pl.DataFrame, view: views.View, meta, k: int | None) -> None:
        gt = tables.breakdown_table(table, view.indicator, view.breakdown, view.lang, meta, k=k)
        self.value = tables.to_html(gt)


def _safe_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") for p in parts if p)


def download_rows(table, view: views.View) -> pl.DataFrame:
    """The rows of the table shown, as exported (with the filters in force, when any)."""
    rows = table.select("indicator", "period", view.breakdown, "value", "numerator", "denominator", "flag")
    active = view.selection.active()
    if active:
        described = "; ".join(f"{name}={'|'.join(codes)}" for name, codes in active.items())
        rows = rows.with_columns(pl.lit(described).alias("filters"))
    return rows


class Downloads(w.HTML):
    """Links that download the table shown as CSV and Excel (checked against the threshold)."""

    def show(self, table, view: views.View, k: int | None) -> None:
        rows = download_rows(table, view)
        name = _safe_name("workbench", view.indicator, view.period.code, view.breakdown)
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


# --------------------------------------------------------------------------- the dashboard

class Dashboard(w.VBox):
    """A dashboard page: header, filters, tiles, summary, chart, table and downloads.

    Parameters
    ----------
    session
        The extract and audience (:class:`workbench.dashboards.views.Session`).
    page
        A page of ``dashboards.yaml`` (:func:`workbench.dashboards.views.page`).
    view
        The view to show first (default: the page's default view).
    notices
        Query-string values that were not used, shown at the top.
    link
        Show a "link to this view" (Voilà); off in JupyterLab.
    """

    def __init__(self, session: views.Session, page: views.Page, view: views.View | None = None,
                 notices=(), link: bool = False) -> None:
        self.session, self.page, self.link = session, page, link
        view = session.check(view, page) if view is not None else session.default_view(page)
        self.view = view
        self._quiet = False
        super().__init__()
        self.add_class("wb-dashboard")
        self._build(view)
        self._set_notices(notices)
        self.render()

    def _build(self, view: views.View) -> None:
        """Create the controls and outputs in the view's language."""
        session, page, lang = self.session, self.page, view.lang
        self.header = _html(cls="wb-header")
        self.notices = _html()
        self.status = _html()
        self.filters = FilterPanel(session, page, view)
        self.tiles = KeyFigureTiles()
        self.summary = _html(cls="wb-summary")
        self.picker = IndicatorPicker(session, page, view)
        self.breakdown_picker = BreakdownPicker(view)
        self.scope = _html()
        self.charts = ChartArea()
        self.table = TableView()
        self.table.add_class("wb-table-view")
        self.downloads = Downloads()
        self.downloads.add_class("wb-downloads-box")
        self.link_box = _html(cls="wb-link")
        self._shown: dict[str, object] = {}  # what each part shows now (its inputs)
        section = lambda key, **kw: _html(f"<div class='wb-section'>{text(f'dashboard.{key}', lang, **kw)}</div>")  # noqa
        dim = labels.dimension_label(page.summary_dimension, lang).lower()
        self.children = [
            _html(STYLE), self.header, self.notices, self.filters, self.scope, self.status, self.tiles,
            section("summary_title", dimension=dim), self.summary,
            _row([self.picker, self.breakdown_picker]),
            self.charts, self.table, self.downloads, self.link_box,
        ]
        for control in self.filters.controls():
            control.observe(self._on_filters, names="value")
        self.picker.dropdown.observe(self._on_indicator, names="value")
        self.breakdown_picker.observe(self._on_breakdown, names="value")

    # -- state

    @contextlib.contextmanager
    def _silenced(self):
        self._quiet, before = True, self._quiet
        try:
            yield
        finally:
            self._quiet = before

    def set_view(self, view: views.View, notices=()) -> None:
        """Show ``view`` (checked first); ``notices`` replace the ones shown."""
        view = self.session.check(view, self.page)
        if view.lang != self.view.lang:  # the controls' words change: build them again
            old = self.children
            self.view = view
            self._build(view)
            for widget in old:
                _close(widget)
        elif view == self.view:
            self._set_notices(notices)
            return
        else:
            self.view = view
            self._sync_controls()
        self._set_notices(notices)
        self.render()

    def _sync_controls(self) -> None:
        with self._silenced():
            self.filters.show(self.view)
            self.picker.show(self.view)
            self.breakdown_picker.show(self.view)

    def _set_notices(self, notices) -> None:
        self.notices.value = "".join(f"<div class='wb-notice'>{n.html(self.view.lang)}</div>" for n in notices)

    def _error(self, exc: Exception, key: str = "error") -> None:
        """Say what went wrong at the top of the page (our own messages only; the log gets the rest)."""
        lang = self.view.lang
        detail = f" — {html.escape(str(exc))}" if isinstance(exc, WorkbenchError) else ""
        if not isinstance(exc, WorkbenchError):
            log.exception("dashboard update failed")
        self.status.value = f"<div class='wb-error'>{text(f'dashboard.{key}', lang)}{detail}</div>"

    def _change(self, make_view) -> None:
        if self._quiet:
            return
        try:
            view = self.session.check(make_view(), self.page)
        except Exception as exc:  # a bad value: say so, keep showing the last good view
            self._error(exc, "notice_invalid")
            self._sync_controls()
            return
        self.status.value = ""
        if view != self.view:
            self.view = view
            self._sync_controls()
            self.render()

    def _on_filters(self, change) -> None:
        changed = "kind" if change["owner"] is self.filters.kind else None
        self._change(lambda: self.filters.read(self.view, changed))

    def _on_indicator(self, change) -> None:
        from dataclasses import replace

        def make():
            indicator = change["new"]
            dims = views.breakdowns_of(indicator)
            keep = self.view.breakdown if self.view.breakdown in dims else \
                self.page.breakdown if self.page.breakdown in dims else dims[0]
            return replace(self.view, indicator=indicator, breakdown=keep)

        self._change(make)

    def _on_breakdown(self, change) -> None:
        from dataclasses import replace

        self._change(lambda: replace(self.view, breakdown=change["new"]))

    # -- output

    def _header(self) -> str:
        ex, view, lang = self.session.extract, self.view, self.view.lang
        org = html.escape(ex.meta.organisation) if ex.meta.organisation else ""
        aud = self.session.audience
        key = ("audience_public" if aud.name == "public" else "audience_partner") if aud.suppresses \
            else "audience_internal"
        badge = text(f"dashboard.{key}", lang, k=aud.k)
        cls = "wb-badge wb-suppressed" if aud.suppresses else "wb-badge"
        until = text("dashboard.data_until", lang, date=labels.format_date(self.session.last_day, lang))
        return (f"<h1>{html.escape(self.page.title[lang])}</h1>"
                f"<div class='wb-sub'>{org}{' · ' if org else ''}{until}</div>"
                f"<span class='{cls}' data-audience='{aud.name}'>{html.escape(badge)}</span>")

    def _scope(self) -> str:
        view, lang, ex = self.view, self.view.lang, self.session.extract
        parts = []
        for name, codes in view.selection.active().items():
            dim = {"sites": "site", "centres": "centre"}.get(name, name)
            shown = ", ".join(labels.code_label(dim, c, lang, ex.meta) for c in codes)
            parts.append(f"{text(f'dashboard.{name}', lang)} : {shown}" if lang == "fr" else f"{text(f'dashboard.{name}', lang)}: {shown}")
        what = "; ".join(parts) if parts else text("dashboard.filters_none", lang)
        comparison = view.comparison
        vs = f" — {text('dashboard.vs', lang, period=comparison.label(lang))}" if comparison else ""
        return f"<div class='wb-scope' data-period='{view.period.code}'><b>{html.escape(view.period.label(lang))}</b>{html.escape(vs)} · " \
               f"{html.escape(what)}</div>"

    def render(self) -> None:
        """Compute and show the current view: the chart first (it is what a viewer watches), then the
        rest; a part whose inputs did not change is left as it is."""
        s, view, meta = self.session, self.view, self.session.extract.meta
        who = (view.selection, view.age_year, view.lang)  # the records and the words
        try:
            self.status.value = ""
            self._part("header", view.lang, lambda: setattr(self.header, "value", self._header()))
            self._part("scope", view, lambda: setattr(self.scope, "value", self._scope()))
            shown = (*who, view.period, view.indicator, view.breakdown)
            if self._shown.get("breakdown") != shown:
                breakdown = s.breakdown(view)
                self.charts.show_breakdown(breakdown.frame, view, meta, breakdown.k)
            self._part("tiles", (*who, view.period, view.compare), lambda: self.tiles.show(
                s.key_figures(view, self.page.tiles).frame, self.page.tiles, view, s.k))
            self._part("trend", (*who, tuple(s.trend_periods(view)), view.indicator),
                       lambda: self.charts.show_trend(s.trend(view), view))
            if self._shown.get("breakdown") != shown:
                self.table.show(breakdown.frame, view, meta, breakdown.k)
                self.downloads.show(breakdown.frame, view, breakdown.k)
                self._shown["breakdown"] = shown
            self._part("summary", (*who, view.period), self._show_summary)
            if self.link:
                self._part("link", view, lambda: setattr(self.link_box, "value", (
                    f"<a class='wb-view-link' href='?{html.escape(views.to_query(view))}'>"
                    f"{text('dashboard.link', view.lang)}</a>")))
        except Exception as exc:
            self._shown.clear()  # show everything again next time
            self._error(exc)

    def _part(self, name: str, key, show) -> None:
        if self._shown.get(name) != key:
            show()
            self._shown[name] = key

    def _show_summary(self) -> None:
        s, view = self.session, self.view
        ids = [i for i in self.page.summary_indicators if i not in s.unavailable]
        summary = s.summary(view, self.page)
        self.summary.value = tables.to_html(tables.matrix_table(summary.frame, ids, self.page.summary_dimension,
                                                                view.lang, s.extract.meta, k=summary.k))


def explorer(extract, audience: str = "internal", threshold: int | None = None, lang: str = "fr",
             page: str = "explore") -> Dashboard:
    """The exploration widgets for JupyterLab, on a loaded extract.

    >>> from workbench import extract, widgets          # doctest: +SKIP
    >>> widgets.explorer(extract.load("demo"))           # doctest: +SKIP
    """
    session = views.Session(extract, audience=audience, threshold=threshold, lang=lang)
    return Dashboard(session, views.page(page))


__all__ = ["BreakdownPicker", "ChartArea", "Dashboard", "Downloads", "FilterPanel", "IndicatorPicker",
           "KeyFigureTiles", "TableView", "download_rows", "explorer"]
