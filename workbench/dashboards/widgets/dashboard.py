"""A dashboard page: header, filters, tiles, summary, chart, table and downloads, kept in step with a view."""

from __future__ import annotations

import contextlib
import html
import logging

import ipywidgets as w

from workbench.dashboards import views
from workbench.dashboards.widgets.downloads import Downloads
from workbench.dashboards.widgets.figures import ChartArea, TableView
from workbench.dashboards.widgets.filters import FilterPanel
from workbench.dashboards.widgets.parts import STYLE, _close, _html, _row
from workbench.dashboards.widgets.pickers import BreakdownPicker, CrossPicker, IndicatorPicker
from workbench.dashboards.widgets.tiles import KeyFigureTiles
from workbench.exceptions import WorkbenchError
from workbench.present import labels, tables
from workbench.present.texts import is_rtl, text

log = logging.getLogger(__name__)


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
        for cls in ("wb-rtl", *(f"wb-lang-{la}" for la in views.LANGUAGES)):
            self.remove_class(cls)
        self.add_class(f"wb-lang-{lang}")
        if is_rtl(lang):  # the page reads right to left (the style sets the document's direction)
            self.add_class("wb-rtl")
        self.header = _html(cls="wb-header")
        self.notices = _html()
        self.status = _html()
        self.filters = FilterPanel(session, page, view)
        self.tiles = KeyFigureTiles()
        self.summary = _html(cls="wb-summary")
        self.picker = IndicatorPicker(session, page, view)
        self.breakdown_picker = BreakdownPicker(view, session)
        self.cross_picker = CrossPicker(view, session)
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
            _row([self.picker, self.breakdown_picker, self.cross_picker]),
            self.charts, self.table, self.downloads, self.link_box,
        ]
        for control in self.filters.controls():
            control.observe(self._on_filters, names="value")
        self.picker.dropdown.observe(self._on_indicator, names="value")
        self.breakdown_picker.observe(self._on_breakdown, names="value")
        self.cross_picker.observe(self._on_cross, names="value")

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
            self.cross_picker.show(self.view)

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
            self._error(exc, "selection_refused")
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
            dims = self.session.breakdowns_of(indicator)
            keep = self.view.breakdown if self.view.breakdown in dims else \
                self.page.breakdown if self.page.breakdown in dims else dims[0]
            cross = self.view.cross if self.view.cross in dims and self.view.cross != keep else None
            return replace(self.view, indicator=indicator, breakdown=keep, cross=cross)

        self._change(make)

    def _on_breakdown(self, change) -> None:
        from dataclasses import replace

        self._change(lambda: replace(self.view, breakdown=change["new"],
                                     cross=None if self.view.cross == change["new"] else self.view.cross))

    def _on_cross(self, change) -> None:
        from dataclasses import replace

        self._change(lambda: replace(self.view, cross=change["new"]))

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
        about = html.escape(self.page.about.get(lang, ""))
        scope = self.session.scope(self.page).active()
        if scope:
            places = "; ".join(", ".join(labels.code_label("site" if n == "sites" else "centre", c, lang, ex.meta)
                                         for c in codes) for n, codes in scope.items())
            about += f" {html.escape(text('dashboard.scope_page', lang, places=places))}"
        return (f"<h1>{html.escape(self.page.title[lang])}</h1>"
                f"<div class='wb-sub'>{org}{' · ' if org else ''}{until}</div>"
                + (f"<p class='wb-about'>{about.strip()}</p>" if about.strip() else "") +
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
            shown = (*who, view.period, view.indicator, view.breakdown, view.cross)
            if self._shown.get("breakdown") != shown:
                breakdown = s.breakdown(view)
                self.charts.show_breakdown(breakdown, view, meta, breakdown.k)
            self._part("tiles", (*who, view.period, view.compare), lambda: self.tiles.show(
                s.key_figures(view, self.page.tiles).frame, self.page.tiles, view, s.k))
            self._part("trend", (*who, tuple(s.trend_periods(view)), view.indicator),
                       lambda: self.charts.show_trend(s.trend(view), view))
            if self._shown.get("breakdown") != shown:
                self.table.show(breakdown, view, meta, breakdown.k)
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
        dim = self.page.summary_dimension
        note = ""
        if odd := views.registering_without_contacts(summary.frame, dim):
            left, right = ("« ", " »") if view.lang == "fr" else ("“", "”")
            teams = ", ".join(f"{left}{labels.code_label(dim, c, view.lang, s.extract.meta)}{right}" for c in odd)
            note = f"<p class='wb-note' role='note'>{html.escape(text('dashboard.no_contact_teams', view.lang, teams=teams))}</p>"
        self.summary.value = tables.to_html(tables.matrix_table(summary.frame, ids, dim, view.lang, s.extract.meta,
                                                                k=summary.k,
                                                                grouped=summary.method in tables.GROUPING)) + note
