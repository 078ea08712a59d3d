"""Several periods evaluated in one pass give, to the digit and in the same order, what each period
evaluated alone gives (the engine's two paths: records paired with periods, or one period at a time)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.indicators import engine
from workbench.indicators.catalogue import load_catalogue

#: A calendar year's publication periods, a period before the data, a range across two years and a day.
PERIODS = ["2025", "2025-H1", "2025-H2", *[f"2025-Q{q}" for q in range(1, 5)], *[f"2025-{m:02d}" for m in range(1, 13)],
           "2019-Q1", "2024-11-15..2025-02-10", "2025-03-31..2025-03-31"]


def _every_breakdown() -> list[str]:
    dims = sorted({d for ind in load_catalogue() for d in ind.breakdowns})
    return [*dims, "sex,age_group", "site,sex"]


def _both_paths(ex, monkeypatch, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
    assert engine.SPREAD_ROWS > max(f.height for f in ex.tables.values()) * len(PERIODS)  # one pass below
    together = engine.evaluate(ex, PERIODS, **kwargs).frame
    monkeypatch.setattr(engine, "SPREAD_ROWS", 0)  # one period at a time
    alone = engine.evaluate(ex, PERIODS, **kwargs).frame
    return together, alone




def test_periods_together_equal_periods_alone(person_extract, monkeypatch):
    together, alone = _both_paths(person_extract, monkeypatch, by=_every_breakdown())
    assert together.height > 10_000 and set(together["period"]) == {engine.parse_period(p).code for p in PERIODS}
    assert_frame_equal(together, alone)
    # the period before the data still has a total row per indicator, as a period alone gives it
    before = together.filter((pl.col("period") == "2019-Q1") & (pl.col("_block") == 0))
    assert before.height == together.filter(pl.col("period") == "2025")["indicator"].n_unique()


def test_periods_together_with_parameters_and_a_network(person_extract, network, monkeypatch):
    params = {"assessment_deadlines": {"high": 2, "medium": 5, "low": 9}, "review_overdue_days": 30,
              "trafficking_referral_days": 10}
    together, alone = _both_paths(person_extract, monkeypatch, by=["risk_level", "age_group"], params=params)
    assert_frame_equal(together, alone)
    monkeypatch.undo()
    together, alone = _both_paths(network, monkeypatch, by=["activity_type", "court_level"])
    assert together.height > 0
    assert_frame_equal(together, alone)


def test_large_extracts_go_a_few_periods_at_a_time(person_extract, monkeypatch):
    rows = max(f.height for f in person_extract.tables.values())
    monkeypatch.setattr(engine, "SPREAD_ROWS", rows * 4)
    sizes = [len(b) for b in engine._batches([engine.parse_period(p) for p in PERIODS], person_extract)]
    assert sizes == [4] * (len(PERIODS) // 4) + ([len(PERIODS) % 4] if len(PERIODS) % 4 else [])
    mixed = engine.evaluate(person_extract, PERIODS, by=["sex"]).frame
    monkeypatch.setattr(engine, "SPREAD_ROWS", 0)
    assert_frame_equal(mixed, engine.evaluate(person_extract, PERIODS, by=["sex"]).frame)


def test_person_numbers_join_as_pseudonyms_do(person_extract, monkeypatch):
    """Records joined to their persons by the numbers the validation cache keeps, or by pseudonyms: the same."""
    from workbench.extract import cache
    from workbench.indicators import records

    assert cache.numbers_of(person_extract.tables["contacts"]) is not None  # read through the cache
    by = _every_breakdown()
    numbered = engine.evaluate(person_extract, ["2025-Q2", "2025"], by=by).frame
    monkeypatch.setattr(records, "numbers_of", lambda frame: None)
    assert_frame_equal(numbered, engine.evaluate(person_extract, ["2025-Q2", "2025"], by=by).frame)


def _apart(monkeypatch) -> None:
    """Every indicator with its own records frame and groupings (no sharing between indicators)."""
    monkeypatch.setattr(engine, "together", lambda indicators, shared: [[ind] for ind in indicators])


@pytest.mark.parametrize("periods", [["2025-Q3"], PERIODS])
def test_indicators_sharing_records_equal_indicators_apart(person_extract, network, monkeypatch, periods):
    """Indicators whose records are the same rows share one frame and one grouping per breakdown; the
    table is the one each indicator evaluated apart gives, in the same row order (one period, and many;
    persons received and contacts label a person's age group differently and share everything else)."""
    seen: list[list[str]] = []
    blocks = engine._blocks
    for ex, by in ((person_extract, _every_breakdown()), (network, ["activity_type", "court_level", "site"])):
        monkeypatch.setattr(engine, "_blocks", lambda members, *a: seen.append([m.id for m in members])
                            or blocks(members, *a))
        shared = engine.evaluate(ex, periods, by=by).frame
        monkeypatch.undo()
        _apart(monkeypatch)
        apart = engine.evaluate(ex, periods, by=by).frame
        monkeypatch.undo()
        assert shared.height > 30
        assert_frame_equal(shared, apart)
    assert ["persons_received", "contacts", "contacts_per_person"] in seen
