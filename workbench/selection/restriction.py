"""One selection, one meaning: the part of an extract a figure is about.

:func:`restrict` is the only way the workbench narrows an extract: a report's ``sites``
and ``centres`` parameters, the dashboards' filters and ``workbench indicators --site …``
all go through it (via :func:`workbench.disclosure.compute`), so the same selection
gives the same figure everywhere.

A record is kept when it passes **every** filter of the selection (sites, centres,
person attributes). What each filter keeps, table by table:

================  ===================================  =================================  ============================
table             sites S                              centres C                          person attributes A
================  ===================================  =================================  ============================
persons           registered at a site of S            persons with a stay in C           persons matching A
contacts, cases   at a site of S                       of persons with a stay in C        of persons matching A
detention_stays   of persons seen at S                 in a centre of C                   of persons matching A
protection_flags  of persons seen at S                 of persons with a stay in C        of persons matching A
referrals         linked to a case: that case is at    of persons with a stay in C        of persons matching A
                  S; no case: of persons seen at S
legal_actions     linked to a case: that case is at    linked to a stay: that stay is in  of persons matching A
                  S; no case: of persons seen at S     C; no stay: of persons with a
                                                       stay in C
================  ===================================  =================================  ============================

- **New persons of a site** are the persons *registered* there (``persons.site``), the
  meaning of the ``--by site`` breakdown of ``new_persons``: a person registered in Tunis
  and later seen in Sfax is a new person of Tunis only.
- **Persons seen at S** are those registered at a site of S or with a contact or a case
  there (at any date).
- **Person attributes label every record from all persons**: a contact at Sfax of a
  person registered in Tunis is labelled with that person's sex, age and nationality.
  Attributes never depend on the selection (the restricted extract carries all persons'
  attributes in :attr:`Extract.attributes` for the engine's joins).
- **A referral or legal action linked to another site's case, or a legal action linked
  to another centre's stay, is left out**: it belongs to where its case (or stay) is.
- The **age group** is the age in the year the period ends (year − birth year), the rule
  of the age-group breakdowns; for a period within one calendar year, filtering on an
  age group gives the figures of that age group's breakdown row.

With these meanings a restricted total equals the matching breakdown row wherever the
indicator has that breakdown: ``new_persons``, ``persons_received``, ``contacts``,
the case indicators… restricted to site *s* equal their ``--by site`` row *s*; the
detention indicators restricted to centre *c* equal their ``--by centre`` row *c*.

The restricted extract keeps the original's quarantine, counts and metadata (nothing is
dropped silently), and a code that the extract does not offer is an error naming the
choices (a misspelled site would otherwise give an empty report).

>>> from workbench import extract                                          # doctest: +SKIP
>>> from workbench.selection import Selection, restrict                    # doctest: +SKIP
>>> ex = restrict(extract.load("demo"), Selection(sites=("sfax",)))        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import polars as pl

from workbench.exceptions import ParameterError
from workbench.extract.memo import memo_of
from workbench.selection.choices import Selection, choices, validate

PERSON = "person_id"


def age_group_expr(year: int) -> pl.Expr:
    """The age group of each person in ``year`` (year − birth_year), as the breakdowns group ages."""
    from workbench.indicators.engine import age_group  # one definition of the age groups

    return age_group(pl.lit(year, dtype=pl.Int32) - pl.col("birth_year"))


def _is_in(column: str, codes: tuple[str, ...], dtype: pl.DataType) -> pl.Expr:
    """``column`` is one of ``codes``; not recorded counts as ``unknown`` (as breakdowns count it).

    Vocabulary columns are compared as their Enum (codes checked against the choices are in it).
    """
    col = pl.col(column)
    if isinstance(dtype, pl.Enum) and set(codes) <= set(dtype.categories):
        match = col.is_in(pl.Series(list(codes), dtype=dtype).implode())
    else:
        match = col.cast(pl.String).is_in(list(codes))
    return (match | col.is_null()) if "unknown" in codes else match.fill_null(False)


def _attributes(selection: Selection, year: int | None, schema: pl.Schema) -> pl.Expr | None:
    """The condition on a person's attributes, or None when the selection sets none."""
    conditions = [_is_in(a, getattr(selection, a), schema[a]) for a in ("sex", "nationality", "legal_status")
                  if getattr(selection, a)]
    if selection.age_group:
        if year is None:
            raise ParameterError("A filter on the age group needs the year the ages are taken in "
                                 "(the year the period ends).")
        conditions.append(age_group_expr(year).is_in(list(selection.age_group)))
    return pl.all_horizontal(conditions) if conditions else None


def _of(persons: pl.DataFrame) -> pl.Expr:
    return pl.col(PERSON).is_in(persons[PERSON].implode())


def _linked(column: str, parents: pl.DataFrame | None, key: str, otherwise: pl.Expr) -> pl.Expr:
    """Linked through ``column`` to a kept parent record; unlinked: ``otherwise``."""
    if parents is None:
        return otherwise
    kept = pl.col(column).is_in(parents[key].implode())
    return pl.when(pl.col(column).is_not_null()).then(kept).otherwise(otherwise)


