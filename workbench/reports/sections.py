"""What the report notebooks show: a title block, key figures, trends, tables and charts.

A notebook opens its report once and then calls one method per cell; each method
returns a :class:`Block` that Jupyter displays as HTML (tables from great-tables,
charts as inline SVG rendered offline by vl-convert) and that also carries, under
the ``application/vnd.workbench.indicators+json`` media type, the (suppressed)
indicator rows it shows. The renderer reads those rows back for the Excel annex and
for ``workbench diff``.

Every figure comes from :func:`workbench.disclosure.change` or
:func:`~workbench.disclosure.series` with the report's audience and selection (its
``sites`` / ``centres``, restricted by :func:`workbench.selection.restrict`), so it equals
what ``workbench indicators --site …`` prints and what a dashboard filtered the same way
shows.

>>> from workbench import report_sections as rs                                    # doctest: +SKIP
>>> report = rs.open_report("activity_report", {"extract": "demo", "period": "2025-Q4"})  # doctest: +SKIP
>>> report.key_figures(["persons_received", "contacts"])                           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.present import cells, labels
from workbench.present.tables import block as tables_block
from workbench.present.texts import fallbacks, section, text
from workbench.indicators.catalogue import translation_problems
from workbench.indicators.engine import TABLE_COLUMNS
from workbench.selection import Selection
from workbench.reports.blocks import MIME, Block, _current, _e, _payload_table  # noqa: F401  (MIME, Block: public)
from workbench.reports.quality_sections import QualitySections
from workbench.reports.trims import _top, _warm_up, from_first_data  # noqa: F401  (from_first_data: public)

_GRID = "display:flex;flex-wrap:wrap;gap:12px 24px;align-items:flex-start"


EXPLORER_NOTE = {
    "fr": "*Explorateur interactif : ouvrez ce notebook dans JupyterLab (`notebooks/explore.ipynb`).*",
    "en": "*Interactive explorer: open this notebook in JupyterLab (`notebooks/explore.ipynb`).*",
    "ar": "*المستكشف التفاعلي: افتح هذا الدفتر في JupyterLab (`notebooks/explore.ipynb`).*",
    "nl": "*Interactieve verkenner: open dit notebook in JupyterLab (`notebooks/explore.ipynb`).*",
}


def _chart_svg(chart, lang: str, extract=None) -> Callable[[], str]:
    """A chart handed to the report's drawing process now (:func:`workbench.present.charts.draw`,
    vl-convert, offline); the function returned gives its SVG. Kept beside the validated extract:
    the same chart of a report rendered again is not drawn again."""
    from workbench.present.charts import draw, kept_charts
    from workbench.present.drawing import shared

    return draw(chart, lang, kept_charts(extract) if extract is not None else None, renderer=shared())


def _svg(svg: str, key: str) -> str:
    """An SVG made safe to inline several times in one page: ids prefixed, scalable."""
    prefix = "s" + hashlib.sha256((key + svg).encode()).hexdigest()[:8] + "-"
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg)
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" role="img" ', 1)


# --------------------------------------------------------------------------- the report

@dataclass(frozen=True)
class Report(QualitySections):
    """A report being built: validated parameters, the extract and the selection it reports on.

    A report changes nothing it is given: figures are computed on ``selection`` of
    ``extract`` (never narrowed in place) and remembered in the report's own memo.
    """

    kind: str
    values: Mapping[str, Any]
    extract: Any
    selection: Selection = field(default_factory=Selection)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def _remember(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # -- parameters -------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.values["language"]

    @property
    def period(self):
        from workbench.periods import parse_period

        return parse_period(self.values["period"])

    @property
    def compare(self):
        from workbench.periods import parse_period

        c = self.values.get("compare_to")
        return parse_period(c) if c else self.period.previous()

    @property
    def audience(self):
        from workbench.disclosure.suppression import resolve_audience

        return resolve_audience(self.values["audience"], self.values.get("threshold"))

    @property
    def k(self) -> int | None:
        aud = self.audience
        return aud.k if aud.suppresses else None

    @property
    def meta(self):
        return self.extract.meta

    @property
    def catalogue(self):
        """The catalogue of the report: the parameter ``catalogue`` (an organisation's file), else the
        one the extract names in ``extract.yaml``, else the built-in one."""
        from workbench.indicators.organisation import catalogue_for

        return self._remember("catalogue", lambda: catalogue_for(self.extract, self.values.get("catalogue")))

    @property
    def params(self) -> dict[str, Any]:
        from workbench.reports.params import catalogue_params

        return {k: self.values[k] for k in catalogue_params() if self.values.get(k) is not None}

    def _kwargs(self) -> dict[str, Any]:
        return {"audience": self.values["audience"], "threshold": self.values.get("threshold"),
                "params": self.params or None, "selection": self.selection, "catalogue": self.catalogue}

    # -- figures ----------------------------------------------------------------------------------
    def figures(self, indicators: Sequence[str], by: Sequence[str] = ()) -> pl.DataFrame:
        """The period's figures beside the comparison period's (:func:`disclosure.change`), remembered."""
        from workbench import disclosure

        return self._remember(("change", tuple(indicators), tuple(by)), lambda: disclosure.change(
            self.extract, self.period, self.compare, indicators=list(indicators), by=list(by),
            **self._kwargs()).frame)

    def explorer_note(self):
        """What a rendered report shows where the interactive explorer stands in JupyterLab.

        A rendered report has no live kernel behind its widgets: ``workbench render`` injects the
        notebook parameter ``rendering = True`` and the notebook shows this note instead of
        ``workbench.dashboards.widgets.explorer(**report.scope())``.
        """
        from IPython.display import Markdown

        return Markdown(EXPLORER_NOTE[self.lang])

    def scope(self) -> dict:
        """What the interactive explorer needs to show this report's figures: the extract restricted to
        the report's selection, the audience, its threshold and the language."""
        from workbench.selection import restrict

        return {"extract": restrict(self.extract, self.selection), "audience": self.audience.name,
                "threshold": self.values.get("threshold"), "lang": self.lang}

    def table(self, indicators: Sequence[str] | None = None, by: Sequence[str] = ()) -> pl.DataFrame:
        """The indicator table of the period, as ``workbench indicators`` gives it (a polars frame)."""
        from workbench import disclosure

        return disclosure.compute(self.extract, self.period, indicators=list(indicators) if indicators else None,
                                  by=list(by), **self._kwargs()).frame

    def series(self, indicators: Sequence[str], n: int | None = None) -> pl.DataFrame:
        """Totals over the last ``n`` periods (``trend_periods``), remembered."""
        from workbench import disclosure
        from workbench.periods import period_run

        n = n or self.values.get("trend_periods") or 8
        return self._remember(("series", tuple(indicators), n), lambda: from_first_data(disclosure.series(
            self.extract, period_run(self.period, n), indicators=list(indicators), **self._kwargs()).frame))

    def _available(self, indicators: Sequence[str]) -> tuple[list[str], list[str]]:
        cat = self.catalogue
        ok, missing = [], []
        for i in indicators:
            (ok if all(self.extract.has(t) for t in cat[i].tables) else missing).append(i)
        return ok, missing

    def _not_available(self, indicators: Sequence[str]) -> str:
        cat = self.catalogue
        parts = []
        for i in indicators:
            absent = [text(f"report.tables.{t}", self.lang) for t in cat[i].tables if not self.extract.has(t)]
            why = text("report.text.no_table", self.lang, tables=", ".join(absent))
            parts.append(f"<p class=\"wb-na\">{_e(cat[i].label[self.lang])} — "
                         f"{_e(text('report.text.not_available', self.lang, why=why))}</p>")
        return "".join(parts)

    def _block(self, kind: str, inner: str, plain: str, tables: list[dict] | None = None) -> Block:
        payload = None
        if tables is not None:
            payload = {"block": kind, "audience": self.audience.name, "threshold": self.k, "tables": tables}
        return Block(f'<section class="wb-block wb-{kind}">{inner}</section>', plain, payload)

    # -- blocks -----------------------------------------------------------------------------------
    def title_block(self) -> Block:
        """Organisation, title, period, comparison, audience, extraction date and scope."""
        lang = self.lang
        org = self.values.get("organisation") or self.meta.organisation or ""
        title = self.values.get("title") or text(f"report.titles.{self.kind}", lang)
        p, q = self.period, self.compare
        when = (labels.format_date(self.meta.extracted_on, lang) if self.meta.extracted_on
                else text("report.block.extract_unknown_date", lang))
        rows = [("period", f"{p.label(lang)} ({labels.format_date(p.start, lang)} – "
                           f"{labels.format_date(p.end, lang)})")]
        if self.kind != "data_quality_report":
            rows.append(("compare_to", q.label(lang)))
        rows += [("audience", self.audience_label()), ("extracted_on", when)]
        for key, dim in (("sites", "site"), ("centres", "centre")):
            if key in self.values:
                codes = self.values.get(key)
                shown = (", ".join(labels.code_label(dim, c, lang, self.meta) for c in codes) if codes
                         else text("report.block.scope_all", lang))
                rows.append((key, shown))
        meta = "".join(f"<dt>{_e(text(f'report.block.{k}', lang))}</dt><dd>{_e(v)}</dd>" for k, v in rows)
        note = ""
        from workbench.reports.coverage import coverage

        if coverage(p, self.meta.extracted_on) == "partial":
            partial = text("report.block.partial_period", lang, date=labels.format_date(self.meta.extracted_on, lang))
            note += f"<p class=\"wb-note wb-partial\">{_e(partial)}</p>"
        if self.extract.quarantined:
            n = labels.format_count(self.extract.quarantined, lang)
            note += f"<p class=\"wb-note\">{_e(text('report.block.quarantine_note', lang, n=n))}</p>"
        inner = (f"<p class=\"wb-org\">{_e(org)}</p><h1>{_e(title)}</h1>"
                 f"<p class=\"wb-subtitle\">{_e(p.label(lang))}</p><dl class=\"wb-meta\">{meta}</dl>{note}"
                 f"{self.commentary('summary')}")
        block = Block(f'<header class="wb-block wb-title">{inner}</header>', f"{title} — {p.label(lang)}",
                      {"block": "title", "title": f"{title} — {p.label(lang)}", "organisation": org,
                       "language": lang, "period": p.code, "compare_to": q.code, "audience": self.audience.name,
                       "threshold": self.k, "tables": []})
        return block

    def audience_label(self) -> str:
        aud = self.audience
        if not aud.suppresses:
            return text("report.audiences.internal", self.lang)
        return text(f"report.audiences.{aud.name if aud.name != 'internal' else 'custom'}", self.lang, k=aud.k,
                    name=aud.name)

    def commentary(self, key: str) -> str:
        """The coordinator's commentary of a section (:mod:`workbench.reports.narrative`) as HTML, or "".

        Placeholders read the report's figures through the one cell presenter: a withheld figure
        shows its mark, never its value."""
        from workbench.reports import narrative

        texts = self._remember("narrative", lambda: narrative.sections(self.values.get("narrative"), self.lang))
        if not texts.get(key):
            return ""
        filled = narrative.fill(texts[key], self._placeholder, f" (section {key})")
        return f'<div class="wb-commentary">{narrative.to_html(filled)}</div>'

    def _placeholder(self, indicator: str, field: str) -> str:
        cat = self.catalogue
        if indicator not in cat:
            raise KeyError(indicator)
        unit = cat[indicator].unit
        if not self._available([indicator])[0]:
            return text("ui.not_available", self.lang)
        rows = tables_block(self.figures([indicator]), indicator, None)
        row = rows.row(0, named=True) if rows.height else None
        if field == "previous":
            return cells.cell(row["previous_value"], row["previous_flag"], unit, self.lang, self.k) if row else ""
        if field == "change":
            return cells.change(row["change"], row.get("change_pct"), unit, self.lang) if row else ""
        return cells.row_cell(row, unit, self.lang, self.k)

    def heading(self, key: str) -> Block:
        """A section heading: a catalogue family (``reception``…) or a heading of ``texts.yaml`` (``report.headings``)."""
        fams = self.catalogue.families
        label = (fams[key][self.lang] if key in fams else
                 text(f"report.headings.{key}", self.lang) if key in section("report.headings") else key)
        return Block(f'<h2 class="wb-heading">{_e(label)}</h2>{self.commentary(key)}', label)

    def key_figures(self, indicators: Sequence[str], title: str | None = None) -> Block:
        """One line per indicator: the period's figure, the comparison period's and the change."""
        from workbench.present.tables import key_figures_table, to_html

        ok, missing = self._available(indicators)
        figures = self.figures(ok) if ok else None
        inner = f"<h2 class=\"wb-heading\">{_e(title or text('report.headings.key_figures', self.lang))}</h2>"
        if figures is not None:
            gt = key_figures_table(figures, list(indicators), self.lang, self.k, previous_label=self.compare.label(
                self.lang), catalogue=self.catalogue)
            gt = gt.tab_source_note(text("report.text.compare_note", self.lang, period=self.compare.label(self.lang)))
            inner += to_html(gt)
        elif missing:
            inner += self._not_available(missing)
        tables = [_payload_table(figures, "current")] if figures is not None else []
        return self._block("key-figures", inner, "key figures: " + ", ".join(indicators), tables)

    def trends(self, indicators: Sequence[str], n: int | None = None) -> Block:
        """Small line charts of the indicators' totals over the last ``n`` periods."""
        from workbench.present.cells import legend
        from workbench.present.charts import trend_chart, trend_data

        ok, missing = self._available(indicators)
        charts = []
        tables = []
        if ok:
            data = self.series(ok, n)
            for ind in ok:
                points = trend_data(data, ind, self.lang, k=self.k, catalogue=self.catalogue)
                if points.height and points["value"].is_null().all():  # every period withheld: no empty axis
                    charts.append(f'<figure class="wb-chart"><figcaption><strong>'
                                  f'{_e(self.catalogue[ind].label[self.lang])}</strong></figcaption>'
                                  f'<p class="wb-na">{_e(legend("withheld", self.lang, self.k))}</p></figure>')
                    continue
                svg = _chart_svg(trend_chart(data, ind, self.lang, k=self.k, width=270, catalogue=self.catalogue),
                                 self.lang, self.extract)  # drawn while the next chart is made
                charts.append(lambda svg=svg, ind=ind: f"<figure class=\"wb-chart\">{_svg(svg(), 'trend/' + ind)}</figure>")
            tables.append(_payload_table(data, "series"))
        charts = [c if isinstance(c, str) else c() for c in charts]
        heading = f"<h3>{_e(text('report.headings.trends', self.lang))}</h3>"
        inner = heading + f'<div class="wb-grid" style="{_GRID}">{"".join(charts)}</div>' + self._not_available(
            missing)
        return self._block("trends", inner, "trends: " + ", ".join(indicators), tables)

    def breakdown(self, indicator: str, by: str, chart: bool = True, top: int | None = 12,
                  title: str | None = None) -> Block:
        """One indicator by one dimension: a table (every category) and a bar chart (the ``top`` largest)."""
        from workbench.present.charts import breakdown_chart
        from workbench.present.tables import breakdown_table, to_html

        from workbench.present.crosses import cross_split

        if cross_split(by):  # "protection_flag,sex": two dimensions read as a cross-table
            return self.cross(indicator, *cross_split(by), title=title)
        ok, missing = self._available([indicator])
        if not ok:
            return self._block("breakdown", self._not_available(missing), indicator, [])
        figures = self.figures([indicator], [by])
        svg = None
        if chart:  # drawn while the table is made
            shown = _top(_current(figures), indicator, by, top)
            # The chart says what it breaks down, and that it shows only the largest categories.
            by_words = self.by_title(by)
            chart_title = f"{self.catalogue[indicator].label[self.lang]} — {by_words[:1].lower()}{by_words[1:]}"
            if shown.height < figures.filter(pl.col(by).is_not_null()).height:
                chart_title += f" ({text('report.text.top_categories', self.lang, n=top)})"
            svg = _chart_svg(breakdown_chart(shown, indicator, by, self.lang, self.meta, self.k, title=chart_title,
                                             width=300, catalogue=self.catalogue), self.lang, self.extract)
        gt = breakdown_table(figures, indicator, by, self.lang, self.meta, self.k, title=title,
                             catalogue=self.catalogue)
        parts = [f'<div class="wb-table">{to_html(gt)}</div>']
        protection = self._protection([indicator], [by])
        if svg is not None:
            parts.append(f'<figure class="wb-chart">{_svg(svg(), f"bar/{indicator}/{by}")}</figure>')
        inner = f'<div class="wb-grid" style="{_GRID}">{"".join(parts)}</div>' + protection
        return self._block("breakdown", inner, f"{indicator} by {by}", [_payload_table(figures, "current")])

    def matrix(self, indicators: Sequence[str], by: str, title: str | None = None,
               chart: str | None = None) -> Block:
        """Several indicators side by side, one row per category of ``by`` (a return's layout)."""
        from workbench.present.charts import breakdown_chart
        from workbench.present.tables import GROUPING, matrix_table, to_html

        cat = self.catalogue
        ok, missing = self._available(indicators)
        ok = [i for i in ok if cat[i].allows((by,))]
        if not ok:
            return self._block("matrix", self._not_available(missing), ", ".join(indicators), [])
        figures = self.figures(ok, [by])
        title = title or self.by_title(by)
        svg = None
        if chart and chart in ok:  # drawn while the table is made
            svg = _chart_svg(breakdown_chart(_current(figures), chart, by, self.lang, self.meta, self.k, width=300,
                                             catalogue=self.catalogue), self.lang, self.extract)
        gt = matrix_table(figures, ok, by, self.lang, self.meta, self.k, title=title, catalogue=self.catalogue,
                          grouped=self.audience.method in GROUPING)
        parts = [f'<div class="wb-table">{to_html(gt)}</div>']
        protection = self._protection(ok, [by])
        if svg is not None:
            parts.append(f'<figure class="wb-chart">{_svg(svg(), f"bar/{chart}/{by}")}</figure>')
        inner = (f'<div class="wb-grid" style="{_GRID}">{"".join(parts)}</div>' + protection
                 + self._not_available(missing))
        return self._block("matrix", inner, f"{', '.join(indicators)} by {by}", [_payload_table(figures, "current")])

    def cross(self, indicator: str, rows: str, columns: str, title: str | None = None) -> Block:
        """One indicator by two dimensions: a matrix of ``rows`` × ``columns`` with the row and column
        totals, each margin protected as its own breakdown (:mod:`workbench.present.crosses`)."""
        from workbench.present.crosses import cross_breakdowns, cross_table
        from workbench.present.tables import to_html

        ok, missing = self._available([indicator])
        if not ok:
            return self._block("cross", self._not_available(missing), indicator, [])
        figures = self.figures([indicator], cross_breakdowns(rows, columns))
        gt = cross_table(figures, indicator, rows, columns, self.lang, self.meta, self.k, title=title,
                         catalogue=self.catalogue)
        return self._block("cross", f'<div class="wb-table">{to_html(gt)}</div>', f"{indicator} by {rows} x {columns}",
                           [_payload_table(figures, "current")])

    def breakdowns(self, indicators: Sequence[str] | None, by: Sequence[str] = ()) -> Block:
        """Each indicator by each breakdown it allows among ``by`` (a cross ``"a,b"`` as a matrix)."""
        from workbench.present.crosses import cross_split

        blocks = []
        for ind in indicators or []:
            for item in by:
                dims = cross_split(item) or (item,)
                if ind in self.catalogue and self.catalogue[ind].allows(tuple(dims)):
                    blocks.append(self.breakdown(ind, item, top=None) if len(dims) == 1 else self.cross(ind, *dims))
        tables = [t for b in blocks for t in (b.payload or {}).get("tables", [])]
        return self._block("breakdowns", "".join(b.html for b in blocks), "breakdowns", tables)

    def _protection(self, indicators: Sequence[str], by: Sequence[str]) -> str:
        """The accounting line under a table for an outside audience: cells withheld, grouped, rounded."""
        from workbench.disclosure import compute, protection_summary
        if not self.audience.outside:
            return ""
        counts = protection_summary(compute(self.extract, self.period, list(indicators), list(by), **self._kwargs()))
        return f'<p class="wb-protection">{_e(text("report.text.protection_line", self.lang, **counts))}</p>'

    def by_title(self, dimension: str) -> str:
        """« Par site » / "By site"."""
        if f"by_{dimension}" in section("report.text"):
            return text(f"report.text.by_{dimension}", self.lang)
        label = labels.dimension_label(dimension, self.lang, self.catalogue)
        return text("report.text.by_dimension", self.lang, label=label[:1].lower() + label[1:])

    def about(self) -> Block:
        """How to read the report: audience and suppression, definitions, scope, parameters."""
        lang = self.lang
        cat = self.catalogue
        lines = [text("report.text.about_audience", lang, audience=self.audience_label())]
        method = ("about_no_suppression" if not self.k else "about_suppression" if not self.audience.outside
                  else "about_group_round" if self.audience.rounds else "about_group")  # the audience's method
        lines.append(text(f"report.text.{method}", lang, k=self.k, k_minus=(self.k or 1) - 1, base=self.audience.base))
        lines.append(text("report.text.about_definitions", lang, version=cat.version))
        if not self.audience.suppresses:  # commands are for the team, not for readers outside it
            lines.append(text("report.text.about_same_figures", lang))
        if self.params:
            shown = "; ".join(f"{k} = {v}" for k, v in sorted(self.params.items()))
            lines.append(text("report.text.about_params", lang, params=shown))
        if untranslated := len(set(fallbacks(lang)) | {k for k in translation_problems(lang) if "unknown" not in k}):
            lines.append(text("report.text.untranslated", lang, n=untranslated))  # never a silent fallback
        body = "".join(f"<p>{_e(line)}</p>" for line in lines)
        return self._block("about", f"<h2 class=\"wb-heading\">{_e(text('report.headings.about', lang))}</h2>{body}",
                           "about this report")

    # -- data quality -----------------------------------------------------------------------------
    # -- exploration ------------------------------------------------------------------------------
    def extract_summary(self) -> Block:
        """Tables of the extract with rows read, accepted and quarantined (no row content)."""
        block = self.quality_tables()
        return Block(block.html, "extract summary", block.payload)

    def indicator_table(self, indicators: Sequence[str] | None = None, by: Sequence[str] = ()) -> Block:
        """The tidy indicator table itself (formatted values), as ``workbench indicators`` prints it."""
        from workbench.indicators.engine import format_values
        from workbench.present.tables import text_table, to_html

        table = self.table(indicators, by)
        shown = cells.with_marks(format_values(table), self.k).with_columns(
            pl.coalesce("mark", "value").alias("value")).drop("mark")
        gt = text_table(shown, {}, None, [text("report.text.explore_hint", self.lang)], right=list(TABLE_COLUMNS[:3]))
        return self._block("indicator-table", to_html(gt), f"{table.height} indicator rows",
                           [_payload_table(table, "current")])


def open_report(kind: str, namespace: Mapping[str, Any]) -> Report:
    """Validate a notebook's parameters and open its report.

    ``namespace`` is the notebook's ``globals()`` (the parameters cell's variables) or a
    plain mapping of parameters. Unknown or misspelled parameters, bad values, an
    unreadable extract or an unknown site or centre stop the notebook with a clear error.
    The ``sites`` and ``centres`` parameters make the report's selection
    (:func:`workbench.selection.restrict`: the same meaning as the dashboards' filters and
    ``workbench indicators --site/--centre``).
    """
    from workbench import extract as extract_module
    from workbench.reports.params import validate_namespace
    from workbench.selection import restrict

    values = validate_namespace(kind, namespace)
    from workbench.present.drawing import shared

    drawer = shared()  # the charts' engine starts in its own process while the extract loads
    threading.Thread(target=_warm_up, args=(drawer is None,), daemon=True).start()
    ex = extract_module.load(values["extract"])
    selection = Selection(sites=tuple(values.get("sites") or ()), centres=tuple(values.get("centres") or ()))
    restrict(ex, selection)  # an unknown site or centre stops here, before any figure
    from workbench.periods import parse_period
    from workbench.reports import coverage

    coverage.check(parse_period(values["period"]), ex.meta.extracted_on)
    return Report(kind, values, ex, selection)
