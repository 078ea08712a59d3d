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

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.indicators import conditions
from workbench.indicators.catalogue import Catalogue, Indicator, resolve
from workbench.indicators.conditions import PERSON, Window, age_at
from workbench.exceptions import IndicatorError, ParameterError
from workbench.periods import Period, parse_period
from workbench.contract.schema import AGE_GROUPS, TABLES, vocabulary

TABLE_COLUMNS = ("value", "numerator", "denominator", "flag")
PERSON_ATTRIBUTES = ("sex", "nationality", "legal_status", "birth_year")
#: A working column: the person's row number among the attributes, joined with them (see :func:`_by_code`).
PERSON_CODE = "_person_code"

# Dimension -> vocabulary giving its order (absent: an open code, sorted alphabetically, unknown last).
DIMENSION_VOCABULARY = {
    "sex": "sex", "legal_status": "legal_status", "service": "service", "topic": "topic", "channel": "channel",
    "case_type": "case_type", "risk_level": "risk_level", "closure_reason": "closure_reason",
    "service_type": "referral_service", "outcome": "detention_outcome", "action_type": "action_type",
    "protection_flag": "protection_flag", "status": "referral_status",
    "activity_type": "activity_type", "theme": "topic", "court_level": "court_level",
    "appointment_outcome": "appointment_outcome", "ages": "ages_served",
}
# Dimensions whose records column has another name. The protection flag is a breakdown called
# `flag` in the reference, but `flag` is also the table's status column: the output column is
# `protection_flag`, and `--by flag` is accepted as its alias.
DIMENSION_SOURCE = {"protection_flag": "flag"}
DIMENSION_ALIASES = {"flag": "protection_flag"}
FIXED_ORDER = {"age_group": AGE_GROUPS, "with_children": ("false", "true", "unknown")}


# --------------------------------------------------------------------------- context

_MEMOS: dict[int, dict] = {}


def _memo(extract) -> dict:
    """The engine's joins for one extract object, dropped with it.

    An extract is immutable, so what is joined from it once stays right for its life: the memo
    can save time, never change a figure.
    """
    key = id(extract)
    memo = _MEMOS.get(key)
    if memo is None:
        memo = _MEMOS[key] = {}
        weakref.finalize(extract, _MEMOS.pop, key, None)
    return memo


class Context:
    """The extract's tables joined with the person attributes (joined once per extract object)."""

    def __init__(self, extract) -> None:
        self.extract = extract
        self._memo = _memo(extract)

    def has(self, table: str) -> bool:
        return self.extract.has(table)

    def persons(self) -> pl.DataFrame:
        """Every person's attributes: those that label the records (``Extract.attributes``)."""
        attributes = getattr(self.extract, "attributes", None)
        return attributes if attributes is not None else self.extract.table("persons")

    @property
    def extra_dimensions(self) -> tuple[str, ...]:
        """``organisation`` in a combined extract (persons, or a network's tables, carry that column)."""
        if self.has("persons"):
            return ("organisation",) if "organisation" in self.persons().columns else ()
        held = [t for t in TABLES if self.has(t)]
        return ("organisation",) if any("organisation" in self.extract.table(t).columns for t in held) else ()

    def attributes(self) -> pl.DataFrame:
        """The person attributes that label records: person, sex, nationality, legal status, birth year
        (and organisation in a combined extract), selected once per extract object."""
        if "attributes" not in self._memo:
            attrs = self.persons().select(PERSON, *PERSON_ATTRIBUTES, *self.extra_dimensions)
            if attrs[PERSON].is_unique().all():  # a number per person: counted faster than the pseudonym
                attrs = attrs.with_row_index(PERSON_CODE)
            self._memo["attributes"] = attrs
        return self._memo["attributes"]

    def enriched(self, table: str) -> pl.LazyFrame:
        """``table`` with its persons' attributes (the persons table: the extract's own persons).

        A table without persons (activities, services, a network's legal actions) is taken as it is.
        The join is lazy: the period's filters that read the table's own columns run before it
        (predicate pushdown), so only the period's records are joined, never the whole table."""
        frame = self.extract.table(table)
        if table == "persons" or PERSON not in frame.columns or not self.has("persons"):
            return frame.lazy()
        attrs = self.attributes()
        own = [c for c in frame.columns if c not in attrs.columns or c == PERSON]
        return frame.lazy().select(own).join(attrs.lazy(), on=PERSON, how="left")

    def lookup(self, table: str, from_key: str, key: str, column: str) -> pl.DataFrame:
        """``column`` of ``table`` by its ``from_key`` (named ``key``), the first row of each key: what a
        dimension looks up in another table (``via``), read once per extract object."""
        memo_key = ("lookup", table, from_key, key, column)
        if memo_key not in self._memo:
            self._memo[memo_key] = (self.extract.table(table).lazy()
                                    .select(pl.col(from_key).alias(key), pl.col(column))
                                    .unique(subset=[key], keep="first", maintain_order=True).collect())
        return self._memo[memo_key]

    def lazy_tables(self) -> dict[str, pl.LazyFrame]:
        return {t: self.extract.table(t).lazy() for t in TABLES if self.has(t)}


