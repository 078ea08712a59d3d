"""The indicator picker (with the chosen indicator's definition) and the breakdown picker."""

from __future__ import annotations

import html

import ipywidgets as w

from workbench.dashboards import views
from workbench.dashboards.widgets.parts import _html
from workbench.indicators.catalogue import load_catalogue
from workbench.present import labels
from workbench.present.texts import text


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
