"""Choosing codes (sites, centres, person attributes) by ticking boxes: no modifier key needed.

A :class:`CodeChooser` shows one checkbox per code, "all" and "none" buttons, and a search
field when the list is long. Its ``value`` is the codes to keep, as a
:class:`~workbench.selection.Selection` field holds them: every box ticked means no filter
(``()``); no box ticked keeps the last value and asks for at least one (a figure of nothing
is not a question anyone asks).
"""

from __future__ import annotations

import html

import ipywidgets as w
import traitlets

from workbench.present.texts import text

#: From this many codes on, a search field narrows the boxes shown.
SEARCH_FROM = 8


class CodeChooser(w.VBox):
    """Tick the codes to keep; all ticked = all (no filter).

    Parameters
    ----------
    options
        ``(label, code)`` pairs, in display order.
    description
        What is chosen (shown above the boxes, and the group's accessible name).
    lang
        The language of the buttons and hints.
    """

    value = traitlets.Tuple()

    def __init__(self, options, description: str, lang: str) -> None:
        self.options = tuple(options)
        self.codes = tuple(code for _, code in self.options)
        self.lang = lang
        self._updating = False
        t = lambda key, **kw: text(f"dashboard.{key}", lang, **kw)  # noqa: E731
        self.title = w.HTML(f"<span class='wb-chooser-title'>{html.escape(description)}</span>")
        self.boxes = {}
        for label, code in self.options:
            box = w.Checkbox(value=True, description=label, indent=False, layout=w.Layout(width="auto"))
            box.add_class("wb-choice")
            box.observe(self._on_box, names="value")
            self.boxes[code] = box
        self.all = w.Button(description=t("choose_all"), tooltip=t("choose_all_tip", what=description.lower()),
                            layout=w.Layout(width="auto"))
        self.none = w.Button(description=t("choose_none"), tooltip=t("choose_none_tip", what=description.lower()),
                             layout=w.Layout(width="auto"))
        self.all.add_class("wb-choose-all")
        self.none.add_class("wb-choose-none")
        self.all.on_click(lambda _: self._tick(True))
        self.none.on_click(lambda _: self._tick(False))
        self.state = w.HTML()
        self.state.add_class("wb-chooser-state")
        self.search = None
        header = [self.title, self.all, self.none]
        if len(self.options) >= SEARCH_FROM:
            self.search = w.Text(placeholder=t("search"), layout=w.Layout(width="150px"))
            self.search.add_class("wb-chooser-search")
            self.search.observe(self._on_search, names="value")
            header.insert(1, self.search)
        top = w.HBox(header, layout=w.Layout(flex_flow="row wrap", align_items="center"))
        top.add_class("wb-chooser-head")
        self.list = w.VBox(list(self.boxes.values()))
        self.list.add_class("wb-chooser-list")
        super().__init__([top, self.list, self.state])
        self.add_class("wb-chooser")
        self._show_state()

    # -- from the boxes to the value

    def _ticked(self) -> tuple[str, ...]:
        return tuple(code for code, box in self.boxes.items() if box.value)

    def _on_box(self, _change=None) -> None:
        if self._updating:
            return
        ticked = self._ticked()
        if ticked:
            self.value = () if len(ticked) == len(self.codes) else ticked
        self._show_state()

    def _tick(self, on: bool) -> None:
        """Tick (or untick) every box shown (the search narrows which)."""
        shown = [code for code, box in self.boxes.items() if box.layout.display != "none"]
        self._updating = True
        try:
            for code in shown:
                self.boxes[code].value = on
        finally:
            self._updating = False
        self._on_box()

    def _on_search(self, change) -> None:
        words = change["new"].casefold().strip()
        for (label, code) in self.options:
            self.boxes[code].layout.display = None if words in label.casefold() or words in code else "none"

    def _show_state(self) -> None:
        ticked = self._ticked()
        if not ticked:
            key, cls = "choose_at_least_one", "wb-hint wb-warn"
        elif len(ticked) == len(self.codes):
            key, cls = "chosen_all", "wb-hint"
        else:
            key, cls = "chosen_some", "wb-hint"
        self.state.value = (f"<span class='{cls}' role='status'>"
                            f"{html.escape(text(f'dashboard.{key}', self.lang, n=len(ticked), of=len(self.codes)))}</span>")

    # -- from the value to the boxes

    @traitlets.observe("value")
    def _show_value(self, change) -> None:
        wanted = set(change["new"]) or set(self.codes)
        if set(self._ticked()) == wanted:
            return
        self._updating = True
        try:
            for code, box in self.boxes.items():
                box.value = code in wanted
        finally:
            self._updating = False
        self._show_state()
