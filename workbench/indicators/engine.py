"""The indicator engine: the catalogue evaluated on an extract for some periods, unsuppressed.

>>> from workbench import demo, extract, indicators                     # doctest: +SKIP
>>> ex = extract.load(demo.write(tmp_path / "demo", persons=500))        # doctest: +SKIP
>>> ev = indicators.evaluate(ex, ["2025-Q3"], ["contacts"], by=["sex"])  # doctest: +SKIP
>>> ev.table().columns                                                   # doctest: +SKIP
['indicator', 'period', 'sex', 'value', 'numerator', 'denominator', 'flag']

Indicators stand before disclosure control: the engine knows nothing of audiences. The
figures a report, a dashboard or the command line show come from
:func:`workbench.disclosure.compute` (``series``, ``change``), which restricts the extract to a
selection, evaluates it here and suppresses small cells for the audience.

The result is the tidy indicator table of the reference: one total row per indicator
first, then one row per observed category of each breakdown asked for (a tuple of
dimensions is a cross-breakdown), in catalogue and vocabulary order. The same inputs
give the same table, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import functools

import polars as pl

from workbench.indicators.catalogue import Catalogue, Indicator, resolve
from workbench.indicators.conditions import HI, LO, PERIOD, UNITS, Window
from workbench.indicators.records import (  # noqa: F401 - the engine's names, as before the split
    BUILDERS, DIMENSION_SOURCE, PERSON_ATTRIBUTES, PERSON_CODE, UNIT, Context, age_group, band_labels, bands,
    by_code, group_records, records, shared_rows, together, unit_column)
from workbench.exceptions import IndicatorError, ParameterError
from workbench.periods import Period, parse_period
from workbench.contract.schema import AGE_GROUPS, vocabulary

TABLE_COLUMNS = ("value", "numerator", "denominator", "flag")

# Dimension -> vocabulary giving its order (absent: an open code, sorted alphabetically, unknown last).
DIMENSION_VOCABULARY = {
    "sex": "sex", "legal_status": "legal_status", "service": "service", "topic": "topic", "channel": "channel",
    "case_type": "case_type", "risk_level": "risk_level", "closure_reason": "closure_reason",
    "service_type": "referral_service", "outcome": "detention_outcome", "action_type": "action_type",
    "protection_flag": "protection_flag", "status": "referral_status",
    "activity_type": "activity_type", "theme": "topic", "court_level": "court_level",
    "appointment_outcome": "appointment_outcome", "ages": "ages_served",
}
# The protection flag is a breakdown called `flag` in the reference, but `flag` is also the table's
# status column: the output column is `protection_flag`, and `--by flag` is accepted as its alias.
DIMENSION_ALIASES = {"flag": "protection_flag"}
FIXED_ORDER = {"age_group": AGE_GROUPS, "with_children": ("false", "true", "unknown")}



def _aggregations(ind: Indicator, suffix: str = "") -> list[pl.Expr]:
    """``ind``'s numerator, denominator and statistic over its records (whose working columns end in
    ``suffix`` when several indicators' records are one frame: :func:`~workbench.indicators.records.group_records`)."""
    unit = unit_column(ind)
    if unit == UNIT:
        unit += suffix
    aggs = _named(ind, unit, suffix)
    return [e.alias(e.meta.output_name() + suffix) for e in aggs] if suffix else aggs


_NO_NUMERATOR = pl.lit(None, dtype=pl.Int64).alias("numerator")
_NO_DENOMINATOR = pl.lit(None, dtype=pl.Int64).alias("denominator")
_NO_STAT = pl.lit(None, dtype=pl.Float64).alias("_stat")
_ROWS = pl.len().cast(pl.Int64).alias("denominator")


