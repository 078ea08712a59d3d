"""The figures an audience may see: a selection, evaluated, then suppressed.

Every figure a report, a dashboard or ``workbench indicators`` shows comes from
:func:`compute`, :func:`series` or :func:`change`: the extract is restricted to the
selection (:func:`workbench.selection.restrict`, one meaning everywhere), the indicators
are evaluated (:func:`workbench.indicators.evaluate`) and small cells are suppressed for
the audience (:func:`workbench.disclosure.suppress`). Same question, same number.

>>> from workbench import disclosure, extract                                      # doctest: +SKIP
>>> from workbench.selection import Selection                                      # doctest: +SKIP
>>> t = disclosure.compute(extract.load("demo"), "2025", ["new_persons"],          # doctest: +SKIP
...                        audience="partner", selection=Selection(sites=("sfax",)))
>>> t.frame, t.audience, t.k                                                       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.disclosure import family
from workbench.disclosure.audiences import Audience, resolve_audience
from workbench.disclosure.calendar import require_published
from workbench.disclosure.scopes import require_scope
from workbench.disclosure.suppression import suppress
from workbench.exceptions import ParameterError
from workbench.indicators.catalogue import Catalogue
from workbench.indicators import stored
from workbench.indicators.engine import (HELPER_COLUMNS, TABLE_COLUMNS, Evaluation, evaluate, evaluate_units,
                                         parse_breakdowns, select_indicators, sort_rows)
from workbench.indicators.organisation import catalogue_for
from workbench.periods import Period, parse_period
from workbench.selection import Selection, restrict
from workbench.selection.units import can_label, labelled

Breakdowns = Iterable[str | Sequence[str]] | str | None


def _frozen(mapping: Mapping | None) -> Mapping:
    return types.MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class IndicatorTable:
    """An indicator table as computed for an audience: the frame and what vouches for it.

    ``frame`` holds ``indicator, period, <dimensions>, value, numerator, denominator, flag``
    (:func:`change` adds the comparison columns); ``audience`` and ``k`` (the threshold its
    cells were suppressed with, ``None`` when nothing is suppressed); ``unavailable`` the
    indicators whose tables the extract lacks (id → why, no rows); ``params`` the catalogue
    parameters in force; ``selection`` the part of the extract it is about. A table never
    changes: the builder methods return new tables with the same audience and k.
    """

    frame: pl.DataFrame
    audience: str
    k: int | None
    unavailable: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)
    #: The catalogue the figures were computed with (labels, units, footnotes of its indicators).
    catalogue: Catalogue | None = None
    #: The protection method (``none``, ``suppress``, ``group``, ``group_round``) and its rounding base.
    method: str = "none"
    base: int | None = None
    #: Categories grouped into ``other`` (or left out of a ``multi`` breakdown) in this table.
    grouped: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "unavailable", _frozen(self.unavailable))  # construction only
        object.__setattr__(self, "params", _frozen(self.params))

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def columns(self) -> list[str]:
        return self.frame.columns

    def with_frame(self, frame: pl.DataFrame) -> IndicatorTable:
        """A new table holding ``frame`` (derived from this one), with the same audience and k."""
        return dataclasses.replace(self, frame=frame)

    def filter(self, *predicates: pl.Expr, **constraints: Any) -> IndicatorTable:
        """The rows that match, as a new table."""
        return self.with_frame(self.frame.filter(*predicates, **constraints))


def frame_and_k(table: IndicatorTable | pl.DataFrame, k: int | None = None) -> tuple[pl.DataFrame, int | None]:
    """The frame of an indicator table and the k it was protected with (a ``k`` given wins).

    A plain frame vouches for nothing: its k is the one given (outputs then check it with
    :func:`~workbench.disclosure.check`).
    """
    if isinstance(table, IndicatorTable):
        return table.frame, table.k if k is None else k
    return table, k


def _table(frame: pl.DataFrame, aud: Audience, ev: Evaluation, selection: Selection, cat: Catalogue,
           withheld: Mapping[str, str], grouped: int = 0) -> IndicatorTable:
    method = aud.method if aud.suppresses else "none"
    return IndicatorTable(frame.drop([c for c in HELPER_COLUMNS if c in frame.columns]), aud.name,
                          aud.k if aud.suppresses else None, {**ev.unavailable, **withheld}, ev.params, selection,
                          cat, method, aud.base if aud.rounds else None, grouped)


def _protected(extract, periods: list[Period], chosen, by, params, selection: Selection, cat: Catalogue,
               aud: Audience, withheld, extra_keys: tuple[str, ...] = ()) -> IndicatorTable:
    """Evaluate and protect: outside audiences through their calendar year, others per table."""
    if aud.outside:
        periods = [require_published(p, aud, extract) for p in periods]
        require_scope(extract, selection, aud)
        frame, _, ev, grouped = family.published(extract, periods, chosen, by, params, selection, cat, aud,
                                                 _evaluate, _evaluate_many)
        return _table(frame, aud, ev, selection, cat, withheld, grouped)
    ev = _evaluate(extract, periods, chosen, by, params, selection, cat)
    frame = suppress(ev.frame, list(ev.dimensions), aud, cat, extra_keys=extra_keys)
    return _table(frame, aud, ev, selection, cat, withheld)


def _for_audience(indicators, aud: Audience, cat: Catalogue) -> tuple[list[str], dict[str, str]]:
    """The indicators asked for that the audience may see, and those withheld (id → why)."""
    chosen = select_indicators(indicators, cat)
    withheld = {i.id: f"shown to the {', '.join(i.audiences)} audience only" for i in chosen
                if i.audiences and aud.name not in i.audiences}
    return [i.id for i in chosen if i.id not in withheld], withheld


def _question(periods: list[Period], indicators, by, params, selection: Selection) -> dict:
    return {"periods": [p.code for p in periods],
            "indicators": [indicators] if isinstance(indicators, str) else
            None if indicators is None else list(indicators),
            "by": [list(b) for b in parse_breakdowns(by)], "params": params or {},
            "selection": {k: list(v) for k, v in selection.active().items()}}


def _evaluate(extract, periods: list[Period], indicators, by, params, selection: Selection,
              cat: Catalogue) -> Evaluation:
    """Evaluate on the selection (an answer kept beside the validated extract when the same question was
    asked before: :mod:`workbench.indicators.stored`)."""
    return stored.evaluation(extract, _question(periods, indicators, by, params, selection), cat,
                             lambda: _evaluate_now(extract, periods, indicators, by, params, selection, cat))


def _evaluate_many(extract, periods: list[Period], indicators, by, params, selections: Sequence[Selection],
                   cat: Catalogue) -> list[Evaluation]:
    """:func:`_evaluate` of each selection; those not kept yet that can be labelled (sites and centres) are
    evaluated together, in one pass over the extract labelled with them (:func:`evaluate_units`)."""
    together = [s for s in selections if can_label(s)]
    answers: dict[int, Evaluation] = {}

    def one(i: int) -> Evaluation:
        if not answers:  # the first selection not kept: every one computed now, in one pass
            evs = evaluate_units(labelled(extract, together), len(together), periods, indicators, by, params, cat)
            answers.update(enumerate(evs))
        return answers[i]

    out = []
    for s in selections:
        if s in together:
            i = together.index(s)
            out.append(stored.evaluation(extract, _question(periods, indicators, by, params, s), cat,
                                         lambda i=i: one(i)))
        else:
            out.append(_evaluate(extract, periods, indicators, by, params, s, cat))
    return out


def _evaluate_now(extract, periods: list[Period], indicators, by, params, selection: Selection,
                  cat: Catalogue) -> Evaluation:
    """Evaluate on the selection; with an age-group filter, each period's ages are taken in its own year."""
    if not selection.age_group:
        return evaluate(restrict(extract, selection), periods, indicators, by, params, cat)
    years = sorted({p.end.year for p in periods})
    parts = [evaluate(restrict(extract, selection, year), [p for p in periods if p.end.year == year],
                      indicators, by, params, cat) for year in years]
    if len(parts) == 1:
        return parts[0]
    frame = sort_rows(pl.concat([ev.frame for ev in parts]), parts[0].dimensions, cat)
    return dataclasses.replace(parts[0], frame=frame)


