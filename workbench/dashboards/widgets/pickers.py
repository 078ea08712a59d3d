"""The indicator picker (with the chosen indicator's definition) and the breakdown picker."""

from __future__ import annotations

import html

import ipywidgets as w

from workbench.dashboards import views
from workbench.dashboards.widgets.parts import _html
from workbench.present import labels
from workbench.present.texts import text


class IndicatorPicker(w.VBox):
    """A drop-down of the page's indicators and the chosen one's definition."""

    def __init__(self, session: views.Session, page: views.Page, view: views.View) -> None:
        cat, lang = session.catalogue, view.lang
        families = cat.families
        self.lang, self.catalogue = lang, cat
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
        ind = self.catalogue[view.indicator]
        note = f" {ind.notes[view.lang]}" if ind.notes.get(view.lang) else ""
        self.definition.value = f"<div class='wb-definition'>{html.escape(ind.definition[view.lang] + note)}</div>"


class BreakdownPicker(w.Dropdown):
    """A drop-down of the breakdowns the chosen indicator allows."""

    def __init__(self, view: views.View, session: views.Session | None = None) -> None:
        super().__init__(description=text("dashboard.breakdown", view.lang), style={"description_width": "initial"},
                         layout=w.Layout(width="320px"))
        self.add_class("wb-breakdown")
        self.catalogue = session.catalogue if session is not None else None
        self.show(view)

    def _options(self, view: views.View) -> list[tuple[str, str | None]]:
        return [(labels.dimension_label(d, view.lang, self.catalogue), d)
                for d in views.breakdowns_of(view.indicator, self.catalogue)]

    def show(self, view: views.View) -> None:
        options = self._options(view)
        if self.options != tuple(options):
            self.options = options
        self.value = view.breakdown


class CrossPicker(BreakdownPicker):
    """A second breakdown ("× …"): the table becomes a cross-table of the two."""

    def __init__(self, view: views.View, session: views.Session | None = None) -> None:
        super().__init__(view, session)
        self.description = "×"
        self.layout.width = "260px"
        self.remove_class("wb-breakdown")
        self.add_class("wb-cross")

    def _options(self, view: views.View) -> list[tuple[str, str | None]]:
        return [("—", None)] + [o for o in super()._options(view) if o[1] != view.breakdown]

    def show(self, view: views.View) -> None:
        options = self._options(view)
        if self.options != tuple(options):
            self.options = options
        self.value = view.cross
