"""An independent reference for the indicator catalogue, hand-written in DuckDB SQL.

Written from ``/work/shared/spec/indicators.md`` and ``case-extract.md`` only (not from
``workbench/indicators.py``), to check the polars engine and to benchmark it.

    con = connect(extract.tables)                # accepted tables, registered in DuckDB
    table = compute(con, "2025-Q2")               # every indicator, total + each single breakdown

The result is a long ("tidy") polars frame, one row per indicator, breakdown dimension and category:

    indicator, period, dimension, category, value, numerator, denominator, flag

``dimension`` and ``category`` are empty on the total row. Conventions (the spec's):

* a count: value = numerator (an integer), denominator empty;
* a rate: 100 * numerator / denominator to one decimal, rounded half away from zero;
* a ratio (contacts_per_person): contacts / distinct persons, two decimals;
* a median or mean: in days, one decimal, denominator = records used, numerator empty;
* a rate, ratio, median or mean over an empty population: value empty, flag ``no_data``;
* in a breakdown, an empty value reads ``unknown`` and booleans read ``true`` / ``false``;
* one row per category observed in the indicator's population; multi-category dimensions
  (a person counted in each category where they have a record) come out of counting distinct
  persons within each category.

Each indicator is one function returning the SQL of its *records* (one row per record of its
population, with a column per breakdown dimension and the columns its measure needs) and the SQL
aggregates of its numerator and denominator. :func:`indicator_sql` wraps them in one
``GROUPING SETS`` query (the total and every single breakdown in one scan); the value and flag are
derived from numerator and denominator by unit, in exact integer arithmetic.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

TIDY_COLUMNS = ("indicator", "period", "dimension", "category", "value", "numerator", "denominator", "flag")

DEFAULT_PARAMS = {
    "assessment_deadlines": {"high": 1, "medium": 3, "low": 7},
    "care_plan_deadline": 14,
    "review_overdue_days": 90,
    "trafficking_referral_days": 30,
}

REMOVAL_OUTCOMES = ("removed_country_of_origin", "removed_third_country", "dublin_transfer", "readmission_eu")
COURT_RELEASES = ("released_judge", "released_appeal_court", "released_administrative_court")

# Shared definitions as DuckDB macros.
MACROS = """
CREATE OR REPLACE MACRO age_at(d, birth_year) AS year(d) - birth_year;
CREATE OR REPLACE MACRO age_group(age) AS CASE
    WHEN age IS NULL OR age < 0 THEN 'unknown'
    WHEN age <= 4 THEN '0-4'
    WHEN age <= 11 THEN '5-11'
    WHEN age <= 17 THEN '12-17'
    WHEN age <= 59 THEN '18-59'
    ELSE '60+' END;
