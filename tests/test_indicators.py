"""The 30 indicators of ``indicators.md`` computed on tiny hand-made extracts.

Every expected figure is worked out by hand from the spec (the reasoning is in the
comments). Unless said otherwise the period is P = 2024-Q2 = [2024-04-01, 2024-06-30]:
2024-04-01 and 2024-06-30 are in P, 2024-03-31 and 2024-07-01 are not. Tests about an
age at a date use the range 2024-12-01..2025-01-31, which crosses a new year, so that a
person born in 2007 is 17 on a December date and 18 on a January one.

Cells are compared as (value, numerator, denominator, flag) tuples, except means and
medians, compared as (value, denominator, flag) (the spec fixes their denominator only).
"""

from __future__ import annotations

import polars as pl
import pytest
from indicator_fixtures import (NO_DATA, NO_DATA_STAT, STAT_FIELDS, cells, count, load, order, persons, rate,
                                stat, total, total_cell)

from workbench import disclosure, indicators
from workbench.indicators.catalogue import load_catalogue
from workbench.exceptions import IndicatorError, PeriodError

P = "2024-Q2"
START, END = "2024-04-01", "2024-06-30"
BEFORE, AFTER = "2024-03-31", "2024-07-01"
NEW_YEAR = "2024-12-01..2025-01-31"  # a period crossing a new year, for ages at a date

ALL_IDS = load_catalogue().ids


def computed(ex, ids, by=None, period=P, **kw):
    """The IndicatorTable (frame, audience, k, unavailable, params)."""
    return disclosure.compute(ex, period, ids, by=by, **kw)


def compute(ex, ids, by=None, period=P, **kw):
    return computed(ex, ids, by=by, period=period, **kw).frame


def formatted_csv(table) -> str:
    """The table as CSV with values formatted (counts whole, rates one decimal, ratios two)."""
    return indicators.format_values(table).write_csv()


def test_the_catalogue_has_the_30_indicators_of_the_reference_and_the_caseload():
    assert len(ALL_IDS) == 31 + len(BEYOND_IDS) and "caseload_per_caseworker" in ALL_IDS
    assert ALL_IDS[:3] == ("persons_received", "new_persons", "contacts")
    assert ALL_IDS[30] == "unaccompanied_minors_received"
    assert ALL_IDS[31:] == BEYOND_IDS


# =============================================================================== reception

RECEPTION_PERSONS = [
    {"person_id": "p1", "sex": "female", "birth_year": "1990", "nationality": "TUN",
     "legal_status": "asylum_seeker"},
    {"person_id": "p2", "sex": "male", "birth_year": "2010", "nationality": "CIV", "legal_status": "refugee"},
    {"person_id": "p3", "sex": "other", "birth_year": "", "nationality": "", "legal_status": ""},
    {"person_id": "p4", "sex": "female"},
]
RECEPTION_CONTACTS = [
    # p1: first and last day of P, two sites, two services, two channels, two topics
    {"person_id": "p1", "date": START, "site": "s_a", "service": "information", "channel": "in_person",
     "topic": "asylum", "interpreter": "true"},
    {"person_id": "p1", "date": END, "site": "s_b", "service": "legal_consultation", "channel": "phone",
     "topic": "housing", "interpreter": "false"},
    {"person_id": "p1", "date": "2024-05-02", "site": "s_a", "service": "information", "channel": "in_person",
     "topic": "asylum", "interpreter": "true"},
    # p2: channel and topic not recorded, interpreter not recorded
    {"person_id": "p2", "date": "2024-05-10", "site": "s_a", "service": "information", "channel": "",
     "topic": "", "interpreter": ""},
    # p3: s_b, orientation
    {"person_id": "p3", "date": "2024-05-10", "site": "s_b", "service": "orientation", "channel": "in_person",
     "topic": "asylum", "interpreter": "false"},
    # p4: only the day before and the day after P -> not received
    {"person_id": "p4", "date": BEFORE, "site": "s_c", "interpreter": "true"},
    {"person_id": "p4", "date": AFTER, "site": "s_c", "interpreter": "true"},
]


@pytest.fixture
def reception(tmp_path):
    return load(tmp_path, persons=RECEPTION_PERSONS, contacts=RECEPTION_CONTACTS)


def test_persons_received_total_and_person_attributes(reception):
    t = compute(reception, ["persons_received"], by=["sex", "nationality", "legal_status"])
    # p1, p2, p3 have a contact in P (p1 on the first and last day); p4 only the day before/after.
    assert total_cell(t, "persons_received") == count(3)
    assert cells(t, "persons_received", "sex") == {"female": count(1), "male": count(1), "other": count(1)}
    # p3's nationality and legal_status are empty -> unknown (last)
    assert cells(t, "persons_received", "nationality") == {"CIV": count(1), "TUN": count(1),
                                                           "unknown": count(1)}
    assert cells(t, "persons_received", "legal_status") == {"asylum_seeker": count(1), "refugee": count(1),
                                                            "unknown": count(1)}


def test_persons_received_counts_a_person_in_each_site_service_topic_channel(reception):
    t = compute(reception, ["persons_received"], by=["site", "service", "topic", "channel"])
    assert total_cell(t, "persons_received") == count(3)
    # site: s_a {p1, p2}, s_b {p1, p3}: 2 + 2 = 4 > 3 (p1 in both); s_c only outside P
    assert cells(t, "persons_received", "site") == {"s_a": count(2), "s_b": count(2)}
    # service (vocabulary order information, orientation, legal_consultation):
    # information {p1, p2}, orientation {p3}, legal_consultation {p1}
    assert cells(t, "persons_received", "service") == {
        "information": count(2), "orientation": count(1), "legal_consultation": count(1)}
    # topic: asylum {p1, p3}, housing {p1}, unknown {p2} (empty topic)
    assert cells(t, "persons_received", "topic") == {"asylum": count(2), "housing": count(1),
                                                     "unknown": count(1)}
    # channel: in_person {p1, p3}, phone {p1}, unknown {p2}
    assert cells(t, "persons_received", "channel") == {"in_person": count(2), "phone": count(1),
                                                       "unknown": count(1)}
    assert sum(v[1] for v in cells(t, "persons_received", "site").values()) > 3


def test_persons_received_age_group_is_the_age_at_the_first_contact_in_the_period(tmp_path):
    ex = load(tmp_path, persons=[
        {"person_id": "a", "birth_year": "2007"},  # 11 in 2018, 17 in 2024, 18 in 2025
        {"person_id": "b", "birth_year": "1964"},  # 60 in 2024
        {"person_id": "c", "birth_year": "2022"},  # 2 in 2024
        {"person_id": "d", "birth_year": ""},
        {"person_id": "e", "birth_year": "2019"},  # 5 in 2024
    ], contacts=[
        {"person_id": "a", "date": "2018-01-01"},  # before P: age 11 (5-11) must not be used
        {"person_id": "a", "date": "2025-01-10"},  # later contact in P: age 18 (18-59) must not be used
        {"person_id": "a", "date": "2024-12-15"},  # first contact in P: age 17 -> 12-17
        {"person_id": "b", "date": "2024-12-20"},
        {"person_id": "c", "date": "2025-01-31"},  # last day of the range: 2025 - 2022 = 3 -> 0-4
        {"person_id": "d", "date": "2024-12-01"},
        {"person_id": "e", "date": "2024-12-01"},
    ])
    t = compute(ex, ["persons_received"], by=["age_group"], period=NEW_YEAR)
    assert total_cell(t, "persons_received") == count(5)
    assert cells(t, "persons_received", "age_group") == {
        "0-4": count(1), "5-11": count(1), "12-17": count(1), "60+": count(1), "unknown": count(1)}
    assert order(t, "persons_received", "age_group") == ["0-4", "5-11", "12-17", "60+", "unknown"]


def test_new_persons_registered_in_the_period(tmp_path):
    ex = load(tmp_path, persons=[
        {"person_id": "n1", "registered_on": START, "site": "s_a", "sex": "female", "nationality": "TUN",
         "legal_status": "refugee"},
        {"person_id": "n2", "registered_on": END, "site": "s_a", "sex": "female", "nationality": "SDN"},
        {"person_id": "n3", "registered_on": "2024-05-05", "site": "s_b", "sex": "unknown", "nationality": "",
         "legal_status": ""},
        {"person_id": "n4", "registered_on": BEFORE, "site": "s_c"},
        {"person_id": "n5", "registered_on": AFTER, "site": "s_c"},
    ])
    t = compute(ex, ["new_persons"], by=["site", "sex", "nationality", "legal_status"])
    # registered_on on the first (n1) and last (n2) day of P and inside (n3); n4, n5 outside
    assert total_cell(t, "new_persons") == count(3)
    # site is persons.site (s_c only for persons outside P -> no row)
    assert cells(t, "new_persons", "site") == {"s_a": count(2), "s_b": count(1)}
    assert cells(t, "new_persons", "sex") == {"female": count(2), "unknown": count(1)}
    assert cells(t, "new_persons", "nationality") == {"SDN": count(1), "TUN": count(1), "unknown": count(1)}
    # n1 refugee, n2 the default asylum_seeker, n3 empty -> unknown
    assert cells(t, "new_persons", "legal_status") == {"asylum_seeker": count(1), "refugee": count(1),
                                                       "unknown": count(1)}


def test_new_persons_age_group_is_the_age_at_registration(tmp_path):
    ex = load(tmp_path, persons=[
        {"person_id": "n1", "birth_year": "2007", "registered_on": "2024-12-10"},  # 17 at registration
        {"person_id": "n2", "birth_year": "2007", "registered_on": "2025-01-05"},  # 18 at registration
        {"person_id": "n3", "birth_year": "", "registered_on": "2025-01-31"},
    ], contacts=[{"person_id": "n1", "date": "2025-01-20"}])  # a later contact does not change n1's age
    t = compute(ex, ["new_persons"], by=["age_group"], period=NEW_YEAR)
    assert total_cell(t, "new_persons") == count(3)
    assert cells(t, "new_persons", "age_group") == {"12-17": count(1), "18-59": count(1), "unknown": count(1)}


def test_new_persons_empty_population_is_zero(tmp_path):
    ex = load(tmp_path, persons=persons("x", registered_on="2023-01-01"))
    t = compute(ex, ["new_persons"], by=["sex"])
    assert total_cell(t, "new_persons") == count(0)
    assert cells(t, "new_persons", "sex") == {}


