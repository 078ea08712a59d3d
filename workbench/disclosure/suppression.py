"""Per-table suppression: the ``suppress`` method (``internal`` with an explicit threshold only).

1. Primary: a count from 1 to k−1 is ``suppressed`` ("< k"); a rate, ratio, mean or median
   whose population (denominator) is from 1 to k−1 is ``small_population`` ("[p]"). Zeros
   and ``no_data`` are shown.
2. Secondary: in each block of breakdown rows of a count indicator, when exactly one cell is
   hidden, the smallest other non-zero cell of the block is ``withheld`` ("[c]", any value;
   the first in row order on a tie). In a cross-breakdown the blocks are taken along each
   dimension, repeatedly, until no block has exactly one hidden cell.
3. A hidden cell keeps its row with empty value, numerator and denominator.

This protects one table at a time: another table (a longer period, another breakdown) can
give a hidden cell back by subtraction, which is why outside audiences get grouping over the
calendar year instead (:mod:`workbench.disclosure.grouping`). :func:`check` verifies any
frame in the indicator-table shape before it is shown or exported.
"""

from __future__ import annotations

import polars as pl

from workbench.disclosure.audiences import Audience, declared_k, resolve_audience
from workbench.disclosure.flags import HIDDEN, SMALL_POPULATION, SUPPRESSED, WITHHELD, FLAGS
from workbench.exceptions import DisclosureError

#: Audience name -> its declared k.
AUDIENCES: dict[str, int | None] = declared_k()


def _units(catalogue) -> dict[str, str]:
    return {i.id: i.unit for i in catalogue}


def suppress(frame: pl.DataFrame, dims: list[str], audience: Audience, catalogue,
             extra_keys: tuple[str, ...] = ()) -> pl.DataFrame:
    """Apply primary and secondary suppression to an assembled indicator table.

    ``frame`` has the indicator-table columns plus ``_block`` (0 for total rows, then one
    number per breakdown block).
    """
    if not audience.suppresses or frame.height == 0:
        return frame
    k = audience.k
    units = _units(catalogue)
    unit = pl.col("indicator").replace_strict(units, default="count")
    is_count = unit == "count"
    small_count = is_count & (pl.col("numerator") > 0) & (pl.col("numerator") < k)
    small_population = ~is_count & (pl.col("denominator") > 0) & (pl.col("denominator") < k)
    primary = small_count.fill_null(False) | small_population.fill_null(False)
    frame = frame.with_row_index("_i").with_columns(primary.alias("_s"), is_count.alias("_count"))
    frame = _secondary(frame, dims, extra_keys)
    hidden = pl.col("_s")
    status = (pl.when(small_count).then(pl.lit(SUPPRESSED)).when(small_population).then(pl.lit(SMALL_POPULATION))
              .otherwise(pl.lit(WITHHELD)))
    return frame.with_columns(
        pl.when(hidden).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hidden).then(None).otherwise(pl.col("numerator")).alias("numerator"),
        pl.when(hidden).then(None).otherwise(pl.col("denominator")).alias("denominator"),
        pl.when(hidden).then(status).otherwise(pl.col("flag")).alias("flag"),
    ).drop("_i", "_s", "_count")


def _secondary(frame: pl.DataFrame, dims: list[str], extra_keys: tuple[str, ...]) -> pl.DataFrame:
    rows = frame.filter(pl.col("_count") & (pl.col("_block") > 0))
    if rows.height == 0:
        return frame
    # Number of dimensions set in each row: crosses have 2+, so each dim held fixed gives a sub-block.
    set_count = pl.sum_horizontal([pl.col(d).is_not_null().cast(pl.Int32) for d in dims]) if dims else pl.lit(0)
    rows = rows.with_columns(set_count.alias("_ndims"))
    groups: list[tuple[list[str], pl.Expr]] = [(["indicator", *extra_keys, "_block"], pl.col("_ndims") == 1)]
    for d in dims:
        # In a cross-breakdown, the rows sharing the value of d form a block along the other dimension(s).
        groups.append((["indicator", *extra_keys, "_block", d], (pl.col("_ndims") >= 2) & pl.col(d).is_not_null()))
    changed = True
    while changed:
        changed = False
        for keys, applies in groups:
            sub = rows.filter(applies)
            if sub.height == 0:
                continue
            lonely = (sub.with_columns(pl.col("_s").sum().over(keys).alias("_n"))
                      .filter((pl.col("_n") == 1) & ~pl.col("_s") & (pl.col("numerator") > 0)))
            if lonely.height == 0:
                continue
            pick = (lonely.sort(["numerator", "_i"])
                    .unique(keys, keep="first", maintain_order=True)
                    .select("_i"))
            if pick.height:
                ids = pick["_i"]
                rows = rows.with_columns((pl.col("_s") | pl.col("_i").is_in(ids.implode())).alias("_s"))
                changed = True
    marked = rows.filter(pl.col("_s")).select("_i")
    return frame.with_columns((pl.col("_s") | pl.col("_i").is_in(marked["_i"].implode())).alias("_s"))


def check(frame: pl.DataFrame, k: int | None, catalogue=None) -> None:
    """Refuse a frame in indicator-table shape that shows a cell the threshold k must hide,
    or whose marks do not say the truth ("< k" on anything but a hidden count)."""
    if frame.height == 0:
        return
    if "flag" in frame.columns:
        unknown = set(frame["flag"].drop_nulls().unique()) - set(FLAGS)
        if unknown:
            raise DisclosureError(f"Unknown cell flag(s) {', '.join(sorted(unknown))}; expected one of "
                                  f"{', '.join(FLAGS)}.")
    if not k or k <= 1:
        return
    if catalogue is None:
        from workbench.indicators.catalogue import load_catalogue
        catalogue = load_catalogue()
    units = _units(catalogue)
    unit = pl.col("indicator").replace_strict(units, default="count")
    shown = pl.col("value").is_not_null()
    bad = frame.filter(
        pl.col("flag").is_in(HIDDEN) & (shown | pl.col("numerator").is_not_null()
                                        | pl.col("denominator").is_not_null())
        | (pl.col("flag") == SUPPRESSED) & (unit != "count")
        | (unit == "count") & shown & (pl.col("value") > 0) & (pl.col("value") < k)
        | (unit != "count") & shown & (pl.col("denominator") < k)
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise DisclosureError(
            f"{bad.height} cell(s) would be shown below the threshold k = {k} (first: {first['indicator']}, "
            f"{first.get('period')}). Compute the table with the audience's suppression before sharing it.")
