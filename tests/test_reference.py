"""The polars engine against an independent DuckDB SQL reference (tests/reference_sql.py).

On a demo extract of 3,000 persons, for several periods, every indicator of the catalogue is
computed by ``workbench.disclosure.compute`` (internal audience, the total and each allowed single
breakdown) and by the SQL reference written from the indicator spec; both must give the same rows
(indicator, dimension, category), the same numerators and denominators, the same flags, and
values equal to 1e-9. The same again on a small hand-made extract of edge cases (dates on the
period's bounds, deadlines to the day, ties in rounding...), on which a few figures of the
reference are also checked against values worked out by hand from the spec.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from workbench.extract import demo

from workbench import extract

from workbench import disclosure, indicators
from workbench.indicators.catalogue import load_catalogue

from tests import reference_sql as ref

CATALOGUE = load_catalogue()
IDS = CATALOGUE.ids

PERIODS = [
    "2025-Q2",                  # a quarter
    "2024",                     # a year
    "2025-03",                  # a month
    "2024-02",                  # a leap month
    "2024-11-15..2025-02-10",   # a range across a year end
    "2023-Q4",                  # before any record: empty populations (no_data)
]

# Known disagreements where the spec supports the reference: (indicator, period) -> reason, the
# period written "edge:<period>" for the edge-case extract, or "*" for every period. Each is marked
# xfail(strict=True) so the suite stays green until the engine is fixed.
KNOWN: dict[tuple[str, str], str] = {}


def all_breakdowns() -> list[str]:
    return list(dict.fromkeys(d for ind in CATALOGUE for d in ind.breakdowns))


def _params():
    out = []
    for period in PERIODS:
        for id in IDS:
            reason = KNOWN.get((id, period)) or KNOWN.get((id, "*"))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(id, period, id=f"{id}[{period}]", marks=marks))
    return out


@pytest.fixture(scope="module")
def demo_extract(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "demo"
    demo.write(folder, persons=3000)
    ex = extract.load(folder)
    assert ex.quarantined == 0
    return ex


@pytest.fixture(scope="module")
def reference(demo_extract):
    """period -> the SQL reference's tidy table for every indicator (computed once per period)."""
    con = ref.connect(demo_extract.tables)
    cache: dict[str, pl.DataFrame] = {}

    def get(period: str) -> pl.DataFrame:
        if period not in cache:
            cache[period] = ref.compute(con, period)
        return cache[period]

    yield get
    con.close()


def ours(ex, period: str, id: str) -> pl.DataFrame:
    table = disclosure.compute(ex, period, indicators=[id], by=list(CATALOGUE[id].breakdowns), audience="internal").frame
    return ref.tidy(table)


KEYS = ["indicator", "dimension", "category"]


def differences(mine: pl.DataFrame, theirs: pl.DataFrame) -> list[str]:
    """Human-readable differences between our table and the reference's (both tidy)."""
    problems = []
    a = mine.with_row_index("_ours")
    b = theirs.with_row_index("_ref")
    for name, frame in (("ours", a), ("reference", b)):
        dup = frame.filter(pl.struct(KEYS).is_duplicated())
        if dup.height:
            problems.append(f"duplicate rows in {name}: {dup.select(KEYS).to_dicts()}")
    joined = a.join(b, on=KEYS, how="full", nulls_equal=True, coalesce=True, suffix="_ref")
    for row in joined.iter_rows(named=True):
        where = f"{row['dimension']}={row['category']}" if row["dimension"] else "total"
        if row["_ours"] is None:
            problems.append(f"{where}: missing from ours; reference has value={row['value_ref']} "
                            f"num={row['numerator_ref']} den={row['denominator_ref']} flag={row['flag_ref']}")
            continue
        if row["_ref"] is None:
            problems.append(f"{where}: only in ours (value={row['value']} num={row['numerator']} "
                            f"den={row['denominator']} flag={row['flag']}); not an observed category")
            continue
        bad = []
        for col in ("numerator", "denominator", "flag", "period"):
            if row[col] != row[f"{col}_ref"]:
                bad.append(f"{col} {row[col]!r} vs {row[f'{col}_ref']!r}")
        v, r = row["value"], row["value_ref"]
        if (v is None) != (r is None) or (v is not None and not math.isclose(v, r, rel_tol=0, abs_tol=1e-9)):
            bad.append(f"value {v!r} vs {r!r}")
        if bad:
            problems.append(f"{where}: ours vs reference: " + "; ".join(bad))
    return problems


