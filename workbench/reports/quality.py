"""Data-quality figures of a loaded extract: rows per table, quarantine by rule,
completeness by column, dates out of order.

Figures are row counts, never rows: no value of the quarantine (it may hold a
pseudonym or an id) leaves this module. They come in the indicator-table shape
(``indicator, period, <dims>, value, numerator, denominator, flag``) so that
:func:`workbench.disclosure.suppress` hides small counts for a partner or public
audience exactly as it does for indicators, and :func:`workbench.disclosure.check`
guards every output.

>>> from workbench import extract, quality                 # doctest: +SKIP
>>> quality.table_rows(extract.load("demo")).columns        # doctest: +SKIP
['indicator', 'period', 'table', 'status', 'rule', 'value', 'numerator', 'denominator', 'flag']
"""

from __future__ import annotations

import polars as pl

from workbench.disclosure.suppression import Audience, suppress
from workbench.contract.schema import TABLE_ORDER, TABLES

ROWS = "quality_rows"
DATE_ORDER = "quality_date_order"
STATUSES = ("accepted", "quarantined")


def _shape(rows: list[dict], dims: list[str], period: str) -> pl.DataFrame:
    schema = {"indicator": pl.String, "period": pl.String, **{d: pl.String for d in dims},
              "numerator": pl.Int64, "_block": pl.Int32}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return frame.with_columns(
        pl.lit(period).alias("period"), pl.col("numerator").cast(pl.Float64).alias("value"),
        pl.lit(None, dtype=pl.Int64).alias("denominator"), pl.lit(None, dtype=pl.String).alias("flag"),
    ).select("indicator", "period", *dims, "value", "numerator", "denominator", "flag", "_block")


def _suppressed(frame: pl.DataFrame, dims: list[str], audience: Audience) -> pl.DataFrame:
    from workbench.indicators.catalogue import load_catalogue

    out = suppress(frame, dims, audience, load_catalogue()).drop("_block")
    if getattr(audience, "outside", False):
        # outside audiences are never told a range ("< k" would say "from 1 to k−1"): "[c]" claims nothing
        out = out.with_columns(pl.when(pl.col("flag").is_in(["suppressed", "small_population"]))
                               .then(pl.lit("withheld")).otherwise(pl.col("flag")).alias("flag"))
    return out


def table_rows(ex, audience: Audience | None = None, period: str = "") -> pl.DataFrame:
    """Per table: rows read (total), accepted and quarantined (by status), quarantined by rule.

    One block of rows per table (indicator ``quality_rows``, dimension ``table``).
    """
    rows: list[dict] = []
    for name in TABLE_ORDER:
        rep = ex.reports.get(name)
        if rep is None:
            continue
        ind = f"{ROWS}:{name}"
        rows.append({"indicator": ind, "table": name, "status": None, "rule": None, "numerator": rep.read,
                     "_block": 0})
        rows += [{"indicator": ind, "table": name, "status": s, "rule": None, "_block": 1,
                  "numerator": rep.accepted if s == "accepted" else rep.quarantined} for s in STATUSES]
        rows += [{"indicator": ind, "table": name, "status": None, "rule": rule, "numerator": n, "_block": 2}
                 for rule, n in sorted(rep.by_rule.items())]
    frame = _shape(rows, ["table", "status", "rule"], period)
    return _suppressed(frame, ["status", "rule"], audience or Audience("internal", None))


def quarantine_by_column(ex, audience: Audience | None = None, period: str = "") -> pl.DataFrame:
    """Quarantined rows by table, rule and column (counts only)."""
    q = ex.quarantine
    counts = (q.group_by("table", "rule", "column").agg(pl.len().alias("numerator"))
              if q.height else pl.DataFrame(schema={"table": pl.String, "rule": pl.String, "column": pl.String,
                                                    "numerator": pl.UInt32}))
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    counts = counts.with_columns(pl.col("table").replace_strict(order, default=99).alias("_t")).sort(
        "_t", "rule", "column").drop("_t")
    rows = [{"indicator": f"quarantine:{r['table']}:{r['rule']}", "table": r["table"], "rule": r["rule"],
             "column": r["column"], "numerator": int(r["numerator"]), "_block": 1}
            for r in counts.iter_rows(named=True)]
    frame = _shape(rows, ["table", "rule", "column"], period)
    return _suppressed(frame, ["column"], audience or Audience("internal", None))


def date_order(ex, audience: Audience | None = None, period: str = "") -> pl.DataFrame:
    """Every date-order rule of the contract with the rows it quarantined (zeros included)."""
    q = ex.quarantine.filter(pl.col("rule") == "date_order")
    found = {(t, c): n for t, c, n in q.group_by("table", "column").len().iter_rows()} if q.height else {}
    rows = []
    for name in TABLE_ORDER:
        if name not in ex.reports:
            continue
        for order in TABLES[name].date_order:
            rows.append({"indicator": DATE_ORDER, "table": name, "later": order.later, "earlier": order.earlier,
                         "numerator": found.get((name, order.later), 0), "_block": 1})
    frame = _shape(rows, ["table", "later", "earlier"], period)
    return _suppressed(frame, ["later"], audience or Audience("internal", None))


def completeness(ex) -> pl.DataFrame:
    """Per table and contract column: accepted rows, rows where the column is filled, share in %.

    Row counts of columns are not figures about persons; they are not suppressed.
    """
    out = []
    for name in TABLE_ORDER:
        if not ex.has(name):
            continue
        frame = ex.table(name)
        filled = frame.select(pl.col(c).is_not_null().sum() for c in TABLES[name].column_names).row(0)
        for column, n in zip(TABLES[name].columns, filled):
            share = None if frame.height == 0 else round(100 * n / frame.height, 1)
            out.append({"table": name, "column": column.name, "required": column.required,
                        "rows": frame.height, "filled": int(n), "share": share})
    return pl.DataFrame(out, schema={"table": pl.String, "column": pl.String, "required": pl.Boolean,
                                     "rows": pl.Int64, "filled": pl.Int64, "share": pl.Float64})