-- a minor is under 18 (the spec's words: an impossible negative age, born after the date, is under 18
-- too, although its age_group reads unknown); an unknown age is not a minor
CREATE OR REPLACE MACRO is_minor(age) AS coalesce(age < 18, false);
"""


# --------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Window:
    """A period: ``code`` and its first and last day (both included)."""

    code: str
    start: date
    end: date

    def has(self, column: str) -> str:
        """SQL: ``column`` is in the period (false when empty)."""
        return f"({column} BETWEEN DATE '{self.start.isoformat()}' AND DATE '{self.end.isoformat()}')"

    @property
    def s(self) -> str:
        return f"DATE '{self.start.isoformat()}'"

    @property
    def e(self) -> str:
        return f"DATE '{self.end.isoformat()}'"


def window(period: str) -> Window:
    """Parse ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-07`` or ``2024-01-15..2024-03-31``."""
    text = period.strip()
    if ".." in text:
        a, b = (date.fromisoformat(x.strip()) for x in text.split(".."))
        return Window(f"{a.isoformat()}..{b.isoformat()}", a, b)
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m[1])
        return Window(text, date(y, 1, 1), date(y, 12, 31))
    if m := re.fullmatch(r"(\d{4})-([HQ])([1-4])", text.upper()):
        y, months = int(m[1]), 6 if m[2] == "H" else 3
        first = (int(m[3]) - 1) * months + 1
        last = first + months - 1
        return Window(f"{y}-{m[2]}{m[3]}", date(y, first, 1), date(y, last, calendar.monthrange(y, last)[1]))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        y, mo = int(m[1]), int(m[2])
        return Window(text, date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]))
    raise ValueError(f"not a period: {period!r}")


# --------------------------------------------------------------------------- the catalogue, in SQL

@dataclass(frozen=True)
class Ref:
    id: str
    unit: str                   # count | rate | ratio | median | mean
    tables: tuple[str, ...]
    dims: tuple[str, ...]       # allowed breakdowns
    query: Callable[[Window, Mapping], tuple[str, str, str | None]] = field(repr=False)


REFERENCE: dict[str, Ref] = {}


def indicator(id: str, unit: str, tables: Iterable[str], dims: Iterable[str]):
    def register(fn):
        REFERENCE[id] = Ref(id, unit, tuple(tables), tuple(dims), fn)
        return fn
    return register


PERSON = "p.sex, p.nationality, p.legal_status"  # the person's attributes used as breakdowns


# ---- reception and information

@indicator("persons_received", "count", ["persons", "contacts"],
           ["sex", "age_group", "nationality", "legal_status", "site", "service", "topic", "channel"])
def persons_received(w: Window, params: Mapping):
    records = f"""
        WITH c AS (SELECT * FROM contacts WHERE {w.has('"date"')}),
             first AS (SELECT person_id, min("date") AS first_contact FROM c GROUP BY person_id)
        SELECT c.person_id, {PERSON},
               age_group(age_at(first.first_contact, p.birth_year)) AS age_group,
               c.site, c.service, c.topic, c.channel
        FROM c JOIN first USING (person_id) JOIN persons p USING (person_id)"""
    return records, "count(DISTINCT person_id)", None


@indicator("new_persons", "count", ["persons"], ["site", "sex", "age_group", "nationality", "legal_status"])
def new_persons(w: Window, params: Mapping):
    records = f"""
        SELECT p.person_id, p.site, {PERSON}, age_group(age_at(p.registered_on, p.birth_year)) AS age_group
        FROM persons p
        WHERE {w.has('p.registered_on')}"""
    return records, "count(*)", None


@indicator("contacts", "count", ["persons", "contacts"],
           ["site", "service", "topic", "channel", "sex", "age_group", "nationality", "legal_status"])
def contacts(w: Window, params: Mapping):
    records = f"""
        SELECT c.site, c.service, c.topic, c.channel, {PERSON},
               age_group(age_at(c."date", p.birth_year)) AS age_group
        FROM contacts c JOIN persons p USING (person_id)
        WHERE {w.has('c."date"')}"""
    return records, "count(*)", None


@indicator("contacts_per_person", "ratio", ["persons", "contacts"], ["site", "sex", "nationality", "legal_status"])
def contacts_per_person(w: Window, params: Mapping):
    records = f"""
        SELECT c.person_id, c.site, {PERSON}
        FROM contacts c JOIN persons p USING (person_id)
        WHERE {w.has('c."date"')}"""
    return records, "count(*)", "count(DISTINCT person_id)"


@indicator("interpreter_rate", "rate", ["persons", "contacts"], ["site", "nationality"])
def interpreter_rate(w: Window, params: Mapping):
    records = f"""
        SELECT c.site, p.nationality, c.interpreter
        FROM contacts c JOIN persons p USING (person_id)
        WHERE {w.has('c."date"')} AND c.interpreter IS NOT NULL"""
    return records, "count(*) FILTER (WHERE interpreter)", "count(*)"


# ---- case management

CASE_DIMS = ["site", "case_type", "risk_level"]


@indicator("cases_opened", "count", ["persons", "cases"],
           ["site", "case_type", "risk_level", "sex", "age_group", "nationality"])
def cases_opened(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level, p.sex, p.nationality,
               age_group(age_at(k.opened_on, p.birth_year)) AS age_group
        FROM cases k JOIN persons p USING (person_id)
        WHERE {w.has('k.opened_on')}"""
    return records, "count(*)", None