def _named(ind: Indicator, unit: str | None, suffix: str) -> list[pl.Expr]:
    def col(name: str) -> pl.Expr:
        return pl.col(name + suffix)

    if ind.unit == "count":
        if ind.sum:
            # A sum of aggregate counts (participants); a unit shared by several rows (an activity
            # co-organised by several members) adds its count once, its first row's.
            values = col("_sum") if unit is None else col("_sum").filter(pl.col(unit).is_first_distinct())
            n = values.sum()
        else:
            n = pl.col(unit).n_unique() if unit else pl.len()
        return [n.cast(pl.Int64).alias("numerator"), _NO_DENOMINATOR, _NO_STAT]
    if ind.unit == "rate" and unit == UNIT + suffix:  # units shared by several rows count once
        return [pl.col(unit).filter(col("_num")).n_unique().cast(pl.Int64).alias("numerator"),
                pl.col(unit).n_unique().cast(pl.Int64).alias("denominator"), _NO_STAT]
    if ind.unit == "rate":
        return [col("_num").sum().cast(pl.Int64).alias("numerator"), _ROWS, _NO_STAT]
    if ind.unit == "ratio":
        return [pl.len().cast(pl.Int64).alias("numerator"),
                pl.col(unit).n_unique().cast(pl.Int64).alias("denominator"), _NO_STAT]
    stat = col("_days").median() if ind.unit == "median" else col("_days").sum()
    return [_NO_NUMERATOR, _ROWS, stat.cast(pl.Float64).alias("_stat")]


