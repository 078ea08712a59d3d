"""A report's scope: the part of an extract that belongs to some sites or centres.

One extract can hold several services (the demo holds a legal-aid desk, a detention
team and a child-protection day centre). A report's ``sites`` or ``centres``
parameter narrows the extract before any indicator is computed, so every figure of
the report — and of ``workbench indicators`` on the scoped extract — counts the same
records:

- ``sites``: contacts and cases at those sites; the persons registered at those sites
  or with a contact or a case there; their referrals, legal actions, protection flags
  and detention stays.
- ``centres``: detention stays in those centres; the persons with such a stay; their
  contacts, cases, referrals, legal actions (those about another stay are left out)
  and protection flags.

Both can be given: a record is kept when it passes both. Nothing is dropped
silently: the scoped extract keeps the original's quarantine and counts, and a code
that matches nothing in the extract is an error (a misspelled site would otherwise
give an empty report).

>>> from workbench import demo, extract, scope                          # doctest: +SKIP
>>> ex = scope.narrow(extract.load("demo"), centres=["cra_guyane"])      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence

import polars as pl

from workbench.exceptions import ParameterError

PERSON = "person_id"
_PERSON_TABLES = ("referrals", "legal_actions", "protection_flags", "detention_stays", "contacts", "cases")


def _check_codes(kind: str, codes: Sequence[str], known: set[str]) -> None:
    unknown = [c for c in codes if c not in known]
    if unknown:
        hints = []
        for code in unknown:
            close = difflib.get_close_matches(code, sorted(known), n=1, cutoff=0.6)
            hints.append(f"'{code}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ParameterError(f"Unknown {kind} {', '.join(hints)}: the extract's {kind} are "
                             f"{', '.join(sorted(known)) or 'none'}.")


def _sites_known(ex) -> set[str]:
    known = set(ex.meta.sites)
    for table in ("persons", "contacts", "cases"):
        if ex.has(table):
            known |= set(ex.table(table)["site"].unique().drop_nulls().to_list())
    return known


def narrow(ex, sites: Sequence[str] | None = None, centres: Sequence[str] | None = None):
    """The extract restricted to ``sites`` and/or ``centres`` (unchanged when both are empty)."""
    if not sites and not centres:
        return ex
    tables = dict(ex.tables)
    if sites:
        _check_codes("sites", sites, _sites_known(ex))
        tables = _by_sites(tables, list(sites))
    if centres:
        known = set(ex.meta.centres)
        if "detention_stays" in tables:
            known |= set(tables["detention_stays"]["centre"].unique().drop_nulls().to_list())
        _check_codes("centres", centres, known)
        tables = _by_centres(tables, list(centres))
    return dataclasses.replace(ex, tables=tables)


def _keep_persons(tables: dict[str, pl.DataFrame], persons: pl.Series, skip: tuple[str, ...] = ()
                  ) -> dict[str, pl.DataFrame]:
    out = dict(tables)
    ids = persons.implode()
    out["persons"] = tables["persons"].filter(pl.col(PERSON).is_in(ids))
    for name in _PERSON_TABLES:
        if name in out and name not in skip:
            out[name] = out[name].filter(pl.col(PERSON).is_in(ids))
    return out


def _by_sites(tables: dict[str, pl.DataFrame], sites: list[str]) -> dict[str, pl.DataFrame]:
    at_site = pl.col("site").is_in(sites)
    out = dict(tables)
    for name in ("contacts", "cases"):
        if name in out:
            out[name] = out[name].filter(at_site)
    parts = [tables["persons"].filter(at_site).select(PERSON)]
    parts += [out[n].select(PERSON) for n in ("contacts", "cases") if n in out]
    persons = pl.concat(parts).unique()[PERSON]
    out = _keep_persons(out, persons, skip=("contacts", "cases"))
    if "cases" in out and "referrals" in out:
        # A referral made within a case of another site stays with that site.
        cases = out["cases"]["case_id"].implode()
        out["referrals"] = out["referrals"].filter(pl.col("case_id").is_null() | pl.col("case_id").is_in(cases))
    return out


def _by_centres(tables: dict[str, pl.DataFrame], centres: list[str]) -> dict[str, pl.DataFrame]:
    out = dict(tables)
    if "detention_stays" not in out:
        raise ParameterError("'centres' narrows a report to detention centres, but the extract has no "
                             "detention_stays table.")
    out["detention_stays"] = out["detention_stays"].filter(pl.col("centre").is_in(centres))
    persons = out["detention_stays"][PERSON].unique()
    out = _keep_persons(out, persons, skip=("detention_stays",))
    if "legal_actions" in out:
        stays = out["detention_stays"]["stay_id"].implode()
        out["legal_actions"] = out["legal_actions"].filter(
            pl.col("stay_id").is_null() | pl.col("stay_id").is_in(stays))
    return out