def test_reference_covers_the_catalogue():
    """The reference implements every catalogue indicator with the same unit and breakdowns."""
    assert list(ref.REFERENCE) == list(IDS)
    for ind in CATALOGUE:
        r = ref.REFERENCE[ind.id]
        assert (r.unit, r.dims, set(r.tables)) == (ind.unit, tuple(ind.breakdowns), set(ind.tables)), ind.id


@pytest.mark.parametrize(("id", "period"), _params())
def test_engine_matches_reference(demo_extract, reference, id, period):
    theirs = reference(period).filter(pl.col("indicator") == id)
    mine = ours(demo_extract, period, id)
    problems = differences(mine, theirs)
    assert not problems, f"{id} {period}: {len(problems)} difference(s):\n" + "\n".join(problems[:40])
    assert theirs.height > 0


@pytest.mark.parametrize("period", ["2025-Q2", "2024-11-15..2025-02-10"])
def test_whole_catalogue_in_one_call(demo_extract, reference, period):
    """All indicators and all breakdowns in one compute() call give the same rows as one by one."""
    table = ref.tidy(disclosure.compute(demo_extract, period, by=all_breakdowns(), audience="internal").frame)
    theirs = reference(period)
    known = {id for (id, p) in KNOWN if p in (period, "*")}
    keep = pl.col("indicator").is_in(sorted(known)).not_()
    problems = differences(table.filter(keep), theirs.filter(keep))
    assert not problems, "\n".join(problems[:40])
    assert table.filter(keep)["indicator"].unique(maintain_order=True).to_list() == \
        [i for i in IDS if i not in known]


def test_absent_tables_give_no_rows(tmp_path):
    """An extract without detention stays: those indicators have no rows in either; the rest agree."""
    folder = tmp_path / "legal_aid"
    demo.write(folder, persons=800, profile="legal_aid")
    ex = extract.load(folder)
    assert "detention_stays" not in ex.tables
    con = ref.connect(ex.tables)
    theirs = ref.compute(con, "2025-Q1")
    mine = ref.tidy(disclosure.compute(ex, "2025-Q1", by=all_breakdowns(), audience="internal").frame)
    detention = [i.id for i in CATALOGUE if "detention_stays" in i.tables]
    assert not mine.filter(pl.col("indicator").is_in(detention)).height
    assert not theirs.filter(pl.col("indicator").is_in(detention)).height
    known = {id for (id, p) in KNOWN if p in ("2025-Q1", "*")}
    keep = pl.col("indicator").is_in(sorted(known)).not_()
    problems = differences(mine.filter(keep), theirs.filter(keep))
    assert not problems, "\n".join(problems[:40])


def test_flag_is_an_alias_of_protection_flag(demo_extract):
    """The spec's breakdown `flag` is accepted and written as the protection_flag column."""
    id = "persons_with_protection_concerns"
    a = disclosure.compute(demo_extract, "2025-Q2", indicators=[id], by=["flag"]).frame
    b = disclosure.compute(demo_extract, "2025-Q2", indicators=[id], by=["protection_flag"]).frame
    assert a.columns == b.columns and "protection_flag" in a.columns
    assert a.equals(b)


# --------------------------------------------------------------------------- a hand-made extract of edge cases
# Boundaries the demo data may not hit: days exactly at a deadline, dates on the first and last day
# of the period, a person in several sites/centres/flags, ages around 18 and an impossible negative
# age, empty codes and booleans, ties in rounding (a mean of 15.25 days), referrals 0, 30, 31 and
# -1 days after a trafficking flag, an unaccompanied_minor flag before the period and after it.

def _rows(columns: str, *rows: str) -> list[dict[str, str]]:
    names = columns.split()
    return [dict(zip(names, (v.strip() for v in row.split("|")), strict=True)) for row in rows]