def _trafficking_persons(ctx: Context, w: Window) -> pl.LazyFrame:
    """Persons with a trafficking_suspected flag in the window, and whether they were referred in time."""
    limit = int(w.params.get("trafficking_referral_days", 30))
    first = (ctx.enriched("protection_flags")
             .filter((pl.col("flag").cast(pl.String) == "trafficking_suspected")
                     & pl.col("identified_on").is_between(w.lo, w.hi))
             .group_by(PERSON).agg(pl.col("identified_on").min().alias("first_flag")))
    referred = (ctx.extract.table("referrals").lazy()
                .filter(pl.col("service_type").cast(pl.String) == "anti_trafficking")
                .select(PERSON, "referred_on")
                .join(first, on=PERSON, how="inner")
                .filter((pl.col("referred_on") - pl.col("first_flag")).dt.total_days().is_between(0, limit))
                .select(PERSON).unique()
                .with_columns(pl.lit(True).alias("referred_in_time")))
    attrs = ctx.attributes().lazy()
    return (first.join(referred, on=PERSON, how="left")
            .with_columns(pl.col("referred_in_time").fill_null(False))
            .join(attrs, on=PERSON, how="left"))


BUILDERS = {"trafficking_persons": _trafficking_persons}


# --------------------------------------------------------------------------- records

def age_group(age: pl.Expr) -> pl.Expr:
    """The age group of an age (``unknown`` when not known), as every age-group breakdown counts it."""
    return (pl.when(age.is_null() | (age < 0)).then(pl.lit("unknown"))
            .when(age <= 4).then(pl.lit("0-4"))
            .when(age <= 11).then(pl.lit("5-11"))
            .when(age <= 17).then(pl.lit("12-17"))
            .when(age <= 59).then(pl.lit("18-59"))
            .otherwise(pl.lit("60+")))


def band_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """``[0, 6, 12, 18]`` → ``("0-5", "6-11", "12-17", "18+")``: whole-number bands, the last open."""
    inner = tuple(f"{a}-{b - 1}" if b - 1 > a else str(a) for a, b in zip(edges, edges[1:]))
    return (*inner, f"{edges[-1]}+")


def bands(value: pl.Expr, edges: Sequence[int]) -> pl.Expr:
    """The band of a number (``unknown`` when it is missing or below the first edge)."""
    labels = band_labels(edges)
    expr = pl.when(value.is_null() | (value < edges[0])).then(pl.lit("unknown"))
    for upper, label in zip(edges[1:], labels):
        expr = expr.when(value < upper).then(pl.lit(label))
    return expr.otherwise(pl.lit(labels[-1]))


def _age_moment(ind: Indicator) -> pl.Expr:
    spec = ind.age_at
    if isinstance(spec, dict):
        return pl.col(spec["first"]).min().over(PERSON)
    return pl.col(spec)