def test_contacts_total_and_every_breakdown(reception):
    t = compute(reception, ["contacts"], by=["site", "service", "topic", "channel", "sex", "nationality",
                                             "legal_status"])
    # 5 contacts in P (p1 x3, p2, p3); p4's contacts on 03-31 and 07-01 are out
    assert total_cell(t, "contacts") == count(5)
    assert cells(t, "contacts", "site") == {"s_a": count(3), "s_b": count(2)}
    assert cells(t, "contacts", "service") == {"information": count(3), "orientation": count(1),
                                               "legal_consultation": count(1)}
    assert cells(t, "contacts", "topic") == {"asylum": count(3), "housing": count(1), "unknown": count(1)}
    assert cells(t, "contacts", "channel") == {"in_person": count(3), "phone": count(1), "unknown": count(1)}
    assert cells(t, "contacts", "sex") == {"female": count(3), "male": count(1), "other": count(1)}
    assert cells(t, "contacts", "nationality") == {"CIV": count(1), "TUN": count(3), "unknown": count(1)}
    assert cells(t, "contacts", "legal_status") == {"asylum_seeker": count(3), "refugee": count(1),
                                                    "unknown": count(1)}


def test_contacts_age_group_is_the_age_at_each_contact(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "a", "birth_year": "2007"}, {"person_id": "b", "birth_year": ""}],
              contacts=[
                  {"person_id": "a", "date": "2024-12-15"},  # 17 -> 12-17
                  {"person_id": "a", "date": "2025-01-10"},  # 18 -> 18-59
                  {"person_id": "a", "date": "2024-11-30"},  # day before the range
                  {"person_id": "b", "date": "2025-01-31"},  # last day, birth year unknown
                  {"person_id": "b", "date": "2025-02-01"},  # day after
              ])
    t = compute(ex, ["contacts"], by=["age_group"], period=NEW_YEAR)
    assert total_cell(t, "contacts") == count(3)
    assert cells(t, "contacts", "age_group") == {"12-17": count(1), "18-59": count(1), "unknown": count(1)}


def test_contacts_empty_period_is_zero_not_no_data(reception):
    t = compute(reception, ["contacts", "persons_received"], by=["site"], period="2023")
    assert total_cell(t, "contacts") == count(0)
    assert total_cell(t, "persons_received") == count(0)
    assert t.height == 2  # no breakdown row when no record falls in any category


def test_contacts_per_person_ratio_two_decimals(reception):
    t = compute(reception, ["contacts_per_person"], by=["site", "sex", "nationality", "legal_status"])
    # 5 contacts / 3 persons = 1.666... -> 1.67
    assert total_cell(t, "contacts_per_person") == rate(1.67, 5, 3)
    # by site: s_a 3 contacts (p1 x2, p2) / 2 persons = 1.50; s_b 2 contacts (p1, p3) / 2 persons = 1.00
    assert cells(t, "contacts_per_person", "site") == {"s_a": rate(1.5, 3, 2), "s_b": rate(1.0, 2, 2)}
    # sex: female p1 3/1 = 3.00; male p2 1/1; other p3 1/1
    assert cells(t, "contacts_per_person", "sex") == {"female": rate(3.0, 3, 1), "male": rate(1.0, 1, 1),
                                                      "other": rate(1.0, 1, 1)}
    assert cells(t, "contacts_per_person", "nationality") == {
        "CIV": rate(1.0, 1, 1), "TUN": rate(3.0, 3, 1), "unknown": rate(1.0, 1, 1)}
    csv = formatted_csv(t)
    assert "contacts_per_person,2024-Q2,,,,,1.67,5,3," in csv
    assert ",s_a,,,,1.50,3,2," in csv


def test_contacts_per_person_rounds_half_away_from_zero(tmp_path):
    # 8 persons, 9 contacts: 9 / 8 = 1.125 -> 1.13 (half away from zero, not 1.12)
    ids = [f"q{i}" for i in range(8)]
    ex = load(tmp_path, persons=persons(*ids),
              contacts=[{"person_id": i, "date": "2024-05-01"} for i in ids] + [{"person_id": "q0",
                                                                                   "date": "2024-05-02"}])
    t = compute(ex, ["contacts_per_person"])
    assert total_cell(t, "contacts_per_person") == rate(1.13, 9, 8)


def test_contacts_per_person_empty_population_is_no_data(reception):
    t = compute(reception, ["contacts_per_person"], by=["site"], period="2023")
    assert total_cell(t, "contacts_per_person") == NO_DATA
    assert t.height == 1


def test_interpreter_rate(reception):
    t = compute(reception, ["interpreter_rate"], by=["site", "nationality"])
    # contacts in P with interpreter recorded: p1 true, false, true; p3 false (p2 empty: left out);
    # p4's true contacts are outside P -> 2 / 4 = 50.0
    assert total_cell(t, "interpreter_rate") == rate(50.0, 2, 4)
    # s_a: p1 true, p1 true (p2 not recorded) -> 2/2; s_b: p1 false, p3 false -> 0/2 = 0.0 (a value, not no_data)
    assert cells(t, "interpreter_rate", "site") == {"s_a": rate(100.0, 2, 2), "s_b": rate(0.0, 0, 2)}
    # TUN: p1 2/3 = 66.7; unknown: p3 0/1; CIV: p2 only not recorded -> no row
    assert cells(t, "interpreter_rate", "nationality") == {"TUN": rate(66.7, 2, 3), "unknown": rate(0.0, 0, 1)}


def test_interpreter_rate_nothing_recorded_is_no_data(tmp_path):
    ex = load(tmp_path, persons=persons("x"), contacts=[{"person_id": "x", "date": "2024-05-01",
                                                         "interpreter": ""}])
    t = compute(ex, ["interpreter_rate"], by=["site"])
    assert total_cell(t, "interpreter_rate") == NO_DATA
    assert t.height == 1


# =============================================================================== case management

CM_PERSONS = [
    {"person_id": "p1", "sex": "female", "birth_year": "1990", "nationality": "TUN"},
    {"person_id": "p2", "sex": "male", "birth_year": "2010", "nationality": "CIV"},
    {"person_id": "p3", "sex": "male", "birth_year": "", "nationality": ""},
]


def case(pid="p1", opened="2024-01-01", closed="", reason=None, **kw):
    row = {"person_id": pid, "opened_on": opened, "closed_on": closed, **kw}
    row["closure_reason"] = reason if reason is not None else ("objectives_met" if closed else "")
    return row


def test_cases_opened(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=[
        case("p1", START, site="s_a", case_type="legal", risk_level="high"),
        case("p2", END, site="s_b", case_type="child_protection", risk_level="low"),
        case("p3", "2024-05-05", site="s_a", case_type="legal", risk_level=""),
        case("p1", "2024-05-06", site="s_c", case_type="social", risk_level="unknown"),
        case("p1", BEFORE), case("p1", AFTER),
    ])
    t = compute(ex, ["cases_opened"], by=["site", "case_type", "risk_level", "sex", "age_group", "nationality"])
    # opened on the first day, the last day and twice inside P; the day before and after are out
    assert total_cell(t, "cases_opened") == count(4)
    assert cells(t, "cases_opened", "site") == {"s_a": count(2), "s_b": count(1), "s_c": count(1)}
    assert cells(t, "cases_opened", "case_type") == {"legal": count(2), "child_protection": count(1),
                                                     "social": count(1)}
    # empty risk_level and the code 'unknown' both count under one 'unknown' row, last
    assert cells(t, "cases_opened", "risk_level") == {"high": count(1), "low": count(1), "unknown": count(2)}
    assert cells(t, "cases_opened", "sex") == {"female": count(2), "male": count(2)}
    # age at opened_on: p1 34 -> 18-59 (x2); p2 14 -> 12-17; p3 unknown
    assert cells(t, "cases_opened", "age_group") == {"12-17": count(1), "18-59": count(2), "unknown": count(1)}
    assert cells(t, "cases_opened", "nationality") == {"CIV": count(1), "TUN": count(2), "unknown": count(1)}


def test_cases_opened_age_at_opening(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "a", "birth_year": "2007"}], cases=[
        case("a", "2024-12-31"),  # 17 -> 12-17
        case("a", "2025-01-01"),  # 18 -> 18-59
    ])
    t = compute(ex, ["cases_opened"], by=["age_group"], period=NEW_YEAR)
    assert cells(t, "cases_opened", "age_group") == {"12-17": count(1), "18-59": count(1)}


# k1 open; k2 closed on the first day; k3 closed the day before; k4 opened on the last day;
# k5 opened the day after; k6 opened and closed the same day in P; k7 closed on the last day;
# k8 closed the day after.
STOCK_CASES = [
    case("p1", "2024-01-01", site="s_a", case_type="legal", risk_level="high"),                       # k1
    case("p1", "2024-01-01", START, "objectives_met", site="s_a", case_type="legal", risk_level="low"),  # k2
    case("p2", "2024-01-01", BEFORE, "moved_away", site="s_b", case_type="social"),                   # k3
    case("p2", END, site="s_b", case_type="social", risk_level=""),                                   # k4
    case("p2", AFTER, site="s_b", case_type="social"),                                                # k5
    case("p3", "2024-05-01", "2024-05-01", "transferred", site="s_b", case_type="legal"),             # k6
    case("p3", "2024-01-01", END, "objectives_met", site="s_a", case_type="social"),                  # k7
    case("p3", "2024-01-01", AFTER, "lost_contact", site="s_b", case_type="legal", risk_level="medium"),  # k8
]


@pytest.fixture
def stock(tmp_path):
    return load(tmp_path, persons=CM_PERSONS, cases=STOCK_CASES)


def test_cases_active(stock):
    t = compute(stock, ["cases_active"], by=["site", "case_type", "risk_level"])
    # opened_on <= end and (closed_on empty or >= start): k1, k2 (closed on start), k4 (opened on end),
    # k6, k7, k8 = 6; not k3 (closed the day before) nor k5 (opened the day after)
    assert total_cell(t, "cases_active") == count(6)
    assert cells(t, "cases_active", "site") == {"s_a": count(3), "s_b": count(3)}
    assert cells(t, "cases_active", "case_type") == {"legal": count(4), "social": count(2)}
    # risk: k1 high; k2 low; k8 medium; k4 empty -> unknown; k6, k7 default high
    assert cells(t, "cases_active", "risk_level") == {"high": count(3), "medium": count(1), "low": count(1),
                                                      "unknown": count(1)}


def test_cases_open_at_end(stock):
    t = compute(stock, ["cases_open_at_end"], by=["site", "case_type", "risk_level"])
    # opened_on <= end and (closed_on empty or > end): k1, k4, k8 (closed the day after);
    # k7 closed on the last day is not open at the end
    assert total_cell(t, "cases_open_at_end") == count(3)
    assert cells(t, "cases_open_at_end", "site") == {"s_a": count(1), "s_b": count(2)}
    assert cells(t, "cases_open_at_end", "case_type") == {"legal": count(2), "social": count(1)}
    assert cells(t, "cases_open_at_end", "risk_level") == {"high": count(1), "medium": count(1),
                                                           "unknown": count(1)}


