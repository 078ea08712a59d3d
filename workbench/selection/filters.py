"""Filters for dashboards and exploration: a view of the extract restricted to a selection.

A :class:`Selection` names the sites, detention centres and person attributes (sex,
age group, nationality, legal status) to keep; empty means "all". :func:`apply`
returns a new :class:`~workbench.extract.Extract` holding only the matching records,
with every reference kept whole, so the indicator engine computes on it unchanged:

- **person attributes** keep the persons who match, and every record of theirs;
- **sites** keep the contacts and cases at those sites, the persons seen there
  (registered, a contact or a case at a selected site) and their referrals, legal
  actions, protection concerns and detention stays; *new persons* counts only the
  persons registered at a selected site;
- **centres** keep the detention stays in those centres, and the persons held there
  with their other records;
- referrals and legal actions linked to a case (or stay) that is left out are left out.

The age group is the age in the year the period ends (year − birth year), the rule of
the age-group breakdowns; so, for a calendar period, a filter on an age group gives the
figures of that age group's breakdown row.

Values are checked against the choices the extract offers (:func:`choices`) before
anything is computed, and only ever compared with ``is_in``: never used to build a
path, a column name or an expression.

>>> from workbench import demo, extract, filters                         # doctest: +SKIP
>>> ex = extract.load(demo.write(tmp_path / "demo", persons=300))         # doctest: +SKIP
>>> sel = filters.validate(filters.Selection(sites=("sfax",)), filters.choices(ex))  # doctest: +SKIP
>>> filters.apply(ex, sel).table("contacts")["site"].unique().to_list()   # doctest: +SKIP
['sfax']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import polars as pl

from workbench.exceptions import ParameterError
from workbench.contract.schema import AGE_GROUPS, vocabulary

PERSON = "person_id"
#: Person attributes a selection can restrict, in display order.
ATTRIBUTES = ("sex", "age_group", "nationality", "legal_status")
#: Every field of a selection, in display order.
FIELDS = ("sites", "centres", *ATTRIBUTES)


@dataclass(frozen=True)
class Selection:
    """Codes to keep, per filter; an empty tuple keeps everything."""

    sites: tuple[str, ...] = ()
    centres: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    age_group: tuple[str, ...] = ()
    nationality: tuple[str, ...] = ()
    legal_status: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) or not isinstance(value, tuple | list | set | frozenset):
                raise ParameterError(f"Filter '{f.name}' takes a tuple of codes, got {value!r}.")
            # Sorted and unique: two selections that keep the same records are equal (and cache alike).
            object.__setattr__(self, f.name, tuple(sorted({str(v) for v in value})))

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in FIELDS)

    def active(self) -> dict[str, tuple[str, ...]]:
        """The filters that restrict something."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f)}

    def replace(self, **changes) -> Selection:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Choices:
    """The codes a selection may use, as the extract offers them (display order)."""

    sites: tuple[str, ...]
    centres: tuple[str, ...]
    sex: tuple[str, ...]
    age_group: tuple[str, ...]
    nationality: tuple[str, ...]
    legal_status: tuple[str, ...]


def _observed(ex, table: str, column: str) -> set[str]:
    if not ex.has(table):
        return set()
    return {v for v in ex.table(table)[column].cast(pl.String).unique().to_list() if v is not None}


def choices(ex) -> Choices:
    """What each filter can be set to on this extract.

    Sites are those of ``extract.yaml`` and those seen in persons, contacts and cases;
    centres those of ``extract.yaml`` and of the detention stays; nationalities those
    of the persons; sex, age group and legal status their whole vocabulary.
    """
    sites = set(ex.meta.sites) | _observed(ex, "persons", "site") | _observed(ex, "contacts", "site") \
        | _observed(ex, "cases", "site")
    centres = set(ex.meta.centres) | _observed(ex, "detention_stays", "centre")
    nationalities = _observed(ex, "persons", "nationality")
    if ex.table("persons")["nationality"].null_count():
        nationalities.add("unknown")
    order = {c: i for i, c in enumerate(vocabulary("nationality"))}
    legal = vocabulary("legal_status")
    return Choices(
        sites=tuple(sorted(sites)), centres=tuple(sorted(centres)),
        sex=vocabulary("sex"), age_group=AGE_GROUPS,
        nationality=tuple(sorted(nationalities, key=lambda c: (order.get(c, len(order)), c))),
        legal_status=legal,
    )


def validate(selection: Selection, known: Choices) -> Selection:
    """The selection if every code is one of the choices; else one error naming them all."""
    problems = []
    for name in FIELDS:
        allowed = getattr(known, name)
        bad = [v for v in getattr(selection, name) if v not in allowed]
        if bad:
            problems.append(f"{name}: {', '.join(repr(b[:40]) for b in bad[:5])} "
                            f"(choices: {', '.join(allowed[:12])}{'…' if len(allowed) > 12 else ''})")
    if problems:
        raise ParameterError("Unknown filter value(s): " + "; ".join(problems) + ".")
    return selection


