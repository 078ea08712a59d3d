"""Sections of the network report (a network's coordination, no persons): the strategic
litigation tracker, one row per period with the actions filed, pending at its end and decided.

The figures are those of :func:`workbench.disclosure.series` (the audience's suppression), the
same as the trend charts; a withheld cell reads its mark with the legend as a note.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from workbench.indicators.catalogue import load_catalogue
from workbench.present import cells
from workbench.present.texts import text

#: The tracker's columns: strategic actions filed, pending at the end, decided, success rate.
TRACKER = ("strategic_actions_filed", "strategic_actions_pending", "strategic_actions_decided",
           "strategic_success_rate")


def tracker_rows(series: pl.DataFrame, indicators: Sequence[str], lang: str, k: int | None) -> pl.DataFrame:
    """One row per period of ``series`` (oldest first), one shown cell per indicator (its total)."""
    from workbench.periods import parse_period

    cat = load_catalogue()
    totals = series.filter(pl.col("indicator").is_in(list(indicators)))  # a series holds totals only
    by_cell = {(r["period"], r["indicator"]): r for r in totals.iter_rows(named=True)}
    out = []
    for period in totals["period"].unique(maintain_order=True).to_list():
        line = {"period": parse_period(period).label(lang)}
        for n, ind in enumerate(indicators):
            row = by_cell.get((period, ind))
            line[f"c{n}"] = cells.row_cell(row, cat[ind].unit, lang, k) if row else text("ui.not_available", lang)
        out.append(line)
    schema = {"period": pl.String, **{f"c{n}": pl.String for n in range(len(indicators))}}
    return pl.DataFrame(out, schema=schema)


def tracker_table(series: pl.DataFrame, indicators: Sequence[str], lang: str, k: int | None, title: str):
    """The litigation tracker as a great-tables table (periods down, indicators across)."""
    from workbench.present.tables import _gt

    frame = tracker_rows(series, indicators, lang, k)
    cat = load_catalogue()
    names = {"period": text("ui.period", lang), **{f"c{n}": cat[i].label[lang] for n, i in enumerate(indicators)}}
    columns = [f"c{n}" for n in range(len(indicators))]
    gt = _gt(frame, f"tracker/{lang}/{','.join(indicators)}").tab_header(title)
    gt = gt.cols_label(**names).cols_align("right", columns=columns)
    shown = series.filter(pl.col("indicator").is_in(list(indicators)))
    for note in cells.legends(shown["flag"].to_list(), lang, k):
        gt = gt.tab_source_note(note)
    return gt


def tracker(report, indicators: Sequence[str] = TRACKER, n: int | None = None):
    """The report's litigation tracker: the last ``n`` periods (``trend_periods``) of ``indicators``,
    a table with its figures in the report's payload (the Excel annex)."""
    from workbench.present.tables import to_html
    from workbench.reports.sections import _payload_table

    ok, missing = report._available(indicators)
    if not ok:
        return report._block("tracker", report._not_available(missing), "tracker", [])
    data = report.series(ok, n)
    gt = tracker_table(data, ok, report.lang, report.k, text("report.headings.tracker", report.lang))
    inner = f'<div class="wb-table">{to_html(gt)}</div>' + report._not_available(missing)
    return report._block("tracker", inner, "tracker: " + ", ".join(indicators), [_payload_table(data, "series")])