def test_cases_closed(stock):
    t = compute(stock, ["cases_closed"], by=["site", "case_type", "closure_reason"])
    # closed_on in P: k2 (first day), k6 (same day as opened), k7 (last day); not k3, k8
    assert total_cell(t, "cases_closed") == count(3)
    assert cells(t, "cases_closed", "site") == {"s_a": count(2), "s_b": count(1)}
    assert cells(t, "cases_closed", "case_type") == {"legal": count(2), "social": count(1)}
    # vocabulary order: objectives_met, transferred
    assert cells(t, "cases_closed", "closure_reason") == {"objectives_met": count(2), "transferred": count(1)}


def test_case_duration_median_days(stock):
    t = compute(stock, ["case_duration_median_days"], by=["site", "case_type", "risk_level"])
    # closed in P: k2 2024-01-01 -> 04-01 = 91 days; k6 same day = 0; k7 01-01 -> 06-30 = 181
    # median of [0, 91, 181] = 91.0 over 3 records
    assert total_cell(t, "case_duration_median_days", STAT_FIELDS) == stat(91.0, 3)
    # s_a: k2 91, k7 181 -> (91 + 181) / 2 = 136.0; s_b: k6 0
    assert cells(t, "case_duration_median_days", "site", STAT_FIELDS) == {"s_a": stat(136.0, 2),
                                                                          "s_b": stat(0.0, 1)}
    # legal: k2 91, k6 0 -> 45.5; social: k7 181
    assert cells(t, "case_duration_median_days", "case_type", STAT_FIELDS) == {"legal": stat(45.5, 2),
                                                                               "social": stat(181.0, 1)}
    assert cells(t, "case_duration_median_days", "risk_level", STAT_FIELDS) == {"high": stat(90.5, 2),
                                                                                "low": stat(91.0, 1)}


def test_case_duration_median_empty_is_no_data(stock):
    t = compute(stock, ["case_duration_median_days"], by=["site"], period="2023")
    assert total_cell(t, "case_duration_median_days", STAT_FIELDS) == NO_DATA_STAT
    assert t.height == 1


ASSESSMENT_CASES = [
    case("p1", "2024-05-01", risk_level="high", assessed_on="2024-05-02", site="s_a"),    # 1 day: on time
    case("p1", "2024-05-01", risk_level="high", assessed_on="2024-05-03", site="s_a"),    # 2 days: late
    case("p2", "2024-05-01", risk_level="medium", assessed_on="2024-05-04", site="s_a"),  # 3 days: on time
    case("p2", "2024-05-01", risk_level="medium", assessed_on="2024-05-05", site="s_b"),  # 4 days: late
    case("p3", "2024-05-01", risk_level="low", assessed_on="2024-05-08", site="s_b"),     # 7 days: on time
    case("p3", "2024-05-01", risk_level="low", assessed_on="", site="s_b"),               # not assessed: late
    case("p3", END, risk_level="low", assessed_on=END, site="s_b"),                       # 0 days: on time
    case("p1", "2024-05-01", risk_level="unknown", assessed_on="2024-05-01"),             # excluded
    case("p1", "2024-05-01", risk_level="", assessed_on="2024-05-01"),                    # excluded
    case("p1", BEFORE, risk_level="high", assessed_on=BEFORE),                            # opened before P
    case("p1", AFTER, risk_level="high", assessed_on=AFTER),                              # opened after P
]


def test_assessment_on_time_rate_default_deadlines(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=ASSESSMENT_CASES)
    t = compute(ex, ["assessment_on_time_rate"], by=["site", "case_type", "risk_level"])
    # population: 7 cases (high x2, medium x2, low x3); on time 4 -> 4/7 = 57.14 -> 57.1
    assert total_cell(t, "assessment_on_time_rate") == rate(57.1, 4, 7)
    # high 1/2; medium 1/2; low 2/3 = 66.7; no unknown row (unknown risk is out of the population)
    assert cells(t, "assessment_on_time_rate", "risk_level") == {
        "high": rate(50.0, 1, 2), "medium": rate(50.0, 1, 2), "low": rate(66.7, 2, 3)}
    # s_a: high on time, high late, medium on time -> 2/3; s_b: medium late, low 7d, low none, low 0d -> 2/4
    assert cells(t, "assessment_on_time_rate", "site") == {"s_a": rate(66.7, 2, 3), "s_b": rate(50.0, 2, 4)}
    assert cells(t, "assessment_on_time_rate", "case_type") == {"legal": rate(57.1, 4, 7)}


def test_assessment_on_time_rate_custom_deadlines(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=ASSESSMENT_CASES)
    table = computed(ex, ["assessment_on_time_rate"], by=["risk_level"],
                     params={"assessment_deadlines": {"high": 2, "low": 0}})
    t = table.frame
    # high 2 days: both (1 and 2 days) on time -> 2/2; medium keeps its default 3 -> 1/2;
    # low 0 days: only the same-day assessment -> 1/3 = 33.3; total 4/7 = 57.1
    assert cells(t, "assessment_on_time_rate", "risk_level") == {
        "high": rate(100.0, 2, 2), "medium": rate(50.0, 1, 2), "low": rate(33.3, 1, 3)}
    assert total_cell(t, "assessment_on_time_rate") == rate(57.1, 4, 7)
    assert table.params["assessment_deadlines"] == {"high": 2, "medium": 3, "low": 0}


def test_assessment_on_time_rate_only_unknown_risk_is_no_data(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=[case("p1", "2024-05-01", risk_level="unknown",
                                                        assessed_on="2024-05-01")])
    t = compute(ex, ["assessment_on_time_rate"], by=["risk_level"])
    assert total_cell(t, "assessment_on_time_rate") == NO_DATA
    assert t.height == 1


CARE_PLAN_CASES = [
    case("p1", "2024-03-01", assessed_on=START, care_plan_on="2024-04-15", risk_level="high"),   # 14 days: on time
    case("p1", "2024-03-01", assessed_on="2024-04-10", care_plan_on="2024-04-25", risk_level="high"),  # 15: late
    case("p2", "2024-03-01", assessed_on=END, care_plan_on="", risk_level="low"),                 # none: late
    case("p2", "2024-03-01", assessed_on="2024-05-01", care_plan_on="2024-05-01", risk_level=""),  # 0 days: on time
    case("p3", "2024-03-01", assessed_on=BEFORE, care_plan_on=START),                             # assessed before P
    case("p3", "2024-03-01", assessed_on=AFTER, care_plan_on=AFTER),                              # assessed after P
]


def test_care_plan_on_time_rate(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=CARE_PLAN_CASES)
    t = compute(ex, ["care_plan_on_time_rate"], by=["risk_level", "case_type", "site"])
    # assessed in P: 4 cases; care plan within 14 days: the 14-day and the 0-day ones -> 2/4 = 50.0
    assert total_cell(t, "care_plan_on_time_rate") == rate(50.0, 2, 4)
    # high: 14d on time, 15d late -> 1/2; low: none -> 0/1; unknown: 0d -> 1/1
    assert cells(t, "care_plan_on_time_rate", "risk_level") == {
        "high": rate(50.0, 1, 2), "low": rate(0.0, 0, 1), "unknown": rate(100.0, 1, 1)}
    # a deadline of 15 days also takes the 15-day care plan: 3/4 = 75.0
    t15 = compute(ex, ["care_plan_on_time_rate"], params={"care_plan_deadline": 15})
    assert total_cell(t15, "care_plan_on_time_rate") == rate(75.0, 3, 4)


def test_care_plan_on_time_rate_empty_is_no_data(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=[])
    t = compute(ex, ["care_plan_on_time_rate"])
    assert total_cell(t, "care_plan_on_time_rate") == NO_DATA


# end = 2024-06-30; 2024-04-01 is 90 days before it, 2024-03-31 is 91 days before it.
REVIEW_CASES = [
    case("p1", "2024-01-01", last_review_on=START, risk_level="high"),                 # 90 days: not overdue
    case("p1", "2024-01-01", last_review_on=BEFORE, risk_level="high"),                # 91 days: overdue
    case("p2", "2024-01-01", care_plan_on=BEFORE, risk_level="medium"),                # no review; plan 91: overdue
    case("p2", "2024-01-01", care_plan_on="2024-01-05", last_review_on="2024-06-01",
         risk_level="medium"),                                                         # review 29 days: not
    case("p3", BEFORE, risk_level="low"),                                              # only opened, 91: overdue
    case("p3", START, risk_level="low"),                                               # only opened, 90: not
    case("p3", "2024-01-01", assessed_on=BEFORE, risk_level=""),                       # assessed 91: overdue
    case("p3", "2024-01-01", assessed_on=START, risk_level=""),                        # assessed 90: not
    case("p1", "2024-01-01", END, last_review_on="2024-01-10"),                        # closed on end: not open
]


def test_reviews_overdue_at_exactly_90_and_91_days(tmp_path):
    ex = load(tmp_path, persons=CM_PERSONS, cases=REVIEW_CASES)
    t = compute(ex, ["reviews_overdue"], by=["risk_level", "site", "case_type"])
    # overdue (> 90 days): the 91-day review, the 91-day care plan, the 91-day opening, the 91-day assessment
    assert total_cell(t, "reviews_overdue") == count(4)
    assert cells(t, "reviews_overdue", "risk_level") == {"high": count(1), "medium": count(1), "low": count(1),
                                                         "unknown": count(1)}
    assert cells(t, "reviews_overdue", "site") == {"s_a": count(4)}
    # a limit of 91 days: 91 is not more than 91 -> none
    t91 = compute(ex, ["reviews_overdue"], params={"review_overdue_days": 91})
    assert total_cell(t91, "reviews_overdue") == count(0)


# =============================================================================== referrals

REF_PERSONS = [
    {"person_id": "p1", "sex": "female", "birth_year": "1990", "nationality": "TUN"},
    {"person_id": "p2", "sex": "male", "birth_year": "2010", "nationality": "CIV"},
]


def referral(pid, on, service="lawyer", partner="pa", status="pending", status_on=""):
    return {"person_id": pid, "referred_on": on, "service_type": service, "partner": partner, "status": status,
            "status_on": status_on}