def _site_rules(ex, sites: list[str]) -> dict[str, pl.Expr]:
    at_site = pl.col("site").is_in(sites)
    if not ex.has("persons"):  # a network's extract: its activities take place at sites
        return {"activities": at_site}
    seen = [ex.table("persons").filter(at_site).select(PERSON)]
    seen += [ex.table(t).filter(at_site).select(PERSON) for t in ("contacts", "cases") if ex.has(t)]
    seen_here = _of(pl.concat(seen).unique())
    cases = ex.table("cases").filter(at_site) if ex.has("cases") else None
    return {"persons": at_site, "contacts": at_site, "cases": at_site, "detention_stays": seen_here,
            "protection_flags": seen_here, "referrals": _linked("case_id", cases, "case_id", seen_here),
            "legal_actions": _linked("case_id", cases, "case_id", seen_here), "appointments": at_site,
            "activities": at_site}


def _centre_rules(ex, centres: list[str]) -> dict[str, pl.Expr]:
    if not ex.has("detention_stays"):
        raise ParameterError("A selection of centres needs detention stays, but the extract has no "
                             "detention_stays table: select sites instead, or no centre.")
    in_centre = pl.col("centre").is_in(centres)
    stays = ex.table("detention_stays").filter(in_centre)
    held = _of(stays.select(PERSON).unique())
    rules = {t: held for t in ("persons", "contacts", "cases", "protection_flags", "referrals")}
    rules["detention_stays"] = in_centre
    rules["legal_actions"] = _linked("stay_id", stays, "stay_id", held)
    return rules


_KEPT = 4  # restricted extracts remembered per extract (each up to a copy of its data)...
_KEPT_ROWS = 2_000_000  # ...and more while their rows together stay under this (a report's scopes, a small extract)
_LOCK = threading.Lock()


def restrict(ex, selection: Selection, year: int | None = None):
    """The extract restricted to ``selection`` (the same extract when nothing is selected).

    Parameters
    ----------
    ex
        A loaded :class:`~workbench.extract.Extract`.
    selection
        Sites, centres and person attributes to keep; every code must be one the extract
        offers (:func:`~workbench.selection.choices`), else :class:`ParameterError`.
    year
        The year ages are taken in, for an age-group filter (the year the period ends).

    Returns
    -------
    Extract
        A new extract holding the kept records, with ``attributes`` set to every person's
        attributes (records are labelled with them), and the original's quarantine,
        counts and metadata. The given extract is not changed.

    Notes
    -----
    Extracts are immutable, so the last few restrictions of each extract object are
    remembered (with the engine's joins on them): going back to a selection is instant, and
    cannot change a figure.
    """
    if selection.is_empty:
        return ex
    key = (selection, year if selection.age_group else None)
    with _LOCK:
        memo = memo_of(ex, "selection.restrict", OrderedDict)
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    out = _restrict(ex, selection, key[1])
    with _LOCK:
        memo[key] = out
        while len(memo) > _KEPT and sum(_rows(kept) for kept in memo.values()) > _KEPT_ROWS:
            memo.popitem(last=False)
    return out


def _rows(ex) -> int:
    return sum(frame.height for frame in ex.tables.values())


def selection_rules(ex, selection: Selection, year: int | None = None
                    ) -> tuple[list[dict[str, pl.Expr]], set[str], pl.DataFrame]:
    """What :func:`restrict` applies: the rules (table → condition on its rows, each computed from the
    given extract's tables; a row is kept when it passes every rule naming its table), the tables
    left out, and every person's attributes (the restricted extract's ``attributes``)."""
    validate(selection, choices(ex))
    rules: list[dict[str, pl.Expr]] = []
    if selection.sites:
        rules.append(_site_rules(ex, list(selection.sites)))
    if selection.centres:
        rules.append(_centre_rules(ex, list(selection.centres)))
    everyone = ex.attributes if ex.attributes is not None else ex.tables.get("persons")
    if everyone is None and any(getattr(selection, a) for a in ("sex", "age_group", "nationality", "legal_status")):
        raise ParameterError("A selection of person attributes needs a persons table, but the extract has none "
                             "(a network's extract): select sites instead.")
    condition = _attributes(selection, year, everyone.schema) if everyone is not None else None
    dropped: set[str] = set()
    if condition is not None:
        matching = _of(everyone.filter(condition).select(PERSON))
        rules.append({t: matching for t, f in ex.tables.items() if PERSON in f.columns})
        # Tables without persons (activities, services, a network's actions) cannot be restricted to
        # persons' attributes: they are left out, so their indicators read "not available", never a
        # figure of everyone presented as the selection's.
        dropped = {t for t, f in ex.tables.items() if PERSON not in f.columns}
    return rules, dropped, everyone


def _restrict(ex, selection: Selection, year: int | None):
    rules, dropped, everyone = selection_rules(ex, selection, year)
    # Every rule is computed from the given extract's tables, then all apply at once: the
    # filters do not depend on one another's order.
    tables = {}
    for name, frame in ex.tables.items():
        if name in dropped:
            continue
        keep = [r[name] for r in rules if name in r]
        tables[name] = frame.filter(pl.all_horizontal(keep)) if keep else frame
    return dataclasses.replace(ex, tables=tables, attributes=everyone)


__all__ = ["age_group_expr", "restrict", "selection_rules"]
