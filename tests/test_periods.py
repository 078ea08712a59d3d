"""Tests for workbench.periods: parsing, arithmetic, labels and closed periods."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.exceptions import ParameterError, PeriodError
from workbench.periods import (CADENCES, Period, closed_periods, parse_period, period_containing,
                               period_run)


@pytest.mark.parametrize(("text", "start", "end", "kind", "code"), [
    ("2024", date(2024, 1, 1), date(2024, 12, 31), "year", "2024"),
    ("2024-H1", date(2024, 1, 1), date(2024, 6, 30), "half", "2024-H1"),
    ("2024-H2", date(2024, 7, 1), date(2024, 12, 31), "half", "2024-H2"),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "quarter", "2024-Q1"),
    ("2024-Q2", date(2024, 4, 1), date(2024, 6, 30), "quarter", "2024-Q2"),
    ("2024-Q3", date(2024, 7, 1), date(2024, 9, 30), "quarter", "2024-Q3"),
    ("2024-Q4", date(2024, 10, 1), date(2024, 12, 31), "quarter", "2024-Q4"),
    ("2024-07", date(2024, 7, 1), date(2024, 7, 31), "month", "2024-07"),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "month", "2024-02"),
    ("2023-02", date(2023, 2, 1), date(2023, 2, 28), "month", "2023-02"),
    ("2024-12", date(2024, 12, 1), date(2024, 12, 31), "month", "2024-12"),
    ("2024-01-15..2024-03-31", date(2024, 1, 15), date(2024, 3, 31), "range", "2024-01-15..2024-03-31"),
    ("2024-05-01..2024-05-01", date(2024, 5, 1), date(2024, 5, 1), "range", "2024-05-01..2024-05-01"),
    # stray spaces and lower case
    ("2024-q3", date(2024, 7, 1), date(2024, 9, 30), "quarter", "2024-Q3"),
    ("  2024 - h2 ", date(2024, 7, 1), date(2024, 12, 31), "half", "2024-H2"),
    (" 2024 ", date(2024, 1, 1), date(2024, 12, 31), "year", "2024"),
    ("2024-01-15 .. 2024-03-31\n", date(2024, 1, 15), date(2024, 3, 31), "range", "2024-01-15..2024-03-31"),
])
def test_parse_every_form(text, start, end, kind, code):
    p = parse_period(text)
    assert (p.start, p.end, p.kind) == (start, end, kind)
    assert p.code == code == str(p)
    assert parse_period(p.code) == p


@pytest.mark.parametrize(("text", "days"), [
    ("2024", 366), ("2023", 365), ("2024-Q1", 91), ("2023-Q1", 90), ("2024-H1", 182),
    ("2024-02", 29), ("2024-07", 31), ("2024-01-15..2024-03-31", 77), ("2024-05-01..2024-05-01", 1),
])
def test_days(text, days):
    assert parse_period(text).days == days


def test_range_equal_to_a_quarter_stays_a_range():
    p = parse_period("2024-07-01..2024-09-30")
    assert p.kind == "range"
    assert p.code == "2024-07-01..2024-09-30"
    assert p != parse_period("2024-Q3")


@pytest.mark.parametrize(("text", "hint"), [
    ("2024-Q5", "quarter 5"), ("2024-Q0", "quarter 0"), ("2024-13", "month 13"), ("2024-00", "month 0"),
    ("2024-H3", "half-year 3"), ("24", None), ("2024-7", None), ("Q3 2024", None), ("2024-S1", None),
    ("2024-03-31..2024-01-01", "starts after it ends"), ("2024-02-30..2024-03-01", "2024-02-30"),
    ("2024-01-15..", None), ("2024/01/15..2024/03/31", None), ("", "empty"), ("   ", "empty"),
    ("0000", "0000"),
])
def test_bad_inputs(text, hint):
    with pytest.raises(PeriodError) as info:
        parse_period(text)
    message = str(info.value)
    assert repr(text) in message
    for example in ("2024", "2024-H1", "2024-Q1", "2024-07", "2024-01-15..2024-03-31"):
        assert f"'{example}'" in message
    if hint:
        assert hint in message
    assert isinstance(info.value, ValueError)


def test_parse_period_passes_a_period_through_and_refuses_non_text():
    p = parse_period("2024-Q3")
    assert parse_period(p) is p
    with pytest.raises(PeriodError):
        parse_period(2024)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end", "kind"), [
    (date(2024, 7, 2), date(2024, 9, 30), "quarter"),  # not a calendar quarter
    (date(2024, 1, 1), date(2024, 3, 31), "month"),
    (date(2024, 2, 1), date(2024, 7, 31), "half"),
    (date(2024, 3, 1), date(2024, 2, 1), "range"),
    (date(2024, 1, 1), date(2024, 12, 31), "decade"),
    (datetime(2024, 1, 1), date(2024, 1, 2), "range"),
])
def test_inconsistent_period_is_refused(start, end, kind):
    with pytest.raises(PeriodError):
        Period(start, end, kind)


def test_contains_and_expr_contains():
    p = parse_period("2024-Q3")
    assert p.contains(date(2024, 7, 1)) and p.contains(date(2024, 9, 30))
    assert not p.contains(date(2024, 6, 30)) and not p.contains(date(2024, 10, 1))
    assert p.contains(datetime(2024, 9, 30, 23, 59))
    df = pl.DataFrame({
        "d": [date(2024, 6, 30), date(2024, 7, 1), date(2024, 9, 30), date(2024, 10, 1), None],
        "t": [datetime(2024, 6, 30, 23), datetime(2024, 7, 1), datetime(2024, 9, 30, 18), datetime(2024, 10, 1),
              None],
    })
    out = df.select(d=p.expr_contains(pl.col("d")), t=p.expr_contains(pl.col("t")))
    assert out["d"].to_list() == [False, True, True, False, None]
    assert out["t"].to_list() == [False, True, True, False, None]


@pytest.mark.parametrize(("text", "previous"), [
    ("2024", "2023"), ("2024-H1", "2023-H2"), ("2024-H2", "2024-H1"), ("2024-Q1", "2023-Q4"),
    ("2024-Q3", "2024-Q2"), ("2024-01", "2023-12"), ("2024-03", "2024-02"),
    ("2024-01-15..2024-03-31", "2023-10-30..2024-01-14"), ("2024-03-01..2024-03-01", "2024-02-29..2024-02-29"),
])
def test_previous(text, previous):
    p = parse_period(text)
    assert p.previous().code == previous
    assert p.previous() == p.shift(-1)
    assert p.previous().end + timedelta(days=1) == p.start


def test_range_previous_has_same_length_and_ends_the_day_before():
    p = parse_period("2024-01-15..2024-03-31")
    q = p.previous()
    assert q.kind == "range"
    assert q.days == p.days == 77
    assert q.end == date(2024, 1, 14)


@pytest.mark.parametrize(("text", "n", "expected"), [
    ("2024-Q3", 1, "2024-Q4"), ("2024-Q3", 2, "2025-Q1"), ("2024-Q3", -3, "2023-Q4"), ("2024-Q3", 0, "2024-Q3"),
    ("2024-11", 3, "2025-02"), ("2024-01", -13, "2022-12"), ("2024-H2", 1, "2025-H1"), ("2024-H1", -3, "2022-H2"),
    ("2024", -2, "2022"), ("2024-01-01..2024-01-10", 2, "2024-01-21..2024-01-30"),
])
def test_shift(text, n, expected):
    assert parse_period(text).shift(n).code == expected


def test_shift_out_of_the_calendar():
    with pytest.raises(PeriodError):
        parse_period("9999-Q4").shift(1)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024", "2023"), ("2024-H2", "2023-H2"), ("2024-Q1", "2023-Q1"), ("2024-02", "2023-02"),
    ("2024-01-15..2024-03-31", "2023-01-15..2023-03-31"), ("2024-02-29..2024-03-31", "2023-02-28..2023-03-31"),
    ("2024-01-01..2024-02-29", "2023-01-01..2023-02-28"),
])
def test_same_period_last_year(text, expected):
    assert parse_period(text).same_period_last_year().code == expected


@pytest.mark.parametrize(("text", "fr", "en"), [
    ("2024", "2024", "2024"),
    ("2024-H1", "S1 2024", "H1 2024"),
    ("2024-H2", "S2 2024", "H2 2024"),
    ("2024-Q3", "T3 2024", "Q3 2024"),
    ("2024-07", "juillet 2024", "July 2024"),
    ("2024-02", "février 2024", "February 2024"),
    ("2024-01-15..2024-03-31", "15 janv. 2024 – 31 mars 2024", "15 Jan 2024 – 31 Mar 2024"),
])
def test_labels(text, fr, en):
    p = parse_period(text)
    assert p.label("fr") == fr
    assert p.label() == fr
    assert p.label("en") == en


def test_label_unknown_language():
    with pytest.raises(ParameterError, match="'de'"):
        parse_period("2024").label("de")


def test_sorting_by_start_then_end():
    texts = ["2024-Q3", "2024", "2023-12", "2024-07", "2024-H1", "2024-01-01..2024-01-10"]
    assert [p.code for p in sorted(parse_period(t) for t in texts)] == [
        "2023-12", "2024-01-01..2024-01-10", "2024-H1", "2024", "2024-07", "2024-Q3"]


def test_period_run_of_eight_quarters():
    run = period_run("2024-Q3", 8)
    assert [p.code for p in run] == ["2022-Q4", "2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1",
                                     "2024-Q2", "2024-Q3"]
    assert all(a.end + timedelta(days=1) == b.start for a, b in zip(run, run[1:]))
    assert period_run(parse_period("2024-05"), 1) == [parse_period("2024-05")]


def test_period_run_of_ranges_is_consecutive():
    run = period_run("2024-01-01..2024-01-07", 3)
    assert [p.code for p in run] == ["2023-12-18..2023-12-24", "2023-12-25..2023-12-31", "2024-01-01..2024-01-07"]


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_period_run_needs_at_least_one(n):
    with pytest.raises(PeriodError):
        period_run("2024-Q3", n)


@pytest.mark.parametrize(("d", "kind", "code"), [
    (date(2024, 8, 15), "year", "2024"), (date(2024, 6, 30), "half", "2024-H1"), (date(2024, 7, 1), "half", "2024-H2"),
    (date(2024, 8, 15), "quarter", "2024-Q3"), (date(2024, 12, 31), "quarter", "2024-Q4"),
    (date(2024, 2, 29), "month", "2024-02"),
])
def test_period_containing(d, kind, code):
    assert period_containing(d, kind).code == code


@pytest.mark.parametrize("kind", ["range", "fortnight", "quarterly"])
def test_period_containing_unknown_kind(kind):
    with pytest.raises(ParameterError):
        period_containing(date(2024, 1, 1), kind)


@pytest.mark.parametrize(("cadence", "as_of", "lag", "expected"), [
    ("quarterly", date(2024, 10, 1), 0, "2024-Q3"),
    ("quarterly", date(2024, 9, 30), 0, "2024-Q2"),
    ("quarterly", date(2024, 10, 5), 10, "2024-Q2"),
    ("quarterly", date(2024, 10, 10), 10, "2024-Q2"),
    ("quarterly", date(2024, 10, 11), 10, "2024-Q3"),
    ("quarterly", date(2025, 1, 1), 0, "2024-Q4"),
    ("monthly", date(2024, 3, 1), 0, "2024-02"),
    ("monthly", date(2024, 3, 1), 1, "2024-01"),
    ("monthly", date(2024, 1, 1), 0, "2023-12"),
    ("half-yearly", date(2024, 7, 1), 0, "2024-H1"),
    ("half-yearly", date(2024, 7, 1), 30, "2023-H2"),
    ("yearly", date(2024, 12, 31), 0, "2023"),
    ("yearly", date(2025, 1, 1), 0, "2024"),
])
def test_closed_periods_latest(cadence, as_of, lag, expected):
    assert [p.code for p in closed_periods(cadence, as_of, lag_days=lag)] == [expected]


@pytest.mark.parametrize(("since", "expected"), [
    (date(2024, 2, 10), ["2024-Q1", "2024-Q2", "2024-Q3"]),
    ("2024-Q2", ["2024-Q2", "2024-Q3"]),
    ("2024", ["2024-Q1", "2024-Q2", "2024-Q3"]),
    (parse_period("2024-Q3"), ["2024-Q3"]),
    ("2024-Q4", []),
])
def test_closed_periods_since(since, expected):
    assert [p.code for p in closed_periods("quarterly", date(2024, 10, 1), since=since)] == expected


@pytest.mark.parametrize(("cadence", "lag"), [("daily", 0), ("quarter", 0), ("quarterly", -1)])
def test_closed_periods_bad_parameters(cadence, lag):
    with pytest.raises(ParameterError):
        closed_periods(cadence, date(2024, 10, 1), lag_days=lag)


def test_cadences():
    assert dict(CADENCES) == {"weekly": "week", "monthly": "month", "quarterly": "quarter", "half-yearly": "half",
                              "yearly": "year"}
    for cadence, kind in CADENCES.items():
        assert closed_periods(cadence, date(2024, 10, 1))[0].kind == kind


# --- properties -------------------------------------------------------------------------------

_calendar_periods = st.one_of(
    st.builds(lambda y, q: parse_period(f"{y}-Q{q}"), st.integers(1900, 2200), st.integers(1, 4)),
    st.builds(lambda y, m: parse_period(f"{y}-{m:02d}"), st.integers(1900, 2200), st.integers(1, 12)),
)
_ranges = st.builds(lambda d, n: Period(d, d + timedelta(days=n), "range"),
                    st.dates(date(1900, 1, 1), date(2200, 1, 1)), st.integers(0, 800))


@given(_calendar_periods)
def test_shift_then_previous_is_identity(p):
    assert p.shift(1).previous() == p
    assert p.previous().end + timedelta(days=1) == p.start
    assert p.shift(1).start == p.end + timedelta(days=1)


@given(st.one_of(_calendar_periods, _ranges), st.integers(-50, 50), st.integers(-50, 50))
def test_shifts_add_up_and_codes_round_trip(p, a, b):
    assert p.shift(a).shift(b) == p.shift(a + b)
    assert parse_period(p.code) == p
    assert parse_period(p.code.lower()) == p


@given(_ranges)
def test_range_previous_same_length_ends_day_before(p):
    q = p.previous()
    assert q.days == p.days
    assert q.end + timedelta(days=1) == p.start


@given(st.dates(date(1900, 1, 1), date(2200, 1, 1)), st.sampled_from(["year", "half", "quarter", "month"]))
def test_period_containing_contains(d, kind):
    p = period_containing(d, kind)
    assert p.contains(d) and p.kind == kind


@given(st.sampled_from(sorted(CADENCES)), st.dates(date(1900, 1, 1), date(2200, 1, 1)), st.integers(0, 400))
def test_latest_closed_period_is_closed_and_next_is_not(cadence, as_of, lag):
    (latest,) = closed_periods(cadence, as_of, lag_days=lag)
    assert latest.end + timedelta(days=lag) < as_of
    assert not latest.shift(1).end + timedelta(days=lag) < as_of


def test_iso_weeks():
    """ISO weeks: Monday to Sunday, numbered in the ISO year (2025-W01 starts on 30 December 2024)."""
    w = parse_period("2025-w44")
    assert (w.code, w.start, w.end, w.days) == ("2025-W44", date(2025, 10, 27), date(2025, 11, 2), 7)
    assert parse_period("2025-W01").start == date(2024, 12, 30)
    assert w.previous().code == "2025-W43" and parse_period("2025-W01").previous().code == "2024-W52"
    assert parse_period("2026-W53").same_period_last_year().code == "2025-W52"
    assert w.label("fr") == "semaine 44 2025" and w.label("en") == "week 44 2025"
    assert period_containing(date(2025, 11, 2), "week") == w
    assert [p.code for p in closed_periods("weekly", date(2025, 11, 4))] == ["2025-W44"]
    with pytest.raises(PeriodError, match="weeks 1 to 52"):
        parse_period("2025-W53")