REFERRALS = [
    referral("p1", START, "lawyer", "pa", "completed", "2024-04-10"),       # in P, completed
    referral("p2", END, "health", "pb", "pending"),                         # in P
    referral("p2", "2024-05-05", "lawyer", "", "declined", "2024-05-06"),    # in P, partner not recorded
    referral("p1", BEFORE, "lawyer", "pa", "completed", "2024-04-05"),      # out (referred before)
    referral("p1", AFTER, "lawyer", "pa", "completed", AFTER),              # out
]


def test_referrals_made(tmp_path):
    ex = load(tmp_path, persons=REF_PERSONS, referrals=REFERRALS)
    t = compute(ex, ["referrals_made"], by=["service_type", "partner", "sex", "age_group", "nationality"])
    # referred_on on the first day, the last day and inside P -> 3
    assert total_cell(t, "referrals_made") == count(3)
    # service vocabulary order: lawyer, ..., health
    assert cells(t, "referrals_made", "service_type") == {"lawyer": count(2), "health": count(1)}
    assert order(t, "referrals_made", "service_type") == ["lawyer", "health"]
    assert cells(t, "referrals_made", "partner") == {"pa": count(1), "pb": count(1), "unknown": count(1)}
    assert cells(t, "referrals_made", "sex") == {"female": count(1), "male": count(2)}
    # age at referred_on: p1 34 -> 18-59, p2 14 -> 12-17
    assert cells(t, "referrals_made", "age_group") == {"12-17": count(2), "18-59": count(1)}
    assert cells(t, "referrals_made", "nationality") == {"CIV": count(2), "TUN": count(1)}


def test_referral_completion_rate(tmp_path):
    ex = load(tmp_path, persons=REF_PERSONS, referrals=REFERRALS)
    t = compute(ex, ["referral_completion_rate"], by=["service_type", "partner"])
    # of the 3 referrals made in P, 1 completed -> 33.3 (the completed ones referred outside P do not count)
    assert total_cell(t, "referral_completion_rate") == rate(33.3, 1, 3)
    assert cells(t, "referral_completion_rate", "service_type") == {"lawyer": rate(50.0, 1, 2),
                                                                    "health": rate(0.0, 0, 1)}
    assert cells(t, "referral_completion_rate", "partner") == {"pa": rate(100.0, 1, 1), "pb": rate(0.0, 0, 1),
                                                               "unknown": rate(0.0, 0, 1)}


def test_referral_days_to_completion_median(tmp_path):
    ex = load(tmp_path, persons=REF_PERSONS, referrals=[
        referral("p1", START, "lawyer", status="completed", status_on="2024-04-10"),         # 9 days
        referral("p1", "2024-03-01", "lawyer", status="completed", status_on=START),        # 31 days (referred before P)
        referral("p2", END, "health", status="completed", status_on=END),                   # 0 days
        referral("p2", "2024-03-01", "health", status="completed", status_on=BEFORE),       # completed before P
        referral("p2", "2024-06-20", "health", status="completed", status_on=AFTER),        # completed after P
        referral("p2", "2024-05-01", "health", status="accepted", status_on="2024-05-02"),  # not completed
    ])
    t = compute(ex, ["referral_days_to_completion_median"], by=["service_type"])
    # completed with status_on in P: 9, 31, 0 -> median 9.0 over 3
    assert total_cell(t, "referral_days_to_completion_median", STAT_FIELDS) == stat(9.0, 3)
    # lawyer: 9, 31 -> 20.0; health: 0 -> 0.0 (a same-day completion is 0 days, a value)
    assert cells(t, "referral_days_to_completion_median", "service_type", STAT_FIELDS) == {
        "lawyer": stat(20.0, 2), "health": stat(0.0, 1)}


def test_referral_indicators_on_an_empty_referrals_table(tmp_path):
    ex = load(tmp_path, persons=REF_PERSONS, referrals=[])
    table = computed(ex, ["referrals_made", "referral_completion_rate", "referral_days_to_completion_median"])
    t = table.frame
    assert total_cell(t, "referrals_made") == count(0)
    assert total_cell(t, "referral_completion_rate") == NO_DATA
    assert total_cell(t, "referral_days_to_completion_median", STAT_FIELDS) == NO_DATA_STAT
    assert table.unavailable == {}


# =============================================================================== detention

DET_PERSONS = [
    {"person_id": "p1", "sex": "male", "birth_year": "1990", "nationality": "TUN"},
    {"person_id": "p2", "sex": "male", "birth_year": "2010", "nationality": "CIV"},
    {"person_id": "p3", "sex": "female", "birth_year": "", "nationality": ""},
    {"person_id": "p4", "sex": "male", "birth_year": "2007", "nationality": "SDN"},
    {"person_id": "p5", "sex": "female", "birth_year": "2006", "nationality": "TUN"},
]


def stay(pid, entered, left="", outcome="", centre="c_a", **kw):
    if left and not outcome:
        outcome = "other"
    return {"person_id": pid, "entered_on": entered, "left_on": left, "outcome": outcome, "centre": centre, **kw}


def test_detention_placements(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[
        stay("p1", START, centre="c_a", with_children="true"),
        stay("p2", END, centre="c_b", with_children="false"),
        stay("p3", "2024-05-05", centre="c_a", with_children=""),
        stay("p1", BEFORE, "2024-04-02", centre="c_a"),
        stay("p1", AFTER, centre="c_a"),
    ])
    t = compute(ex, ["detention_placements"], by=["centre", "sex", "age_group", "nationality", "with_children"])
    # entered_on on the first day, the last day and inside P -> 3
    assert total_cell(t, "detention_placements") == count(3)
    assert cells(t, "detention_placements", "centre") == {"c_a": count(2), "c_b": count(1)}
    assert cells(t, "detention_placements", "sex") == {"female": count(1), "male": count(2)}
    # age at entered_on: p1 34, p2 14, p3 unknown
    assert cells(t, "detention_placements", "age_group") == {"12-17": count(1), "18-59": count(1),
                                                             "unknown": count(1)}
    assert cells(t, "detention_placements", "nationality") == {"CIV": count(1), "TUN": count(1),
                                                               "unknown": count(1)}
    # booleans read false/true; not recorded -> unknown, last
    assert cells(t, "detention_placements", "with_children") == {"false": count(1), "true": count(1),
                                                                 "unknown": count(1)}
    assert order(t, "detention_placements", "with_children") == ["false", "true", "unknown"]


def test_detention_persons_held_counts_a_person_in_each_centre(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[
        stay("p1", "2024-01-01", centre="c_a"),                               # still held
        stay("p1", "2024-05-01", "2024-05-10", centre="c_b"),                 # p1 again, another centre
        stay("p2", "2024-01-01", START, centre="c_a"),                        # left on the first day: held
        stay("p3", "2024-01-01", BEFORE, centre="c_a"),                       # left the day before: not held
        stay("p4", AFTER, centre="c_b"),                                      # entered the day after: not held
        stay("p5", END, centre="c_b"),                                        # entered on the last day: held
    ])
    t = compute(ex, ["detention_persons_held"], by=["centre", "sex", "nationality"])
    # distinct persons: p1, p2, p5 -> 3
    assert total_cell(t, "detention_persons_held") == count(3)
    # c_a {p1, p2}, c_b {p1, p5}: 2 + 2 = 4 > 3
    assert cells(t, "detention_persons_held", "centre") == {"c_a": count(2), "c_b": count(2)}
    assert cells(t, "detention_persons_held", "sex") == {"female": count(1), "male": count(2)}
    assert cells(t, "detention_persons_held", "nationality") == {"CIV": count(1), "TUN": count(2)}


EXIT_STAYS = [
    stay("p1", START, START, "released_judge", "c_a"),                         # 0 days (same day)
    stay("p2", "2024-03-01", END, "removed_country_of_origin", "c_a"),         # 121 days, left on the last day
    stay("p3", "2024-03-20", "2024-04-09", "transferred_centre", "c_b"),       # 20 days
    stay("p4", "2024-05-01", "2024-05-04", "unknown", "c_b"),                  # 3 days
    stay("p5", "2024-03-01", BEFORE, "released_judge", "c_b"),                 # left the day before
    stay("p5", "2024-06-01", AFTER, "released_judge", "c_b"),                  # left the day after
    stay("p5", "2024-06-01", "", "", "c_b"),                                   # still held
]


def test_detention_exits(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=EXIT_STAYS)
    t = compute(ex, ["detention_exits"], by=["centre", "outcome"])
    # left_on in P: 4 stays
    assert total_cell(t, "detention_exits") == count(4)
    assert cells(t, "detention_exits", "centre") == {"c_a": count(2), "c_b": count(2)}
    # outcome in vocabulary order, unknown last
    assert cells(t, "detention_exits", "outcome") == {
        "released_judge": count(1), "removed_country_of_origin": count(1), "transferred_centre": count(1),
        "unknown": count(1)}
    assert order(t, "detention_exits", "outcome") == ["released_judge", "removed_country_of_origin",
                                                      "transferred_centre", "unknown"]


def test_detention_duration_mean_and_median(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=EXIT_STAYS)
    ids = ["detention_duration_mean_days", "detention_duration_median_days"]
    t = compute(ex, ids, by=["centre", "outcome"])
    # durations of the 4 stays left in P: 0, 121, 20, 3 -> mean 144/4 = 36.0; median (3 + 20)/2 = 11.5
    assert total_cell(t, ids[0], STAT_FIELDS) == stat(36.0, 4)
    assert total_cell(t, ids[1], STAT_FIELDS) == stat(11.5, 4)
    # c_a: 0, 121 -> mean = median = 60.5; c_b: 20, 3 -> 11.5
    for i in ids:
        assert cells(t, i, "centre", STAT_FIELDS) == {"c_a": stat(60.5, 2), "c_b": stat(11.5, 2)}
    assert cells(t, ids[0], "outcome", STAT_FIELDS) == {
        "released_judge": stat(0.0, 1), "removed_country_of_origin": stat(121.0, 1),
        "transferred_centre": stat(20.0, 1), "unknown": stat(3.0, 1)}


def test_detention_duration_mean_rounds_half_away_from_zero(tmp_path):
    # durations 0, 0, 0, 1 -> mean 0.25 -> 0.3 (half away from zero; half-to-even would give 0.2)
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[
        stay("p1", "2024-05-01", "2024-05-01"), stay("p2", "2024-05-01", "2024-05-01"),
        stay("p3", "2024-05-01", "2024-05-01"), stay("p4", "2024-05-01", "2024-05-02"),
    ])
    t = compute(ex, ["detention_duration_mean_days", "detention_duration_median_days"])
    assert total_cell(t, "detention_duration_mean_days", STAT_FIELDS) == stat(0.3, 4)
    assert total_cell(t, "detention_duration_median_days", STAT_FIELDS) == stat(0.0, 4)


