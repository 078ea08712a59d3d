"""Publication tables of indicator tables with great-tables.

Cells are written by :mod:`workbench.present.cells` in the report's language (babel):
withheld cells read their mark ("< k", "[c]", "[p]", "–") with its legend as a note; each indicator's definition from the catalogue is a footnote, so a
table always says what it counts. Tables get a stable id (a hash of their content),
so the same figures give the same HTML.
"""

from __future__ import annotations

import hashlib

import polars as pl

from workbench import disclosure
from workbench.disclosure.flags import WITHHELD

GROUPING = ("group", "group_round")  # the methods whose small categories are grouped into "other"

from workbench.present import cells, labels
from workbench.present.texts import text

_FIGURE_COLUMNS = ("indicator", "period", "value", "numerator", "denominator", "flag", "previous_period",
                   "previous_value", "previous_flag", "change", "change_pct")


def dimensions_of(table: pl.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in _FIGURE_COLUMNS]


def _gt(frame: pl.DataFrame, key: str):
    from great_tables import GT

    digest = hashlib.sha256((key + frame.write_csv()).encode()).hexdigest()[:10]
    return GT(frame, id=f"wb{digest}")


def block(table: pl.DataFrame, indicator: str, dimension: str | None) -> pl.DataFrame:
    """The total row (dimension None) or the rows of one single-dimension breakdown."""
    dims = dimensions_of(table)
    rows = table.filter(pl.col("indicator") == indicator)
    if dimension is None:
        return rows.filter(pl.all_horizontal([pl.col(d).is_null() for d in dims] or [pl.lit(True)]))
    others = [d for d in dims if d != dimension]
    return rows.filter(pl.col(dimension).is_not_null()
                       & pl.all_horizontal([pl.col(d).is_null() for d in others] or [pl.lit(True)]))


def breakdown_table(table: pl.DataFrame, indicator: str, dimension: str, lang: str = "fr", meta=None,
                    k: int | None = None, title: str | None = None, catalogue=None):
    """One indicator: total then the categories of one breakdown."""
    cat = labels.catalogue_of(table, catalogue)
    table, k = disclosure.frame_and_k(table, k)
    disclosure.check(table, k)
    ind = cat[indicator]
    total = block(table, indicator, None)
    rows = block(table, indicator, dimension)
    rank = {c: n for n, c in enumerate(labels.sort_codes(dimension, rows[dimension].to_list(), lang, meta, cat))}
    rows = rows.sort(pl.col(dimension).replace_strict(rank, return_dtype=pl.Int64), maintain_order=True)
    out = []
    for row in total.iter_rows(named=True):
        out.append({"category": text("ui.total", lang), "value": cells.row_cell(row, ind.unit, lang, k),
                    "fraction": cells.fraction(row, lang)})
    for row in rows.iter_rows(named=True):
        out.append({"category": labels.code_label(dimension, row[dimension], lang, meta, cat),
                    "value": cells.row_cell(row, ind.unit, lang, k), "fraction": cells.fraction(row, lang)})
    frame = pl.DataFrame(out, schema={"category": pl.String, "value": pl.String, "fraction": pl.String})
    if ind.unit not in ("rate", "ratio"):
        frame = frame.drop("fraction")
    gt = _gt(frame, f"{indicator}/{dimension}/{lang}")
    gt = gt.tab_header(title or ind.label[lang], subtitle=labels.dimension_label(dimension, lang, cat))
    cols = {"category": labels.dimension_label(dimension, lang, cat), "value": text(f"ui.unit_{ind.unit}", lang)}
    if "fraction" in frame.columns:
        cols["fraction"] = "n / N"
    gt = gt.cols_label(**cols).cols_align("right", columns=[c for c in frame.columns if c != "category"])
    gt = gt.tab_style(_bold(), _body_row(0))
    flags = [*total["flag"].to_list(), *rows["flag"].to_list()]
    return _notes(gt, [ind], lang, k, flags, multi=dimension in ind.multi)


def key_figures_table(current: pl.DataFrame, indicators: list[str], lang: str = "fr", k: int | None = None,
                      previous_label: str | None = None, title: str | None = None, catalogue=None):
    """Key figures: one row per indicator (its total), with the previous period and the change.

    ``current`` is the output of :func:`workbench.indicators.change` (or a plain table).
    """
    cat = labels.catalogue_of(current, catalogue)
    current, k = disclosure.frame_and_k(current, k)
    disclosure.check(current, k)
    out = []
    flags: list[str | None] = []
    for indicator in indicators:
        total = block(current, indicator, None)
        if total.height == 0:
            out.append({"indicator": cat[indicator].label[lang], "value": text("ui.not_available", lang),
                        "previous": "", "change": ""})
            continue
        row = total.row(0, named=True)
        unit = cat[indicator].unit
        flags += [row["flag"], row.get("previous_flag")]
        previous = ""
        change = ""
        if "previous_value" in row:
            previous = cells.cell(row["previous_value"], row.get("previous_flag"), unit, lang, k)
            change = cells.change(row.get("change"), row.get("change_pct"), unit, lang)
        out.append({"indicator": cat[indicator].label[lang], "value": cells.row_cell(row, unit, lang, k),
                    "previous": previous, "change": change})
    frame = pl.DataFrame(out, schema={"indicator": pl.String, "value": pl.String, "previous": pl.String,
                                      "change": pl.String})
    if not any(r["previous"] for r in out):
        frame = frame.drop("previous", "change")
    gt = _gt(frame, f"key/{lang}/{','.join(indicators)}")
    if title:
        gt = gt.tab_header(title)
    names = {"indicator": "", "value": text("ui.value", lang)}
    if "previous" in frame.columns:
        names["previous"] = previous_label or text("ui.previous", lang)
        names["change"] = text("ui.change", lang)
    gt = gt.cols_label(**names).cols_align("right", columns=[c for c in frame.columns if c != "indicator"])
    return _notes(gt, [cat[i] for i in indicators], lang, k, flags, multi=False)


