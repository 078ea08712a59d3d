"""Charts of indicator tables with altair, rendered offline.

Charts are drawn from indicator tables only (never from records), after the table has
been checked against its threshold, so a chart's embedded data holds nothing that the
audience may not see. Withheld cells have no bar or point; their label is their mark
("< k", "[c]", "[p]", "–", from :mod:`workbench.present.cells`).

For reports, :func:`to_svg` renders a chart to SVG with vl-convert (no network, no
JavaScript, byte-identical for the same chart). Dashboards show the same SVG.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path

import polars as pl

from workbench import disclosure

from workbench.present import cells, labels
from workbench.present.texts import is_rtl, text
from workbench.present.tables import dimensions_of

FONT = "DejaVu Sans"
COLOR = "#2b6cb0"
COLOR_LIGHT = "#90cdf4"
OPEN_CODES = ("nationality", "site", "centre", "partner", "organisation")
#: d3-format locales given to vl-convert: Tunisian Arabic with Latin digits (as babel's ar_TN), Belgian Dutch.
_FORMAT_LOCALE = {"fr": "fr-FR", "en": "en-GB", "nl": "nl-NL",
                  "ar": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " د.ت."]}}


def _config(chart, lang: str = "fr"):
    """The house style; right to left, titles start on the right (Arabic). Set at once on a shallow copy
    (each of altair's ``configure_*`` deep-copies the whole chart, its data included)."""
    styled = chart.copy(deep=False)
    styled["config"] = _house_config(is_rtl(lang))
    return styled


@functools.cache
def _house_config(rtl: bool):
    """The house style's configuration, made (and checked against the schema) once per direction; charts
    share it and never change it."""
    import altair as alt

    return alt.Config(
        font=FONT, view=alt.ViewConfig(stroke=None),
        axis=alt.AxisConfig(labelFont=FONT, titleFont=FONT, labelFontSize=12, titleFontSize=12, grid=False),
        title=alt.TitleConfig(font=FONT, fontSize=13, anchor="end" if rtl else "start"))


def _value_axis(unit: str, **options):
    """The value axis: whole-number ticks for counts (never 0,5 persons)."""
    import altair as alt

    if unit == "count":
        return alt.Axis(format="d", tickMinStep=1, **options)
    return alt.Axis(**options)


def _k(table: pl.DataFrame, k: int | None) -> int | None:
    return disclosure.frame_and_k(table, k)[1]


def breakdown_data(table: pl.DataFrame, indicator: str, dimension: str, lang: str = "fr", meta=None,
                   k: int | None = None, catalogue=None) -> pl.DataFrame:
    """The rows of one breakdown block, labelled, ready to chart (suppressed rows keep no value)."""
    cat = labels.catalogue_of(table, catalogue)
    table, k = disclosure.frame_and_k(table, k)
    disclosure.check(table, k)
    ind = cat[indicator]
    dims = dimensions_of(table)
    others = [d for d in dims if d != dimension]
    rows = table.filter((pl.col("indicator") == indicator) & pl.col(dimension).is_not_null()
                        & pl.all_horizontal([pl.col(d).is_null() for d in others] or [pl.lit(True)]))
    if dimension in OPEN_CODES:
        # Open codes (countries, sites) read best largest first; hidden and unknown cells last.
        rows = rows.sort([pl.col("value").is_null(), pl.col(dimension) == "unknown", pl.col("value")],
                         descending=[False, False, True], maintain_order=True)
    shown = []
    for i, row in enumerate(rows.iter_rows(named=True)):
        value = row["value"]
        shown.append({"order": i, "category": labels.code_label(dimension, row[dimension], lang, meta, cat),
                      "value": value, "text": cells.cell(value, row["flag"], ind.unit, lang, k)})
    return pl.DataFrame(shown, schema={"order": pl.Int32, "category": pl.String, "value": pl.Float64,
                                       "text": pl.String})


def breakdown_chart(table: pl.DataFrame, indicator: str, dimension: str, lang: str = "fr", meta=None,
                    k: int | None = None, title: str | None = None, width: int = 420, catalogue=None):
    """A horizontal bar chart of one breakdown of one indicator."""
    import altair as alt

    cat = labels.catalogue_of(table, catalogue)
    data = breakdown_data(table, indicator, dimension, lang, meta, k, cat)
    ind = cat[indicator]
    # A layered chart drops a plain SortField; an EncodingSortField keeps the rows' order.
    sort = alt.EncodingSortField("order", op="min")
    height = max(60, 22 * max(1, data.height))
    rtl = is_rtl(lang)  # right to left: categories on the right, bars growing leftwards
    side, dx = ("right", -3) if rtl else ("left", 3)
    base = alt.Chart(data).encode(y=alt.Y("category:N", sort=sort, title=None,
                                          axis=alt.Axis(labelLimit=220, orient=side)))
    bars = base.mark_bar(color=COLOR).encode(
        x=alt.X("value:Q", title=text(f"ui.unit_{ind.unit}", lang), axis=_value_axis(ind.unit),
                scale=alt.Scale(reverse=rtl)),
        tooltip=[alt.Tooltip("category:N", title=labels.dimension_label(dimension, lang, cat)),
                 alt.Tooltip("text:N", title=ind.label[lang])],
    )
    figures = base.mark_text(align=side, dx=dx, fontSize=12).encode(
        x=alt.X("value:Q"), text=alt.Text("text:N"))
    suppressed = base.transform_filter("datum.value === null").mark_text(
        align=side, dx=dx, fontSize=12, color="#555").encode(x=alt.XValue(width if rtl else 0),
                                                             text=alt.Text("text:N"))
    # Sizes and title given to the layer as it is made (``.properties`` checks each against the schema).
    chart = alt.layer(bars, figures, suppressed, width=width, height=height,
                      title=title or f"{ind.label[lang]} — {labels.dimension_label(dimension, lang, cat)}")
    return _config(chart, lang)


def trend_data(series: pl.DataFrame, indicator: str, lang: str = "fr", k: int | None = None,
               catalogue=None) -> pl.DataFrame:
    """The total rows of one indicator over periods, labelled."""
    from workbench.periods import parse_period

    cat = labels.catalogue_of(series, catalogue)
    series, k = disclosure.frame_and_k(series, k)
    disclosure.check(series, k)
    ind = cat[indicator]
    dims = dimensions_of(series)
    rows = series.filter((pl.col("indicator") == indicator)
                         & pl.all_horizontal([pl.col(d).is_null() for d in dims] or [pl.lit(True)]))
    out = []
    for i, row in enumerate(rows.iter_rows(named=True)):
        value = row["value"]
        out.append({"order": i, "period": parse_period(row["period"]).label(lang), "value": value,
                    "text": cells.cell(value, row["flag"], ind.unit, lang, k)})
    return pl.DataFrame(out, schema={"order": pl.Int32, "period": pl.String, "value": pl.Float64,
                                     "text": pl.String})


def trend_chart(series: pl.DataFrame, indicator: str, lang: str = "fr", k: int | None = None,
                title: str | None = None, width: int = 420, catalogue=None):
    """A line chart of an indicator's totals over a run of periods (gaps where suppressed)."""
    import altair as alt

    cat = labels.catalogue_of(series, catalogue)
    data = trend_data(series, indicator, lang, k, cat)
    ind = cat[indicator]
    base = alt.Chart(data).encode(x=alt.X("period:N", sort=alt.EncodingSortField("order", op="min"), title=None,
                                          axis=alt.Axis(labelAngle=0 if data.height <= 4 else -40,
                                                        labelAlign="center" if data.height <= 4 else "right")))
    line = base.mark_line(color=COLOR, point=alt.OverlayMarkDef(color=COLOR, size=40)).encode(
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=True),
                axis=_value_axis(ind.unit, orient="right" if is_rtl(lang) else "left")),
        tooltip=[alt.Tooltip("period:N", title=text("ui.period", lang)),
                 alt.Tooltip("text:N", title=ind.label[lang])],
    )
    figures = base.mark_text(dy=-10, fontSize=12, color="#333").encode(y=alt.Y("value:Q"), text=alt.Text("text:N"))
    chart = alt.layer(line, figures, width=width, height=180, title=title or ind.label[lang])
    return _config(chart, lang)