def compute(extract, period: str | Period, indicators: Iterable[str] | str | None = None, by: Breakdowns = None,
            audience: str | Audience = "internal", threshold: int | None = None,
            params: dict[str, Any] | None = None, selection: Selection | None = None,
            catalogue: Catalogue | str | None = None) -> IndicatorTable:
    """Indicators for one period, as ``audience`` may see them.

    Parameters
    ----------
    extract
        A loaded :class:`workbench.extract.Extract`.
    period
        A period (``"2024-Q3"``…) or :class:`~workbench.periods.Period`.
    indicators
        Indicator ids; ``None`` for the whole catalogue.
    by
        Breakdowns: each a dimension (``"sex"``) or a cross-breakdown (``"sex,age_group"``
        or a tuple). Each applies to the indicators that allow it.
    audience, threshold
        ``internal`` (no protection), ``partner`` (k = 5) or ``public`` (k = 10), as declared in
        ``audiences.yaml``; ``threshold`` sets k (``internal`` with a threshold: per-table
        suppression). Outside audiences receive calendar periods only
        (:class:`~workbench.exceptions.UnpublishedPeriodError` otherwise) and the whole extract
        or a scope declared in ``extract.yaml``.
    params
        Catalogue parameters (``assessment_deadlines``, ``care_plan_deadline``,
        ``review_overdue_days``, ``trafficking_referral_days``).
    selection
        Sites, centres and person attributes the figures are about (:func:`workbench.selection.restrict`);
        ``None``: the whole extract.
    catalogue
        A :class:`~workbench.indicators.Catalogue` or the path of an organisation's catalogue
        file; ``None``: the one ``extract.yaml`` names (``catalogue:``), else the built-in one.
        An indicator declared for some audiences only is withheld from the others (listed in
        ``unavailable``).
    """
    p = parse_period(period)
    aud = resolve_audience(audience, threshold)
    selection = selection or Selection()
    cat = _catalogue(extract, catalogue)
    chosen, withheld = _for_audience(indicators, aud, cat)
    return _protected(extract, [p], chosen, by, params, selection, cat, aud, withheld)


