"""The records an indicator counts: a table filtered to the period and joined with its persons'
attributes, then the indicator's own conditions and working columns (unit, numerator, days,
breakdown dimensions).

Rows are shared where they can be: indicators with the same records table and the same first
period condition filter and join that table once per period (:func:`shared_rows`), and the
join runs after the period's filter (predicate pushdown), never on the whole table. What does
not depend on the period (the attributes, the values a dimension looks up in another table) is
read once per extract object (:class:`Context`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from workbench.indicators import conditions
from workbench.indicators.catalogue import Catalogue, Indicator
from workbench.indicators.conditions import PERIOD, PERSON, Window, age_at
from workbench.contract.schema import TABLES
from workbench.extract.cache import numbers_of
from workbench.extract.memo import memo_of

PERSON_ATTRIBUTES = ("sex", "nationality", "legal_status", "birth_year")
#: A working column: the person's row number among the attributes, joined with them (see :func:`by_code`).
PERSON_CODE = "_person_code"
# Dimensions whose records column has another name. The protection flag is a breakdown called
# `flag` in the reference, but `flag` is also the table's status column: the output column is
# `protection_flag`, and `--by flag` is accepted as its alias.
DIMENSION_SOURCE = {"protection_flag": "flag"}

# --------------------------------------------------------------------------- context

class Context:
    """The extract's tables as the engine reads them: lazily joined with the person attributes, which
    (with the values dimensions look up in other tables) are selected once per extract object."""

    def __init__(self, extract) -> None:
        self.extract = extract
        self._memo = memo_of(extract, "indicators.records")

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
            # Kept with the persons frame itself: the extracts restricted from one extract share it.
            persons = self.persons()
            shared = memo_of(persons, "indicators.attributes")
            if "attributes" not in shared:
                attrs = persons.select(PERSON, *PERSON_ATTRIBUTES, *self.extra_dimensions)
                if self._numbered() or attrs[PERSON].is_unique().all():  # a number per person: counted faster
                    attrs = attrs.with_row_index(PERSON_CODE)
                shared["attributes"] = attrs
            self._memo["attributes"] = shared["attributes"]
        return self._memo["attributes"]

    def _numbered(self) -> bool:
        """Whether the validation cache numbered this extract's persons (it does so only when each
        pseudonym is one row of the persons table, so uniqueness need not be checked again)."""
        return self.persons() is self.extract.tables.get("persons") and any(
            numbers_of(frame) is not None for name, frame in self.extract.tables.items() if name != "persons")

    def enriched(self, table: str, later: bool = False) -> pl.LazyFrame:
        """``table`` with its persons' attributes (the persons table: the extract's own persons).

        A table without persons (activities, services, a network's legal actions) is taken as it is.
        The join is lazy: the period's filters that read the table's own columns run before it
        (predicate pushdown), so only the period's records are joined, never the whole table.

        ``later``: where each row's person is a number (:meth:`numbered`), the table with that number
        and without the attributes, which :meth:`with_attributes` adds once the rows are filtered."""
        frame = self.extract.table(table)
        if table == "persons" or PERSON not in frame.columns or not self.has("persons"):
            return frame.lazy()
        attrs = self.attributes()
        own = [c for c in frame.columns if c not in attrs.columns or c == PERSON]
        numbers = self.numbers(table)
        if numbers is not None:
            # each row's person as a number (kept by the validation cache): a join on numbers, not pseudonyms
            lf = frame.select(own).with_columns(numbers.alias(PERSON_CODE)).lazy()  # a column added, not copied
            return lf if later else lf.join(attrs.lazy().drop(PERSON), on=PERSON_CODE, how="left")
        return frame.lazy().select(own).join(attrs.lazy(), on=PERSON, how="left")

    def numbers(self, table: str) -> pl.Series | None:
        """Each row's person in ``table`` as its row among the attributes (kept by the validation cache),
        or None: a table without persons, or persons not numbered."""
        if table == "persons" or not self.has(table) or not self.has("persons") \
                or PERSON not in self.extract.table(table).columns:
            return None
        numbers = numbers_of(self.extract.table(table))
        if numbers is None or PERSON_CODE not in self.attributes().columns \
                or self.persons() is not self.extract.tables["persons"]:
            return None
        return numbers

    def with_attributes(self, lf: pl.LazyFrame, as_numbers: bool = False) -> pl.LazyFrame:
        """Rows of :meth:`enriched` (``later``) with their persons' attributes: each attribute taken at the
        row's person number (a gather, no join: the rows stay in their order). A column the rows already
        have (looked up from the persons table) is kept as it is. ``as_numbers``: each row's person is
        its number (in the person column, the pseudonym dropped), which :meth:`counts_alike` allows.

        A gather stops the filters written after it from running before it: call it once the rows
        are filtered."""
        attrs = self.attributes()
        have = set(lf.collect_schema().names())
        lf = lf.with_columns(pl.lit(attrs[c]).gather(pl.col(PERSON_CODE)).alias(c)
                             for c in attrs.columns if c not in (PERSON, PERSON_CODE) and c not in have)
        return lf.drop(PERSON).rename({PERSON_CODE: PERSON}) if as_numbers else lf

    def counts_alike(self, table: str) -> bool:
        """Whether ``table``'s person numbers tell its persons apart as their pseudonyms do: numbered, and
        a number missing only where the pseudonym is (numbers are unique among the attributes)."""
        numbers = self.numbers(table)
        return numbers is not None and numbers.null_count() == self.extract.table(table)[PERSON].null_count()

    def lookup(self, table: str, from_key: str, key: str, column: str, units: Sequence[str] = ()) -> pl.DataFrame:
        """``column`` of ``table`` by its ``from_key`` (named ``key``), the first row of each key: what a
        dimension looks up in another table (``via``), read once per extract object. With ``units``
        (an extract labelled with its units), the first row of each key in each unit."""
        memo_key = ("lookup", table, from_key, key, column, tuple(units))
        if memo_key not in self._memo:
            lf = self.extract.table(table).lazy().select(pl.col(from_key).alias(key), pl.col(column), *units)
            if units:
                lf = lf.explode(list(units)).drop_nulls(list(units))
            self._memo[memo_key] = lf.unique(subset=[key, *units], keep="first", maintain_order=True).collect()
        return self._memo[memo_key]

    def lazy_tables(self) -> dict[str, pl.LazyFrame]:
        return {t: self.extract.table(t).lazy() for t in TABLES if self.has(t)}

    def numbered_tables(self) -> dict[str, pl.LazyFrame]:
        """The tables whose persons count as their numbers (:meth:`counts_alike`), each person as its number."""
        return {t: self.extract.table(t).lazy().with_columns(self.numbers(t).alias(PERSON))
                for t in TABLES if self.counts_alike(t)}


def _trafficking_persons(ctx: Context, w: Window) -> pl.LazyFrame:
    """Persons with a trafficking_suspected flag in the window, and whether they were referred in time
    (persons as their numbers where the flags and the referrals are both numbered alike)."""
    limit = int(w.params.get("trafficking_referral_days", 30))
    numbered = {"protection_flags", "referrals"} <= set(w.numbered)
    tables = w.numbered if numbered else w.tables
    first = (w.spread(tables["protection_flags"])  # grouped by person: no attributes
             .filter((pl.col("flag").cast(pl.String) == "trafficking_suspected")
                     & pl.col("identified_on").is_between(w.lo, w.hi))
             .group_by(w.per_person()).agg(pl.col("identified_on").min().alias("first_flag")))
    units = list(w.unit_keys)  # labelled records: a person's flags and referrals in the same unit
    first = first.join(w.periods.lazy().select(PERIOD, *units), on=PERIOD, how="left") if units else first
    referred = (w.by_unit(tables["referrals"])
                .filter(pl.col("service_type").cast(pl.String) == "anti_trafficking")
                .select(PERSON, *units, "referred_on")
                .join(first, on=[PERSON, *units], how="inner")
                .filter((pl.col("referred_on") - pl.col("first_flag")).dt.total_days().is_between(0, limit))
                .select(w.per_person()).unique()
                .with_columns(pl.lit(True).alias("referred_in_time")))
    persons = (first.join(referred, on=w.per_person(), how="left")
               .with_columns(pl.col("referred_in_time").fill_null(False)))
    if numbered:  # the attributes taken at each person's number
        return ctx.with_attributes(persons.with_columns(pl.col(PERSON).alias(PERSON_CODE)), as_numbers=True)
    return persons.join(ctx.attributes().lazy(), on=PERSON, how="left")


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


def _age_moment(ind: Indicator, w: Window) -> pl.Expr:
    spec = ind.age_at
    if isinstance(spec, dict):
        return pl.col(spec["first"]).min().over(w.per_person())
    return pl.col(spec)


def _dimension(dim: str, ind: Indicator, cat: Catalogue, w: Window,
               schema: Mapping[str, pl.DataType] | None = None) -> pl.Expr:
    if dim == "age_group":
        return age_group(age_at(_age_moment(ind, w))).alias(dim)
    spec = cat.dimensions.get(dim) or {}
    band = spec.get("bands")
    if band:
        if band["of"] == "age":
            value = age_at(_age_moment(ind, w))
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
    if dtype == pl.String:  # text already: only a missing value is labelled
        return col.fill_null("unknown").alias(dim)
    return (pl.when(col.is_null()).then(pl.lit("unknown"))
            .otherwise(col.cast(pl.String))).alias(dim)


def _lookups(lf: pl.LazyFrame, ind: Indicator, ctx: Context, dims: Sequence[str], cat: Catalogue,
             w: Window) -> pl.LazyFrame:
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
            units = list(w.unit_keys)  # labelled records: looked up among their unit's rows
            looked_up = ctx.lookup(via["table"], via.get("from_key", via["key"]), via["key"], column, units)
            lf = lf.drop([column], strict=False).join(looked_up.lazy(), on=[via["key"], *units], how="left")
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
    return ind.records, repr(_split_population(ind)[0])


def _rows(ind: Indicator, ctx: Context, w: Window, dims: Sequence[str], cat: Catalogue,
          keep: pl.Expr | None = None, readers: Sequence[Indicator] = ()) -> pl.LazyFrame:
    """``ind``'s records table (or builder) with its persons' attributes and the columns ``dims`` look up
    in other tables, the rows ``keep`` (default: its shared condition) in the window. ``readers``: the
    indicators that read these rows (default: ``ind``); where none reads another table by pseudonym,
    a numbered table's persons are their numbers from the filter on."""
    built = ind.records in BUILDERS  # a builder pairs its records with the periods itself
    first = keep if keep is not None else _filter_of(_split_population(ind)[0], w)
    # the attributes joined after the filter when it does not read them (a gather on the kept rows)
    later = (not built and first is not None and ctx.numbers(ind.records) is not None
             and not set(first.meta.root_names()) & set(ctx.attributes().columns))
    lf = BUILDERS[ind.records](ctx, w) if built else ctx.enriched(ind.records, later=later)
    if not built and w.units:  # labelled records: each unit's rows looked up in that unit
        lf = w.spread(lf)
    lf = _lookups(lf, ind, ctx, dims, cat, w)
    if not built and not w.units:
        lf = w.spread(lf)
    if later:
        as_numbers = ctx.counts_alike(ind.records) and not any(_by_pseudonym(i, ctx) for i in readers or [ind])
        return ctx.with_attributes(lf.filter(first), as_numbers)
    if keep is not None:
        return lf.filter(keep)
    for cond in _split_population(ind)[0]:
        lf = conditions.apply(lf, cond, w)
    return lf


def _by_pseudonym(ind: Indicator, ctx: Context) -> bool:
    """Whether ``ind`` reads its records' persons as pseudonyms: a condition matching them in another table
    (the protection flags are read by numbers where they count alike), or a unit counted among other
    identifiers."""
    for cond in (*ind.population, *ind.numerator):
        (kind, arg), = cond.items()
        if kind == "flagged_by_end" and not ctx.counts_alike("protection_flags"):
            return True
        if kind == "mapped_in" and PERSON in conditions.condition_columns(kind, arg)[0]:
            return True
    return isinstance(ind.distinct, (list, tuple)) and PERSON in ind.distinct


def _filter_of(conds: Sequence[dict], w: Window) -> pl.Expr | None:
    """The one filter of ``conds`` when each is a pure expression on the records, else None."""
    if not conds or any(next(iter(c)) in conditions.NOT_EXPRESSIONS for c in conds):
        return None
    return pl.all_horizontal([conditions.expression(c, w) for c in conds]) if len(conds) > 1 \
        else conditions.expression(conds[0], w)


def shared_rows(indicators: Sequence[Indicator], ctx: Context, w: Window, dims_of: Mapping[str, Sequence[str]],
                cat: Catalogue) -> dict[str, pl.LazyFrame]:
    """For each indicator (by id), the rows it shares with others, materialised once for the window.

    Indicators with the same records and shared condition (:func:`_split_population`) share its
    rows. Where every group of a table is kept by a period condition, the table is filtered by
    any of them and joined with the attributes once, and each group is its condition on those
    rows: conditions on a record's own columns, so the rows are the same as filtering apart."""
    groups: dict[tuple[str, str], list[Indicator]] = {}
    for ind in indicators:
        groups.setdefault(_population_key(ind), []).append(ind)
    by_table: dict[str, list[tuple[str, str]]] = {}
    for key in groups:
        by_table.setdefault(key[0], []).append(key)
    plans: list[pl.LazyFrame] = []
    owners: list[list[tuple[str, str]]] = []  # the groups each plan serves
    for table, keys in by_table.items():
        conds = [_split_population(groups[k][0])[0] for k in keys]
        union = (len(keys) > 1 and table not in BUILDERS
                 and all(c and next(iter(c[0])) in _PERIOD_KINDS for c in conds))
        if union:
            inds = [i for k in keys for i in groups[k]]
            keep = pl.any_horizontal([conditions.expression(c[0], w) for c in conds])
            plans.append(_rows(inds[0], ctx, w, sorted({d for i in inds for d in dims_of[i.id]}), cat, keep, inds))
            owners.append(keys)
        else:
            for k in keys:
                plans.append(_rows(groups[k][0], ctx, w, sorted({d for i in groups[k] for d in dims_of[i.id]}), cat,
                                   readers=groups[k]))
                owners.append([k])
    out: dict[str, pl.LazyFrame] = {}
    for frame, keys in zip(pl.collect_all(plans) if plans else [], owners):
        for k in keys:
            lf = frame.lazy()
            if len(keys) > 1:
                lf = lf.filter(conditions.expression(_split_population(groups[k][0])[0][0], w))
            out.update({ind.id: lf for ind in groups[k]})
    return out


def records(ind: Indicator, ctx: Context, w: Window, dims: Sequence[str], cat: Catalogue,
             shared: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The working columns of ``ind``: its population (from the rows it shares with other indicators,
    when given), its numerator, its unit and its breakdown dimensions."""
    lf = _rows(ind, ctx, w, dims, cat) if shared is None else shared
    for cond in _split_population(ind)[1]:
        lf = conditions.apply(lf, cond, w)
    for cond in ind.numerator:
        lf = conditions.prepare(lf, cond, w)
    schema = lf.collect_schema()
    keep, own, dimensions = _working(ind, w, dims, cat, schema)
    return lf.with_columns(*own, *dimensions).select(*keep, *[e.meta.output_name() for e in (*own, *dimensions)])


def _working(ind: Indicator, w: Window, dims: Sequence[str], cat: Catalogue, schema: pl.Schema,
             suffix: str = "") -> tuple[list[str], list[pl.Expr], list[pl.Expr]]:
    """``ind``'s working columns over rows of ``schema``: the columns kept as they are, its own working
    columns (their names ending in ``suffix``: :data:`WORKING`) and its breakdown dimensions."""
    own = []
    if isinstance(ind.distinct, (list, tuple)):
        own.append(pl.coalesce(*[pl.col(c).cast(pl.String) for c in ind.distinct]).alias(UNIT + suffix))
    if ind.sum:
        own.append(pl.col(ind.sum).fill_null(0).alias("_sum" + suffix))
    if ind.numerator:
        num = pl.lit(True)
        for cond in ind.numerator:
            num = num & conditions.expression(cond, w)
        own.append(num.alias("_num" + suffix))
    if ind.days:
        own.append(conditions.days_between(*ind.days).alias("_days" + suffix))
    dimensions = [_dimension(d, ind, cat, w, schema) for d in dims]
    names = schema.names()
    keep = [*w.keys, PERSON] if PERSON in names else list(w.keys)
    if PERSON_CODE in names and unit_column(ind) == PERSON:
        keep.append(PERSON_CODE)
    if isinstance(ind.distinct, str) and ind.distinct != PERSON:
        keep.append(ind.distinct)
    if not keep:  # a table without persons: a row marker, so that a frame of no columns still has its rows
        own.append(pl.lit(True).alias("_row"))
    return keep, own, dimensions


#: The working columns an indicator may add to its records (with a suffix when several indicators share them).
WORKING = ("_unit", "_sum", "_num", "_days")


def together(indicators: Sequence[Indicator], shared: Mapping[str, pl.LazyFrame]) -> list[list[Indicator]]:
    """The indicators in groups whose records are the same rows: the same shared rows and no condition of
    their own that keeps or joins rows (each of the others is a group of one), in the given order."""
    groups: dict[int, list[Indicator]] = {}
    alone: list[list[Indicator]] = []
    for ind in indicators:
        lf = shared.get(ind.id)
        joins = any(next(iter(c)) == "mapped_in" for c in ind.numerator)
        if lf is None or _split_population(ind)[1] or joins:
            alone.append([ind])
        else:
            groups.setdefault(id(lf), []).append(ind)
    out = [*groups.values(), *alone]
    order = {ind.id: i for i, ind in enumerate(indicators)}
    return sorted(out, key=lambda g: order[g[0].id])


def group_records(inds: Sequence[Indicator], w: Window, dims_of: Mapping[str, Sequence[str]], cat: Catalogue,
                  shared: pl.LazyFrame) -> tuple[pl.LazyFrame, dict[str, dict[str, str]]]:
    """The records of indicators that share their rows (:func:`together`) as one frame: each one's working
    columns suffixed by its position (``_num#1``), each breakdown dimension once where the indicators label
    it alike (else one column each: ``age_group#1``); and, by indicator, the column of each dimension."""
    schema = shared.collect_schema()
    keep: list[str] = []
    own: list[pl.Expr] = []
    dimensions: dict[str, pl.Expr] = {}
    columns: dict[str, dict[str, str]] = {}
    for j, ind in enumerate(inds):
        k, o, ds = _working(ind, w, dims_of[ind.id], cat, schema, suffix=f"#{j}")
        keep += [c for c in k if c not in keep]
        own += [e for e in o if e.meta.output_name() != "_row" or j == 0]
        columns[ind.id] = {}
        for e in ds:
            name = e.meta.output_name()
            if name in dimensions and not dimensions[name].meta.eq(e):  # labelled otherwise by another
                e = e.alias(f"{name}#{j}")
            dimensions.setdefault(e.meta.output_name(), e)
            columns[ind.id][name] = e.meta.output_name()
    if keep:
        own = [e for e in own if e.meta.output_name() != "_row"]
    exprs = [*own, *dimensions.values()]
    return shared.with_columns(exprs).select(*keep, *[e.meta.output_name() for e in exprs]), columns


def by_code(records: pl.DataFrame) -> pl.LazyFrame:
    """Records whose persons are counted by their number rather than their pseudonym, when the two
    count the same: every recorded pseudonym found among the attributes (numbers are unique there)."""
    if PERSON_CODE not in records.columns:
        return records.lazy()
    if records[PERSON_CODE].null_count() != records[PERSON].null_count():
        return records.lazy().drop(PERSON_CODE)
    return records.lazy().drop(PERSON).rename({PERSON_CODE: PERSON})


#: The working column of a unit counted once: the first recorded of ``distinct: [key, id]``.
UNIT = "_unit"


def unit_column(ind: Indicator) -> str | None:
    if isinstance(ind.distinct, (list, tuple)):
        return UNIT
    return ind.distinct

