"""The indicator catalogue in plain pandas: a straightforward implementation for the benchmark.

Written from the indicator spec (``/work/shared/spec/indicators.md``), like the DuckDB reference
``tests/reference_sql.py``, whose tidy output it reproduces:

    data = prepare(extract.tables)        # polars -> pandas (not timed by the benchmark)
    table = compute(data, "2025-Q4")      # indicator, period, dimension, category, value, numerator, ...

One function per indicator builds its records (a pandas frame with a column per breakdown
dimension and what its measure needs); :func:`aggregate` gives the total and each single
breakdown. No pyarrow needed: columns are converted through numpy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reference_sql import (COURT_RELEASES, DEFAULT_PARAMS, REFERENCE,  # noqa: E402
                                 REMOVAL_OUTCOMES, SCHEMA, TIDY_COLUMNS, Window, window)

# --------------------------------------------------------------------------- data


def _column(s: pl.Series):
    """A polars column as pandas data (via numpy)."""
    if isinstance(s.dtype, pl.Enum):
        codes = s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        return pd.Categorical.from_codes(codes, categories=s.dtype.categories.to_list())
    if isinstance(s.dtype, pl.Categorical):
        return pd.Categorical(s.cast(pl.String).to_numpy())
    if s.dtype == pl.Date:
        return s.to_numpy().astype("datetime64[s]")
    if s.dtype == pl.Boolean:
        return pd.array(s.to_numpy(), dtype="boolean")
    return s.to_numpy()


class Data:
    """The accepted tables as pandas frames, and the persons' attributes indexed by person_id."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self.tables = dict(tables)
        self.people = self.tables["persons"].set_index("person_id")[
            ["sex", "nationality", "legal_status", "birth_year"]]

    def has(self, name: str) -> bool:
        return name in self.tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def with_person(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the person's sex, nationality, legal_status and birth_year."""
        return frame.join(self.people, on="person_id")


def prepare(tables: Mapping[str, pl.DataFrame]) -> Data:
    return Data({name: pd.DataFrame({c: _column(frame[c]) for c in frame.columns})
                 for name, frame in tables.items()})


# --------------------------------------------------------------------------- shared definitions

def _in(dates: pd.Series, w: Window) -> pd.Series:
    return dates.between(pd.Timestamp(w.start), pd.Timestamp(w.end))


def _days(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end - start).dt.days


def _age(dates: pd.Series, birth_year: pd.Series) -> pd.Series:
    return dates.dt.year - birth_year


def _age_group(age: pd.Series) -> np.ndarray:
    a = age.to_numpy(dtype="float64", na_value=np.nan)
    return np.select([np.isnan(a) | (a < 0), a <= 4, a <= 11, a <= 17, a <= 59],
                     ["unknown", "0-4", "5-11", "12-17", "18-59"], "60+")


def _minor(age: pd.Series) -> pd.Series:
    return (age < 18).fillna(False).astype(bool)


def _label(s: pd.Series) -> pd.Series:
    """Breakdown categories: empty -> unknown, booleans -> true/false."""
    if isinstance(s.dtype, pd.BooleanDtype) or s.dtype == bool:
        values = s.to_numpy(dtype=object, na_value=None)
        return pd.Series(np.where(pd.isna(values), "unknown", np.where(values == True, "true", "false")),  # noqa: E712
                         index=s.index)
    if isinstance(s.dtype, pd.CategoricalDtype):
        if "unknown" not in s.cat.categories:
            s = s.cat.add_categories(["unknown"])
        return s.fillna("unknown")
    return s.fillna("unknown")


def _ratio_round(num: int, den: int, scale: int, decimals: int) -> float:
    """scale * num / den rounded half away from zero to ``decimals`` (num, den >= 0)."""
    unit = 10 ** decimals
    return ((2 * scale * unit * num + den) // (2 * den)) / unit


# --------------------------------------------------------------------------- aggregation

# measure: rows | persons | rate (column hit) | ratio | median (column days) | mean (column days)
def _measure(frame, measure: str):
    """(numerator, denominator) for a frame or a groupby, as Series or scalars."""
    if measure == "rows":
        return frame.size() if hasattr(frame, "ngroups") else len(frame), None
    if measure == "persons":
        return frame["person_id"].nunique(), None
    if measure == "rate":
        return frame["hit"].sum(), (frame.size() if hasattr(frame, "ngroups") else len(frame))
    if measure == "ratio":
        return (frame.size() if hasattr(frame, "ngroups") else len(frame)), frame["person_id"].nunique()
    if measure == "median":
        return frame["days"].median(), frame["days"].count()
    if measure == "mean":
        return frame["days"].sum(), frame["days"].count()
    raise ValueError(measure)


def _row(id: str, unit: str, code: str, dim, cat, num, den) -> tuple:
    num = None if num is None or (isinstance(num, float) and np.isnan(num)) else num
    den = None if den is None else int(den)
    flag = None
    if unit == "count":
        return (id, code, dim, cat, float(num), int(num), None, None)
    if unit in ("rate", "ratio"):
        num = int(num or 0)
        if not den:
            return (id, code, dim, cat, None, num, den, "no_data")
        value = _ratio_round(num, den, 100, 1) if unit == "rate" else _ratio_round(num, den, 1, 2)
        return (id, code, dim, cat, value, num, den, flag)
    if not den:
        return (id, code, dim, cat, None, None, den, "no_data")
    if unit == "median":
        return (id, code, dim, cat, round(float(num), 1), None, den, flag)
    s = int(num)  # mean: sum of whole days
    value = (1 if s >= 0 else -1) * ((20 * abs(s) + den) // (2 * den)) / 10
    return (id, code, dim, cat, value, None, den, flag)


def aggregate(id: str, unit: str, measure: str, records: pd.DataFrame, dims: Iterable[str],
              code: str) -> list[tuple]:
    """The total row and one row per observed category of each dimension."""
    num, den = _measure(records, measure)
    rows = [_row(id, unit, code, None, None, num, den)]
    for dim in dims:
        g = records.groupby(_label(records[dim]), observed=True, sort=False)
        num, den = _measure(g, measure)
        den_of = den.to_dict() if den is not None else {}
        for cat, n in num.items():
            rows.append(_row(id, unit, code, dim, str(cat), n, den_of.get(cat)))
    return rows


# --------------------------------------------------------------------------- the indicators

Records = Callable[[Data, Window, Mapping], tuple[pd.DataFrame, str]]
INDICATORS: dict[str, Records] = {}


def indicator(fn: Records) -> Records:
    INDICATORS[fn.__name__] = fn
    return fn


def _contacts_in(d: Data, w: Window) -> pd.DataFrame:
    c = d["contacts"]
    return c[_in(c["date"], w)]


@indicator
def persons_received(d, w, params):
    c = d.with_person(_contacts_in(d, w))
    first = c.groupby("person_id")["date"].transform("min")
    c = c.assign(age_group=_age_group(_age(first, c["birth_year"])))
    return c, "persons"


@indicator
def new_persons(d, w, params):
    p = d["persons"]
    p = p[_in(p["registered_on"], w)]
    return p.assign(age_group=_age_group(_age(p["registered_on"], p["birth_year"]))), "rows"


@indicator
def contacts(d, w, params):
    c = d.with_person(_contacts_in(d, w))
    return c.assign(age_group=_age_group(_age(c["date"], c["birth_year"]))), "rows"


@indicator
def contacts_per_person(d, w, params):
    return d.with_person(_contacts_in(d, w)), "ratio"


@indicator
def interpreter_rate(d, w, params):
    c = _contacts_in(d, w)
    c = d.with_person(c[c["interpreter"].notna()])
    return c.assign(hit=c["interpreter"].astype(bool)), "rate"


def _cases_opened_in(d, w):
    k = d["cases"]
    return k[_in(k["opened_on"], w)]


@indicator
def cases_opened(d, w, params):
    k = d.with_person(_cases_opened_in(d, w))
    return k.assign(age_group=_age_group(_age(k["opened_on"], k["birth_year"]))), "rows"


@indicator
def cases_active(d, w, params):
    k = d["cases"]
    return k[(k["opened_on"] <= pd.Timestamp(w.end))
             & (k["closed_on"].isna() | (k["closed_on"] >= pd.Timestamp(w.start)))], "rows"


def _open_at_end(k: pd.DataFrame, w: Window) -> pd.DataFrame:
    end = pd.Timestamp(w.end)
    return k[(k["opened_on"] <= end) & (k["closed_on"].isna() | (k["closed_on"] > end))]


@indicator
def cases_open_at_end(d, w, params):
    return _open_at_end(d["cases"], w), "rows"


@indicator
def cases_closed(d, w, params):
    k = d["cases"]
    return k[_in(k["closed_on"], w)], "rows"


@indicator
def assessment_on_time_rate(d, w, params):
    k = _cases_opened_in(d, w)
    k = k[k["risk_level"].isin(["high", "medium", "low"])]
    deadline = k["risk_level"].astype(str).map(params["assessment_deadlines"])
    hit = k["assessed_on"].notna() & (_days(k["opened_on"], k["assessed_on"]) <= deadline)
    return k.assign(hit=hit), "rate"


@indicator
def care_plan_on_time_rate(d, w, params):
    k = d["cases"]
    k = k[_in(k["assessed_on"], w)]
    hit = k["care_plan_on"].notna() & (_days(k["assessed_on"], k["care_plan_on"]) <= params["care_plan_deadline"])
    return k.assign(hit=hit), "rate"


@indicator
def case_duration_median_days(d, w, params):
    k = d["cases"]
    k = k[_in(k["closed_on"], w)]
    return k.assign(days=_days(k["opened_on"], k["closed_on"])), "median"


@indicator
def reviews_overdue(d, w, params):
    k = _open_at_end(d["cases"], w)
    follow_up = (k["last_review_on"].fillna(k["care_plan_on"]).fillna(k["assessed_on"])
                 .fillna(k["opened_on"]))
    late = (pd.Timestamp(w.end) - follow_up).dt.days > params["review_overdue_days"]
    return k[late], "rows"


def _referrals_made(d, w):
    r = d["referrals"]
    return r[_in(r["referred_on"], w)]


@indicator
def referrals_made(d, w, params):
    r = d.with_person(_referrals_made(d, w))
    return r.assign(age_group=_age_group(_age(r["referred_on"], r["birth_year"]))), "rows"


@indicator
def referral_completion_rate(d, w, params):
    r = _referrals_made(d, w)
    return r.assign(hit=r["status"] == "completed"), "rate"


@indicator
def referral_days_to_completion_median(d, w, params):
    r = d["referrals"]
    r = r[(r["status"] == "completed") & _in(r["status_on"], w)]
    return r.assign(days=_days(r["referred_on"], r["status_on"])), "median"


def _stays_entered(d, w):
    s = d["detention_stays"]
    return s[_in(s["entered_on"], w)]


def _stays_left(d, w):
    s = d["detention_stays"]
    return s[_in(s["left_on"], w)]


@indicator
def detention_placements(d, w, params):
    s = d.with_person(_stays_entered(d, w))
    return s.assign(age_group=_age_group(_age(s["entered_on"], s["birth_year"]))), "rows"


@indicator
def detention_persons_held(d, w, params):
    s = d["detention_stays"]
    s = s[(s["entered_on"] <= pd.Timestamp(w.end)) & (s["left_on"].isna() | (s["left_on"] >= pd.Timestamp(w.start)))]
    return d.with_person(s), "persons"


@indicator
def detention_exits(d, w, params):
    return _stays_left(d, w), "rows"


@indicator
def detention_duration_mean_days(d, w, params):
    s = _stays_left(d, w)
    return s.assign(days=_days(s["entered_on"], s["left_on"])), "mean"


@indicator
def detention_duration_median_days(d, w, params):
    s = _stays_left(d, w)
    return s.assign(days=_days(s["entered_on"], s["left_on"])), "median"


def _exits_with_known_outcome(d, w):
    s = _stays_left(d, w)
    outcome = s["outcome"].astype(object)
    return s[outcome.notna() & ~outcome.isin(["unknown", "transferred_centre"])]


@indicator
def removal_rate(d, w, params):
    s = d.with_person(_exits_with_known_outcome(d, w))
    return s.assign(hit=s["outcome"].isin(REMOVAL_OUTCOMES)), "rate"


@indicator
def release_by_court_rate(d, w, params):
    s = _exits_with_known_outcome(d, w)
    return s.assign(hit=s["outcome"].isin(COURT_RELEASES)), "rate"


@indicator
def children_in_detention(d, w, params):
    s = d.with_person(_stays_entered(d, w))
    return s[_minor(_age(s["entered_on"], s["birth_year"]))], "rows"


@indicator
def assistance_rate(d, w, params):
    s = _stays_entered(d, w)
    s = s[s["assisted"].notna()]
    return s.assign(hit=s["assisted"].astype(bool)), "rate"


@indicator
def legal_actions_filed(d, w, params):
    a = d["legal_actions"]
    return d.with_person(a[_in(a["filed_on"], w)]), "rows"


@indicator
def legal_action_success_rate(d, w, params):
    a = d["legal_actions"]
    a = a[_in(a["decided_on"], w) & a["result"].isin(["won", "lost"])]
    return a.assign(hit=a["result"] == "won"), "rate"


@indicator
def persons_with_protection_concerns(d, w, params):
    f = d["protection_flags"]
    f = d.with_person(f[_in(f["identified_on"], w)])
    first = f.groupby("person_id")["identified_on"].transform("min")
    return f.assign(age_group=_age_group(_age(first, f["birth_year"])), protection_flag=f["flag"]), "persons"


@indicator
def trafficking_referral_rate(d, w, params):
    f = d["protection_flags"]
    f = f[(f["flag"] == "trafficking_suspected") & _in(f["identified_on"], w)]
    first = f.groupby("person_id")["identified_on"].min().rename("first_flag").reset_index()
    r = d["referrals"]
    r = r.loc[r["service_type"] == "anti_trafficking", ["person_id", "referred_on"]].merge(first, on="person_id")
    days = _days(r["first_flag"], r["referred_on"])
    referred = r.loc[(days >= 0) & (days <= params["trafficking_referral_days"]), "person_id"].unique()
    first = d.with_person(first)
    return first.assign(hit=first["person_id"].isin(referred)), "rate"


@indicator
def unaccompanied_minors_received(d, w, params):
    f = d["protection_flags"]
    uam = f.loc[(f["flag"] == "unaccompanied_minor") & (f["identified_on"] <= pd.Timestamp(w.end)), "person_id"]
    c = _contacts_in(d, w)
    first = c.groupby("person_id")["date"].transform("min")
    age = _age(first, c["person_id"].map(d.people["birth_year"]))
    c = d.with_person(c[c["person_id"].isin(uam.unique()) & _minor(age)])
    return c.assign(age_group=_age_group(age[c.index])), "persons"


# --------------------------------------------------------------------------- running it

def compute(data: Data, period: str, indicators: Iterable[str] | None = None, params: Mapping | None = None,
            dims: Iterable[str] | None = None) -> pl.DataFrame:
    """Every indicator asked for (default: all), total and each allowed single breakdown (or those
    among ``dims``), as a tidy polars frame like ``tests.reference_sql.compute``."""
    w = window(period)
    params = {**DEFAULT_PARAMS, **(params or {})}
    keep = None if dims is None else set(dims)
    rows: list[tuple] = []
    for id in (indicators or REFERENCE):
        spec = REFERENCE[id]
        if not all(data.has(t) for t in spec.tables):
            continue
        records, measure = INDICATORS[id](data, w, params)
        use = [d for d in spec.dims if keep is None or d in keep]
        rows += aggregate(id, spec.unit, measure, records, use, w.code)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").select(TIDY_COLUMNS)