def _dimension(dim: str, ind: Indicator, cat: Catalogue, schema: Mapping[str, pl.DataType] | None = None
               ) -> pl.Expr:
    if dim == "age_group":
        return age_group(age_at(_age_moment(ind))).alias(dim)
    spec = cat.dimensions.get(dim) or {}
    band = spec.get("bands")
    if band:
        if band["of"] == "age":
            value = age_at(_age_moment(ind))
        elif band["of"] == "days":
            value = conditions.days_between(*band["between"])
        else:
            value = pl.col(band["of"])
        return bands(value, band["edges"]).alias(dim)
    name = spec.get("column") or DIMENSION_SOURCE.get(dim, dim)
    col = pl.col(name)
    dtype = (schema or {}).get(name)
    if isinstance(dtype, pl.Enum) and "unknown" in dtype.categories:
        # A vocabulary with its own `unknown`: grouped by its codes, read as text once aggregated.
        return col.fill_null("unknown").alias(dim)
    return (pl.when(col.is_null()).then(pl.lit("unknown"))
            .otherwise(col.cast(pl.String))).alias(dim)


def _lookups(lf: pl.LazyFrame, ind: Indicator, ctx: Context, dims: Sequence[str], cat: Catalogue) -> pl.LazyFrame:
    """Join the values some dimensions take from another table (``via``, or a person's extra column)."""
    have = set(lf.collect_schema().names())
    for dim in dims:
        spec = cat.dimensions.get(dim) or {}
        via = (spec.get("via") or {}).get(ind.records)
        if via is None and spec.get("table") == "persons" and ind.records != "persons":
            via = {"table": "persons", "key": PERSON, "column": spec.get("column", dim)}
        if via is None or via.get("column", dim) in have and via["table"] != "persons":
            continue
        column = via.get("column", dim)
        if not ctx.has(via["table"]):
            lf = lf.with_columns(pl.lit(None, dtype=pl.String).alias(column))
        else:
            looked_up = ctx.lookup(via["table"], via.get("from_key", via["key"]), via["key"], column)
            lf = lf.drop([column], strict=False).join(looked_up.lazy(), on=via["key"], how="left")
        have.add(column)
    return lf


#: Conditions that keep or drop each record on its own (a person's earliest date, ``minor_at_first``,
#: depends on the records kept before it): their order does not change which records are kept.
_ROW_WISE = frozenset(conditions.KINDS) - {"minor_at_first"}
_PERIOD_KINDS = ("in_period", "overlaps", "open_at_end")


def _split_population(ind: Indicator) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """The population's conditions as (shared, own): ``shared`` is its first period condition when only
    row-wise conditions come before it (else its first condition), which indicators on the same
    records share; ``own`` are the others, in their order."""
    population = tuple(ind.population)
    for i, cond in enumerate(population):
        kind = next(iter(cond))
        if kind in _PERIOD_KINDS:
            return (cond,), population[:i] + population[i + 1:]
        if kind not in _ROW_WISE:
            break
    return population[:1], population[1:]


def _population_key(ind: Indicator) -> tuple[str, str]:
    """Indicators whose records and shared condition are the same share those rows: the table is
    filtered and joined with the person attributes once per period for them all."""
    return ind.records, repr(_split_population(ind)[0])


def _population(ind: Indicator, ctx: Context, w: Window, dims: Sequence[str], cat: Catalogue) -> pl.LazyFrame:
    """The records of ``ind`` meeting its shared condition in the window, with the columns ``dims``
    look up in other tables: the rows it shares with the indicators of the same key."""
    if ind.records in BUILDERS:
        lf = BUILDERS[ind.records](ctx, w)
    else:
        lf = ctx.enriched(ind.records)
    lf = _lookups(lf, ind, ctx, dims, cat)
    for cond in _split_population(ind)[0]:
        lf = conditions.apply(lf, cond, w)
    return lf