def _is_in(column: str, codes: tuple[str, ...], dtype: pl.DataType) -> pl.Expr:
    """``column`` is one of ``codes``; not recorded counts as ``unknown`` (as breakdowns count it).

    Vocabulary columns are compared as their Enum (codes checked against the choices are in it):
    several times faster than comparing text on a million rows.
    """
    col = pl.col(column)
    if isinstance(dtype, pl.Enum) and set(codes) <= set(dtype.categories):
        match = col.is_in(pl.Series(list(codes), dtype=dtype).implode())
    else:
        match = col.cast(pl.String).is_in(list(codes))
    return (match | col.is_null()) if "unknown" in codes else match.fill_null(False)


def age_group_expr(year: int) -> pl.Expr:
    """The age group of each person in ``year`` (year − birth_year), as the breakdowns group ages."""
    from workbench.indicators.engine import _age_group  # the engine's grouping: one definition of the age groups

    return _age_group(pl.lit(year, dtype=pl.Int32) - pl.col("birth_year"))


def _attributes(selection: Selection, year: int | None, schema: pl.Schema) -> pl.Expr | None:
    """The condition on a person's attributes, or None when the selection sets none."""
    conditions = [_is_in(a, getattr(selection, a), schema[a]) for a in ("sex", "nationality", "legal_status")
                  if getattr(selection, a)]
    if selection.age_group:
        if year is None:
            raise ParameterError("A filter on the age group needs the year the ages are taken in.")
        conditions.append(age_group_expr(year).is_in(list(selection.age_group)))
    return pl.all_horizontal(conditions) if conditions else None


def apply(ex, selection: Selection, year: int | None = None):
    """The extract restricted to ``selection`` (the same extract when nothing is selected).

    Parameters
    ----------
    ex
        A loaded :class:`~workbench.extract.Extract`.
    selection
        Checked codes (see :func:`validate`).
    year
        The year ages are taken in, for an age-group filter (the year the period ends).

    Notes
    -----
    The engine joins each table with its persons' attributes once per extract
    (``indicators.Context.enriched``, kept in the extract's ``_cache``). The filters work on
    those joined tables, so a person filter is a row filter (no join), and the filtered
    extract gets its own joined tables in its cache: moving from one selection to another
    never joins the large tables again.
    """
    if selection.is_empty:
        return ex
    from workbench.indicators.engine import Context

    ctx = Context(fresh(ex))
    names = list(ex.tables)
    # Eager, step by step: each step reuses the last one's result (a lazy plan would recompute the
    # persons kept once per table that refers to them).
    rich = {name: ctx.enriched(name) for name in names}  # the persons' own table is itself
    condition = _attributes(selection, year, rich["persons"].schema)
    if condition is not None:
        rich = {name: frame.filter(condition) for name, frame in rich.items()}
    persons = rich["persons"]
    # A table is "closed" when its filters already keep only records of the selected persons.
    closed = set(names)
    registered_here = None
    if selection.sites:
        sites = list(selection.sites)
        seen = [persons.filter(pl.col("site").is_in(sites)).select(PERSON)]
        for name in ("contacts", "cases"):
            if name in rich:
                rich[name] = rich[name].filter(pl.col("site").is_in(sites))
                seen.append(rich[name].select(PERSON))
        persons = persons.join(pl.concat(seen).unique(), on=PERSON, how="semi", maintain_order="left")
        registered_here = persons.filter(pl.col("site").is_in(sites))
        closed &= {"persons", "contacts", "cases"}
    if selection.centres:
        if "detention_stays" in rich:
            rich["detention_stays"] = rich["detention_stays"].filter(pl.col("centre").is_in(list(selection.centres)))
            persons = persons.join(rich["detention_stays"].select(PERSON).unique(), on=PERSON, how="semi",
                                   maintain_order="left")
        else:
            persons = persons.head(0)
        closed &= {"persons", "detention_stays"}
    if selection.sites and selection.centres:
        closed = {"persons"}
    rich["persons"] = persons
    keep = persons.select(PERSON)
    for name in names:
        if name not in closed:
            rich[name] = rich[name].join(keep, on=PERSON, how="semi", maintain_order="left")
    if selection.sites or selection.centres:
        for name in ("referrals", "legal_actions"):
            # A record linked to a case (or a stay) that the selection leaves out goes with it.
            for column, parent, key in (("case_id", "cases", "case_id"), ("stay_id", "detention_stays", "stay_id")):
                if name in rich and parent in rich and column in rich[name].columns:
                    linked = rich[parent].select(pl.col(key).alias(column))
                    kept = pl.col(column).is_null() | pl.col(column).is_in(linked[column].implode())
                    rich[name] = rich[name].filter(kept)
    joined = rich
    tables = {n: joined[n].select([c for c in ex.tables[n].columns if c in joined[n].columns]) for n in names}
    filtered = dataclasses.replace(ex, tables=tables)
    # The engine reads a table's joined records from the extract's cache (indicators.Context.enriched).
    # New persons count persons registered at a selected site, while the persons table keeps everyone
    # seen there (their attributes label the contacts).
    cache: dict = {("enriched", n): joined[n] for n in names}
    cache[("enriched", "persons")] = registered_here if registered_here is not None else joined["persons"]
    object.__setattr__(filtered, "_cache", cache)
    return filtered


def fresh(ex):
    """The extract with an empty cache of enriched tables (computed once, then reused)."""
    if getattr(ex, "_cache", None) is None:
        object.__setattr__(ex, "_cache", {})
    return ex


__all__ = ["ATTRIBUTES", "FIELDS", "Choices", "Selection", "age_group_expr", "apply", "choices", "fresh",
           "validate"]
