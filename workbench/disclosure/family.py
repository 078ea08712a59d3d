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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from workbench.disclosure.calendar import levels, publication_end
from workbench.disclosure.grouping import OTHER, protect_year
from workbench.disclosure.scoped import protect_scopes
from workbench.disclosure.scopes import atoms, by_depth
from workbench.indicators.engine import Evaluation, dimension_order, parse_breakdowns
from workbench.extract.memo import memo_of
from workbench.periods import Period
from workbench.selection import Selection

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


_KEY_HELPERS = ("_start", "_order", "_block")


def _rest(whole: pl.DataFrame, parts: list[pl.DataFrame], dims: Sequence[str]) -> pl.DataFrame:
    """The rows of "whole minus the atoms", for the decision only (numerators and populations).

    Exact for counts of records; for distinct persons seen in several atoms the difference is
    at most what subtraction tells a reader, and a negative one tells nothing (kept as 0).
    """
    key = ["indicator", "period", *dims, *[c for c in _KEY_HELPERS if c in whole.columns]]
    if not parts:
        return whole
    summed = (pl.concat([p.select(*key, "numerator", "denominator") for p in parts], how="vertical_relaxed")
              .group_by(key).agg(pl.col("numerator").fill_null(0).sum().alias("_n"),
                                 pl.col("denominator").fill_null(0).sum().alias("_d")))
    joined = whole.join(summed, on=key, how="left", nulls_equal=True)
    diff = lambda c, s: pl.when(pl.col(c).is_null()).then(None).otherwise(  # noqa: E731
        (pl.col(c) - pl.col(s).fill_null(0)).clip(lower_bound=0))
    return joined.with_columns(numerator=diff("numerator", "_n"), denominator=diff("denominator", "_d"),
                               value=pl.lit(None, dtype=whole.schema["value"])).drop("_n", "_d")


def protected_year(extract, year: int, chosen: Sequence[str], by, params, selection, cat, audience,
                   evaluate: Callable[..., Evaluation], many: Callable[..., list[Evaluation]] | None = None
                   ) -> ProtectedYear:
    """The protected family of ``year`` for ``selection``: the whole extract or a declared scope
    (computed once per extract object and question). ``many`` evaluates several selections at once
    (the whole extract, the scopes and their atoms in one pass), as ``evaluate`` would each."""
    breakdowns = with_margins(by)
    whole = selection is None or selection.is_empty
    key = ("year", year, None if whole else selection, id(cat), tuple(chosen), tuple(breakdowns),
           repr(sorted((params or {}).items())), audience)
    memo = memo_of(extract, "disclosure.family")
    hit = memo.get(key)
    if hit is not None and hit.catalogue is cat:
        return hit
    lv = levels(year, audience, publication_end(extract))
    periods = [u for _, units in lv for u in units]
    if not whole and many is not None:
        _evaluated_together(extract, memo, periods, chosen, breakdowns, params, _units(extract), cat, many)
    ev = _evaluated(extract, memo, periods, chosen, breakdowns, params, Selection(), cat, evaluate)
    if whole:
        frame, grouped = protect_year(ev.frame, list(ev.dimensions), lv, audience, cat)
        memo[key] = hit = ProtectedYear(frame, tuple(ev.dimensions), ev, grouped, cat)
        return hit
    memo.update(_scopes_year(extract, memo, year, lv, periods, chosen, breakdowns, params, cat, audience, evaluate,
                             ev, key[3:]))
    return memo[key]


def _evaluation_key(periods, chosen, breakdowns, params, selection, cat) -> tuple:
    return ("evaluation", tuple(p.code for p in periods), selection, id(cat), tuple(chosen), tuple(breakdowns),
            repr(sorted((params or {}).items())))


def _evaluated(extract, memo, periods, chosen, breakdowns, params, selection, cat, evaluate) -> Evaluation:
    """One engine evaluation, kept for the other audiences and scopes asking the same question."""
    key = _evaluation_key(periods, chosen, breakdowns, params, selection, cat)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = evaluate(extract, periods, list(chosen), breakdowns, params, selection, cat)
    return hit


def _units(extract) -> list[Selection]:
    """Every selection the scopes' family decides on: the whole extract, then each depth's scopes and atoms
    (as :func:`_scopes_year` takes them), each once."""
    out = [Selection()]
    layers = by_depth(extract)
    for depth, layer in enumerate(layers):
        for sel in layer + atoms([s for shallower in layers[:depth + 1] for s in shallower]):
            if sel not in out:
                out.append(sel)
    return out


def _evaluated_together(extract, memo, periods, chosen, breakdowns, params, selections, cat, many) -> None:
    """The evaluations of ``selections`` not kept yet, in one call of ``many``, kept as :func:`_evaluated` keeps them."""
    keys = {sel: _evaluation_key(periods, chosen, breakdowns, params, sel, cat) for sel in selections}
    missing = [sel for sel in selections if keys[sel] not in memo]
    if len(missing) > 1:
        for sel, ev in zip(missing, many(extract, periods, list(chosen), breakdowns, params, missing, cat)):
            memo[keys[sel]] = ev


def _scopes_year(extract, memo, year, lv, periods, chosen, breakdowns, params, cat, audience, evaluate,
                 whole: Evaluation, rest_of_key: tuple) -> dict:
    """Every declared scope's protected year at once (``scoped``): their entries of the memo.

    Scopes are taken depth by depth (a scope inside another is one level deeper): the units of
    depth d are its scopes, the atoms the scopes of depth ≤ d cut the extract into, and the rest.
    """
    dims = list(whole.dimensions)
    frames, groups, published = [whole.frame], [], {}
    layers = by_depth(extract)
    for depth, layer in enumerate(layers):
        parts = atoms([s for shallower in layers[:depth + 1] for s in shallower])
        members = layer + [a for a in parts if a not in layer]
        group = []
        for sel in members:
            ev = _evaluated(extract, memo, periods, chosen, breakdowns, params, sel, cat, evaluate)
            frames.append(ev.frame)
            group.append(len(frames) - 1)
            if sel in layer:
                published[len(frames) - 1] = (sel, ev)
        frames.append(_rest(whole.frame, [frames[group[members.index(a)]] for a in parts], dims))
        groups.append(group + [len(frames) - 1])
    frame, grouped = protect_scopes(frames, groups, set(published), dims, lv, audience, cat)
    out = {}
    for i, (scope, ev) in published.items():
        mine = {(ind, u.partition("|")[2], b): n for (ind, u, b), n in grouped.items() if u.startswith(f"{i}|")}
        out[("year", year, scope, *rest_of_key)] = ProtectedYear(
            frame.filter(pl.col("_sel") == i).drop("_sel"), tuple(dims), ev, mine, cat)
    return out


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
              evaluate: Callable[..., Evaluation], many: Callable[..., list[Evaluation]] | None = None
              ) -> tuple[pl.DataFrame, tuple[str, ...], Evaluation, int]:
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
        fam = protected_year(extract, year, chosen, by, params, selection, cat, audience, evaluate, many)
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