EDGE_TABLES = {
    "persons": _rows(
        "person_id sex birth_year nationality legal_status registered_on site",
        "P01|female|1990|TUN|asylum_seeker|2024-06-01|s_a",
        "P02|male|2008|CIV||2025-01-10|s_b",
        "P03|male|2025|SDN|refugee|2024-12-20|s_a",
        "P04|other||XXA|undocumented|2025-02-01|s_b",
        "P05|female|2007|unknown|asylum_seeker|2024-12-01|s_a",
        "P06|unknown|1960|AFG|stateless|2025-03-31|s_c",
        "P07|male|2010|AFG|asylum_seeker|2025-01-01|s_a",
        "P08|female|2012|GIN|refugee|2024-01-01|s_b",
    ),
    "contacts": _rows(
        "contact_id person_id date site channel service topic interpreter",
        "C01|P01|2025-01-05|s_a|in_person|information|asylum|true",
        "C02|P01|2025-02-10|s_b|phone|legal_consultation|residence|false",
        "C03|P01|2025-03-31|s_b||orientation||",
        "C04|P02|2025-01-10|s_b|in_person|information|asylum|true",
        "C05|P02|2025-01-11|s_b|in_person|information|asylum|true",
        "C06|P03|2024-12-31|s_a|outreach|social_support|housing|false",
        "C07|P03|2025-01-02|s_a|outreach|social_support|housing|",
        "C08|P05|2024-12-20|s_a|in_person|information|asylum|true",
        "C09|P05|2025-01-15|s_c|phone|mediation|labour|true",
        "C10|P06|2025-03-31|s_c|online|accompaniment|health|false",
        "C11|P07|2025-01-01|s_a|in_person|psychosocial_support|other|true",
        "C12|P07|2025-04-01|s_a|in_person|information|asylum|",
        "C13|P08|2024-03-01|s_b|in_person|information|asylum|",
        "C14|P04|2025-02-01|s_b|in_person|information||",
    ),
    "cases": _rows(
        "case_id person_id site case_type risk_level opened_on assessed_on care_plan_on last_review_on "
        "closed_on closure_reason caseworker_id",
        "K01|P01|s_a|legal|high|2025-01-10|2025-01-11|2025-01-25||||W1",
        "K02|P02|s_b|child_protection|medium|2025-01-10|2025-01-14|||||W1",
        "K03|P03|s_a|social|low|2025-02-01||||||W2",
        "K04|P04|s_b|trafficking|unknown|2025-02-01||||||W2",
        "K05|P05|s_a|legal||2025-03-01||||||W1",
        "K06|P06|s_c|legal|low|2024-09-01|2024-09-08|2025-01-01|2024-10-01|||W3",
        "K07|P07|s_a|social|high|2024-12-01|2025-01-01|2025-01-16|2024-12-31|||W2",
        "K08|P08|s_b|legal|medium|2024-05-01||||2025-01-01|objectives_met|W1",
        "K09|P01|s_a|social|low|2024-10-01||||2024-12-31|moved_away|W3",
        "K10|P02|s_b|legal|high|2025-03-01|2025-03-02|||2025-03-31|transferred|W1",
        "K11|P05|s_a|legal|high|2024-11-01|2024-11-02|2024-11-10||||W2",
        "K12|P03|s_a|legal|low|2024-12-30|2025-01-02|||2025-04-10|other|W2",
    ),
    "referrals": _rows(
        "referral_id person_id case_id referred_on service_type partner status status_on",
        "R01|P01|K01|2025-02-04|anti_trafficking|partner_x|completed|2025-02-10",
        "R02|P04||2025-03-04|anti_trafficking||pending|",
        "R03|P06||2025-03-01|anti_trafficking|partner_x|declined|2025-03-05",
        "R04|P06||2024-12-31|anti_trafficking|partner_y|completed|2025-01-03",
        "R05|P08||2025-03-09|anti_trafficking|partner_y|completed|2025-04-02",
        "R06|P02|K02|2025-01-12|lawyer|partner_z|completed|2025-01-20",
        "R07|P05||2025-01-15|health||accepted|2025-01-16",
    ),
    "detention_stays": _rows(
        "stay_id person_id centre entered_on left_on outcome with_children assisted",
        "S01|P02|cra_1|2025-01-05|2025-01-05|released_judge|true|true",
        "S02|P03|cra_1|2025-01-10|2025-01-10|removed_country_of_origin||",
        "S03|P04|cra_2|2025-02-01|2025-02-01|transferred_centre|false|false",
        "S04|P06|cra_2|2025-03-30|2025-04-02|unknown|false|true",
        "S05|P01|cra_1|2024-12-01|||false|true",
        "S06|P01|cra_2|2024-11-01|2025-01-01|escaped|false|",
        "S07|P07|cra_2|2025-03-15|||true|true",
        "S08|P08|cra_3|2024-06-01|2024-06-30|released_prefecture|false|false",
        "S09|P03|cra_1|2024-12-30|2024-12-31|removed_third_country|true|",
    ),
    "legal_actions": _rows(
        "action_id person_id case_id stay_id action_type filed_on decided_on result",
        "A01|P01|||asylum_claim|2025-01-05|2025-02-01|won",
        "A02|P02||S01|detention_appeal_judge|2025-01-06|2025-01-07|lost",
        "A03|P03|||asylum_appeal|2024-12-01|2025-03-01|withdrawn",
        "A04|P04|||complaint|2025-03-01||",
        "A05|P06|||asylum_claim|2024-10-01|2025-01-20|won",
    ),
    "protection_flags": _rows(
        "person_id flag identified_on",
        "P02|unaccompanied_minor|2024-06-01",
        "P07|unaccompanied_minor|2025-04-15",
        "P05|unaccompanied_minor|2024-12-01",
        "P05|separated_child|2024-12-20",
        "P05|gbv_survivor|2025-01-10",
        "P03|unaccompanied_minor|2024-12-25",
        "P01|trafficking_suspected|2025-01-05",
        "P01|trafficking_suspected|2025-02-20",
        "P01|gbv_survivor|2024-11-01",
        "P04|trafficking_suspected|2025-02-01",
        "P06|trafficking_suspected|2024-12-30",
        "P06|trafficking_suspected|2025-03-01",
        "P08|trafficking_suspected|2025-03-10",
    ),
}
EDGE_META = {"organisation": "Edge cases", "extracted_on": "2026-01-15"}
EDGE_PERIODS = ["2025-Q1", "2024-12-15..2025-01-20", "2025-Q2", "2024", "2025-01-01..2025-01-01", "2024-12"]