def _catalogue(extract, catalogue: Catalogue | str | None) -> Catalogue:
    return catalogue if isinstance(catalogue, Catalogue) else catalogue_for(extract, catalogue)


def series(extract, periods: Sequence[str | Period], indicators: Iterable[str] | str | None = None,
           by: Breakdowns = None, audience: str | Audience = "internal", threshold: int | None = None,
           params: dict[str, Any] | None = None, selection: Selection | None = None,
           catalogue: Catalogue | str | None = None) -> IndicatorTable:
    """The same indicators over several periods (e.g. ``period_run("2025-Q4", 8)``), in one call.

    Rows are ordered by period (oldest first), then as in :func:`compute`; each period's
    rows equal :func:`compute`'s (outside audiences: each calendar year is protected as a whole).
    """
    ps = sorted({parse_period(p) for p in periods})
    if not ps:
        raise ParameterError("series() needs at least one period.")
    aud = resolve_audience(audience, threshold)
    selection = selection or Selection()
    cat = _catalogue(extract, catalogue)
    chosen, withheld = _for_audience(indicators, aud, cat)
    return _protected(extract, ps, chosen, by, params, selection, cat, aud, withheld, extra_keys=("period",))


def change(extract, period: str | Period, compare_to: str | Period | None = None, **kwargs) -> IndicatorTable:
    """Figures of a period beside those of the comparison period (default: the previous one).

    The frame adds ``previous_period``, ``previous_value``, ``previous_flag``, ``change``
    (difference) and ``change_pct`` (relative change of a count, in %), empty where either
    side has no value or is suppressed. Keyword arguments are those of :func:`series`.
    """
    p = parse_period(period)
    q = parse_period(compare_to) if compare_to else p.previous()
    both = series(extract, [q, p], **kwargs)
    frame = both.frame
    dims = [c for c in frame.columns if c not in ("indicator", "period", *TABLE_COLUMNS)]
    current = frame.filter(pl.col("period") == p.code)
    previous = frame.filter(pl.col("period") == q.code).select(
        "indicator", *dims, pl.col("value").alias("previous_value"), pl.col("flag").alias("previous_flag"))
    units = {i.id: i.unit for i in both.catalogue}
    out = current.join(previous, on=["indicator", *dims], how="left", nulls_equal=True,
                       maintain_order="left")
    diff = pl.col("value") - pl.col("previous_value")
    is_count = pl.col("indicator").replace_strict(units, default="count") == "count"
    return both.with_frame(out.with_columns(
        pl.lit(q.code).alias("previous_period"),
        diff.round(2).alias("change"),
        pl.when(is_count & (pl.col("previous_value") > 0))
        .then((diff / pl.col("previous_value") * 100).round(1)).alias("change_pct"),
    ))


__all__ = ["IndicatorTable", "change", "compute", "series"]