def _records(ind: Indicator, ctx: Context, w: Window, dims: Sequence[str], cat: Catalogue,
             shared: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The working columns of ``ind``: its population (from the rows it shares with other indicators,
    when given), its numerator, its unit and its breakdown dimensions."""
    lf = _population(ind, ctx, w, dims, cat) if shared is None else shared
    for cond in _split_population(ind)[1]:
        lf = conditions.apply(lf, cond, w)
    for cond in ind.numerator:
        lf = conditions.prepare(lf, cond, w)
    extra = []
    if isinstance(ind.distinct, (list, tuple)):
        extra.append(pl.coalesce(*[pl.col(c).cast(pl.String) for c in ind.distinct]).alias(UNIT))
    if ind.sum:
        extra.append(pl.col(ind.sum).fill_null(0).alias("_sum"))
    if ind.numerator:
        num = pl.lit(True)
        for cond in ind.numerator:
            num = num & conditions.expression(cond, w)
        extra.append(num.alias("_num"))
    if ind.days:
        extra.append(conditions.days_between(*ind.days).alias("_days"))
    schema = lf.collect_schema()
    extra += [_dimension(d, ind, cat, schema) for d in dims]
    names = schema.names()
    keep = [PERSON] if PERSON in names else []
    if PERSON_CODE in names and _unit(ind) == PERSON:
        keep.append(PERSON_CODE)
    if isinstance(ind.distinct, str) and ind.distinct != PERSON:
        keep.append(ind.distinct)
    if not keep:  # a table without persons: a row marker, so that a frame of no columns still has its rows
        extra.append(pl.lit(True).alias("_row"))
    return lf.with_columns(extra).select(*keep, *[e.meta.output_name() for e in extra])


def _by_code(records: pl.DataFrame) -> pl.DataFrame:
    """Records whose persons are counted by their number rather than their pseudonym, when the two
    count the same: every recorded pseudonym found among the attributes (numbers are unique there)."""
    if PERSON_CODE not in records.columns:
        return records
    if records[PERSON_CODE].null_count() != records[PERSON].null_count():
        return records.drop(PERSON_CODE)
    return records.drop(PERSON).rename({PERSON_CODE: PERSON})


#: The working column of a unit counted once: the first recorded of ``distinct: [key, id]``.
UNIT = "_unit"


def _unit(ind: Indicator) -> str | None:
    if isinstance(ind.distinct, (list, tuple)):
        return UNIT
    return ind.distinct


def _aggregations(ind: Indicator) -> list[pl.Expr]:
    unit = _unit(ind)
    if ind.unit == "count":
        if ind.sum:
            # A sum of aggregate counts (participants); a unit shared by several rows (an activity
            # co-organised by several members) adds its count once, its first row's.
            values = pl.col("_sum") if unit is None else pl.col("_sum").filter(pl.col(unit).is_first_distinct())
            n = values.sum()
        else:
            n = pl.col(unit).n_unique() if unit else pl.len()
        return [n.cast(pl.Int64).alias("numerator"), pl.lit(None, dtype=pl.Int64).alias("denominator"),
                pl.lit(None, dtype=pl.Float64).alias("_stat")]
    if ind.unit == "rate" and unit == UNIT:  # units shared by several rows count once
        return [pl.col(unit).filter(pl.col("_num")).n_unique().cast(pl.Int64).alias("numerator"),
                pl.col(unit).n_unique().cast(pl.Int64).alias("denominator"),
                pl.lit(None, dtype=pl.Float64).alias("_stat")]
    if ind.unit == "rate":
        return [pl.col("_num").sum().cast(pl.Int64).alias("numerator"), pl.len().cast(pl.Int64).alias("denominator"),
                pl.lit(None, dtype=pl.Float64).alias("_stat")]
    if ind.unit == "ratio":
        return [pl.len().cast(pl.Int64).alias("numerator"),
                pl.col(unit).n_unique().cast(pl.Int64).alias("denominator"),
                pl.lit(None, dtype=pl.Float64).alias("_stat")]
    stat = pl.col("_days").median() if ind.unit == "median" else pl.col("_days").sum()
    return [pl.lit(None, dtype=pl.Int64).alias("numerator"), pl.len().cast(pl.Int64).alias("denominator"),
            stat.cast(pl.Float64).alias("_stat")]


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
    if ind.unit == "count":
        return frame.with_columns(_value("count").alias("value"), pl.lit(None, dtype=pl.String).alias("flag"))
    empty = pl.col("denominator") == 0
    return frame.with_columns(
        pl.when(empty).then(None).otherwise(_value(ind.unit)).alias("value"),
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
                    cat: Catalogue) -> tuple[list[pl.DataFrame], list[str], dict[str, str], dict[str, Any]]:
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
    dim_columns: list[str] = []
    for dims in breakdowns:
        for d in dims:
            if d not in dim_columns:
                dim_columns.append(d)
    frames: list[pl.DataFrame] = []
    # One period at a time: its records are materialised once, shared by the indicator's blocks,
    # and dropped before the next period (memory stays that of one period).
    for period in periods:
        w = Window(period.start, period.end, params, tables)
        chosen_here = [ind for ind in chosen if ind.id not in unavailable]
        dims_of = {ind.id: sorted({d for dims in planned[ind.id] for d in dims}) for ind in chosen_here}
        # The rows indicators share, once (a table filtered to the period, then joined with the
        # person attributes); each indicator's own conditions and columns follow on them.
        groups: dict[tuple[str, str], list[Indicator]] = {}
        for ind in chosen_here:
            groups.setdefault(_population_key(ind), []).append(ind)
        shared = [_population(inds[0], ctx, w, sorted({d for i in inds for d in dims_of[i.id]}), cat)
                  for inds in groups.values()]
        populations = dict(zip(groups, pl.collect_all(shared) if shared else []))
        record_frames = [_records(ind, ctx, w, dims_of[ind.id], cat, populations[_population_key(ind)].lazy())
                         for ind in chosen_here]
        records = pl.collect_all(record_frames) if record_frames else []
        del populations
        outputs: list[pl.LazyFrame] = []
        for ind, rec in zip(chosen_here, records):
            lazy = _by_code(rec).lazy()
            for block, dims in enumerate([()] + planned[ind.id]):
                if dims:
                    agg = lazy.group_by(list(dims)).agg(_aggregations(ind))
                else:
                    agg = lazy.select(_aggregations(ind))
                agg = _finish(agg, ind).with_columns(
                    pl.lit(ind.id).alias("indicator"), pl.lit(period.code).alias("period"),
                    pl.lit(ind.order).alias("_order"), pl.lit(block).alias("_block"),
                    pl.lit(period.start).alias("_start"),
                    *[pl.lit(None, dtype=pl.String).alias(d) for d in dim_columns if d not in dims],
                )
                outputs.append(agg.select("indicator", "period", *dim_columns, *TABLE_COLUMNS,
                                          "_start", "_order", "_block"))
        frames += pl.collect_all(outputs) if outputs else []
        del records
    return frames, dim_columns, unavailable, params


#: Working columns of an evaluated frame (row order and breakdown blocks, which suppression reads).
HELPER_COLUMNS = ("_start", "_order", "_block")


def sort_rows(frame: pl.DataFrame, dim_columns: Sequence[str], cat: Catalogue | None = None) -> pl.DataFrame:
    """Rows in table order: period, catalogue order, breakdown block, then each dimension's order."""
    keys: list[pl.Expr] = [pl.col("_start"), pl.col("_order"), pl.col("_block")]
    for d in dim_columns:
        keys += _sort_key(d, pl.col(d), cat)
    return frame.sort(keys, nulls_last=False, maintain_order=True)


def _assemble(frames: list[pl.DataFrame], dim_columns: list[str], cat: Catalogue) -> pl.DataFrame:
    schema = {"indicator": pl.String, "period": pl.String, **{d: pl.String for d in dim_columns},
              "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64, "flag": pl.String,
              "_start": pl.Date, "_order": pl.Int32, "_block": pl.Int32}
    if not frames:
        return pl.DataFrame(schema=schema)
    return sort_rows(pl.concat([f.cast(schema) for f in frames]), dim_columns, cat)


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
    ps = sorted({parse_period(p) for p in periods})
    if not ps:
        raise ParameterError("At least one period is needed.")
    cat = resolve(catalogue)
    frames, dims, unavailable, resolved = _compute_frames(extract, ps, indicators, by, params, cat)
    return Evaluation(_assemble(frames, dims, cat), tuple(dims), unavailable, resolved)


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
