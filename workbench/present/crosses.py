"""Cross-tables: one indicator by two dimensions, rows × columns, with both margins and the total.

The figures come from :func:`workbench.disclosure.compute` (or ``change``) asked for the cross
and both single breakdowns (``by=["sex,age_group", "sex", "age_group"]``), so each margin is the
protected figure of its own breakdown — never a sum of cells that may be withheld — and a cell
withheld in the cross reads its mark as in any other table.

>>> from workbench.present.crosses import cross_breakdowns
>>> cross_breakdowns("nationality", "sex")
['nationality,sex', 'nationality', 'sex']
"""

from __future__ import annotations

import polars as pl

from workbench import disclosure
from workbench.present import cells, labels
from workbench.present.tables import _bold, _gt, _notes, block, dimensions_of
from workbench.present.texts import text

__all__ = ["cross_breakdowns", "cross_split", "cross_rows", "cross_table"]


def cross_breakdowns(rows: str, columns: str) -> list[str]:
    """The breakdowns a cross-table needs: the cross and both margins."""
    return [f"{rows},{columns}", rows, columns]


def cross_split(by: str) -> tuple[str, str] | None:
    """``"protection_flag,sex"`` → ``("protection_flag", "sex")``; a single dimension → ``None``."""
    parts = [p.strip() for p in by.split(",") if p.strip()]
    return (parts[0], parts[1]) if len(parts) == 2 else None


def cross_rows(table: pl.DataFrame, indicator: str, rows: str, columns: str) -> pl.DataFrame:
    """The cells of the cross (both dimensions set, every other dimension empty)."""
    others = [d for d in dimensions_of(table) if d not in (rows, columns)]
    return table.filter((pl.col("indicator") == indicator) & pl.col(rows).is_not_null()
                        & pl.col(columns).is_not_null()
                        & pl.all_horizontal([pl.col(d).is_null() for d in others] or [pl.lit(True)]))


def cross_table(table, indicator: str, rows: str, columns: str, lang: str = "fr", meta=None,
                k: int | None = None, title: str | None = None, catalogue=None):
    """A great-tables matrix: one line per category of ``rows``, one column per category of
    ``columns``, the row totals in the last column and the column totals in the last line."""
    cat = labels.catalogue_of(table, catalogue)
    frame, k = disclosure.frame_and_k(table, k)
    disclosure.check(frame, k)
    ind = cat[indicator]
    inner = {(r[rows], r[columns]): r for r in cross_rows(frame, indicator, rows, columns).iter_rows(named=True)}
    row_margin = {r[rows]: r for r in block(frame, indicator, rows).iter_rows(named=True)} \
        if rows in frame.columns else {}
    col_margin = {r[columns]: r for r in block(frame, indicator, columns).iter_rows(named=True)} \
        if columns in frame.columns else {}
    total = block(frame, indicator, None)
    row_codes = labels.sort_codes(rows, dict.fromkeys([*(r for r, _ in inner), *row_margin]), lang, meta, cat)
    col_codes = labels.sort_codes(columns, dict.fromkeys([*(c for _, c in inner), *col_margin]), lang, meta, cat)
    keys = [f"c{n}" for n in range(len(col_codes))]
    flags: list[str | None] = []

    def shown(row: dict | None, margin: bool = False) -> str:
        if row is None and not margin:  # no record falls in this cell: 0 for a count, "no data" otherwise
            flags.append(None if ind.unit == "count" else "no_data")
            return cells.cell(0 if ind.unit == "count" else None, None if ind.unit == "count" else "no_data",
                              ind.unit, lang, k)
        flags.append(row["flag"] if row else None)
        return cells.row_cell(row, ind.unit, lang, k)

    out = []
    for code in [*row_codes, None]:
        line = {"category": labels.code_label(rows, code, lang, meta, cat)}
        for key, col in zip(keys, col_codes):
            line[key] = shown(inner.get((code, col)) if code is not None else col_margin.get(col), code is None)
        line["total"] = shown(row_margin.get(code) if code is not None else
                              (total.row(0, named=True) if total.height else None), True)
        out.append(line)
    shown_frame = pl.DataFrame(out, schema={"category": pl.String, **{c: pl.String for c in keys},
                                            "total": pl.String})
    gt = _gt(shown_frame, f"cross/{indicator}/{rows}/{columns}/{lang}")
    gt = gt.tab_header(title or ind.label[lang], subtitle=f"{labels.dimension_label(rows, lang, cat)} × "
                                                          f"{labels.dimension_label(columns, lang, cat)}")
    names = {"category": labels.dimension_label(rows, lang, cat), "total": text("ui.total", lang)}
    names.update({key: labels.code_label(columns, col, lang, meta, cat) for key, col in zip(keys, col_codes)})
    gt = gt.cols_label(**names).cols_align("right", columns=[*keys, "total"])
    if keys:
        gt = gt.tab_spanner(labels.dimension_label(columns, lang, cat), columns=keys)
    from great_tables import loc

    gt = gt.tab_style(_bold(), loc.body(rows=[len(out) - 1])).tab_style(_bold(), loc.body(columns="total"))
    multi = rows in ind.multi or columns in ind.multi
    return _notes(gt, [ind], lang, k, flags, multi=multi)
