"""Disclosure control (indicators.md, "Disclosure control for shared figures").

Hand-worked cases first (k = 5 for partner, 10 for public, or the threshold given),
then property tests on small random extracts generated with hypothesis.
Period: P = 2024-Q2 = [2024-04-01, 2024-06-30].
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indicator_fixtures import (NO_DATA, NO_DATA_STAT, STAT_FIELDS, SUPPRESSED, cells, count, load, rate, stat,
                                total_cell)

from workbench import disclosure
from workbench.indicators.catalogue import load_catalogue

P = "2024-Q2"
UNITS = {i.id: i.unit for i in load_catalogue()}
SUPPRESSED_STAT = (None, None, "suppressed")  # (value, denominator, flag)
WITHHELD = (None, None, None, "withheld")
SMALL_POP = (None, None, None, "small_population")
SMALL_POP_STAT = (None, None, "small_population")


def computed(ex, ids, by=None, audience="internal", threshold=5, period=P):
    """The IndicatorTable: frame, audience and k (default: per-table suppression at k = 5)."""
    return disclosure.compute(ex, period, ids, by=by, audience=audience, threshold=threshold)


def compute(ex, ids, by=None, audience="internal", threshold=5, period=P):
    return computed(ex, ids, by, audience, threshold, period).frame


def site_extract(tmp_path, sizes: dict[str, int]):
    """One person per contact; ``sizes`` maps a site to its number of contacts in P."""
    persons, contacts = [], []
    for site, n in sizes.items():
        for i in range(n):
            pid = f"{site}_{i}"
            persons.append({"person_id": pid})
            contacts.append({"person_id": pid, "date": "2024-05-01", "site": site})
    return load(tmp_path, persons=persons, contacts=contacts)


# =============================================================================== primary

def test_counts_1_to_4_are_suppressed_0_and_5_shown(tmp_path):
    ex = site_extract(tmp_path, {"s1": 1, "s2": 2, "s3": 3, "s4": 4, "s5": 5})
    t = compute(ex, ["contacts", "new_persons"], by=["site"])
    # total 15 >= 5: shown; sites with 1..4 contacts: suppressed; 5: shown. Four cells are suppressed in
    # the block, so no secondary suppression.
    assert total_cell(t, "contacts") == count(15)
    assert cells(t, "contacts", "site") == {"s1": SUPPRESSED, "s2": SUPPRESSED, "s3": SUPPRESSED,
                                            "s4": SUPPRESSED, "s5": count(5)}
    # new_persons: everyone registered 2024-01-10, before P -> 0, shown (zeros are shown)
    assert total_cell(t, "new_persons") == count(0)


def test_a_small_total_is_suppressed_and_keeps_its_row(tmp_path):
    ex = site_extract(tmp_path, {"s1": 3})
    t = compute(ex, ["contacts", "persons_received"], by=["site"])
    # total 3 and the one site 3: all suppressed, each keeping its row
    assert t.height == 4
    assert total_cell(t, "contacts") == SUPPRESSED
    assert cells(t, "contacts", "site") == {"s1": SUPPRESSED}
    assert total_cell(t, "persons_received") == SUPPRESSED
    assert t.columns == ["indicator", "period", "site", "value", "numerator", "denominator", "flag"]


def test_rates_over_a_population_of_4_are_suppressed_5_shown(tmp_path):
    # interpreter recorded on 9 contacts: s_a 4 (1 true), s_b 5 (5 true); one not recorded at s_c
    persons, contacts = [], []
    for i, (site, interp) in enumerate([("s_a", "true")] + [("s_a", "false")] * 3 + [("s_b", "true")] * 5
                                       + [("s_c", "")]):
        persons.append({"person_id": f"x{i}"})
        contacts.append({"person_id": f"x{i}", "date": "2024-05-01", "site": site, "interpreter": interp})
    ex = load(tmp_path, persons=persons, contacts=contacts)
    t = compute(ex, ["interpreter_rate"], by=["site"])
    # total 6 of 9 = 66.7 (population 9 >= 5); s_a population 4 < 5: suppressed; s_b 5 of 5 = 100.0
    assert total_cell(t, "interpreter_rate") == rate(66.7, 6, 9)
    # secondary suppression is for count indicators: s_b stays shown
    assert cells(t, "interpreter_rate", "site") == {"s_a": SMALL_POP, "s_b": rate(100.0, 5, 5)}


def test_ratio_over_4_persons_is_suppressed(tmp_path):
    # 4 persons with 10 contacts: contacts_per_person 2.50 over 4 persons -> suppressed at k = 5,
    # while the count of 10 contacts is shown
    ex = load(tmp_path, persons=[{"person_id": f"x{i}"} for i in range(4)],
              contacts=[{"person_id": f"x{i % 4}", "date": "2024-05-01"} for i in range(10)])
    t = compute(ex, ["contacts", "contacts_per_person"])
    assert total_cell(t, "contacts") == count(10)
    assert total_cell(t, "contacts_per_person") == SMALL_POP
    t = compute(ex, ["contacts", "contacts_per_person"], threshold=None)
    assert total_cell(t, "contacts_per_person") == rate(2.5, 10, 4)


def test_means_and_medians_over_fewer_than_k_records_are_suppressed(tmp_path):
    # c_a: 4 stays left in P (durations 1, 2, 3, 4); c_b: 5 stays (10 days each)
    persons = [{"person_id": f"x{i}"} for i in range(9)]
    stays = [{"person_id": f"x{i}", "centre": "c_a", "entered_on": "2024-05-01",
              "left_on": f"2024-05-0{i + 2}", "outcome": "other"} for i in range(4)]
    stays += [{"person_id": f"x{i}", "centre": "c_b", "entered_on": "2024-05-01", "left_on": "2024-05-11",
               "outcome": "other"} for i in range(4, 9)]
    ex = load(tmp_path, persons=persons, detention_stays=stays)
    ids = ["detention_duration_mean_days", "detention_duration_median_days"]
    t = compute(ex, ids, by=["centre"])
    # total: 9 records, mean (1+2+3+4+50)/9 = 60/9 = 6.67 -> 6.7; median of [1,2,3,4,10,10,10,10,10] = 10
    assert total_cell(t, ids[0], STAT_FIELDS) == stat(6.7, 9)
    assert total_cell(t, ids[1], STAT_FIELDS) == stat(10.0, 9)
    for i in ids:
        assert cells(t, i, "centre", STAT_FIELDS) == {"c_a": SMALL_POP_STAT, "c_b": stat(10.0, 5)}


def test_no_data_is_shown_as_no_data(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "x"}], detention_stays=[])
    t = compute(ex, ["removal_rate", "detention_duration_median_days", "detention_exits"], threshold=10)
    assert total_cell(t, "removal_rate") == NO_DATA
    assert total_cell(t, "detention_duration_median_days", STAT_FIELDS) == NO_DATA_STAT
    assert total_cell(t, "detention_exits") == count(0)


# =============================================================================== secondary

def test_secondary_suppression_picks_the_smallest_other_non_zero_cell(tmp_path):
    ex = site_extract(tmp_path, {"s_a": 1, "s_b": 6, "s_c": 7, "s_d": 9})
    t = compute(ex, ["contacts"], by=["site"])
    # primary: s_a (1). It is alone in its block, so the smallest other cell, s_b (6), goes too:
    # otherwise s_a = 23 - 6 - 7 - 9.
    assert total_cell(t, "contacts") == count(23)
    assert cells(t, "contacts", "site") == {"s_a": SUPPRESSED, "s_b": WITHHELD, "s_c": count(7),
                                            "s_d": count(9)}


def test_secondary_suppression_on_a_tie_hides_one_of_the_tied_cells(tmp_path):
    ex = site_extract(tmp_path, {"s_a": 2, "s_b": 6, "s_c": 6, "s_d": 9})
    got = cells(compute(ex, ["contacts"], by=["site"]), "contacts", "site")
    assert got["s_a"] == SUPPRESSED and got["s_d"] == count(9)
    assert sorted([got["s_b"], got["s_c"]], key=str) == sorted([WITHHELD, count(6)], key=str)


def test_no_secondary_suppression_when_two_cells_are_already_hidden(tmp_path):
    ex = site_extract(tmp_path, {"s_a": 1, "s_b": 2, "s_c": 7})
    t = compute(ex, ["contacts"], by=["site"])
    assert cells(t, "contacts", "site") == {"s_a": SUPPRESSED, "s_b": SUPPRESSED, "s_c": count(7)}


def test_secondary_suppression_applies_to_each_block_of_separate_breakdowns(tmp_path):
    # 12 persons, one contact each: sex female 9 / male 3; site s_a 6 / s_b 6 (no primary in the site block)
    persons = [{"person_id": f"x{i}", "sex": "female" if i < 9 else "male"} for i in range(12)]
    contacts = [{"person_id": f"x{i}", "date": "2024-05-01", "site": "s_a" if i % 2 else "s_b"}
                for i in range(12)]
    ex = load(tmp_path, persons=persons, contacts=contacts)
    t = compute(ex, ["contacts"], by=["sex", "site"])
    assert cells(t, "contacts", "sex") == {"female": WITHHELD, "male": SUPPRESSED}
    assert cells(t, "contacts", "site") == {"s_a": count(6), "s_b": count(6)}
    assert total_cell(t, "contacts") == count(12)


def test_secondary_suppression_with_persons_in_several_categories(tmp_path):
    # persons_received by site: 8 persons at s_a, 2 of whom also at s_b -> s_a 8, s_b 2, total 8.
    # s_b is suppressed; it is alone in its block, so s_a goes too (even though sites may overlap).
    persons = [{"person_id": f"x{i}"} for i in range(8)]
    contacts = [{"person_id": f"x{i}", "date": "2024-05-01", "site": "s_a"} for i in range(8)]
    contacts += [{"person_id": f"x{i}", "date": "2024-05-02", "site": "s_b"} for i in range(2)]
    ex = load(tmp_path, persons=persons, contacts=contacts)
    t = compute(ex, ["persons_received"], by=["site"])
    assert total_cell(t, "persons_received") == count(8)
    assert cells(t, "persons_received", "site") == {"s_a": WITHHELD, "s_b": SUPPRESSED}


def test_cross_breakdown_blocks_are_taken_along_each_dimension(tmp_path):
    # contacts by sex x age_group (one person per contact):
    #            18-59  12-17  60+
    #   female     10      2     6
    #   male        8      7     9
    # primary: (female, 12-17). Along age 12-17 its only other cell is (male, 12-17): it must go.
    # Along sex=female another female cell must go. In the end no row or column of the grid may
    # have exactly one hidden cell.
    grid = {("female", "1990"): 10, ("female", "2010"): 2, ("female", "1960"): 6,
            ("male", "1990"): 8, ("male", "2010"): 7, ("male", "1960"): 9}
    persons, contacts = [], []
    for (sex, born), n in grid.items():
        for i in range(n):
            pid = f"{sex}_{born}_{i}"
            persons.append({"person_id": pid, "sex": sex, "birth_year": born})
            contacts.append({"person_id": pid, "date": "2024-05-01"})
    ex = load(tmp_path, persons=persons, contacts=contacts)
    t = compute(ex, ["contacts"], by=["sex,age_group"])
    got = cells(t, "contacts", ["sex", "age_group"])
    assert total_cell(t, "contacts") == count(42)
    assert got[("female", "12-17")] == SUPPRESSED
    assert got[("male", "12-17")] == WITHHELD
    assert sum(got[("female", a)] == WITHHELD for a in ("18-59", "60+")) >= 1
    for fixed, free in (("sex", ("18-59", "12-17", "60+")), ("age_group", ("female", "male"))):
        for key_value in ({"female", "male"} if fixed == "sex" else {"18-59", "12-17", "60+"}):
            line = [v for (s, a), v in got.items() if (s if fixed == "sex" else a) == key_value]
            assert sum(v in (SUPPRESSED, WITHHELD) for v in line) != 1, (fixed, key_value, got)
    # shown cells keep their true value
    for (s, a), v in got.items():
        if v not in (SUPPRESSED, WITHHELD):
            born = {"18-59": "1990", "12-17": "2010", "60+": "1960"}[a]
            assert v == count(grid[(s, born)])


# =============================================================================== audiences

ALL_SITES = {"s3": 3, "s7": 7, "s8": 8, "s12": 12}  # total 30


@pytest.mark.parametrize("audience, threshold, shown", [
    ("internal", None, ALL_SITES),                   # no suppression
    ("internal", 5, {"s8": 8, "s12": 12}),           # k = 5: s3 (primary) and s7 (smallest other)
    ("internal", 10, {"s12": 12}),                   # k = 10: s3, s7, s8 (primary)
    ("internal", 3, ALL_SITES),                      # k = 3: nothing between 1 and 2
    ("internal", 8, {"s8": 8, "s12": 12}),           # k = 8: s3, s7 (primary)
    ("internal", 13, {}),                            # k = 13: every site, the total 30 still shown
])
def test_audience_and_threshold(tmp_path, audience, threshold, shown):
    ex = site_extract(tmp_path, ALL_SITES)
    table = computed(ex, ["contacts"], by=["site"], audience=audience, threshold=threshold)
    t = table.frame
    got = cells(t, "contacts", "site")
    assert list(got) == ["s12", "s3", "s7", "s8"]  # open codes alphabetically
    assert {s for s, v in got.items() if v[3] is None} == set(shown)
    assert all(got[s] == count(n) for s, n in shown.items())
    assert total_cell(t, "contacts") == count(30)
    assert table.audience == audience
    assert table.k == threshold
    assert table.method == ("none" if threshold is None else "suppress")


def test_partner_groups_small_sites_and_public_rounds(tmp_path):
    ex = site_extract(tmp_path, ALL_SITES)  # every contact on 2024-05-01
    # partner (k = 5): s3 is 3 in May, Q2, H1 and 2024: grouped into "other" (3 alone < 5, so the
    # smallest shown site, s7, joins it: other = 10)
    partner = compute(ex, ["contacts"], by=["site"], audience="partner", threshold=None)
    assert cells(partner, "contacts", "site") == {"s12": count(12), "s8": count(8), "other": count(10)}
    assert total_cell(partner, "contacts") == count(30)
    # public (k = 10): s3, s7, s8 grouped (18), then rounded to 5 (half up): 12 -> 10, 18 -> 20, 30 -> 30
    public = compute(ex, ["contacts"], by=["site"], audience="public", threshold=None)
    assert cells(public, "contacts", "site") == {"s12": count(10), "other": count(20)}
    assert total_cell(public, "contacts") == count(30)
    table = computed(ex, ["contacts"], by=["site"], audience="public", threshold=None)
    assert (table.method, table.base, table.k) == ("group_round", 5, 10)
    assert disclosure.protection_summary(table) == {"shown": 3, "withheld": 0, "grouped": 3, "rounded": 3}


def test_a_small_total_withholds_its_whole_level_in_every_breakdown(tmp_path):
    # 3 contacts in 2024-05 and 6 in 2024-08: the months are small (May 3): every month is [c],
    # zeros too; the quarters (Q2 3) too; the halves (H1 3) too; the year (9) is shown.
    persons = [{"person_id": f"x{i}"} for i in range(9)]
    contacts = [{"person_id": f"x{i}", "date": "2024-05-01" if i < 3 else "2024-08-01"} for i in range(9)]
    ex = load(tmp_path, persons=persons, contacts=contacts)
    for period in ("2024-05", "2024-06", "2024-Q3", "2024-H2"):
        t = compute(ex, ["contacts"], by=["sex"], audience="partner", threshold=None, period=period)
        assert set(t["flag"]) == {"withheld"}, (period, t)
    t = compute(ex, ["contacts"], by=["sex"], audience="partner", threshold=None, period="2024")
    assert total_cell(t, "contacts") == count(9)


# =============================================================================== properties

DATES = ["2024-03-31", "2024-04-01", "2024-05-15", "2024-06-30", "2024-07-01"]
# Mostly dates in P, so that cells at and above k occur beside the small ones.
IN_P_MOSTLY = st.one_of(st.sampled_from(DATES[1:4]), st.sampled_from(DATES))
SEXES = ["female", "male", "other", "unknown"]
BIRTH_YEARS = ["", "1950", "1990", "2010", "2021"]
NATIONALITIES = ["", "TUN", "CIV", "unknown"]
SITES = ["s_a", "s_b", "s_c"]
SERVICES = ["information", "orientation", "legal_consultation"]
BOOLS = ["", "true", "false"]
OUTCOMES = ["released_judge", "removed_country_of_origin", "transferred_centre", "unknown", "other"]
CASE_TYPES = ["legal", "social", "child_protection"]
RISKS = ["", "high", "medium", "low", "unknown"]


def _plus(day: str, days: int) -> str:
    return str(dt.date.fromisoformat(day) + dt.timedelta(days=days))


@st.composite
def small_extracts(draw):
    n = draw(st.integers(1, 25))
    pids = [f"p{i}" for i in range(n)]
    person = st.builds(lambda sex, born, nat, reg, site: {"sex": sex, "birth_year": born, "nationality": nat,
                                                          "registered_on": reg, "site": site},
                       st.sampled_from(SEXES), st.sampled_from(BIRTH_YEARS), st.sampled_from(NATIONALITIES),
                       st.sampled_from(DATES), st.sampled_from(SITES))
    persons = [{"person_id": pid, **draw(person)} for pid in pids]
    pid = st.sampled_from(pids)
    contact = st.builds(lambda p, d, site, service, interp: {"person_id": p, "date": d, "site": site,
                                                             "service": service, "interpreter": interp},
                        pid, IN_P_MOSTLY, st.sampled_from(SITES), st.sampled_from(SERVICES),
                        st.sampled_from(BOOLS))
    contacts = draw(st.lists(contact, min_size=1, max_size=60))

    def case(p, opened, ctype, risk, closed_after):
        closed = _plus(opened, closed_after) if closed_after is not None else ""
        return {"person_id": p, "opened_on": opened, "case_type": ctype, "risk_level": risk, "closed_on": closed,
                "closure_reason": "objectives_met" if closed else "",
                "assessed_on": _plus(opened, 2)}

    cases = draw(st.lists(st.builds(case, pid, IN_P_MOSTLY, st.sampled_from(CASE_TYPES),
                                    st.sampled_from(RISKS), st.sampled_from([None, 0, 20, 100])), max_size=40))

    def stay(p, entered, centre, left_after, outcome, children, assisted):
        left = _plus(entered, left_after) if left_after is not None else ""
        return {"person_id": p, "entered_on": entered, "centre": centre, "left_on": left,
                "outcome": outcome if left else "", "with_children": children, "assisted": assisted}

    stays = draw(st.lists(st.builds(stay, pid, IN_P_MOSTLY, st.sampled_from(["c_a", "c_b"]),
                                    st.sampled_from([None, 0, 5, 45]), st.sampled_from(OUTCOMES),
                                    st.sampled_from(BOOLS), st.sampled_from(BOOLS)), max_size=40))
    return {"persons": persons, "contacts": contacts, "cases": cases, "detention_stays": stays}


PROPERTY_BY = ["site", "sex", "service", "case_type", "risk_level", "centre", "outcome", "with_children",
               "nationality", "sex,age_group"]
PROPERTY_IDS = [i for i in UNITS if not i.startswith(("referral", "legal_", "persons_with", "trafficking",
                                                      "unaccompanied", "caseload"))]  # caseload: internal only


def _load(data: dict):
    with tempfile.TemporaryDirectory() as tmp:
        return load(Path(tmp), **data)


def _dims(table: pl.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in ("indicator", "period", "value", "numerator", "denominator",
                                                  "flag")]


def _blocks(table: pl.DataFrame):
    """(indicator, description, rows) for every block of breakdown rows, cross-breakdowns along each dimension."""
    dims = _dims(table)
    rows = table.with_row_index("_i").to_dicts()
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        set_dims = tuple(d for d in dims if r[d] is not None)
        if not set_dims:
            continue
        if len(set_dims) == 1:
            groups.setdefault((r["indicator"], set_dims, None), []).append(r)
        else:
            for d in set_dims:  # rows sharing the value of d form a block along the other dimension(s)
                groups.setdefault((r["indicator"], set_dims, (d, r[d])), []).append(r)
    for (ind, set_dims, fixed), members in groups.items():
        yield ind, (set_dims, fixed), members


def _check_suppressed_table(shared: pl.DataFrame, internal: pl.DataFrame, k: int) -> None:
    dims = _dims(shared)
    # every row keeps its place: the same keys in the same order as the internal table
    assert shared.select("indicator", "period", *dims).rows() == internal.select("indicator", "period",
                                                                                 *dims).rows()
    for s, i in zip(shared.iter_rows(named=True), internal.iter_rows(named=True)):
        unit = UNITS[s["indicator"]]
        if s["flag"] in disclosure.HIDDEN:
            # a hidden row is empty but for its keys, and its mark says the truth
            assert (s["value"], s["numerator"], s["denominator"]) == (None, None, None), s
            if s["flag"] == "suppressed":
                assert unit == "count" and 1 <= i["numerator"] <= k - 1, (s, i)
            if s["flag"] == "small_population":
                assert unit != "count" and 1 <= i["denominator"] <= k - 1, (s, i)
            continue
        # a shown row is the internal row unchanged
        assert (s["value"], s["numerator"], s["denominator"], s["flag"]) == (
            i["value"], i["numerator"], i["denominator"], i["flag"]), (s, i)
        if unit == "count":
            assert not (1 <= s["value"] <= k - 1), s
        elif s["value"] is not None:
            # no rate, ratio, mean or median over a population under k
            assert s["denominator"] >= k, s
        else:
            assert s["flag"] == "no_data" and s["denominator"] == 0, s
    # secondary suppression: no block of a count indicator with exactly one hidden cell,
    # unless the block has no other non-zero cell
    for ind, desc, members in _blocks(shared):
        if UNITS[ind] != "count":
            continue
        hidden = [m for m in members if m["flag"] in disclosure.HIDDEN]
        others = [m for m in members if m["flag"] is None and m["value"] > 0]
        assert len(hidden) != 1 or not others, (ind, desc, members)


def _check_grouped_table(shared: pl.DataFrame, internal: pl.DataFrame, k: int, base: int | None) -> None:
    """Outside audiences: every shown count is the internal one (or its rounding), every ``other`` the
    sum of the internal categories not shown, no count from 1 to k−1, no figure over a small population."""
    dims = _dims(shared)
    truth = {(r["indicator"], r["period"], *[r[d] for d in dims]): r for r in internal.iter_rows(named=True)}

    def rounded(n):
        return n if base is None else (2 * n + base) // (2 * base) * base

    for s in shared.iter_rows(named=True):
        unit = UNITS[s["indicator"]]
        assert s["flag"] in (None, "no_data", "withheld"), s  # no "< k", no "[p]" outside
        if s["flag"] == "withheld":
            assert (s["value"], s["numerator"], s["denominator"]) == (None, None, None), s
            continue
        if unit != "count":
            assert s["numerator"] is None and s["denominator"] is None, s
            i = truth[(s["indicator"], s["period"], *[s[d] for d in dims])]
            den = i["denominator"] or 0
            assert s["value"] == i["value"] and (den == 0 or den >= k), (s, i)
            continue
        set_dims = [d for d in dims if s[d] is not None]
        if any(s[d] == "other" for d in set_dims):
            # other = the internal cells of this block whose grouped categories are not listed
            block = shared.filter(pl.col("indicator") == s["indicator"], pl.col("period") == s["period"],
                                  *[pl.col(d).is_not_null() if d in set_dims else pl.col(d).is_null() for d in dims])
            listed = {d: set(block[d]) - {"other"} for d in set_dims}
            inside = internal.filter(pl.col("indicator") == s["indicator"], pl.col("period") == s["period"],
                                     *[pl.col(d).is_not_null() if d in set_dims else pl.col(d).is_null()
                                       for d in dims])
            for d in set_dims:
                inside = inside.filter(~pl.col(d).is_in(sorted(listed[d])) if s[d] == "other" else pl.col(d) == s[d])
            true = int(inside["numerator"].sum() or 0)
        else:
            true = truth[(s["indicator"], s["period"], *[s[d] for d in dims])]["numerator"]
        assert s["value"] == rounded(true), (s, true)
        assert true == 0 or true >= k, (s, true)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_extracts(), threshold=st.sampled_from([3, 5, 10]))
def test_property_suppressed_tables_disclose_nothing_below_k(data, threshold):
    ex = _load(data)
    internal = disclosure.compute(ex, P, PROPERTY_IDS, by=PROPERTY_BY).frame
    shared = disclosure.compute(ex, P, PROPERTY_IDS, by=PROPERTY_BY, audience="internal", threshold=threshold)
    assert shared.k == threshold and shared.method == "suppress"
    _check_suppressed_table(shared.frame, internal, threshold)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_extracts(), audience=st.sampled_from(["partner", "public"]),
       threshold=st.sampled_from([None, None, 3]))
def test_property_grouped_tables_disclose_nothing_below_k(data, audience, threshold):
    ex = _load(data)
    shared = disclosure.compute(ex, P, PROPERTY_IDS, by=PROPERTY_BY, audience=audience, threshold=threshold)
    internal = disclosure.compute(ex, P, PROPERTY_IDS, by=PROPERTY_BY).frame
    k = threshold or {"partner": 5, "public": 10}[audience]
    assert shared.k == k
    disclosure.check(shared.frame, k)
    _check_grouped_table(shared.frame, internal, k, shared.base)


PARTITIONS = [("contacts", "site"), ("contacts", "service"), ("contacts", "sex"), ("contacts", "age_group"),
              ("contacts", "nationality"), ("persons_received", "sex"), ("new_persons", "sex"),
              ("new_persons", "site"), ("cases_opened", "case_type"), ("cases_opened", "risk_level"),
              ("cases_active", "case_type"), ("detention_placements", "centre"),
              ("detention_placements", "with_children"), ("detention_exits", "outcome")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_extracts())
def test_property_internal_partitions_add_up_to_the_total(data):
    ex = _load(data)
    ids = sorted({i for i, _ in PARTITIONS}, key=list(UNITS).index)
    by = sorted({d for _, d in PARTITIONS})
    t = disclosure.compute(ex, P, ids, by=by).frame
    assert t.filter(pl.col("flag") == "suppressed").height == 0
    for ind, dim in PARTITIONS:
        whole = total_cell(t, ind)[1]
        parts = cells(t, ind, dim)
        assert sum(v[1] for v in parts.values()) == whole, (ind, dim, parts)
        assert all(v[1] > 0 for v in parts.values())  # only observed categories get a row
    # a cross-breakdown partitions the total too
    x = disclosure.compute(ex, P, ["contacts"], by=["sex,age_group"]).frame
    assert sum(v[1] for v in cells(x, "contacts", ["sex", "age_group"]).values()) == total_cell(x, "contacts")[1]
