"""The filter panel: period, comparison, places and (internal audience) persons."""

from __future__ import annotations

import ipywidgets as w

from workbench import selection as filters
from workbench.dashboards import views
from workbench.dashboards.widgets.choosers import CodeChooser
from workbench.dashboards.widgets.parts import _html, _row
from workbench.exceptions import WorkbenchError
from workbench.periods import parse_period, period_containing
from workbench.present import labels
from workbench.present.texts import text


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
        self.selects: dict[str, CodeChooser] = {}
        ex, known = session.extract, session.choices
        rows = []
        if session.filters_allowed:
            for name in ("sites", "centres"):
                if name in page.places and getattr(known, name):
                    dim = "site" if name == "sites" else "centre"
                    self.selects[name] = CodeChooser(
                        [(labels.code_label(dim, c, lang, ex.meta), c) for c in getattr(known, name)], t(name), lang)
            persons = []
            for name in filters.ATTRIBUTES:
                codes = getattr(known, name)
                options = [(labels.code_label(name, c, lang), c) for c in codes]
                if name == "nationality":
                    options.sort(key=lambda o: (o[1] == "unknown", o[0]))
                self.selects[name] = CodeChooser(options, t(name), lang)
                persons.append(self.selects[name])
            places = [s for n, s in self.selects.items() if n in ("sites", "centres")]
            more = w.Accordion(children=[w.VBox([_html(f"<span class='wb-hint'>{t('select_hint')}</span>"),
                                                 _row(persons)])],
                               titles=(t("more_filters"),), selected_index=None)
            self.more = more
            rows = [_row(places), more] if places else [more]
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