def test_detention_durations_empty_are_no_data(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[stay("p1", "2024-05-01")])  # still held
    t = compute(ex, ["detention_duration_mean_days", "detention_duration_median_days", "detention_exits"],
                by=["centre"])
    assert total_cell(t, "detention_duration_mean_days", STAT_FIELDS) == NO_DATA_STAT
    assert total_cell(t, "detention_duration_median_days", STAT_FIELDS) == NO_DATA_STAT
    assert total_cell(t, "detention_exits") == count(0)
    assert t.height == 3


OUTCOME_STAYS = [
    stay("p1", "2024-04-01", "2024-04-10", "removed_country_of_origin", "c_a"),    # removal
    stay("p2", "2024-04-01", "2024-04-10", "dublin_transfer", "c_a"),              # removal
    stay("p1", "2024-04-01", "2024-04-10", "removed_third_country", "c_a"),        # removal
    stay("p1", "2024-04-01", "2024-04-10", "released_prefecture", "c_a"),          # neither
    stay("p1", "2024-04-01", "2024-04-10", "released_judge", "c_b"),               # court
    stay("p2", "2024-04-01", "2024-04-10", "released_appeal_court", "c_b"),        # court
    stay("p3", "2024-04-01", "2024-04-10", "released_administrative_court", "c_b"),  # court
    stay("p1", "2024-04-01", "2024-04-10", "transferred_centre", "c_a"),           # excluded
    stay("p1", "2024-04-01", "2024-04-10", "unknown", "c_a"),                      # excluded
    stay("p1", "2024-06-01", AFTER, "readmission_eu", "c_a"),                      # left after P
]


def test_removal_rate_excludes_unknown_and_transferred_centre(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=OUTCOME_STAYS)
    t = compute(ex, ["removal_rate"], by=["centre", "nationality"])
    # population: 7 stays (9 left in P minus transferred_centre and unknown); removals 3 -> 42.86 -> 42.9
    # (with the excluded outcomes counted it would be 3/9 = 33.3)
    assert total_cell(t, "removal_rate") == rate(42.9, 3, 7)
    # c_a: 3 removals of 4; c_b: 0 of 3 -> 0.0, a value
    assert cells(t, "removal_rate", "centre") == {"c_a": rate(75.0, 3, 4), "c_b": rate(0.0, 0, 3)}
    # TUN (p1): coo, third country, prefecture, judge -> 2/4; CIV (p2): dublin, appeal court -> 1/2;
    # unknown (p3): admin court -> 0/1
    assert cells(t, "removal_rate", "nationality") == {"CIV": rate(50.0, 1, 2), "TUN": rate(50.0, 2, 4),
                                                       "unknown": rate(0.0, 0, 1)}


def test_release_by_court_rate(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=OUTCOME_STAYS)
    t = compute(ex, ["release_by_court_rate"], by=["centre"])
    # same population of 7; judge, appeal court, administrative court -> 3/7 = 42.9
    assert total_cell(t, "release_by_court_rate") == rate(42.9, 3, 7)
    assert cells(t, "release_by_court_rate", "centre") == {"c_a": rate(0.0, 0, 4), "c_b": rate(100.0, 3, 3)}


def test_removal_rate_only_excluded_outcomes_is_no_data(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[
        stay("p1", "2024-04-01", "2024-04-10", "transferred_centre"), stay("p1", "2024-04-01", "2024-04-10",
                                                                           "unknown")])
    t = compute(ex, ["removal_rate", "release_by_court_rate"], by=["centre"])
    assert total_cell(t, "removal_rate") == NO_DATA
    assert total_cell(t, "release_by_court_rate") == NO_DATA
    assert t.height == 2


def test_children_in_detention(tmp_path):
    ex = load(tmp_path, persons=[
        {"person_id": "child", "birth_year": "2010"},   # 14 in 2024
        {"person_id": "seventeen", "birth_year": "2007"},  # 17 in 2024
        {"person_id": "adult", "birth_year": "2006"},   # 18 in 2024
        {"person_id": "unknown_age", "birth_year": ""},
    ], detention_stays=[
        stay("child", START, centre="c_a", with_children="true"),           # minor, first day
        stay("seventeen", END, centre="c_b", with_children=""),             # minor (17), last day
        stay("adult", "2024-05-01", centre="c_a", with_children="true"),    # 18: not a minor
        stay("unknown_age", "2024-05-01", centre="c_a"),                    # age unknown: not counted
        stay("child", BEFORE, "2024-03-31", centre="c_a"),                  # day before
        stay("child", AFTER, centre="c_a"),                                 # day after
    ])
    t = compute(ex, ["children_in_detention"], by=["centre", "with_children"])
    assert total_cell(t, "children_in_detention") == count(2)
    assert cells(t, "children_in_detention", "centre") == {"c_a": count(1), "c_b": count(1)}
    assert cells(t, "children_in_detention", "with_children") == {"true": count(1), "unknown": count(1)}


def test_children_in_detention_minor_at_entry(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "a", "birth_year": "2007"}], detention_stays=[
        stay("a", "2024-12-20", "2024-12-21"),  # 17 at entry -> a child
        stay("a", "2025-01-05"),                # 18 at entry -> not
    ])
    t = compute(ex, ["children_in_detention"], period=NEW_YEAR)
    assert total_cell(t, "children_in_detention") == count(1)


def test_assistance_rate(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[
        stay("p1", START, centre="c_a", assisted="true"),
        stay("p2", END, centre="c_a", assisted="false"),
        stay("p3", "2024-05-01", centre="c_b", assisted="true"),
        stay("p4", "2024-05-01", centre="c_b", assisted=""),                 # not recorded: left out
        stay("p5", BEFORE, "2024-04-02", centre="c_b", assisted="false"),    # entered before P
        stay("p5", AFTER, centre="c_b", assisted="false"),                   # entered after P
    ])
    t = compute(ex, ["assistance_rate"], by=["centre"])
    # 3 stays entered in P with assisted recorded, 2 true -> 66.7
    assert total_cell(t, "assistance_rate") == rate(66.7, 2, 3)
    assert cells(t, "assistance_rate", "centre") == {"c_a": rate(50.0, 1, 2), "c_b": rate(100.0, 1, 1)}


def test_assistance_rate_nothing_recorded_is_no_data(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, detention_stays=[stay("p1", START, assisted="")])
    t = compute(ex, ["assistance_rate"], by=["centre"])
    assert total_cell(t, "assistance_rate") == NO_DATA
    assert t.height == 1


# =============================================================================== legal actions

def action(pid, filed, decided="", result="", action_type="asylum_claim"):
    return {"person_id": pid, "filed_on": filed, "decided_on": decided, "result": result,
            "action_type": action_type}


def test_legal_actions_filed(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, legal_actions=[
        action("p1", START, action_type="asylum_claim"),
        action("p3", END, action_type="removal_order_appeal"),
        action("p2", "2024-05-01", action_type="asylum_claim"),
        action("p1", BEFORE, "2024-04-05", "won"),
        action("p1", AFTER),
    ])
    t = compute(ex, ["legal_actions_filed"], by=["action_type", "sex", "nationality"])
    assert total_cell(t, "legal_actions_filed") == count(3)
    assert cells(t, "legal_actions_filed", "action_type") == {"asylum_claim": count(2),
                                                              "removal_order_appeal": count(1)}
    assert cells(t, "legal_actions_filed", "sex") == {"female": count(1), "male": count(2)}
    assert cells(t, "legal_actions_filed", "nationality") == {"CIV": count(1), "TUN": count(1),
                                                              "unknown": count(1)}


def test_legal_action_success_rate(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, legal_actions=[
        action("p1", "2024-01-01", START, "won", "asylum_appeal"),
        action("p1", "2024-01-01", END, "won", "asylum_claim"),
        action("p2", "2024-01-01", "2024-05-01", "lost", "asylum_claim"),
        action("p2", "2024-01-01", "2024-05-01", "withdrawn", "asylum_claim"),   # neither won nor lost
        action("p2", "2024-01-01", "2024-05-01", "other", "asylum_claim"),       # neither won nor lost
        action("p2", "2024-01-01", BEFORE, "won", "asylum_claim"),               # decided before P
        action("p2", "2024-01-01", AFTER, "lost", "asylum_claim"),               # decided after P
        action("p2", "2024-05-01"),                                              # not decided
    ])
    t = compute(ex, ["legal_action_success_rate"], by=["action_type"])
    # decided in P and won or lost: won, won, lost -> 2/3 = 66.7
    assert total_cell(t, "legal_action_success_rate") == rate(66.7, 2, 3)
    assert cells(t, "legal_action_success_rate", "action_type") == {"asylum_claim": rate(50.0, 1, 2),
                                                                    "asylum_appeal": rate(100.0, 1, 1)}


@pytest.mark.parametrize("won, lost, expected", [
    (1, 2, 33.3),   # 1/3 = 33.33 -> 33.3
    (2, 1, 66.7),   # 2/3 = 66.67 -> 66.7
    (1, 7, 12.5),   # 1/8 = 12.5 exactly
    (1, 15, 6.3),   # 1/16 = 6.25 -> 6.3 (half away from zero; half-to-even would give 6.2)
    (3, 13, 18.8),  # 3/16 = 18.75 -> 18.8
    (0, 4, 0.0),    # 0 of 4 is a value 0.0, not no_data
])
def test_rates_are_rounded_to_one_decimal_half_away_from_zero(tmp_path, won, lost, expected):
    ex = load(tmp_path, persons=DET_PERSONS, legal_actions=[action("p1", "2024-01-01", "2024-05-01", "won")] * won
              + [action("p1", "2024-01-01", "2024-05-01", "lost")] * lost)
    t = compute(ex, ["legal_action_success_rate"])
    assert total_cell(t, "legal_action_success_rate") == rate(expected, won, won + lost)


def test_values_are_exact_decimals(tmp_path):
    # asylum_claim: 1 won of 3 -> 33.3; complaint: 1 won of 3 -> 33.3; total 2 of 6 -> 33.3
    ex = load(tmp_path, persons=DET_PERSONS, legal_actions=[
        action("p1", "2024-01-01", "2024-05-01", r, a)
        for a in ("asylum_claim", "complaint") for r in ("won", "lost", "lost")])
    t = compute(ex, ["legal_action_success_rate"], by=["action_type"])
    assert t["value"].to_list() == [33.3, 33.3, 33.3]
    assert t.write_csv().splitlines()[1:] == [
        "legal_action_success_rate,2024-Q2,,33.3,2,6,",
        "legal_action_success_rate,2024-Q2,asylum_claim,33.3,1,3,",
        "legal_action_success_rate,2024-Q2,complaint,33.3,1,3,",
    ]