#: Draws a Vega-Lite spec to SVG: ``render(spec, format_locale=...) -> str``. ``None``: vl-convert in this
#: process. A dashboard kernel forked from the kernel template uses the template's one chart renderer
#: instead (same vl-convert, same bytes; see ``workbench.dashboards.zygote``).
svg_renderer = None


def to_svg(chart, lang: str = "fr", keep: Path | None = None) -> str:
    """Render a chart (an altair chart, or its Vega-Lite spec as a dict) to SVG with vl-convert:
    offline, deterministic, numbers in the language's format. The one path to SVG for reports
    and dashboards.

    Vega-Lite drops a sort by field on the union domain of layered charts unless its op is
    min, max or count; the charts sort by an ``order`` field, so the op is set here.

    ``keep``: a folder where drawn charts are kept by their spec (the same spec, language,
    vl-convert and this module give the same bytes): a chart drawn before is read back, not drawn
    again. A report keeps them beside its validated extract (:func:`kept_charts`).
    """
    return draw(chart, lang, keep)()


def draw(chart, lang: str = "fr", keep: Path | None = None, renderer=None) -> Callable[[], str]:
    """:func:`to_svg` in two steps: the chart handed to ``renderer`` now, its SVG given (or the
    renderer's error raised) when the function returned is called. A renderer with a ``submit``
    method (:class:`workbench.present.drawing.Drawer`) draws meanwhile in a process of its own;
    ``None``: :data:`svg_renderer`, else vl-convert in this process, drawn at once."""
    spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
    spec = copy.deepcopy(spec)
    _sort_by_min(spec)
    locale = _FORMAT_LOCALE.get(lang, "fr-FR")
    name = _kept_name(spec, locale, lang) if keep is not None else None
    if name is not None:
        kept = _read_kept(keep / name)
        if kept is not None:
            return lambda: kept
    render = renderer if renderer is not None else svg_renderer
    if render is None:
        import vl_convert as vlc

        render = vlc.vegalite_to_svg
    submit = getattr(render, "submit", None)
    pending = submit(spec, locale) if submit is not None else None

    def finish() -> str:
        svg = _with_name(pending() if pending is not None else render(spec, format_locale=locale), spec, lang)
        if name is not None:
            _write_kept(keep, name, svg)
        return svg

    if pending is None:  # drawn now, as before: its errors raised here
        svg = finish()
        return lambda: svg
    return finish


