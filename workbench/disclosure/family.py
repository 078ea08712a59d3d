"""The figures of outside audiences: each calendar year evaluated and protected as a whole.

For a period asked by an outside audience, the indicators are evaluated over every
published unit of its calendar year (one engine call with all the periods), protected
together (:func:`workbench.disclosure.grouping.protect_year`), and only the rows asked for
are returned. The protected year is kept for the life of the extract object, keyed by the
selection, catalogue, indicators, breakdowns, parameters and audience, so reports and
dashboards asking for its other periods do not compute it again, and a cell gets the same
treatment whichever period is asked first.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from workbench.disclosure.calendar import levels, publication_end
from workbench.disclosure.grouping import OTHER, protect_year
from workbench.indicators.engine import Evaluation, dimension_order, parse_breakdowns
from workbench.periods import Period

_MEMOS: dict[int, dict] = {}


def _memo(extract) -> dict:
    key = id(extract)
    memo = _MEMOS.get(key)
    if memo is None:
        memo = _MEMOS[key] = {}
        weakref.finalize(extract, _MEMOS.pop, key, None)
    return memo


@dataclass(frozen=True)
class ProtectedYear:
    """One calendar year's published rows for an audience, and the categories grouped per (indicator, period, block)."""

    frame: pl.DataFrame
    dimensions: tuple[str, ...]
    evaluation: Evaluation
    grouped: dict
    catalogue: object


def with_margins(by) -> list[tuple[str, ...]]:
    """The breakdowns asked, then the single breakdown of every dimension of a cross (its margins)."""
    asked = parse_breakdowns(by)
    out = list(asked)
    for dims in asked:
        for d in dims:
            if len(dims) > 1 and (d,) not in out:
                out.append((d,))
    return out


def protected_year(extract, year: int, chosen: Sequence[str], by, params, selection, cat, audience,
                   evaluate: Callable[..., Evaluation]) -> ProtectedYear:
    """The protected family of ``year`` (computed once per extract object and question)."""
    breakdowns = with_margins(by)
    key = ("year", year, selection, id(cat), tuple(chosen), tuple(breakdowns), repr(sorted((params or {}).items())),
           audience)
    memo = _memo(extract)
    hit = memo.get(key)
    if hit is not None and hit.catalogue is cat:
        return hit
    lv = levels(year, audience, publication_end(extract))
    periods = [u for _, units in lv for u in units]
    ev = evaluate(extract, periods, list(chosen), breakdowns, params, selection, cat)
    frame, grouped = protect_year(ev.frame, list(ev.dimensions), lv, audience, cat)
    memo[key] = hit = ProtectedYear(frame, tuple(ev.dimensions), ev, grouped, cat)
    return hit


def sort_published(frame: pl.DataFrame, dims: Sequence[str], cat) -> pl.DataFrame:
    """Rows in table order, a grouped ``other`` row last but for ``unknown``."""
    keys: list[pl.Expr] = [pl.col("_start"), pl.col("_order"), pl.col("_block")]
    for d in dims:
        col = pl.col(d)
        order = dimension_order(d, cat)
        keys += [(col == "unknown").cast(pl.Int8), (col == OTHER).cast(pl.Int8)]
        if order is not None:
            keys.append(col.replace_strict({c: i for i, c in enumerate(order)}, default=len(order),
                                           return_dtype=pl.Int32))
        keys.append(col)
    return frame.sort(keys, nulls_last=False, maintain_order=True)


def published(extract, periods: Sequence[Period], chosen: Sequence[str], by, params, selection, cat, audience,
              evaluate: Callable[..., Evaluation]) -> tuple[pl.DataFrame, tuple[str, ...], Evaluation, int]:
    """The rows of ``periods`` and the breakdowns asked, as the audience may see them.

    Returns the frame (helper columns kept), its breakdown columns, one evaluation (for the
    unavailable indicators and parameters) and the number of categories grouped in it.
    """
    asked = parse_breakdowns(by)
    dims: list[str] = []
    for bd in asked:
        dims += [d for d in bd if d not in dims]
    parts, grouped, ev = [], 0, None
    for year in sorted({p.start.year for p in periods}):
        codes = [p.code for p in periods if p.start.year == year]
        fam = protected_year(extract, year, chosen, by, params, selection, cat, audience, evaluate)
        ev = ev or fam.evaluation
        frame = fam.frame.filter(pl.col("period").is_in(codes))
        if fam.dimensions:
            sig = pl.concat_str([pl.when(pl.col(d).is_not_null()).then(pl.lit(d)).otherwise(pl.lit(""))
                                 for d in fam.dimensions], separator="|")
            allowed = {"|".join(d if d in bd else "" for d in fam.dimensions) for bd in [(), *asked]}
            frame = frame.filter(sig.is_in(sorted(allowed)))
        frame = frame.select("indicator", "period", *dims, "value", "numerator", "denominator", "flag",
                                          "_start", "_order", "_block")
        parts.append(frame)
        blocks = set(frame.select("indicator", "period", "_block").unique().iter_rows())
        grouped += sum(n for (i, u, b), n in fam.grouped.items() if (i, u, b) in blocks)
    frame = pl.concat(parts) if parts else pl.DataFrame()
    return sort_published(frame, dims, cat), tuple(dims), ev, grouped