def test_legal_action_success_rate_empty_is_no_data(tmp_path):
    ex = load(tmp_path, persons=DET_PERSONS, legal_actions=[action("p1", "2024-05-01", "2024-05-02", "withdrawn")])
    t = compute(ex, ["legal_action_success_rate", "legal_actions_filed"], by=["action_type"])
    assert total_cell(t, "legal_action_success_rate") == NO_DATA
    # the withdrawn action was filed in P
    assert total_cell(t, "legal_actions_filed") == count(1)


# =============================================================================== protection

def flag(pid, kind, on):
    return {"person_id": pid, "flag": kind, "identified_on": on}


PROTECTION_PERSONS = [
    {"person_id": "p1", "sex": "female", "birth_year": "1990", "nationality": "TUN"},
    {"person_id": "p2", "sex": "male", "birth_year": "1990", "nationality": "TUN"},
    {"person_id": "p3", "sex": "male", "birth_year": "2010", "nationality": "CIV"},
    {"person_id": "p4", "sex": "female", "birth_year": "", "nationality": ""},
]
PROTECTION_FLAGS = [
    flag("p1", "gbv_survivor", START), flag("p1", "trafficking_suspected", END),
    flag("p2", "disability", BEFORE), flag("p2", "disability", AFTER),
    flag("p3", "unaccompanied_minor", "2024-05-01"),
    flag("p4", "gbv_survivor", "2024-05-05"),
]


def test_persons_with_protection_concerns(tmp_path):
    ex = load(tmp_path, persons=PROTECTION_PERSONS, protection_flags=PROTECTION_FLAGS)
    t = compute(ex, ["persons_with_protection_concerns"], by=["sex", "age_group", "nationality"])
    # distinct persons with a flag in P: p1 (two flags, on the first and last day: counted once), p3, p4;
    # p2's flags are the day before and the day after P
    assert total_cell(t, "persons_with_protection_concerns") == count(3)
    assert cells(t, "persons_with_protection_concerns", "sex") == {"female": count(2), "male": count(1)}
    assert cells(t, "persons_with_protection_concerns", "age_group") == {
        "12-17": count(1), "18-59": count(1), "unknown": count(1)}
    assert cells(t, "persons_with_protection_concerns", "nationality") == {
        "CIV": count(1), "TUN": count(1), "unknown": count(1)}


# The reference's breakdown `flag` is written to the column `protection_flag` (`flag` is the status column).
def test_persons_with_protection_concerns_by_flag(tmp_path):
    ex = load(tmp_path, persons=PROTECTION_PERSONS, protection_flags=PROTECTION_FLAGS)
    t = compute(ex, ["persons_with_protection_concerns"], by=["flag"])
    assert total_cell(t, "persons_with_protection_concerns") == count(3)
    # a person in each flag: unaccompanied_minor {p3}, trafficking {p1}, gbv {p1, p4}: 1 + 1 + 2 = 4 > 3
    assert cells(t, "persons_with_protection_concerns", "protection_flag") == {
        "unaccompanied_minor": count(1), "trafficking_suspected": count(1), "gbv_survivor": count(2)}
    assert order(t, "persons_with_protection_concerns", "protection_flag") == [
        "unaccompanied_minor", "trafficking_suspected", "gbv_survivor"]


def test_protection_concerns_age_at_the_earliest_identification_in_the_period(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "a", "birth_year": "2007"}], protection_flags=[
        flag("a", "disability", "2018-06-01"),        # before P: 11 -> 5-11, not used
        flag("a", "gbv_survivor", "2025-01-10"),      # later in P: 18 -> 18-59, not used
        flag("a", "serious_medical", "2024-12-10"),   # earliest in P: 17 -> 12-17
    ])
    t = compute(ex, ["persons_with_protection_concerns"], by=["age_group"], period=NEW_YEAR)
    assert total_cell(t, "persons_with_protection_concerns") == count(1)
    assert cells(t, "persons_with_protection_concerns", "age_group") == {"12-17": count(1)}


TRAFFICKING_PERSONS = [
    {"person_id": f"t{i}", "sex": "male" if i <= 3 else "female", "nationality": "NGA" if i <= 2 else "ALB"}
    for i in range(1, 10)
]
TRAFFICKING_FLAGS = [
    flag("t1", "trafficking_suspected", START),
    flag("t2", "trafficking_suspected", "2024-05-01"),
    flag("t3", "trafficking_suspected", "2024-05-01"),
    flag("t4", "trafficking_suspected", "2024-05-10"),
    flag("t5", "trafficking_suspected", "2024-04-10"), flag("t5", "trafficking_suspected", "2024-06-20"),
    flag("t6", "trafficking_suspected", "2024-05-01"),
    flag("t7", "trafficking_suspected", END),
    flag("t8", "trafficking_suspected", BEFORE),
    flag("t9", "trafficking_suspected", "2024-02-01"), flag("t9", "trafficking_suspected", "2024-05-01"),
    flag("t1", "gbv_survivor", "2024-05-01"),
]
TRAFFICKING_REFERRALS = [
    referral("t1", START, "anti_trafficking"),          # 0 days after the flag: in time
    referral("t2", "2024-05-31", "anti_trafficking"),   # 30 days: in time
    referral("t3", "2024-06-01", "anti_trafficking"),   # 31 days: late
    referral("t4", "2024-05-09", "anti_trafficking"),   # the day before the flag: not counted
    referral("t5", "2024-06-25", "anti_trafficking"),   # 76 days after the earliest flag in P (5 after the later)
    referral("t6", "2024-05-02", "lawyer"),             # not an anti_trafficking referral
    referral("t7", "2024-07-15", "anti_trafficking"),   # 15 days after a flag on the last day (referral after P)
    referral("t8", START, "anti_trafficking"),          # flag before P: t8 is not in the population
    referral("t9", "2024-02-15", "anti_trafficking"),   # before t9's earliest flag in P (05-01)
]


def test_trafficking_referral_rate_0_30_31_days_and_before_the_flag(tmp_path):
    ex = load(tmp_path, persons=TRAFFICKING_PERSONS, protection_flags=TRAFFICKING_FLAGS,
              referrals=TRAFFICKING_REFERRALS)
    t = compute(ex, ["trafficking_referral_rate"], by=["sex", "nationality"])
    # population: t1..t7 and t9 = 8 persons (t8's flag is the day before P); in time: t1, t2, t7 -> 3/8 = 37.5
    assert total_cell(t, "trafficking_referral_rate") == rate(37.5, 3, 8)
    # male t1, t2, t3 -> 2/3 = 66.7; female t4..t7, t9 -> 1/5 = 20.0
    assert cells(t, "trafficking_referral_rate", "sex") == {"female": rate(20.0, 1, 5), "male": rate(66.7, 2, 3)}
    # NGA t1, t2 -> 2/2; ALB t3..t7, t9 -> 1/6 = 16.7
    assert cells(t, "trafficking_referral_rate", "nationality") == {"ALB": rate(16.7, 1, 6),
                                                                    "NGA": rate(100.0, 2, 2)}


def test_trafficking_referral_rate_no_flag_in_period_is_no_data(tmp_path):
    ex = load(tmp_path, persons=TRAFFICKING_PERSONS, protection_flags=[flag("t1", "trafficking_suspected", BEFORE)],
              referrals=[referral("t1", START, "anti_trafficking")])
    t = compute(ex, ["trafficking_referral_rate"], by=["sex"])
    assert total_cell(t, "trafficking_referral_rate") == NO_DATA
    assert t.height == 1


UAM_PERSONS = [
    {"person_id": "u1", "birth_year": "2010", "sex": "male", "nationality": "AFG"},
    {"person_id": "u2", "birth_year": "2008", "sex": "female", "nationality": "GIN"},
    {"person_id": "u3", "birth_year": "2010", "sex": "male", "nationality": "AFG"},
    {"person_id": "u4", "birth_year": "2005", "sex": "male", "nationality": "AFG"},
    {"person_id": "u5", "birth_year": "2010", "sex": "male", "nationality": "AFG"},
    {"person_id": "u6", "birth_year": "2010", "sex": "male", "nationality": "AFG"},
    {"person_id": "u7", "birth_year": "", "sex": "male", "nationality": "AFG"},
]
UAM_CONTACTS = [
    {"person_id": "u1", "date": "2024-05-01", "site": "s_a"},
    {"person_id": "u2", "date": START, "site": "s_a"}, {"person_id": "u2", "date": END, "site": "s_b"},
    {"person_id": "u3", "date": "2024-05-01", "site": "s_a"},
    {"person_id": "u4", "date": "2024-05-01", "site": "s_a"},
    {"person_id": "u5", "date": "2024-05-01", "site": "s_a"},
    {"person_id": "u6", "date": BEFORE, "site": "s_a"}, {"person_id": "u6", "date": AFTER, "site": "s_a"},
    {"person_id": "u7", "date": "2024-05-01", "site": "s_a"},
]
UAM_FLAGS = [
    flag("u1", "unaccompanied_minor", "2024-01-01"),   # flagged before P: counts
    flag("u2", "unaccompanied_minor", END),            # flagged on the last day: counts
    flag("u3", "unaccompanied_minor", AFTER),          # flagged the day after the end: excluded
    flag("u4", "unaccompanied_minor", START),          # 19 years old: not a minor
    flag("u5", "separated_child", START),              # not the unaccompanied_minor flag
    flag("u6", "unaccompanied_minor", START),          # no contact in P: not received
    flag("u7", "unaccompanied_minor", START),          # age unknown: not known to be a minor
]


def test_unaccompanied_minors_received(tmp_path):
    ex = load(tmp_path, persons=UAM_PERSONS, contacts=UAM_CONTACTS, protection_flags=UAM_FLAGS)
    t = compute(ex, ["unaccompanied_minors_received"], by=["site", "sex", "age_group", "nationality"])
    # u1 and u2 only
    assert total_cell(t, "unaccompanied_minors_received") == count(2)
    # a person at each site where they had a contact: s_a {u1, u2}, s_b {u2}: 2 + 1 = 3 > 2
    assert cells(t, "unaccompanied_minors_received", "site") == {"s_a": count(2), "s_b": count(1)}
    assert cells(t, "unaccompanied_minors_received", "sex") == {"female": count(1), "male": count(1)}
    # u1 14, u2 16 at their first contact
    assert cells(t, "unaccompanied_minors_received", "age_group") == {"12-17": count(2)}
    assert cells(t, "unaccompanied_minors_received", "nationality") == {"AFG": count(1), "GIN": count(1)}