# What the spec gives by hand on 2025-Q1 (a check of the reference itself):
# (indicator, dimension, category) -> (value, numerator, denominator)
EDGE_EXPECTED_Q1 = {
    # P01 (30 days: in), P04 (31 days: out), P06 (0 days after the earliest flag *in P*: in),
    # P08 (referral one day before the flag: out)
    ("trafficking_referral_rate", None, None): (50.0, 2, 4),
    # P02: flag before P, 17 at first contact; P03: aged 0; P07: flag after P; P05: 18 at first contact in P
    ("unaccompanied_minors_received", None, None): (2.0, 2, None),
    ("unaccompanied_minors_received", "age_group", "0-4"): (1.0, 1, None),
    # S01, S02, S03 (0 days) and S06 (61 days): 61 / 4 = 15.25 -> 15.3 (half away from zero)
    ("detention_duration_mean_days", None, None): (15.3, None, 4),
    ("detention_duration_mean_days", "centre", "cra_2"): (30.5, None, 2),
    ("detention_duration_median_days", None, None): (0.0, None, 4),
    # P01 held in cra_1 and cra_2 (left cra_2 on the first day): once in total, once in each centre
    ("detention_persons_held", None, None): (6.0, 6, None),
    ("detention_persons_held", "centre", "cra_1"): (3.0, 3, None),
    # S01 (P02, 17) and S02 (P03, aged 0) and S07 (P07, 15)
    ("children_in_detention", None, None): (3.0, 3, None),
    ("children_in_detention", "with_children", "unknown"): (1.0, 1, None),
    # S01 released_judge, S02 removed, S06 escaped (S03 transferred_centre, S04 left after P)
    ("removal_rate", None, None): (33.3, 1, 3),
    ("release_by_court_rate", None, None): (33.3, 1, 3),
    # K01 (1 day, high) on time; K02 (4 days, medium) late; K03 (low, not assessed) late; K10 on time
    ("assessment_on_time_rate", None, None): (50.0, 2, 4),
    # assessed in P: K01 (14 days: on time), K02 (no plan), K07 (15 days: late), K10, K12 (no plan)
    ("care_plan_on_time_rate", None, None): (20.0, 1, 5),
    # K08 (closed on the first day) and K10 (closed on the last day): 245 and 30 days
    ("case_duration_median_days", None, None): (137.5, None, 2),
    # all but K09 (closed the day before P); K08 closed on the first day of P
    ("cases_active", None, None): (11.0, 11, None),
    # and not K08 nor K10 (closed on the last day)
    ("cases_open_at_end", None, None): (9.0, 9, None),
    # open at end: K06 (review 181 days before end), K11 (care plan 141 days); K07's review is 90 days
    ("reviews_overdue", None, None): (2.0, 2, None),
    # completed in P: R01 (6 days), R04 (3, referred before P), R06 (8)
    ("referral_days_to_completion_median", None, None): (6.0, None, 3),
    # made in P: R01, R02, R03, R05, R06, R07; completed: R01, R05 (after P, status as of the extract), R06
    ("referral_completion_rate", None, None): (50.0, 3, 6),
    ("referral_completion_rate", "partner", "unknown"): (0.0, 0, 2),
    ("legal_action_success_rate", None, None): (66.7, 2, 3),
    ("persons_received", None, None): (7.0, 7, None),
    ("persons_received", "site", "s_b"): (3.0, 3, None),
    ("persons_received", "channel", "unknown"): (1.0, 1, None),
    ("contacts_per_person", None, None): (1.43, 10, 7),
    # recorded: C01, C02, C04, C05, C09, C10, C11; true: C01, C04, C05, C09, C11
    ("interpreter_rate", None, None): (71.4, 5, 7),
}


