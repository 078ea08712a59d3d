"""Disclosure control: small cells suppressed for shared figures.

Audiences: ``internal`` (no suppression), ``partner`` (k = 5), ``public`` (k = 10);
``threshold`` sets k for any audience.

1. Primary: a count with 0 < value < k is suppressed; a rate, ratio, mean or median
   whose population (denominator) is below k is suppressed. Zeros are shown, and so is
   ``no_data`` (an empty population has no figure to hide).
2. Secondary: in each block of breakdown rows of a count indicator, when exactly one
   cell is suppressed, the smallest other non-zero cell of the block is suppressed too
   (the first in row order on a tie). In a cross-breakdown the blocks are taken along
   each dimension, repeatedly, until no block has exactly one suppressed cell.
3. A suppressed cell keeps its row with empty value, numerator and denominator, and
   flag ``suppressed``.

:func:`check` verifies any frame in the indicator-table shape before it is shown or
exported, so a table that was transformed after suppression cannot leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.exceptions import DisclosureError, ParameterError

AUDIENCES: dict[str, int | None] = {"internal": None, "partner": 5, "public": 10}


@dataclass(frozen=True)
class Audience:
    name: str
    k: int | None

    @property
    def suppresses(self) -> bool:
        return bool(self.k and self.k > 1)


def resolve_audience(audience: str | Audience = "internal", threshold: int | None = None) -> Audience:
    """``("partner", None)`` → Audience("partner", 5); ``threshold`` overrides k."""
    if isinstance(audience, Audience):
        return audience if threshold is None else Audience(audience.name, _k(threshold))
    name = str(audience).strip().lower()
    if name not in AUDIENCES:
        raise ParameterError(f"Unknown audience '{audience}': use internal, partner or public.")
    return Audience(name, _k(threshold) if threshold is not None else AUDIENCES[name])


def _k(threshold) -> int:
    try:
        k = int(threshold)
    except (TypeError, ValueError):
        raise ParameterError(f"The threshold must be a whole number, got {threshold!r}.") from None
    if k < 1:
        raise ParameterError(f"The threshold must be at least 1, got {k}.")
    return k


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
    primary = (pl.when(is_count)
               .then((pl.col("numerator") > 0) & (pl.col("numerator") < k))
               .otherwise((pl.col("denominator") > 0) & (pl.col("denominator") < k))
               .fill_null(False))
    frame = frame.with_row_index("_i").with_columns(primary.alias("_s"), is_count.alias("_count"))
    frame = _secondary(frame, dims, extra_keys)
    hidden = pl.col("_s")
    return frame.with_columns(
        pl.when(hidden).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hidden).then(None).otherwise(pl.col("numerator")).alias("numerator"),
        pl.when(hidden).then(None).otherwise(pl.col("denominator")).alias("denominator"),
        pl.when(hidden).then(pl.lit("suppressed")).otherwise(pl.col("flag")).alias("flag"),
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
    """Refuse a frame in indicator-table shape that shows a cell the threshold k must hide."""
    if not k or k <= 1 or frame.height == 0:
        return
    if catalogue is None:
        from workbench.indicators.catalogue import load_catalogue
        catalogue = load_catalogue()
    units = _units(catalogue)
    unit = pl.col("indicator").replace_strict(units, default="count")
    shown = pl.col("value").is_not_null()
    bad = frame.filter(
        (pl.col("flag") == "suppressed") & (shown | pl.col("numerator").is_not_null()
                                            | pl.col("denominator").is_not_null())
        | (unit == "count") & shown & (pl.col("value") > 0) & (pl.col("value") < k)
        | (unit != "count") & shown & (pl.col("denominator") < k)
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise DisclosureError(
            f"{bad.height} cell(s) would be shown below the threshold k = {k} (first: {first['indicator']}, "
            f"{first.get('period')}). Compute the table with the audience's suppression before sharing it.")