def _value(unit: str) -> pl.Expr:
    """Figures rounded half away from zero, in integer arithmetic (no float surprises)."""
    num, den = pl.col("numerator"), pl.col("denominator")
    if unit == "count":
        return num.cast(pl.Float64)
    # Dividing by 10 leaves float noise (33.300000000000004); rounding gives the nearest double.
    if unit == "rate":
        return (((2000 * num + den) // (2 * den)).cast(pl.Float64) / 10).round(1)
    if unit == "ratio":
        return (((200 * num + den) // (2 * den)).cast(pl.Float64) / 100).round(2)
    if unit == "mean":
        total = pl.col("_stat").cast(pl.Int64)
        return (((20 * total + den) // (2 * den)).cast(pl.Float64) / 10).round(1)
    return (pl.col("_stat") * 10).round(0) / 10


def _finish(frame: pl.LazyFrame, ind: Indicator) -> pl.LazyFrame:
    return frame.with_columns(_finishing(ind.unit))


@functools.cache
def _finishing(unit: str) -> tuple[pl.Expr, ...]:
    """The value and flag of a unit's rows from their numerator and denominator (built once per unit)."""
    if unit == "count":
        return _value("count").alias("value"), pl.lit(None, dtype=pl.String).alias("flag")
    empty = pl.col("denominator") == 0
    return (
        pl.when(empty).then(None).otherwise(_value(unit)).alias("value"),
        pl.when(empty).then(pl.lit("no_data")).otherwise(pl.lit(None, dtype=pl.String)).alias("flag"),
        pl.when(pl.col("numerator").is_null() | ~empty).then(pl.col("numerator")).otherwise(0)
        .alias("numerator"),
    )


# --------------------------------------------------------------------------- breakdowns

Breakdown = tuple[str, ...]


def parse_breakdowns(by: Iterable[str | Sequence[str]] | str | None) -> list[Breakdown]:
    """``["sex", "sex,age_group", ("site", "sex")]`` → ``[("sex",), ("sex", "age_group"), ("site", "sex")]``."""
    if by is None:
        return []
    if isinstance(by, str):
        by = [by]
    out: list[Breakdown] = []
    for item in by:
        dims = tuple(d.strip() for d in item.split(",")) if isinstance(item, str) else tuple(item)
        dims = tuple(DIMENSION_ALIASES.get(d, d) for d in dims if d)
        if not dims:
            continue
        if len(set(dims)) != len(dims):
            raise IndicatorError(f"Breakdown '{','.join(dims)}' names a dimension twice.")
        if dims not in out:
            out.append(dims)
    return out


def _check_dimensions(breakdowns: list[Breakdown], cat: Catalogue) -> None:
    import difflib

    for dims in breakdowns:
        for d in dims:
            if d not in cat.dimensions:
                close = difflib.get_close_matches(d, list(cat.dimensions), n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise IndicatorError(f"Unknown breakdown '{d}'.{hint} Dimensions: {', '.join(cat.dimensions)}.")


def select_indicators(ids: Iterable[str] | None, cat: Catalogue | None = None) -> list[Indicator]:
    cat = resolve(cat)
    if ids is None:
        return list(cat)
    if isinstance(ids, str):
        ids = [ids]
    chosen = {cat[i].id for i in ids}  # raises with suggestions on unknown ids
    return [ind for ind in cat if ind.id in chosen]


def plan(indicators: list[Indicator], breakdowns: list[Breakdown], extra_dims: tuple[str, ...] = ()
         ) -> dict[str, list[Breakdown]]:
    """Which breakdowns apply to which indicator; a breakdown no indicator allows is an error."""
    out: dict[str, list[Breakdown]] = {ind.id: [] for ind in indicators}
    for dims in breakdowns:
        users = [ind for ind in indicators
                 if all(d in ind.breakdowns or d in extra_dims for d in dims)]
        if not users:
            names = ", ".join(i.id for i in indicators[:5]) + ("…" if len(indicators) > 5 else "")
            allowed = sorted({d for i in indicators for d in i.breakdowns} | set(extra_dims))
            raise IndicatorError(
                f"No requested indicator ({names}) can be broken down by '{','.join(dims)}'. "
                f"Allowed here: {', '.join(allowed)}.")
        for ind in users:
            out[ind.id].append(dims)
    return out


def dimension_order(dim: str, cat: Catalogue | None = None) -> tuple[str, ...] | None:
    """The declared order of a dimension's categories (``None``: an open code, sorted, unknown last)."""
    spec = resolve(cat).dimensions.get(dim) or {}
    if spec.get("codes"):
        return (*spec["codes"], "unknown")
    if spec.get("bands"):
        return (*band_labels(spec["bands"]["edges"]), "unknown")
    if dim in FIXED_ORDER:
        return FIXED_ORDER[dim]
    if dim in DIMENSION_VOCABULARY:
        return vocabulary(DIMENSION_VOCABULARY[dim])
    return None


def _sort_key(dim: str, col: pl.Expr, cat: Catalogue | None = None) -> list[pl.Expr]:
    order = dimension_order(dim, cat)
    if order is not None:
        return [col.replace_strict({c: i for i, c in enumerate(order)}, default=len(order),
                                   return_dtype=pl.Int32), col]
    return [(col == "unknown").cast(pl.Int8), col]


# --------------------------------------------------------------------------- compute

@dataclass(frozen=True)
class _Job:
    ind: Indicator
    period: Period
    block: int
    dims: Breakdown


def resolve_params(params: dict[str, Any] | None, cat: Catalogue | None = None) -> dict[str, Any]:
    cat = resolve(cat)
    merged = cat.default_params()
    for key, value in (params or {}).items():
        if key not in merged:
            raise ParameterError(f"Unknown indicator parameter '{key}'. Parameters: {', '.join(merged)}.")
        default = merged[key]
        if isinstance(default, dict):
            if not isinstance(value, dict) or set(value) - set(default):
                raise ParameterError(f"Parameter '{key}' maps {', '.join(default)} to days, got {value!r}.")
            value = {**default, **{k: int(v) for k, v in value.items()}}
        else:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ParameterError(f"Parameter '{key}' must be a whole number of days, got {value!r}.") from None
        if (min(value.values()) if isinstance(value, dict) else value) < 0:
            raise ParameterError(f"Parameter '{key}' cannot be negative.")
        merged[key] = value
    return merged


def unavailable_indicators(ctx: Context, indicators: list[Indicator], cat: Catalogue | None = None
                           ) -> dict[str, str]:
    """Indicators the extract cannot give: a table it lacks, or an extra column a declaration reads."""
    cat = resolve(cat)
    out = {}
    for ind in indicators:
        missing = [t for t in ind.tables if not ctx.has(t)]
        if missing:
            out[ind.id] = f"the extract has no {', '.join(missing)} table{'s' if len(missing) > 1 else ''}"
            continue
        for t, column in _extra_columns(ind, cat):
            if ctx.has(t) and column not in ctx.extract.table(t).columns:
                out[ind.id] = f"the {t} table has no {column} column"
                break
    return out


def _extra_columns(ind: Indicator, cat: Catalogue) -> list[tuple[str, str]]:
    """The extra (non-contract) columns an organisation's indicator reads: (table, column)."""
    from workbench.indicators.conditions import condition_columns

    extra = {(spec["table"], spec.get("column", d)) for d, spec in cat.dimensions.items()
             if spec.get("table") and not spec.get("bands")}
    read = {c for cond in (*ind.population, *ind.numerator) for c in condition_columns(*next(iter(cond.items())))[0]}
    return sorted((t, c) for t, c in extra if c in read and t in (ind.records, "persons"))


def _compute_frames(extract, periods: list[Period], indicators: Iterable[str] | None, by, params,
                    cat: Catalogue, units: int = 0
                    ) -> tuple[list[pl.DataFrame], list[str], dict[str, str], dict[str, Any]]:
    chosen = select_indicators(indicators, cat)
    breakdowns = parse_breakdowns(by)
    _check_dimensions(breakdowns, cat)
    ctx = Context(extract)
    planned = plan(chosen, breakdowns, ctx.extra_dimensions)
    unavailable = unavailable_indicators(ctx, chosen, cat)
    for ind in chosen:
        for d in {d for dims in planned[ind.id] for d in dims}:
            spec = cat.dimensions.get(d) or {}
            t, column = spec.get("table"), spec.get("column")
            if ind.id not in unavailable and t and not spec.get("bands") and ctx.has(t) \
                    and column not in ctx.extract.table(t).columns:
                raise IndicatorError(f"Cannot break {ind.id} down by {d}: the {t} table of the extract has no "
                                     f"{column} column.")
    params = resolve_params(params, cat)
    tables = ctx.lazy_tables()
    numbered = ctx.numbered_tables()
    dim_columns: list[str] = []
    for dims in breakdowns:
        for d in dims:
            if d not in dim_columns:
                dim_columns.append(d)
    frames: list[pl.DataFrame] = []
    chosen_here = [ind for ind in chosen if ind.id not in unavailable]
    dims_of = {ind.id: sorted({d for dims in planned[ind.id] for d in dims}) for ind in chosen_here}
    # Several periods are evaluated in one pass (each record paired with every period), as many at a
    # time as keep records x periods under SPREAD_ROWS; a large extract goes one period at a time, its
    # records materialised once, shared by the indicators' blocks and dropped before the next period.
    for batch in _batches(periods, extract, units):
        w = _window(batch, params, tables, units, numbered)
        shared = shared_rows(chosen_here, ctx, w, dims_of, cat)
        groups, record_frames, columns = _records(chosen_here, ctx, w, dims_of, cat, shared)
        collected = pl.collect_all(record_frames) if record_frames else []
        del shared
        outputs = [block for members, rec in zip(groups, collected)
                   for block in _blocks(members, by_code(rec), planned, columns, batch, w)]
        if outputs:  # one query: the blocks computed in parallel, typed as the table in the same pass
            present = {"indicator", "period", *TABLE_COLUMNS, *HELPER_COLUMNS,
                       *(d for ind in chosen_here for dims in planned[ind.id] for d in dims)}
            frame = pl.concat(outputs, how="diagonal_relaxed").select(
                [pl.col(c).cast(t) if c in present else pl.lit(None, dtype=t).alias(c)
                 for c, t in _schema(dim_columns).items()]).collect(engine=BLOCKS_ENGINE)
            if w.periods is not None:  # the periods in their order, as one at a time would give them
                rank = {code: i for i, code in enumerate(w.periods[PERIOD])}
                frame = frame.sort(pl.col("period").replace_strict(rank, return_dtype=pl.Int32), maintain_order=True)
            frames.append(frame)
        del collected
    return frames, dim_columns, unavailable, params


def _records(indicators: list[Indicator], ctx: Context, w: Window, dims_of: Mapping[str, Sequence[str]],
             cat: Catalogue, shared: Mapping[str, pl.LazyFrame]
             ) -> tuple[list[list[Indicator]], list[pl.LazyFrame], dict[str, dict[str, str]]]:
    """The indicators in groups with one records frame each (indicators whose records are the same rows
    share one, their working columns side by side) and, by indicator, the column of each dimension."""
    groups, frames, columns = [], [], {}
    for members in together(indicators, shared):
        if len(members) > 1:
            frame, named = group_records(members, w, dims_of, cat, shared[members[0].id])
            columns.update(named)
        else:
            frame = records(members[0], ctx, w, dims_of[members[0].id], cat, shared[members[0].id])
        groups.append(members)
        frames.append(frame)
    return groups, frames, columns


#: The polars engine of the blocks' query: a few hundred small groupings of materialised records, which the
#: in-memory engine computes in about two thirds of the streaming engine's time (whole catalogue, every single
#: breakdown, 1M persons: 0.33 s against 0.49 s, CPU 0.50 s against 0.70 s); reading and filtering the tables
#: stays with polars' default (streaming), faster there.
BLOCKS_ENGINE = "in-memory"

#: Records x periods evaluated in one pass at most (above: fewer periods at a time, down to one).
SPREAD_ROWS = 2_000_000


def _batches(periods: list[Period], extract, units: int = 0) -> list[list[Period]]:
    """The periods in the groups evaluated together (in order). An extract labelled with its units
    counts each row once per unit that keeps it (every unit is in every group)."""
    if units:
        rows = max((frame[UNITS].list.len().sum() for frame in extract.tables.values()), default=0)
    else:
        rows = max((frame.height for frame in extract.tables.values()), default=0)
    size = max(1, SPREAD_ROWS // max(rows, 1))
    return [periods[i:i + size] for i in range(0, len(periods), size)]


def _window(batch: list[Period], params: dict[str, Any], tables: dict[str, pl.LazyFrame], units: int = 0,
            numbered: dict[str, pl.LazyFrame] | None = None) -> Window:
    """The window of ``batch``; with ``units``, of each period of each unit (period-major, as ranked)."""
    if len(batch) == 1 and not units:
        return Window(batch[0].start, batch[0].end, params, tables, numbered=numbered or {})
    pairs = [(u, p) for p in batch for u in range(max(units, 1))]
    columns = {PERIOD: [f"{u}|{p.code}" if units else p.code for u, p in pairs], LO: [p.start for _, p in pairs],
               HI: [p.end for _, p in pairs]}
    schema = {PERIOD: pl.String, LO: pl.Date, HI: pl.Date}
    if units:
        columns[UNITS], schema[UNITS] = [u for u, _ in pairs], pl.UInt32
    frame = pl.DataFrame(columns, schema=schema)
    return Window(min(p.start for p in batch), max(p.end for p in batch), params, tables, periods=frame,
                  numbered=numbered or {})


def _blocks(members: Sequence[Indicator], lazy: pl.LazyFrame, planned: Mapping[str, list[Breakdown]],
            columns: Mapping[str, Mapping[str, str]], batch: list[Period], w: Window) -> list[pl.LazyFrame]:
    """The total and each breakdown of each indicator of ``members`` over their records ``lazy`` (one
    frame for several indicators whose records are the same rows: :func:`records.together`; ``columns``:
    by indicator, the column holding each dimension where it is not the dimension's name), for each period
    of ``batch``. Each grouping is done once for all the members that ask for it by the same columns."""
    keys = list(w.keys)
    suffixes = [f"#{j}" if len(members) > 1 else "" for j in range(len(members))]
    groupings: list[Breakdown] = [()]
    for m in members:
        groupings += [dims for dims in planned[m.id] if dims not in groupings]
    out = []
    for dims in groupings:
        users: dict[tuple[str, ...], list[tuple[Indicator, str]]] = {}
        for j, m in enumerate(members):
            if not dims or dims in planned[m.id]:
                cols = tuple((columns.get(m.id) or {}).get(d, d) for d in dims)
                users.setdefault(cols, []).append((m, suffixes[j]))
        for cols, those in users.items():
            aggs = [e for m, suffix in those for e in _aggregations(m, suffix)]
            grouped = lazy.group_by([*keys, *cols]).agg(aggs) if cols or keys else lazy.select(aggs)
            for m, suffix in those:
                block = ([()] + planned[m.id]).index(dims)
                out.append(_block(m, grouped, lazy, dims, cols, block, suffix, batch, w))
    return out


def _block(ind: Indicator, grouped: pl.LazyFrame, lazy: pl.LazyFrame, dims: Breakdown, cols: tuple[str, ...],
           block: int, suffix: str, batch: list[Period], w: Window) -> pl.LazyFrame:
    """One breakdown ``dims`` of ``ind`` from the grouping of its records by ``cols`` (its working columns
    ending in ``suffix``)."""
    keys = list(w.keys)

    def own(frame: pl.LazyFrame, by: Sequence[tuple[str, str]]) -> pl.LazyFrame:
        if not suffix and all(c == d for c, d in by):
            return frame
        return frame.select(*keys, *[pl.col(c).alias(d) for c, d in by],
                            *[pl.col(x + suffix).alias(x) for x in ("numerator", "denominator", "_stat")])

    agg = own(grouped, list(zip(cols, dims)))
    if keys and not dims:  # a period without records still has its total, as a period alone would
        totals = lazy.clear().select(_aggregations(ind, suffix))
        if suffix:
            totals = totals.select(pl.col(x + suffix).alias(x) for x in ("numerator", "denominator", "_stat"))
        empty = w.periods.lazy().select(PERIOD).join(totals, how="cross")
        agg = pl.concat([agg, empty.join(agg.select(PERIOD), on=PERIOD, how="anti")], how="vertical_relaxed")
    agg = _finish(agg, ind)
    if keys:
        when = w.periods.lazy().select(PERIOD, pl.col(PERIOD).alias("period"), pl.col(LO).alias("_start"))
        agg = agg.join(when, on=PERIOD, how="left")
    else:
        agg = agg.with_columns(pl.lit(batch[0].code).alias("period"), pl.lit(batch[0].start).alias("_start"))
    # the other breakdowns' columns are added as nulls when the blocks are put together (diagonally)
    return agg.select(pl.lit(ind.id).alias("indicator"), "period", *[pl.col(d).cast(pl.String) for d in dims],
                      *TABLE_COLUMNS, "_start", pl.lit(ind.order, dtype=pl.Int32).alias("_order"),
                      pl.lit(block, dtype=pl.Int32).alias("_block"))


#: Working columns of an evaluated frame (row order and breakdown blocks, which suppression reads).
HELPER_COLUMNS = ("_start", "_order", "_block")


def sort_rows(frame: pl.DataFrame, dim_columns: Sequence[str], cat: Catalogue | None = None) -> pl.DataFrame:
    """Rows in table order: period, catalogue order, breakdown block, then each dimension's order."""
    keys: list[pl.Expr] = [pl.col("_start"), pl.col("_order"), pl.col("_block")]
    for d in dim_columns:
        keys += _sort_key(d, pl.col(d), cat)
    return frame.sort(keys, nulls_last=False, maintain_order=True)


def _schema(dim_columns: Sequence[str]) -> dict[str, pl.DataType]:
    return {"indicator": pl.String, "period": pl.String, **{d: pl.String for d in dim_columns},
            "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64, "flag": pl.String,
            "_start": pl.Date, "_order": pl.Int32, "_block": pl.Int32}


def _assemble(frames: list[pl.DataFrame], dim_columns: list[str], cat: Catalogue) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=_schema(dim_columns))
    return sort_rows(pl.concat(frames), dim_columns, cat)


@dataclass(frozen=True)
class Evaluation:
    """Unsuppressed figures: the assembled frame (with :data:`HELPER_COLUMNS`), its breakdown
    columns, the indicators the extract cannot give (id → why) and the parameters in force."""

    frame: pl.DataFrame
    dimensions: tuple[str, ...]
    unavailable: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def table(self) -> pl.DataFrame:
        """The tidy indicator table (the working columns dropped)."""
        return self.frame.drop(HELPER_COLUMNS)


def _periods(periods: Sequence[str | Period]) -> list[Period]:
    """The periods asked for, each once, oldest first."""
    ps = sorted({parse_period(p) for p in periods})
    if not ps:
        raise ParameterError("At least one period is needed.")
    return ps


def evaluate(extract, periods: Sequence[str | Period], indicators: Iterable[str] | str | None = None,
             by: Iterable[str | Sequence[str]] | str | None = None,
             params: dict[str, Any] | None = None, catalogue: Catalogue | None = None) -> Evaluation:
    """Evaluate indicators on an extract for each period, without any suppression.

    Parameters
    ----------
    extract
        A loaded (or restricted) :class:`workbench.extract.Extract`.
    periods
        Periods (``"2024-Q3"``… or :class:`~workbench.periods.Period`); rows come oldest first.
    indicators
        Indicator ids; ``None`` for the whole catalogue.
    by
        Breakdowns: each a dimension (``"sex"``) or a cross-breakdown (``"sex,age_group"``
        or a tuple). Each applies to the indicators that allow it.
    params
        Catalogue parameters (``assessment_deadlines``, ``care_plan_deadline``,
        ``review_overdue_days``, ``trafficking_referral_days``) and those an organisation's
        catalogue declares.
    catalogue
        The catalogue to evaluate (an organisation's merged with the built-in one:
        :func:`workbench.indicators.organisation.catalogue_with`); ``None``: the built-in one.
    """
    ps = _periods(periods)
    cat = resolve(catalogue)
    frames, dims, unavailable, resolved = _compute_frames(extract, ps, indicators, by, params, cat)
    return Evaluation(_assemble(frames, dims, cat), tuple(dims), unavailable, resolved)


def evaluate_units(labelled, units: int, periods: Sequence[str | Period], indicators: Iterable[str] | str | None = None,
                   by: Iterable[str | Sequence[str]] | str | None = None, params: dict[str, Any] | None = None,
                   catalogue: Catalogue | None = None) -> list[Evaluation]:
    """:func:`evaluate` of several selections in one pass: ``labelled`` is an extract whose rows are
    labelled with the ``units`` selections that keep them (:func:`workbench.selection.units.labelled`);
    the i-th evaluation is, to the digit and in the same order, ``evaluate`` of the i-th selection.

    Each record is paired with every period of each of its units, as several periods are: what is
    per person is per person, unit and period, and what a condition reads in another table is read
    among the unit's rows."""
    ps = _periods(periods)
    if units < 1:
        raise ParameterError("At least one unit is needed.")
    cat = resolve(catalogue)
    frames, dims, unavailable, resolved = _compute_frames(labelled, ps, indicators, by, params, cat, units)
    if not frames:
        return [Evaluation(_assemble([], dims, cat), tuple(dims), unavailable, resolved) for _ in range(units)]
    frame = pl.concat(frames)
    split = pl.col("period").str.split_exact("|", 1)
    frame = frame.with_columns(split.struct.field("field_0").cast(pl.UInt32).alias(UNITS),
                               split.struct.field("field_1").alias("period"))
    parts = frame.partition_by(UNITS, as_dict=True, include_key=False, maintain_order=True)
    return [Evaluation(_assemble([parts[(u,)]] if (u,) in parts else [], dims, cat), tuple(dims), unavailable,
                       resolved) for u in range(units)]


# --------------------------------------------------------------------------- output

def format_values(table: pl.DataFrame, catalogue: Catalogue | None = None) -> pl.DataFrame:
    """The table with ``value`` as text: counts whole, rates/medians/means one decimal, ratios two."""
    decimals = {i.id: i.decimals for i in resolve(catalogue)}
    d = pl.col("indicator").replace_strict(decimals, default=1, return_dtype=pl.Int32)
    v = pl.col("value")
    text = (pl.when(v.is_null()).then(pl.lit(None, dtype=pl.String))
            .when(d == 0).then(v.round(0).cast(pl.Int64).cast(pl.String))
            .when(d == 2).then(pl.format("{}", v.round(2)).str.replace(r"^(-?\d+)$", "$1.00")
                               .str.replace(r"^(-?\d+\.\d)$", "${1}0"))
            .otherwise(pl.format("{}", v.round(1)).str.replace(r"^(-?\d+)$", "$1.0")))
    return table.with_columns(text.alias("value"))