def test_unaccompanied_minors_minor_at_the_first_contact_in_the_period(tmp_path):
    ex = load(tmp_path, persons=[
        {"person_id": "a", "birth_year": "2007"},   # 17 on 2024-12-15, 18 on 2025-01-10
        {"person_id": "b", "birth_year": "2007"},   # contact only in 2025: 18
    ], contacts=[
        {"person_id": "a", "date": "2024-12-15"}, {"person_id": "a", "date": "2025-01-10"},
        {"person_id": "b", "date": "2025-01-05"},
    ], protection_flags=[flag("a", "unaccompanied_minor", "2024-12-01"), flag("b", "unaccompanied_minor",
                                                                               "2024-12-01")])
    t = compute(ex, ["unaccompanied_minors_received"], by=["age_group"], period=NEW_YEAR)
    assert total_cell(t, "unaccompanied_minors_received") == count(1)
    assert cells(t, "unaccompanied_minors_received", "age_group") == {"12-17": count(1)}


# =============================================================================== missing and empty tables

BEYOND_IDS = ("activities", "activity_participants", "case_conferences", "cases_discussed", "appointments_booked",
              "appointment_attendance_rate", "appointment_no_show_rate", "appointment_waiting_days",
              "strategic_actions_filed", "strategic_actions_pending", "strategic_actions_decided",
              "strategic_success_rate", "services_mapped", "referrals_to_mapped_service")
STRATEGIC = ["strategic_actions_filed", "strategic_actions_pending", "strategic_actions_decided",
             "strategic_success_rate"]
OPTIONAL_TABLE_OF = {
    "cases": ["cases_opened", "cases_active", "cases_open_at_end", "cases_closed", "assessment_on_time_rate",
              "care_plan_on_time_rate", "case_duration_median_days", "reviews_overdue", "caseload_per_caseworker"],
    "referrals": ["referrals_made", "referral_completion_rate", "referral_days_to_completion_median",
                  "trafficking_referral_rate", "referrals_to_mapped_service"],
    "detention_stays": ["detention_placements", "detention_persons_held", "detention_exits",
                        "detention_duration_mean_days", "detention_duration_median_days", "removal_rate",
                        "release_by_court_rate", "children_in_detention", "assistance_rate"],
    "legal_actions": ["legal_actions_filed", "legal_action_success_rate", *STRATEGIC],
    "protection_flags": ["persons_with_protection_concerns", "trafficking_referral_rate",
                         "unaccompanied_minors_received"],
    "activities": ["activities", "activity_participants", "case_conferences", "cases_discussed"],
    "appointments": ["appointments_booked", "appointment_attendance_rate", "appointment_no_show_rate",
                     "appointment_waiting_days"],
    "services": ["services_mapped", "referrals_to_mapped_service"],
}


def test_missing_optional_tables_make_indicators_unavailable_not_zero(reception):
    # the reception extract has persons and contacts only
    table = computed(reception, None, by=["sex"])
    t, unavailable = table.frame, table.unavailable
    needing = {i for ids in OPTIONAL_TABLE_OF.values() for i in ids}
    assert set(unavailable) == needing
    assert len(needing) == 26 + len(BEYOND_IDS)  # all but the 5 reception indicators
    assert set(t["indicator"].unique()) == set(ALL_IDS) - needing
    assert "cases" in unavailable["cases_opened"]
    assert "referrals" in unavailable["trafficking_referral_rate"]
    assert "protection_flags" in unavailable["trafficking_referral_rate"]


@pytest.mark.parametrize("table", list(OPTIONAL_TABLE_OF))
def test_one_missing_table(tmp_path, table):
    present = {t: [] for t in OPTIONAL_TABLE_OF if t != table}
    ex = load(tmp_path, persons=persons("x"), **present)
    computed_table = computed(ex, None)
    t = computed_table.frame
    assert set(computed_table.unavailable) == set(OPTIONAL_TABLE_OF[table])
    assert not set(t["indicator"]) & set(OPTIONAL_TABLE_OF[table])
    # every other indicator has its total row: counts 0, the rest no_data (empty tables, no contact in P)
    units = {i.id: i.unit for i in load_catalogue()}
    for r in t.iter_rows(named=True):
        if units[r["indicator"]] == "count":
            assert (r["value"], r["flag"]) == (0, None), r
        else:
            assert (r["value"], r["flag"]) == (None, "no_data"), r


def test_an_empty_optional_table_gives_zero_counts_not_unavailable(tmp_path):
    ex = load(tmp_path, persons=persons("x"), cases=[])
    table = computed(ex, ["cases_opened", "reviews_overdue", "assessment_on_time_rate"])
    t = table.frame
    assert table.unavailable == {}
    assert total_cell(t, "cases_opened") == count(0)
    assert total_cell(t, "reviews_overdue") == count(0)
    assert total_cell(t, "assessment_on_time_rate") == NO_DATA


# =============================================================================== the table

@pytest.fixture
def shaped(tmp_path):
    return load(tmp_path, persons=[
        {"person_id": "a", "sex": "male", "birth_year": "1990", "nationality": "XXA"},
        {"person_id": "b", "sex": "female", "birth_year": "2010", "nationality": "TUN"},
        {"person_id": "c", "sex": "unknown", "birth_year": "", "nationality": ""},
        {"person_id": "d", "sex": "female", "birth_year": "1960", "nationality": "AFG"},
        {"person_id": "e", "sex": "other", "birth_year": "2021", "nationality": "CIV"},
    ], contacts=[
        {"person_id": "a", "date": "2024-05-01", "site": "zeta"},
        {"person_id": "b", "date": "2024-05-01", "site": "alpha"},
        {"person_id": "c", "date": "2024-05-01", "site": "unknown"},
        {"person_id": "d", "date": "2024-05-01", "site": "mid"},
        {"person_id": "e", "date": "2024-05-01", "site": "alpha"},
        {"person_id": "b", "date": "2024-05-02", "site": "zeta"},
    ])


def test_columns_are_the_dimensions_in_the_order_asked(shaped):
    t = compute(shaped, ["contacts"], by=["sex", "site"])
    assert t.columns == ["indicator", "period", "sex", "site", "value", "numerator", "denominator", "flag"]
    t = compute(shaped, ["contacts"], by=["site", "sex"])
    assert t.columns == ["indicator", "period", "site", "sex", "value", "numerator", "denominator", "flag"]
    t = compute(shaped, ["contacts"])
    assert t.columns == ["indicator", "period", "value", "numerator", "denominator", "flag"]
    assert t.rows() == [("contacts", "2024-Q2", 6.0, 6, None, None)]


def test_total_first_then_vocabulary_order_unknown_last_open_codes_alphabetical(shaped):
    t = compute(shaped, ["contacts"], by=["sex", "site", "nationality", "age_group"])
    first = t.row(0, named=True)
    assert (first["sex"], first["site"], first["nationality"], first["age_group"]) == (None,) * 4
    assert first["value"] == 6
    # sex in vocabulary order: female, male, other, unknown
    assert order(t, "contacts", "sex") == ["female", "male", "other", "unknown"]
    # sites alphabetically, the code 'unknown' last
    assert order(t, "contacts", "site") == ["alpha", "mid", "zeta", "unknown"]
    assert order(t, "contacts", "nationality") == ["AFG", "CIV", "TUN", "XXA", "unknown"]
    # age at the contact: e 3, b 14, a 34, d 64, c unknown
    assert order(t, "contacts", "age_group") == ["0-4", "12-17", "18-59", "60+", "unknown"]
    # each breakdown is its own block, in the order asked: sex rows, then site rows, ...
    blocks = []
    for r in list(t.iter_rows(named=True))[1:]:
        dim = next(d for d in ("sex", "site", "nationality", "age_group") if r[d] is not None)
        if not blocks or blocks[-1] != dim:
            blocks.append(dim)
    assert blocks == ["sex", "site", "nationality", "age_group"]


def test_two_separate_breakdowns_each_add_up_to_the_total(shaped):
    t = compute(shaped, ["contacts"], by=["sex", "site"])
    assert t.height == 1 + 4 + 4
    sex_rows = t.slice(1, 4)
    assert sex_rows["site"].null_count() == 4 and sex_rows["sex"].null_count() == 0
    assert sex_rows["value"].sum() == 6
    site_rows = t.slice(5, 4)
    assert site_rows["sex"].null_count() == 4
    assert site_rows["value"].sum() == 6
    assert cells(t, "contacts", "sex") == {"female": count(3), "male": count(1), "other": count(1),
                                           "unknown": count(1)}
    assert cells(t, "contacts", "site") == {"alpha": count(2), "mid": count(1), "zeta": count(2),
                                            "unknown": count(1)}


def test_cross_breakdown_gives_one_row_per_observed_combination(shaped):
    t = compute(shaped, ["contacts"], by=["sex,age_group"])
    assert t.columns == ["indicator", "period", "sex", "age_group", "value", "numerator", "denominator", "flag"]
    # female: b 14 (x2 contacts), d 64; male: a 34; other: e 3; unknown: c unknown
    assert cells(t, "contacts", ["sex", "age_group"]) == {
        ("female", "12-17"): count(2), ("female", "60+"): count(1), ("male", "18-59"): count(1),
        ("other", "0-4"): count(1), ("unknown", "unknown"): count(1)}
    assert list(cells(t, "contacts", ["sex", "age_group"])) == [
        ("female", "12-17"), ("female", "60+"), ("male", "18-59"), ("other", "0-4"), ("unknown", "unknown")]
    assert t.row(0)[:4] == ("contacts", "2024-Q2", None, None)


def test_indicators_come_in_catalogue_order_each_with_its_total_first(shaped):
    t = compute(shaped, ["contacts", "persons_received", "new_persons"], by=["site"])
    ids = t["indicator"].to_list()
    assert ids == sorted(ids, key=ALL_IDS.index)
    assert ids[0] == "persons_received" and ids[-1] == "contacts"
    for ind in ("persons_received", "new_persons", "contacts"):
        first = t.filter(pl.col("indicator") == ind).row(0, named=True)
        assert first["site"] is None
    # everyone registered on 2024-01-10 (before P): new_persons is its total 0 alone
    assert t.filter(pl.col("indicator") == "new_persons").rows() == [("new_persons", "2024-Q2", None, 0.0, 0,
                                                                      None, None)]


def test_a_breakdown_applies_only_to_the_indicators_that_allow_it(shaped):
    # service: contacts and persons_received allow it, contacts_per_person does not (total row only)
    t = compute(shaped, ["persons_received", "contacts", "contacts_per_person"], by=["service"])
    assert t.filter(pl.col("indicator") == "contacts_per_person").height == 1
    assert cells(t, "contacts", "service") == {"information": count(6)}