def _write_csv(folder, name: str, rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    lines = [",".join(columns)] + [",".join(row[c] for c in columns) for row in rows]
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def edge_extract(tmp_path_factory):
    import yaml

    folder = tmp_path_factory.mktemp("edge")
    for name, rows in EDGE_TABLES.items():
        _write_csv(folder, name, rows)
    (folder / "extract.yaml").write_text(yaml.safe_dump(EDGE_META), encoding="utf-8")
    ex = extract.load(folder)
    assert ex.quarantined == 0, ex.quarantine.to_dicts()
    return ex


@pytest.fixture(scope="module")
def edge_reference(edge_extract):
    con = ref.connect(edge_extract.tables)
    cache: dict[str, pl.DataFrame] = {}

    def get(period: str) -> pl.DataFrame:
        if period not in cache:
            cache[period] = ref.compute(con, period)
        return cache[period]

    yield get
    con.close()


def test_reference_on_edge_cases(edge_reference):
    """The reference gives what the spec gives by hand on the edge-case extract."""
    table = edge_reference("2025-Q1")
    got = {(r["indicator"], r["dimension"], r["category"]): (r["value"], r["numerator"], r["denominator"])
           for r in table.iter_rows(named=True)}
    wrong = {k: (got.get(k), v) for k, v in EDGE_EXPECTED_Q1.items() if got.get(k) != v}
    assert not wrong, "\n".join(f"{k}: got {g}, expected {e}" for k, (g, e) in wrong.items())


def _edge_params():
    out = []
    for period in EDGE_PERIODS:
        # The edge-case extract is person-level and has none of the tables beyond persons; those
        # indicators are checked on their own hand-made extracts in tests/test_beyond.py.
        for id in [i for i in IDS if ref.REFERENCE[i].query.__module__ != "tests.reference_sql_beyond"]:
            reason = KNOWN.get((id, f"edge:{period}")) or KNOWN.get((id, "*"))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(id, period, id=f"{id}[edge:{period}]", marks=marks))
    return out


@pytest.mark.parametrize(("id", "period"), _edge_params())
def test_engine_matches_reference_on_edge_cases(edge_extract, edge_reference, id, period):
    theirs = edge_reference(period).filter(pl.col("indicator") == id)
    problems = differences(ours(edge_extract, period, id), theirs)
    assert not problems, f"{id} {period} (edge cases): {len(problems)} difference(s):\n" + "\n".join(problems[:40])
    assert theirs.height > 0