def _bold():
    from great_tables import style

    return style.text(weight="bold")


def _body_row(i: int):
    from great_tables import loc

    return loc.body(rows=[i])


def _notes(gt, inds, lang: str, k: int | None, flags, multi: bool):
    for ind in inds:
        note = f"{ind.label[lang]} : {ind.definition[lang]}" if lang == "fr" else \
            f"{ind.label[lang]}: {ind.definition[lang]}"
        if ind.notes.get(lang):
            note += " " + ind.notes[lang]
        gt = gt.tab_source_note(note)
    if multi:
        gt = gt.tab_source_note(text("ui.multi_note", lang))
    for line in cells.legends(flags, lang, k):
        gt = gt.tab_source_note(line)
    return gt


def to_html(gt) -> str:
    """Inline HTML of a table (its own scoped CSS, no external resource).

    great-tables wraps the table in a box that scrolls when the table is wider than the screen;
    ``tabindex="0"`` lets a keyboard reach that box and scroll it (WCAG 2.1.1).
    """
    out = gt.as_raw_html()
    return out.replace(" style=", ' tabindex="0" style=', 1) if out.startswith("<div id=") else out


def matrix_table(table: pl.DataFrame, indicators: list[str], dimension: str, lang: str = "fr", meta=None,
                 k: int | None = None, title: str | None = None, subtitle: str | None = None, catalogue=None,
                 grouped: bool = False):
    """Several indicators side by side: one row per category of ``dimension`` (total first).

    A category that an indicator's records never fall in reads 0 for a count and "—"
    otherwise; withheld cells read their mark with its legend as a note. In a table whose
    small categories are grouped (outside audiences), a count absent for one indicator may be
    in its "Other" row: it reads "[c]", never 0.
    """
    cat = labels.catalogue_of(table, catalogue)
    grouping = grouped or getattr(table, "method", None) in GROUPING
    table, k = disclosure.frame_and_k(table, k)
    disclosure.check(table, k)
    rows_by_ind = {i: {r[dimension]: r for r in block(table, i, dimension).iter_rows(named=True)}
                   for i in indicators}
    totals = {i: block(table, i, None) for i in indicators}
    codes = labels.sort_codes(dimension, dict.fromkeys(c for i in indicators for c in rows_by_ind[i]), lang, meta,
                              cat)
    columns = [f"c{n}" for n in range(len(indicators))]
    out = []
    flags: list[str | None] = []
    for code in [None, *codes]:
        line = {"category": text("ui.total", lang) if code is None else
                labels.code_label(dimension, code, lang, meta, cat)}
        for col, ind_id in zip(columns, indicators):
            unit = cat[ind_id].unit
            if code is None:
                row = totals[ind_id].row(0, named=True) if totals[ind_id].height else None
                shown = cells.row_cell(row, unit, lang, k)
            else:
                row = rows_by_ind[ind_id].get(code)
                if row is None and grouping and unit == "count":
                    row = {"value": None, "numerator": None, "denominator": None, "flag": WITHHELD}
                shown = cells.row_cell(row, unit, lang, k) if row else cells.cell(
                    0 if unit == "count" else None, None, unit, lang, k)
            flags.append(row["flag"] if row else None if unit == "count" or code is None else "no_data")
            line[col] = shown
        out.append(line)
    frame = pl.DataFrame(out, schema={"category": pl.String, **{c: pl.String for c in columns}})
    gt = _gt(frame, f"matrix/{dimension}/{lang}/{','.join(indicators)}")
    if title:
        gt = gt.tab_header(title, subtitle=subtitle)
    names = {"category": labels.dimension_label(dimension, lang, cat)}
    for col, ind_id in zip(columns, indicators):
        ind = cat[ind_id]
        names[col] = ind.label[lang]
    gt = gt.cols_label(**names).cols_align("right", columns=columns).tab_style(_bold(), _body_row(0))
    multi = any(dimension in cat[i].multi for i in indicators)
    return _notes(gt, [cat[i] for i in indicators], lang, k, flags, multi=multi)


def text_table(frame: pl.DataFrame, column_labels: dict[str, str], title: str | None = None,
               notes: list[str] | tuple[str, ...] = (), right: list[str] | tuple[str, ...] = (),
               bold_first: bool = False):
    """A table of text cells already formatted (data-quality summaries, lists), with notes."""
    frame = frame.select([pl.col(c).cast(pl.String).fill_null("") for c in frame.columns])
    gt = _gt(frame, f"text/{title}/{','.join(frame.columns)}")
    if title:
        gt = gt.tab_header(title)
    gt = gt.cols_label(**{c: column_labels.get(c, c) for c in frame.columns})
    if right:
        gt = gt.cols_align("right", columns=list(right))
    if bold_first and frame.height:
        gt = gt.tab_style(_bold(), _body_row(0))
    for note in notes:
        gt = gt.tab_source_note(note)
    return gt