def test_counts_are_whole_numbers_in_the_csv(shaped):
    t = compute(shaped, ["contacts", "contacts_per_person"])
    # 6 contacts / 5 persons = 1.20
    assert formatted_csv(t).splitlines() == [
        "indicator,period,value,numerator,denominator,flag",
        "contacts,2024-Q2,6,6,,",
        "contacts_per_person,2024-Q2,1.20,6,5,",
    ]


def test_same_inputs_give_byte_identical_output(tmp_path):
    def run(name):
        ex = load(tmp_path / name, persons=RECEPTION_PERSONS, contacts=RECEPTION_CONTACTS,
                  protection_flags=[flag("p1", "gbv_survivor", START)])
        return compute(ex, None, by=["sex", "site", "sex,age_group", "nationality"])

    a, b = run("one"), run("two")
    assert a.write_csv() == b.write_csv()
    assert formatted_csv(a) == formatted_csv(b)
    assert a.height > 20


def test_a_breakdown_no_requested_indicator_allows_is_refused(shaped):
    with pytest.raises(IndicatorError, match="centre"):
        compute(shaped, ["contacts", "persons_received"], by=["centre"])
    with pytest.raises(IndicatorError):
        compute(shaped, ["contacts"], by=["sex,centre"])
    with pytest.raises(IndicatorError, match="Did you mean"):
        compute(shaped, ["contacts"], by=["sexe"])


def test_an_unknown_indicator_is_refused_with_suggestions(shaped):
    with pytest.raises(IndicatorError, match="persons_received") as err:
        compute(shaped, ["person_received"])
    assert "Did you mean" in str(err.value)
    with pytest.raises(IndicatorError, match="contacts"):
        compute(shaped, ["contact"])


@pytest.mark.parametrize("period", ["2024-Q5", "2024-13", "2024-H3", "2024/07", "Q2 2024", "",
                                    "2024-06-31..2024-07-31", "2024-07-01..2024-06-01", "last quarter"])
def test_a_malformed_period_is_refused(shaped, period):
    with pytest.raises(PeriodError):
        compute(shaped, ["contacts"], period=period)


@pytest.mark.parametrize("period, first, last", [
    ("2024", "2024-01-01", "2024-12-31"), ("2024-H1", "2024-01-01", "2024-06-30"),
    ("2024-02", "2024-02-01", "2024-02-29"), ("2024-02-10..2024-02-20", "2024-02-10", "2024-02-20"),
])
def test_every_period_form_includes_both_ends(tmp_path, period, first, last):
    import datetime as dt
    d0, d1 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    ex = load(tmp_path, persons=persons("x"), contacts=[
        {"person_id": "x", "date": str(d0)}, {"person_id": "x", "date": str(d1)},
        {"person_id": "x", "date": str(d0 - dt.timedelta(days=1))},
        {"person_id": "x", "date": str(d1 + dt.timedelta(days=1))},
    ])
    t = compute(ex, ["contacts"], period=period)
    assert total_cell(t, "contacts") == count(2)
    assert t["period"].to_list() == [period]


# =============================================================================== the reference, whole

#: The breakdowns of indicators.md, copied from its tables, in its order.
REFERENCE = {
    "persons_received": "sex age_group nationality legal_status site service topic channel",
    "new_persons": "site sex age_group nationality legal_status",
    "contacts": "site service topic channel sex age_group nationality legal_status",
    "contacts_per_person": "site sex nationality legal_status",
    "interpreter_rate": "site nationality",
    "cases_opened": "site case_type risk_level sex age_group nationality",
    "cases_active": "site case_type risk_level",
    "cases_open_at_end": "site case_type risk_level",
    "cases_closed": "site case_type closure_reason",
    "assessment_on_time_rate": "site case_type risk_level",
    "care_plan_on_time_rate": "site case_type risk_level",
    "case_duration_median_days": "site case_type risk_level",
    "reviews_overdue": "site case_type risk_level",
    "caseload_per_caseworker": "site case_type",
    "referrals_made": "service_type partner sex age_group nationality",
    "referral_completion_rate": "service_type partner",
    "referral_days_to_completion_median": "service_type",
    "detention_placements": "centre sex age_group nationality with_children",
    "detention_persons_held": "centre sex nationality",
    "detention_exits": "centre outcome",
    "detention_duration_mean_days": "centre outcome",
    "detention_duration_median_days": "centre outcome",
    "removal_rate": "centre nationality",
    "release_by_court_rate": "centre",
    "children_in_detention": "centre with_children",
    "assistance_rate": "centre",
    "legal_actions_filed": "action_type sex nationality",
    "legal_action_success_rate": "action_type",
    "persons_with_protection_concerns": "flag sex age_group nationality",
    "trafficking_referral_rate": "sex nationality",
    "unaccompanied_minors_received": "site sex age_group nationality",
}
PAIRS = [(i, d) for i, dims in REFERENCE.items() for d in dims.split()]


def test_the_catalogue_follows_the_reference_order():
    # the indicators beyond persons come after the reference's (their own breakdowns: tests/test_beyond.py)
    assert ALL_IDS == tuple(REFERENCE) + BEYOND_IDS


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """One extract where every indicator has records in P."""
    return load(tmp_path_factory.mktemp("rich"), persons=[
        {"person_id": "m1", "sex": "male", "birth_year": "2009", "nationality": "AFG", "registered_on": START},
        {"person_id": "f1", "sex": "female", "birth_year": "1990", "nationality": "", "legal_status": ""},
    ], contacts=[
        {"person_id": "m1", "date": "2024-05-01", "site": "s_a", "interpreter": "true"},
        {"person_id": "f1", "date": "2024-05-02", "site": "s_b", "interpreter": "false", "channel": ""},
    ], cases=[
        case("m1", "2024-05-01", "2024-05-20", "objectives_met", assessed_on="2024-05-01", care_plan_on="2024-05-03",
             caseworker_id="cw1"),
        case("f1", "2024-01-01", risk_level=""),
    ], referrals=[
        referral("m1", "2024-05-02", "anti_trafficking", "pa", "completed", "2024-05-05"),
        referral("f1", "2024-05-02", "lawyer", "", "pending"),
    ], detention_stays=[
        stay("m1", "2024-04-10", "2024-04-20", "removed_third_country", "c_a", with_children="", assisted="true"),
        stay("f1", "2024-04-10", "2024-04-25", "released_judge", "c_b", with_children="true", assisted="false"),
    ], legal_actions=[
        action("m1", "2024-04-02", "2024-05-02", "won", "asylum_claim"),
        action("f1", "2024-04-02", "2024-05-02", "lost", "complaint"),
    ], protection_flags=[
        flag("m1", "unaccompanied_minor", "2024-04-01"), flag("m1", "trafficking_suspected", "2024-05-01"),
        flag("f1", "gbv_survivor", "2024-05-01"),
    ])


@pytest.mark.parametrize("indicator, dim", [
    (i, d) for i, d in PAIRS])
def test_every_breakdown_of_the_reference_is_computed(rich, indicator, dim):
    t = compute(rich, [indicator], by=[dim])
    dim = {"flag": "protection_flag"}.get(dim, dim)  # the output column of the reference's `flag`
    assert t.columns == ["indicator", "period", dim, "value", "numerator", "denominator", "flag"]
    assert t.row(0, named=True)[dim] is None  # the total first
    block = cells(t, indicator, dim)
    assert len(block) >= 1 and t.height == 1 + len(block)
    if UNIT[indicator] == "count":
        assert sum(v[1] for v in block.values()) >= total(t, indicator)["numerator"]


UNIT = {i.id: i.unit for i in load_catalogue()}


@pytest.mark.parametrize("indicator, dim", [("interpreter_rate", "sex"), ("removal_rate", "outcome"),
                                            ("cases_closed", "risk_level"), ("trafficking_referral_rate", "flag"),
                                            ("detention_persons_held", "age_group")])
def test_a_breakdown_outside_the_reference_is_refused(rich, indicator, dim):
    with pytest.raises(IndicatorError):
        compute(rich, [indicator], by=[dim])


@pytest.mark.parametrize("born, group", [
    ("2024", "0-4"), ("2020", "0-4"), ("2019", "5-11"), ("2013", "5-11"), ("2012", "12-17"), ("2007", "12-17"),
    ("2006", "18-59"), ("1965", "18-59"), ("1964", "60+"), ("1920", "60+"), ("", "unknown"),
])
def test_age_group_boundaries(tmp_path, born, group):
    # age at a 2024 contact = 2024 - birth year: 0, 4 | 5, 11 | 12, 17 | 18, 59 | 60, 104 | unknown
    ex = load(tmp_path, persons=[{"person_id": "x", "birth_year": born}],
              contacts=[{"person_id": "x", "date": "2024-05-01"}])
    assert cells(compute(ex, ["contacts"], by=["age_group"]), "contacts", "age_group") == {group: count(1)}


def test_cross_breakdown_columns_follow_the_order_asked(shaped):
    t = compute(shaped, ["contacts"], by=["age_group,sex"])
    assert t.columns == ["indicator", "period", "age_group", "sex", "value", "numerator", "denominator", "flag"]
    assert list(cells(t, "contacts", ["age_group", "sex"])) == [
        ("0-4", "other"), ("12-17", "female"), ("18-59", "male"), ("60+", "female"), ("unknown", "unknown")]


def test_a_dimension_named_twice_is_refused(shaped):
    with pytest.raises(IndicatorError):
        compute(shaped, ["contacts"], by=["sex,sex"])


def test_an_unknown_parameter_is_refused(shaped):
    from workbench.exceptions import ParameterError
    with pytest.raises(ParameterError):
        compute(shaped, ["assessment_on_time_rate"], params={"assessment_deadline": {"high": 2}})
    with pytest.raises(ParameterError):
        compute(shaped, ["assessment_on_time_rate"], params={"assessment_deadlines": {"urgent": 2}})


def test_trafficking_referral_rate_counts_a_person_once(tmp_path):
    # t1 referred twice in time, t2 twice late: 1 of 2 persons
    ex = load(tmp_path, persons=TRAFFICKING_PERSONS[:2], protection_flags=[
        flag("t1", "trafficking_suspected", "2024-05-01"), flag("t2", "trafficking_suspected", "2024-05-01")],
        referrals=[referral("t1", "2024-05-01", "anti_trafficking"), referral("t1", "2024-05-20", "anti_trafficking"),
                   referral("t2", "2024-07-01", "anti_trafficking"), referral("t2", "2024-04-30", "anti_trafficking")])
    t = compute(ex, ["trafficking_referral_rate"])
    assert total_cell(t, "trafficking_referral_rate") == rate(50.0, 1, 2)