#: Charts kept per folder (the most recently used).
KEEP_CHARTS = 1000
#: The folder of drawn charts in a validated extract's cache entry.
CHARTS_FOLDER = "charts"


def kept_charts(extract) -> Path | None:
    """Where the charts of ``extract``'s figures are kept: beside its validated copy in the private cache
    (``None`` when the extract was not read through the cache), going with it."""
    from workbench.extract import cache

    entry = cache.entry_of(extract)
    return entry / CHARTS_FOLDER if entry is not None else None


def _kept_name(spec: dict, locale, lang: str) -> str | None:
    import hashlib
    import json

    import vl_convert as vlc

    from workbench.extract.cache import source_digest

    try:
        text = json.dumps([spec, locale, lang, vlc.__version__, source_digest(("present/charts.py",))],
                          sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # a spec JSON cannot hold as it is: drawn, not kept
        return None
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest() + ".svg"


def _read_kept(path: Path) -> str | None:
    import os

    try:
        svg = path.read_text(encoding="utf-8")
        os.utime(path)  # most recently used
    except (OSError, UnicodeDecodeError):
        return None
    return svg if svg.startswith("<svg") and svg.rstrip().endswith("</svg>") else None


def _write_kept(folder: Path, name: str, svg: str) -> None:
    import os
    import tempfile

    from workbench.extract import cache

    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, scratch = tempfile.mkstemp(prefix=".", suffix=".svg", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(svg)
        os.replace(scratch, folder / name)  # a reader never sees half a chart
        cache.prune(folder, KEEP_CHARTS, files="*.svg")
    except OSError:  # a full disk or a read-only cache: drawn again next time, nothing more
        return


def _with_name(svg: str, spec: dict, lang: str) -> str:
    """The SVG with an accessible name (its title, else its description) when it has none: a screen
    reader announces the chart by it (axe-core's svg-img-alt)."""
    import html

    head = svg[:svg.find(">") + 1]
    if not head.startswith("<svg") or "aria-label=" in head:
        return svg
    title = spec.get("title") or spec.get("description") or ("Graphique" if lang == "fr" else "Chart")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return f'<svg aria-label="{html.escape(str(title), quote=True)}"' + svg[4:]


def _sort_by_min(node) -> None:
    if isinstance(node, dict):
        sort = node.get("sort")
        if isinstance(sort, dict) and "field" in sort and "op" not in sort:
            sort["op"] = "min"
        for value in node.values():
            _sort_by_min(value)
    elif isinstance(node, list):
        for value in node:
            _sort_by_min(value)