@indicator("cases_active", "count", ["persons", "cases"], CASE_DIMS)
def cases_active(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level
        FROM cases k
        WHERE k.opened_on <= {w.e} AND (k.closed_on IS NULL OR k.closed_on >= {w.s})"""
    return records, "count(*)", None


@indicator("cases_open_at_end", "count", ["persons", "cases"], CASE_DIMS)
def cases_open_at_end(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level
        FROM cases k
        WHERE k.opened_on <= {w.e} AND (k.closed_on IS NULL OR k.closed_on > {w.e})"""
    return records, "count(*)", None


@indicator("cases_closed", "count", ["persons", "cases"], ["site", "case_type", "closure_reason"])
def cases_closed(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.closure_reason
        FROM cases k
        WHERE {w.has('k.closed_on')}"""
    return records, "count(*)", None


@indicator("assessment_on_time_rate", "rate", ["persons", "cases"], CASE_DIMS)
def assessment_on_time_rate(w: Window, params: Mapping):
    d = params["assessment_deadlines"]
    records = f"""
        SELECT k.site, k.case_type, k.risk_level,
               k.assessed_on IS NOT NULL
               AND k.assessed_on - k.opened_on <= CASE k.risk_level WHEN 'high' THEN {int(d['high'])}
                                                                   WHEN 'medium' THEN {int(d['medium'])}
                                                                   WHEN 'low' THEN {int(d['low'])} END
               AS on_time
        FROM cases k
        WHERE {w.has('k.opened_on')} AND k.risk_level IN ('high', 'medium', 'low')"""
    return records, "count(*) FILTER (WHERE on_time)", "count(*)"


@indicator("care_plan_on_time_rate", "rate", ["persons", "cases"], CASE_DIMS)
def care_plan_on_time_rate(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level,
               k.care_plan_on IS NOT NULL
               AND k.care_plan_on - k.assessed_on <= {int(params['care_plan_deadline'])} AS on_time
        FROM cases k
        WHERE {w.has('k.assessed_on')}"""
    return records, "count(*) FILTER (WHERE on_time)", "count(*)"


@indicator("case_duration_median_days", "median", ["persons", "cases"], CASE_DIMS)
def case_duration_median_days(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level, k.closed_on - k.opened_on AS days
        FROM cases k
        WHERE {w.has('k.closed_on')}"""
    return records, "median(days::DOUBLE)", "count(days)"


@indicator("reviews_overdue", "count", ["persons", "cases"], CASE_DIMS)
def reviews_overdue(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.risk_level
        FROM cases k
        WHERE k.opened_on <= {w.e} AND (k.closed_on IS NULL OR k.closed_on > {w.e})
          AND {w.e} - coalesce(k.last_review_on, k.care_plan_on, k.assessed_on, k.opened_on)
              > {int(params['review_overdue_days'])}"""
    return records, "count(*)", None


@indicator("caseload_per_caseworker", "ratio", ["persons", "cases"], ["site", "case_type"])
def caseload_per_caseworker(w: Window, params: Mapping):
    records = f"""
        SELECT k.site, k.case_type, k.caseworker_id
        FROM cases k
        WHERE k.opened_on <= {w.e} AND (k.closed_on IS NULL OR k.closed_on >= {w.s})
          AND k.caseworker_id IS NOT NULL"""
    return records, "count(*)", "count(DISTINCT caseworker_id)"


# ---- referrals

@indicator("referrals_made", "count", ["persons", "referrals"],
           ["service_type", "partner", "status", "site_of_case", "sex", "age_group", "nationality"])
def referrals_made(w: Window, params: Mapping):
    # a referral's site is its case's site
    records = f"""
        SELECT r.service_type, r.partner, r.status, k.site AS site_of_case, p.sex, p.nationality,
               age_group(age_at(r.referred_on, p.birth_year)) AS age_group
        FROM referrals r JOIN persons p USING (person_id)
             LEFT JOIN (SELECT DISTINCT ON (case_id) case_id, site FROM cases) k ON k.case_id = r.case_id
        WHERE {w.has('r.referred_on')}"""
    return records, "count(*)", None


@indicator("referral_completion_rate", "rate", ["persons", "referrals"], ["service_type", "partner"])
def referral_completion_rate(w: Window, params: Mapping):
    records = f"""
        SELECT r.service_type, r.partner, r.status = 'completed' AS completed
        FROM referrals r
        WHERE {w.has('r.referred_on')}"""
    return records, "count(*) FILTER (WHERE completed)", "count(*)"


@indicator("referral_days_to_completion_median", "median", ["persons", "referrals"], ["service_type"])
def referral_days_to_completion_median(w: Window, params: Mapping):
    records = f"""
        SELECT r.service_type, r.status_on - r.referred_on AS days
        FROM referrals r
        WHERE r.status = 'completed' AND {w.has('r.status_on')}"""
    return records, "median(days::DOUBLE)", "count(days)"


# ---- detention

@indicator("detention_placements", "count", ["persons", "detention_stays"],
           ["centre", "sex", "age_group", "nationality", "with_children"])
def detention_placements(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, p.sex, p.nationality, s.with_children,
               age_group(age_at(s.entered_on, p.birth_year)) AS age_group
        FROM detention_stays s JOIN persons p USING (person_id)
        WHERE {w.has('s.entered_on')}"""
    return records, "count(*)", None


@indicator("detention_persons_held", "count", ["persons", "detention_stays"], ["centre", "sex", "nationality"])
def detention_persons_held(w: Window, params: Mapping):
    records = f"""
        SELECT s.person_id, s.centre, p.sex, p.nationality
        FROM detention_stays s JOIN persons p USING (person_id)
        WHERE s.entered_on <= {w.e} AND (s.left_on IS NULL OR s.left_on >= {w.s})"""
    return records, "count(DISTINCT person_id)", None


def length_band(days: str) -> str:
    """Bands of detention length in days: 0-7, 8-30, 31-60, 61-90, 91+."""
    return f"""CASE WHEN {days} IS NULL OR {days} < 0 THEN 'unknown' WHEN {days} < 8 THEN '0-7'
        WHEN {days} < 31 THEN '8-30' WHEN {days} < 61 THEN '31-60' WHEN {days} < 91 THEN '61-90' ELSE '91+' END"""


@indicator("detention_exits", "count", ["persons", "detention_stays"], ["centre", "outcome", "detention_length"])
def detention_exits(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.outcome, {length_band('(s.left_on - s.entered_on)')} AS detention_length
        FROM detention_stays s
        WHERE {w.has('s.left_on')}"""
    return records, "count(*)", None


@indicator("detention_duration_mean_days", "mean", ["persons", "detention_stays"], ["centre", "outcome"])
def detention_duration_mean_days(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.outcome, s.left_on - s.entered_on AS days
        FROM detention_stays s
        WHERE {w.has('s.left_on')}"""
    return records, "sum(days)", "count(days)"


@indicator("detention_duration_median_days", "median", ["persons", "detention_stays"], ["centre", "outcome"])
def detention_duration_median_days(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.outcome, s.left_on - s.entered_on AS days
        FROM detention_stays s
        WHERE {w.has('s.left_on')}"""
    return records, "median(days::DOUBLE)", "count(days)"


def _sql_list(codes: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in codes)


@indicator("removal_rate", "rate", ["persons", "detention_stays"], ["centre", "nationality"])
def removal_rate(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, p.nationality, s.outcome IN ({_sql_list(REMOVAL_OUTCOMES)}) AS removed
        FROM detention_stays s JOIN persons p USING (person_id)
        WHERE {w.has('s.left_on')}
          AND coalesce(s.outcome, 'unknown') NOT IN ('unknown', 'transferred_centre')"""
    return records, "count(*) FILTER (WHERE removed)", "count(*)"


@indicator("release_by_court_rate", "rate", ["persons", "detention_stays"], ["centre"])
def release_by_court_rate(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.outcome IN ({_sql_list(COURT_RELEASES)}) AS by_court
        FROM detention_stays s
        WHERE {w.has('s.left_on')}
          AND coalesce(s.outcome, 'unknown') NOT IN ('unknown', 'transferred_centre')"""
    return records, "count(*) FILTER (WHERE by_court)", "count(*)"


@indicator("children_in_detention", "count", ["persons", "detention_stays"], ["centre", "with_children"])
def children_in_detention(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.with_children
        FROM detention_stays s JOIN persons p USING (person_id)
        WHERE {w.has('s.entered_on')} AND is_minor(age_at(s.entered_on, p.birth_year))"""
    return records, "count(*)", None


@indicator("assistance_rate", "rate", ["persons", "detention_stays"], ["centre"])
def assistance_rate(w: Window, params: Mapping):
    records = f"""
        SELECT s.centre, s.assisted
        FROM detention_stays s
        WHERE {w.has('s.entered_on')} AND s.assisted IS NOT NULL"""
    return records, "count(*) FILTER (WHERE assisted)", "count(*)"


# ---- legal actions

@indicator("legal_actions_filed", "count", ["persons", "legal_actions"],
           ["action_type", "centre_of_stay", "sex", "nationality"])
def legal_actions_filed(w: Window, params: Mapping):
    # an action's centre is its detention stay's centre (unknown in an extract without stays)
    stays = ("(SELECT DISTINCT ON (stay_id) stay_id, centre FROM detention_stays)"
             if "detention_stays" in params.get("_tables", ()) else "(SELECT NULL AS stay_id, NULL AS centre)")
    records = f"""
        SELECT a.action_type, s.centre AS centre_of_stay, p.sex, p.nationality
        FROM legal_actions a JOIN persons p USING (person_id)
             LEFT JOIN {stays} s ON s.stay_id = a.stay_id
        WHERE {w.has('a.filed_on')}"""
    return records, "count(*)", None


@indicator("legal_action_success_rate", "rate", ["persons", "legal_actions"], ["action_type"])
def legal_action_success_rate(w: Window, params: Mapping):
    records = f"""
        SELECT a.action_type, a.result = 'won' AS won
        FROM legal_actions a
        WHERE {w.has('a.decided_on')} AND a.result IN ('won', 'lost')"""
    return records, "count(*) FILTER (WHERE won)", "count(*)"


# ---- protection

# The spec's breakdown `flag` (a person in each flag) is called `protection_flag` in the catalogue and
# the tables: `flag` is already the status column of the indicator table.
@indicator("persons_with_protection_concerns", "count", ["persons", "protection_flags"],
           ["protection_flag", "sex", "age_group", "nationality"])
def persons_with_protection_concerns(w: Window, params: Mapping):
    records = f"""
        WITH f AS (SELECT * FROM protection_flags WHERE {w.has('identified_on')}),
             first AS (SELECT person_id, min(identified_on) AS first_identified FROM f GROUP BY person_id)
        SELECT f.person_id, f.flag AS protection_flag, {PERSON},
               age_group(age_at(first.first_identified, p.birth_year)) AS age_group
        FROM f JOIN first USING (person_id) JOIN persons p USING (person_id)"""
    return records, "count(DISTINCT person_id)", None


@indicator("trafficking_referral_rate", "rate", ["persons", "protection_flags", "referrals"], ["sex", "nationality"])
def trafficking_referral_rate(w: Window, params: Mapping):
    records = f"""
        WITH t AS (SELECT person_id, min(identified_on) AS first_flag
                   FROM protection_flags
                   WHERE flag = 'trafficking_suspected' AND {w.has('identified_on')}
                   GROUP BY person_id)
        SELECT t.person_id, p.sex, p.nationality,
               EXISTS (SELECT 1 FROM referrals r
                       WHERE r.person_id = t.person_id AND r.service_type = 'anti_trafficking'
                         AND r.referred_on - t.first_flag BETWEEN 0 AND {int(params['trafficking_referral_days'])})
               AS referred
        FROM t JOIN persons p USING (person_id)"""
    return records, "count(*) FILTER (WHERE referred)", "count(*)"


@indicator("unaccompanied_minors_received", "count", ["persons", "contacts", "protection_flags"],
           ["site", "sex", "age_group", "nationality"])
def unaccompanied_minors_received(w: Window, params: Mapping):
    records = f"""
        WITH c AS (SELECT * FROM contacts WHERE {w.has('"date"')}),
             first AS (SELECT person_id, min("date") AS first_contact FROM c GROUP BY person_id),
             uam AS (SELECT DISTINCT person_id FROM protection_flags
                     WHERE flag = 'unaccompanied_minor' AND identified_on <= {w.e})
        SELECT c.person_id, c.site, {PERSON},
               age_group(age_at(first.first_contact, p.birth_year)) AS age_group
        FROM c JOIN first USING (person_id) JOIN uam USING (person_id) JOIN persons p USING (person_id)
        WHERE is_minor(age_at(first.first_contact, p.birth_year))"""
    return records, "count(DISTINCT person_id)", None


# --------------------------------------------------------------------------- running it

VALUE_SQL = {
    # exact integer arithmetic, rounding half away from zero (numerator, denominator >= 0)
    "count": "numerator::DOUBLE",
    "rate": "CASE WHEN denominator > 0 THEN ((2000 * numerator + denominator) // (2 * denominator)) / 10 END",
    "ratio": "CASE WHEN denominator > 0 THEN ((200 * numerator + denominator) // (2 * denominator)) / 100 END",
    # a median of whole days is a whole or half day: one decimal is exact
    "median": "CASE WHEN denominator > 0 THEN round(numerator, 1) END",
    "mean": "CASE WHEN denominator > 0 THEN sign(numerator) * ((20 * abs(numerator) + denominator) "
            "// (2 * denominator)) / 10 END",
}


def indicator_sql(ref: Ref, w: Window, params: Mapping | None = None, dims: Iterable[str] | None = None) -> str:
    """One query: the indicator's total and each allowed single breakdown (GROUPING SETS).

    ``dims`` restricts the breakdowns to those among them (default: all the indicator allows).
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    records, numerator, denominator = ref.query(w, params)
    use = [d for d in ref.dims if dims is None or d in set(dims)]
    cats = "".join(f",\n               coalesce(CAST(\"{d}\" AS VARCHAR), 'unknown') AS \"_{d}\"" for d in use)
    sets = ", ".join(["()"] + [f'("_{d}")' for d in use])
    dimension = "CASE " + " ".join(f"WHEN grouping(\"_{d}\") = 0 THEN '{d}'" for d in use) + " END" if use else "NULL"
    category = "coalesce(" + ", ".join(f'"_{d}"' for d in use) + ")" if use else "NULL"
    numerator_out = "NULL::BIGINT" if ref.unit in ("median", "mean") else "numerator::BIGINT"
    return f"""
WITH records AS ({records}
),
categorised AS (
        SELECT *{cats}
        FROM records
),
grouped AS (
        SELECT {dimension}::VARCHAR AS dimension,
               {category}::VARCHAR AS category,
               {numerator} AS numerator,
               {denominator or 'NULL'} AS denominator
        FROM categorised
        GROUP BY GROUPING SETS ({sets})
)
SELECT '{ref.id}' AS indicator, '{w.code}' AS period, dimension, category,
       ({VALUE_SQL[ref.unit]})::DOUBLE AS value,
       {numerator_out} AS numerator,
       denominator::BIGINT AS denominator,
       CASE WHEN '{ref.unit}' <> 'count' AND denominator = 0 THEN 'no_data' END AS flag
FROM grouped
"""


class _ArrowStream:
    """A polars frame seen through the Arrow PyCapsule stream interface (no pyarrow needed)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema=None):
        return self.frame.__arrow_c_stream__(requested_schema)


def connect(tables: Mapping[str, pl.DataFrame], materialize: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the accepted tables (codes as text) and the shared macros.

    ``materialize`` copies them into native DuckDB tables (faster to query); otherwise the Arrow
    data is only registered as views.
    """
    con = duckdb.connect()
    for name, frame in tables.items():
        frame = frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
        arrow = _ArrowStream(frame)
        if materialize:
            con.register(f"_arrow_{name}", arrow)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "_arrow_{name}"')
            con.unregister(f"_arrow_{name}")
        else:
            con.register(name, arrow)
    con.execute(MACROS)
    return con


def available_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


SCHEMA = {"indicator": pl.String, "period": pl.String, "dimension": pl.String, "category": pl.String,
          "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64, "flag": pl.String}


def compute(con: duckdb.DuckDBPyConnection, period: str, indicators: Iterable[str] | None = None,
            params: Mapping | None = None, dims: Iterable[str] | None = None) -> pl.DataFrame:
    """Every indicator asked for (default: all), total and each allowed single breakdown (or those among
    ``dims``), as a tidy frame. Indicators whose tables are absent give no rows.
    """
    w = window(period)
    have = available_tables(con)
    dims = None if dims is None else list(dims)
    frames = []
    for id in (indicators or REFERENCE):
        ref = REFERENCE[id]
        if not set(ref.tables) <= have:
            continue
        rows = con.execute(indicator_sql(ref, w, {**(params or {}), "_tables": have}, dims)).fetchall()
        frames.append(pl.DataFrame(rows, schema=SCHEMA, orient="row"))
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(frames)


def tidy(table: pl.DataFrame) -> pl.DataFrame:
    """A wide indicator table (``indicator, period, <dims>, value, numerator, denominator, flag``)
    with single breakdowns only, made long like :func:`compute`'s output."""
    fixed = {"indicator", "period", "value", "numerator", "denominator", "flag"}
    dims = [c for c in table.columns if c not in fixed]
    if not dims:
        return table.with_columns(pl.lit(None, pl.String).alias("dimension"),
                                  pl.lit(None, pl.String).alias("category")).select(TIDY_COLUMNS).cast(SCHEMA)
    if table.height and (table.select(pl.sum_horizontal(pl.col(dims).is_not_null())).to_series() > 1).any():
        raise ValueError("tidy() takes single breakdowns only")
    dimension = pl.coalesce([pl.when(pl.col(d).is_not_null()).then(pl.lit(d)) for d in dims])
    category = pl.coalesce([pl.col(d).cast(pl.String) for d in dims])
    return (table.with_columns(dimension.alias("dimension"), category.alias("category"))
            .select(TIDY_COLUMNS).cast(SCHEMA))


# --------------------------------------------------------------------------- an organisation's catalogue
# The indicators of tests/catalogues/org.yaml, written from its definitions (not from the engine).

ORG_REFERENCE: dict[str, Ref] = {}


def org_indicator(id: str, unit: str, dims: Iterable[str]):
    def register(fn):
        ORG_REFERENCE[id] = Ref(id, unit, ("persons", "cases"), tuple(dims), fn)
        return fn
    return register


def org_age_band(age: str) -> str:
    return f"""CASE WHEN {age} IS NULL OR {age} < 0 THEN 'unknown' WHEN {age} < 6 THEN '0-5'
        WHEN {age} < 12 THEN '6-11' WHEN {age} < 15 THEN '12-14' WHEN {age} < 18 THEN '15-17' ELSE '18+' END"""


def org_case_length(days: str) -> str:
    return f"""CASE WHEN {days} IS NULL OR {days} < 0 THEN 'unknown' WHEN {days} < 31 THEN '0-30'
        WHEN {days} < 91 THEN '31-90' WHEN {days} < 181 THEN '91-180' ELSE '181+' END"""


@org_indicator("org.concern_cases", "count", ["org.concern_type", "org.age_band", "sex", "site"])
def org_concern_cases(w: Window, params: Mapping):
    records = f"""
        SELECT k.concern_type AS "org.concern_type", {org_age_band('age_at(k.opened_on, p.birth_year)')} AS "org.age_band",
               p.sex, k.site
        FROM cases k JOIN persons p USING (person_id)
        WHERE {w.has('k.opened_on')} AND k.concern_type IS NOT NULL"""
    return records, "count(*)", None


@org_indicator("org.children_with_serious_concern", "count", ["org.concern_type", "sex"])
def org_children_with_serious_concern(w: Window, params: Mapping):
    records = f"""
        SELECT k.person_id, k.concern_type AS "org.concern_type", p.sex
        FROM cases k JOIN persons p USING (person_id)
        WHERE {w.has('k.opened_on')} AND k.concern_type IN ('violence', 'exploitation')
          AND is_minor(age_at(k.opened_on, p.birth_year))"""
    return records, "count(DISTINCT person_id)", None


@org_indicator("org.concern_assessed_rate", "rate", ["org.concern_type", "site"])
def org_concern_assessed_rate(w: Window, params: Mapping):
    limit = int(params.get("org.assessment_days", 5))
    records = f"""
        SELECT k.concern_type AS "org.concern_type", k.site,
               coalesce(k.assessed_on IS NOT NULL AND k.assessed_on - k.opened_on <= {limit}, false) AS on_time
        FROM cases k
        WHERE {w.has('k.opened_on')} AND k.concern_type IS NOT NULL"""
    return records, "count(*) FILTER (WHERE on_time)", "count(*)"


@org_indicator("org.concern_length_median", "median", ["org.concern_type", "org.case_length"])
def org_concern_length_median(w: Window, params: Mapping):
    records = f"""
        SELECT k.concern_type AS "org.concern_type", {org_case_length('(k.closed_on - k.opened_on)')} AS "org.case_length",
               k.closed_on - k.opened_on AS days
        FROM cases k
        WHERE {w.has('k.closed_on')} AND k.concern_type IS NOT NULL"""
    return records, "median(days::DOUBLE)", "count(days)"


# The indicators beyond persons (activities, appointments, strategic litigation, service map).
from tests import reference_sql_beyond  # noqa: E402,F401
