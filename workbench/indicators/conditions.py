"""The small condition language of the catalogue, turned into polars.

A population or numerator in ``catalogue.yaml`` is a list of conditions, each a
one-key mapping. Population conditions may filter or join; numerator conditions are
pure expressions. ``start`` and ``end`` are the period's first and last days.

==================================  =====================================================
``{in_period: col}``                start ≤ col ≤ end
``{overlaps: [a, b]}``              a ≤ end and (b empty or b ≥ start)
``{open_at_end: [a, b]}``           a ≤ end and (b empty or b > end)
``{set: col}``                      col is recorded
``{is_true: col}``                  col is true
``{in: {col: [codes]}}``            col is one of the codes
``{not_in: {col: [codes]}}``        col is recorded and none of the codes
``{minor_at: col}``                 year(col) − birth_year < 18
``{minor_at_first: col}``           the same at the person's earliest col in the population
``{within_days: {from, to, limit, by}}``  to recorded and days(from → to) ≤ limit (a parameter;
                                    with ``by``, a mapping from that column's codes to limits)
``{overdue: {dates, limit}}``       days(first recorded of dates → end) > limit
``{flagged_by_end: flag}``          the person has that protection flag identified on or before end
``{mapped_in: {table, match}}``     a row of ``table`` matches the record on every ``match`` pair
                                    (records column: table column), e.g. a referral whose
                                    service type and partner are in the services directory
==================================  =====================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.exceptions import WorkbenchError

PERSON = "person_id"

#: Every kind of condition, as written in a catalogue.
KINDS = ("in_period", "overlaps", "open_at_end", "set", "is_true", "in", "not_in", "minor_at", "minor_at_first",
         "within_days", "overdue", "flagged_by_end", "mapped_in")


#: Conditions that filter by more than an expression on the records (a window or a join).
NOT_EXPRESSIONS = frozenset({"mapped_in", "minor_at_first", "flagged_by_end"})


def condition_columns(kind: str, arg: Any) -> tuple[list[str], Any]:
    """The columns a condition reads and the parameter (or number) it takes as a limit."""
    if kind in ("in_period", "set", "is_true", "minor_at", "minor_at_first"):
        return [str(arg)], None
    if kind in ("overlaps", "open_at_end"):
        return [str(a) for a in (arg if isinstance(arg, list) else [arg])], None
    if kind in ("in", "not_in"):
        return [str(c) for c in (arg if isinstance(arg, dict) else {arg: None})], None
    if kind == "within_days" and isinstance(arg, dict):
        return [str(arg[k]) for k in ("from", "to", "by") if arg.get(k)], arg.get("limit")
    if kind == "overdue" and isinstance(arg, dict):
        return [str(c) for c in arg.get("dates") or []], arg.get("limit")
    if kind == "mapped_in" and isinstance(arg, dict):
        return [str(c) for c in (arg.get("match") or {})], None
    return [], None


#: The working columns of several periods evaluated in one pass (:attr:`Window.periods`).
PERIOD, LO, HI = "_period", "_lo", "_hi"
#: The working column of several selections evaluated in one pass: in an extract labelled with its
#: units (:func:`workbench.selection.units.labelled`), each row's list of the selections that keep
#: it; in :attr:`Window.periods`, the selection of each row (a PERIOD is then one unit's period).
UNITS = "_units"


@dataclass(frozen=True)
class Window:
    """A period's bounds and the parameters in force, as seen by conditions.

    With ``periods`` (a frame of :data:`PERIOD`, :data:`LO`, :data:`HI`), the window is several
    periods at once: :meth:`spread` pairs each record with every period, the bounds are those
    columns, and what is per person is per person and period (:attr:`keys`).

    With a :data:`UNITS` column in ``periods``, the records are those of an extract labelled with
    its units (several selections at once): :meth:`spread` pairs each record with every period of
    each unit it belongs to, so a :data:`PERIOD` is one unit's period and what is per person is per
    person, unit and period, as each selection evaluated alone would give it."""

    start: dt.date
    end: dt.date
    params: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pl.LazyFrame] = field(default_factory=dict)
    periods: pl.DataFrame | None = None
    #: Tables whose persons are their numbers (the rows of :attr:`tables` with each person's number in
    #: its person column), which a condition reads for records whose persons are numbers.
    numbered: dict[str, pl.LazyFrame] = field(default_factory=dict)

    @property
    def lo(self) -> pl.Expr:
        return pl.col(LO) if self.periods is not None else pl.lit(self.start, dtype=pl.Date)

    @property
    def hi(self) -> pl.Expr:
        return pl.col(HI) if self.periods is not None else pl.lit(self.end, dtype=pl.Date)

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns that tell the periods apart in the records: none for one period."""
        return (PERIOD,) if self.periods is not None else ()

    @property
    def units(self) -> bool:
        """Whether the records are labelled with units (several selections in one pass)."""
        return self.periods is not None and UNITS in self.periods.columns

    @property
    def unit_keys(self) -> tuple[str, ...]:
        """The column naming a record's unit once spread: none without units."""
        return (UNITS,) if self.units else ()

    def spread(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Each record once per period (several periods) of each of its units (labelled records); the
        records as they are (one period)."""
        if self.periods is None:
            return lf
        if self.units:
            return lf.explode(UNITS).join(self.periods.lazy(), on=UNITS, how="inner")
        return lf.join(self.periods.lazy(), how="cross")

    def by_unit(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Another table's rows once per unit that keeps them (labelled records), as they are otherwise."""
        return lf.explode(UNITS) if self.units else lf

    def per_person(self) -> list[str]:
        """What "the person's" means: per person, and per period when there are several."""
        return [PERSON, *self.keys]


def days_between(a: str, b: str) -> pl.Expr:
    """Calendar days from column a to column b (same day = 0)."""
    return (pl.col(b) - pl.col(a)).dt.total_days()


def age_at(col: pl.Expr) -> pl.Expr:
    return col.dt.year().cast(pl.Int32) - pl.col("birth_year")


def _limit(spec: dict, w: Window) -> pl.Expr:
    limit = spec["limit"]
    value = w.params.get(limit, limit) if isinstance(limit, str) else limit
    if isinstance(value, dict):
        by = spec.get("by")
        if not by:
            raise WorkbenchError(f"within_days: parameter '{limit}' is a mapping but no 'by' column is given")
        return pl.col(by).cast(pl.String).replace_strict(
            {str(k): int(v) for k, v in value.items()}, default=None, return_dtype=pl.Int64)
    return pl.lit(int(value))


def expression(cond: dict, w: Window) -> pl.Expr:
    """A condition that is a pure expression on the records."""
    (kind, arg), = cond.items()
    if kind == "in_period":
        return pl.col(arg).is_between(w.lo, w.hi)
    if kind == "overlaps":
        a, b = arg
        return (pl.col(a) <= w.hi) & (pl.col(b).is_null() | (pl.col(b) >= w.lo))
    if kind == "open_at_end":
        a, b = arg
        return (pl.col(a) <= w.hi) & (pl.col(b).is_null() | (pl.col(b) > w.hi))
    if kind == "set":
        return pl.col(arg).is_not_null()
    if kind == "is_true":
        return pl.col(arg).fill_null(False)
    if kind == "in":
        (col, codes), = arg.items()
        return pl.col(col).cast(pl.String).is_in(list(codes)).fill_null(False)
    if kind == "not_in":
        (col, codes), = arg.items()
        return pl.col(col).is_not_null() & ~pl.col(col).cast(pl.String).is_in(list(codes))
    if kind == "minor_at":
        return (age_at(pl.col(arg)) < 18).fill_null(False)
    if kind == "within_days":
        days = days_between(arg["from"], arg["to"])
        return (pl.col(arg["to"]).is_not_null() & (days <= _limit(arg, w))).fill_null(False)
    if kind == "overdue":
        latest = pl.coalesce(*[pl.col(c) for c in arg["dates"]])
        return ((w.hi - latest).dt.total_days() > _limit(arg, w)).fill_null(False)
    if kind == "mapped_in":
        return pl.col(_mapped_column(arg)).fill_null(False)
    raise WorkbenchError(f"unknown condition '{kind}' in the catalogue")


def _mapped_column(arg: dict) -> str:
    return "_mapped_" + arg["table"]


def prepare(lf: pl.LazyFrame, cond: dict, w: Window) -> pl.LazyFrame:
    """Join what a numerator condition reads from another table (``mapped_in``); others unchanged."""
    (kind, arg), = cond.items()
    if kind != "mapped_in":
        return lf
    on = {str(k): str(v) for k, v in arg["match"].items()}
    table = w.by_unit(w.tables[arg["table"]])  # labelled: the rows of the record's unit
    units = list(w.unit_keys)
    found = (table.select(*[pl.col(v).cast(pl.String).alias(k) for k, v in on.items()], *units)
             .drop_nulls().unique().with_columns(pl.lit(True).alias(_mapped_column(arg))))
    return (lf.with_columns(pl.col(k).cast(pl.String).alias(f"_on_{k}") for k in on)
            .join(found.rename({k: f"_on_{k}" for k in on}), on=[*[f"_on_{k}" for k in on], *units], how="left")
            .drop([f"_on_{k}" for k in on]))


def apply(lf: pl.LazyFrame, cond: dict, w: Window) -> pl.LazyFrame:
    """Apply one population condition (a filter, or a join for the conditions that need one)."""
    (kind, arg), = cond.items()
    if kind == "mapped_in":
        return prepare(lf, cond, w).filter(expression(cond, w))
    if kind == "minor_at_first":
        first = pl.col(arg).min().over(w.per_person())
        return lf.filter((age_at(first) < 18).fill_null(False))
    if kind == "flagged_by_end":
        numbers = lf.collect_schema()[PERSON].is_integer()  # the records' persons are their numbers
        flagged = (w.spread((w.numbered if numbers else w.tables)["protection_flags"])
                   .filter((pl.col("flag").cast(pl.String) == arg) & (pl.col("identified_on") <= w.hi))
                   .select(w.per_person()).unique())
        return lf.join(flagged, on=w.per_person(), how="semi")
    return lf.filter(expression(cond, w))
