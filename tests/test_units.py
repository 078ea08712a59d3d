"""Several selections evaluated in one pass (each record labelled with the selections that keep it)
give, to the digit and in the same order, what restricting the extract to each selection and
evaluating it gives: every indicator and breakdown, on the demo extract (its services and centres,
declared as scopes, and their atoms), a network's extract and a selection that keeps nothing."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench import disclosure
from workbench.disclosure import family, figures
from workbench.disclosure.scopes import declared
from workbench.indicators import engine, stored
from workbench.indicators.catalogue import load_catalogue
from workbench.indicators.conditions import UNITS
from workbench.selection import Selection, restrict
from workbench.selection.units import labelled

#: A calendar year's publication periods, a period before the data and a range across two years.
PERIODS = ["2025", "2025-H1", "2025-H2", *[f"2025-Q{q}" for q in range(1, 5)], *[f"2025-{m:02d}" for m in range(1, 13)],
           "2019-Q1", "2024-11-15..2025-02-10"]


def _every_breakdown() -> list[str]:
    dims = sorted({d for ind in load_catalogue() for d in ind.breakdowns})
    return [*dims, "sex,age_group", "site,sex"]


def _one_by_one(ex, selections, **kwargs) -> list[engine.Evaluation]:
    return [engine.evaluate(restrict(ex, s), PERIODS, **kwargs) for s in selections]


def _same(ex, selections, **kwargs) -> list[engine.Evaluation]:
    together = engine.evaluate_units(labelled(ex, selections), len(selections), PERIODS, **kwargs)
    assert len(together) == len(selections)
    for sel, one, alone in zip(selections, together, _one_by_one(ex, selections, **kwargs)):
        assert one.dimensions == alone.dimensions and one.unavailable == alone.unavailable, sel
        assert dict(one.params) == dict(alone.params)
        assert_frame_equal(one.frame, alone.frame)
    return together




def _family_units(ex) -> list[Selection]:
    units = family._units(ex)
    assert len(units) >= 6 and units[0] == Selection()
    assert set(declared(ex).values()) <= set(units)  # every scope, and the atoms of each depth
    return units


def test_scopes_and_atoms_in_one_pass_equal_each_restricted(person_extract):
    units = _family_units(person_extract)
    # a person in two units besides the whole extract (a detention stay and a legal-aid contact…)
    lab = labelled(person_extract, units)
    assert lab.tables["persons"].filter(pl.col(UNITS).list.len() >= 3).height > 0
    assert lab.tables["contacts"][UNITS].list.len().max() >= 2
    together = _same(person_extract, units, by=_every_breakdown())
    assert together[0].frame.height > 10_000 and all(ev.frame.height > 1_000 for ev in together)


def test_overlapping_sites_and_centres_with_parameters(person_extract):
    """Selections that overlap (a site in two of them, sites with centres), with parameters set."""
    sites = sorted(set(person_extract.tables["persons"]["site"].drop_nulls().cast(pl.String)))
    centres = sorted(set(person_extract.tables["detention_stays"]["centre"].drop_nulls().cast(pl.String)))
    units = [Selection(sites=tuple(sites[:2])), Selection(sites=tuple(sites[1:3])),
             Selection(sites=(sites[0],), centres=(centres[0],)), Selection(centres=tuple(centres[:2])), Selection()]
    params = {"assessment_deadlines": {"high": 2, "medium": 5, "low": 9}, "review_overdue_days": 30,
              "trafficking_referral_days": 10}
    _same(person_extract, units, by=["risk_level", "age_group", "site", "centre", "service_type"], params=params)


def test_a_selection_that_keeps_nothing(person_extract):
    """A centre named in extract.yaml with no stay: an empty unit, its totals as restricting gives them."""
    stays = person_extract.tables["detention_stays"]
    gone = stays["centre"].drop_nulls().cast(pl.String).sort()[0]
    ex = dataclasses.replace(person_extract, tables={**person_extract.tables,
                                                      "detention_stays": stays.filter(pl.col("centre") != gone)})
    units = [Selection(centres=(gone,)), Selection(), Selection(sites=("sfax",), centres=(gone,))]
    assert restrict(ex, units[0]).tables["persons"].height == 0
    together = _same(ex, units, by=["sex", "centre", "age_group"])
    totals = together[0].frame.filter((pl.col("_block") == 0) & pl.col("indicator").is_in(
        ["persons_received", "contacts", "detention_placements"]))
    assert totals.height == 3 * len(PERIODS) and set(totals["numerator"]) == {0}


def test_a_network_extract(network):
    units = [Selection(), Selection(sites=("calais",)), Selection(sites=("calais", "lille")),
             Selection(sites=("dunkerque",))]
    together = _same(network, units, by=["activity_type", "court_level", "site"])
    assert together[1].frame.height > 0


def test_a_few_periods_at_a_time(person_extract, monkeypatch):
    """A large labelled extract goes a few periods at a time, every unit in each group: the same figures."""
    units = _family_units(person_extract)
    lab = labelled(person_extract, units)
    rows = max(f[UNITS].list.len().sum() for f in lab.tables.values())
    monkeypatch.setattr(engine, "SPREAD_ROWS", rows * 3)
    ps = sorted({engine.parse_period(p) for p in PERIODS})
    assert [len(b) for b in engine._batches(ps, lab, len(units))][:2] == [3, 3]
    _same(person_extract, units, by=["sex", "site"])


def test_reports_figures_do_not_depend_on_the_pass(person_extract, monkeypatch):
    """The protected figures of a scope (the family decided over every scope and atom) are the same whether
    the units are evaluated together or one by one."""
    monkeypatch.setattr(stored, "_folder", lambda ex: None)  # computed both times, never read back
    scope = next(iter(declared(person_extract).values()))
    ask = dict(indicators=["persons_received", "contacts", "cases_opened"], by=["sex", "age_group"],
               audience="partner", selection=scope)
    together = disclosure.series(person_extract, ["2025-Q3", "2025-Q4"], **ask).frame
    fresh = dataclasses.replace(person_extract)  # a new extract object: nothing remembered
    monkeypatch.setattr(figures, "_evaluate_many", None)  # each selection restricted and evaluated alone
    alone = disclosure.series(fresh, ["2025-Q3", "2025-Q4"], **ask).frame
    assert together.height > 0
    assert_frame_equal(together, alone)
