"""Attack suite: an adversary obtains every table offered to partner and public, and subtracts.

On random small extracts over two calendar years (a few sites), the adversary takes, for each
outside audience, every calendar period the audience is offered (partner: years, halves,
quarters, months; public: years, halves, quarters) of ``contacts`` (rows: additive over
periods), ``persons_received`` (distinct persons: sub-additive; ``site`` is a ``multi``
dimension) and ``interpreter_rate`` (a rate over the contacts), in total, by nationality, sex
and site, and crossed sex × nationality. Written independently of the product, it states
everything it knows as linear constraints on the true counts of every category of every
period: shown values (or their rounding interval, and "0 or ≥ k"), "[c]" (any value), "[p]"
(a population from 1 to k−1), "–" (an empty population), absent rows (zero), ``other`` (the sum of the categories not
listed at that level), breakdowns adding up to totals (at least the total for a ``multi``
dimension), crosses to margins, periods to sub-periods, distinct persons at most contacts,
a rate's value with its population being the contacts. An integer programme (scipy's HiGHS)
then gives the minimum and maximum of each hidden count whose true value is from 1 to k−1:
they must differ. Rounded cells must not be pinned either. Ranges and weeks are refused.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indicator_fixtures import load
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from workbench import disclosure
from workbench.exceptions import UnpublishedPeriodError

YEARS = (2024, 2025)
IDS = ["contacts", "persons_received", "interpreter_rate"]
BY = ["nationality", "sex", "site", "sex,nationality"]
DIMS = ("sex", "nationality", "site")
SINGLES = {"contacts": ("nationality", "sex", "site"), "persons_received": ("nationality", "sex", "site"),
           "interpreter_rate": ("nationality", "site")}
CROSSES = {"contacts": [("sex", "nationality")], "persons_received": [("sex", "nationality")]}
MULTI = {"persons_received": {"site"}}
KINDS = {"partner": ("year", "half", "quarter", "month"), "public": ("year", "half", "quarter")}
K = {"partner": 5, "public": 10}
BASE = {"partner": None, "public": 5}


def calendar(audience: str) -> dict[str, list[str]]:
    """Period code -> its children one level down, for the audience's kinds."""
    kinds = KINDS[audience]
    out: dict[str, list[str]] = {}
    for y in YEARS:
        halves = [f"{y}-H{h}" for h in (1, 2)]
        quarters = [f"{y}-Q{q}" for q in range(1, 5)]
        months = [f"{y}-{m:02d}" for m in range(1, 13)]
        out[str(y)] = halves
        for h in (1, 2):
            out[f"{y}-H{h}"] = quarters[2 * h - 2: 2 * h] if "quarter" in kinds else []
        for q in range(1, 5):
            out[f"{y}-Q{q}"] = months[3 * q - 3: 3 * q] if "month" in kinds else []
        for m in months:
            if "month" in kinds:
                out[m] = []
    return out


def level_of(code: str) -> tuple[str, str]:
    """(year, kind) of a calendar period: the level its categories are decided on."""
    kind = "year" if len(code) == 4 else "half" if "-H" in code else "quarter" if "-Q" in code else "month"
    return code[:4], kind


@st.composite
def extracts(draw):
    n = draw(st.integers(3, 14))
    persons = [{"person_id": f"p{i}", "sex": draw(st.sampled_from(["female", "male"])),
                "nationality": draw(st.sampled_from(["TUN", "CIV", "SDN"])), "birth_year": "1990"}
               for i in range(n)]
    day = st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", st.sampled_from(YEARS), st.integers(1, 12),
                    st.integers(1, 28))
    contact = st.builds(lambda p, d, s, i: {"person_id": p, "date": d, "site": s, "interpreter": i},
                        st.sampled_from([p["person_id"] for p in persons]), day,
                        st.sampled_from(["s_a", "s_b", "s_c"]), st.sampled_from(["true", "false"]))
    # A few busy people make cells of k or more, so grouping has something to decide.
    contacts = draw(st.lists(contact, min_size=1, max_size=60))
    return {"persons": persons, "contacts": contacts}


def _key(row: dict) -> tuple:
    return tuple((d, row[d]) for d in DIMS if row.get(d) is not None)


class Adversary:
    """Linear constraints on the true count of every (indicator, period, category) cell."""

    def __init__(self, audience: str, universe: dict[str, set]) -> None:
        self.audience, self.k, self.base = audience, K[audience], BASE[audience]
        self.universe = universe
        self.index: dict[tuple, int] = {}
        self.rows: list[tuple[dict, float, float]] = []
        self.lo: dict[int, float] = {}
        self.hi: dict[int, float] = {}

    def var(self, cell: tuple) -> int:
        if cell not in self.index:
            self.index[cell] = len(self.index)
        return self.index[cell]

    def rel(self, coef: dict, lb: float, ub: float) -> None:
        self.rows.append((coef, lb, ub))

    def cells_of(self, ind: str, period: str, dims: tuple, pattern: dict) -> list[int]:
        """The true cells of block ``dims`` matching ``pattern`` (dimension -> set of categories)."""
        choices = [sorted(pattern[d]) for d in dims]
        return [self.var((ind, period, tuple(zip(dims, combo)))) for combo in itertools.product(*choices)]

    def interval(self, shown: float) -> tuple[float, float]:
        """What a shown count says about the true one: exact, or its rounding interval and '0 or >= k'."""
        if self.base is None:
            return shown, shown
        if shown == 0:
            return 0, 0
        return max(shown - self.base // 2, self.k), shown + (self.base + 1) // 2 - 1

    def structure(self, ind: str, periods: dict[str, list[str]]) -> None:
        for period, children in periods.items():
            total = self.var((ind, period, ()))
            for d in SINGLES[ind]:
                parts = [self.var((ind, period, ((d, c),))) for c in sorted(self.universe[d])]
                if d in MULTI.get(ind, set()):
                    for p in parts:
                        self.rel({p: 1, total: -1}, -np.inf, 0)
                    self.rel({**{p: 1 for p in parts}, total: -1}, 0, np.inf)
                else:
                    self.rel({**{p: 1 for p in parts}, total: -1}, 0, 0)
            for d1, d2 in CROSSES.get(ind, []):
                for a, b in ((d1, d2), (d2, d1)):
                    for ca in sorted(self.universe[a]):
                        margin = self.var((ind, period, ((a, ca),)))
                        cells = [self.var((ind, period, tuple(sorted(((a, ca), (b, cb)), key=lambda x: DIMS.index(x[0])))))
                                 for cb in sorted(self.universe[b])]
                        self.rel({**{c: 1 for c in cells}, margin: -1}, 0, 0)
            if not children:
                continue
            for key in self.keys(ind):
                parent = self.var((ind, period, key))
                kids = [self.var((ind, c, key)) for c in children]
                if ind == "persons_received":
                    for c in kids:
                        self.rel({parent: 1, c: -1}, 0, np.inf)
                    self.rel({parent: 1, **{c: -1 for c in kids}}, -np.inf, 0)
                else:  # contacts and the rate's numerator add up over sub-periods
                    self.rel({parent: 1, **{c: -1 for c in kids}}, 0, 0)

    def keys(self, ind: str) -> list[tuple]:
        out = [()] + [((d, c),) for d in SINGLES[ind] for c in sorted(self.universe[d])]
        for d1, d2 in CROSSES.get(ind, []):
            out += [((d1, a), (d2, b)) for a in sorted(self.universe[d1]) for b in sorted(self.universe[d2])]
        return out

    def read(self, shared: pl.DataFrame, periods: dict[str, list[str]]) -> None:
        """Everything the published rows say."""
        rows = shared.to_dicts()
        by_block: dict[tuple, list[dict]] = defaultdict(list)
        for r in rows:
            by_block[(r["indicator"], tuple(d for d in DIMS if r[d] is not None))].append(r)
        for (ind, dims), members in by_block.items():
            if ind == "interpreter_rate":
                self.read_rate(members, dims)
                continue
            multi = bool(set(dims) & MULTI.get(ind, set()))
            # categories listed at each level, per dimension
            listed: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
            for r in members:
                for d in dims:
                    if r[d] != "other":
                        listed[level_of(r["period"])][d].add(r[d])
            seen: dict[str, set] = defaultdict(set)
            for r in members:
                level = listed[level_of(r["period"])]
                pattern = {d: ({r[d]} if r[d] != "other" else self.universe[d] - level[d]) for d in dims}
                cells = self.cells_of(ind, r["period"], dims, pattern)
                seen[r["period"]].add(tuple(r[d] for d in dims))
                self.state(cells, r)
            for period in periods:
                if not dims:
                    continue
                level = listed[level_of(period)]
                options = [sorted(level[d]) + ([] if multi else ["other"]) for d in dims]
                for combo in itertools.product(*options):
                    if combo in seen[period]:
                        continue
                    pattern = {d: ({c} if c != "other" else self.universe[d] - level[d]) for d, c in zip(dims, combo)}
                    cells = self.cells_of(ind, period, dims, pattern)
                    if cells:
                        self.rel({c: 1 for c in cells}, 0, 0)  # an absent row is a zero

    def state(self, cells: list[int], r: dict) -> None:
        if not cells:
            return
        coef = {c: 1 for c in cells}
        if r["flag"] is None:
            lo, hi = self.interval(r["value"])
            self.rel(coef, lo, hi)
        elif r["flag"] == "withheld":
            pass  # "[c]": any value, zero included
        elif r["flag"] == "suppressed":
            self.rel(coef, 1, self.k - 1)
        else:
            raise AssertionError(f"a count marked {r['flag']}: {r}")

    def read_rate(self, members: list[dict], dims: tuple) -> None:
        for r in members:
            key = _key(r)
            num = self.var(("interpreter_num", r["period"], key))
            den = self.var(("contacts", r["period"], key))
            self.rel({num: 1, den: -1}, -np.inf, 0)
            assert r["numerator"] is None and r["denominator"] is None, r
            if r["flag"] is None:
                v = r["value"]  # rounded to one decimal, half up: 100 num / den in [v - .05, v + .05)
                self.rel({num: 100, den: -(v + 0.05)}, -np.inf, 0)
                self.rel({num: 100, den: -(v - 0.05)}, 0, np.inf)
            elif r["flag"] == "small_population":
                self.rel({den: 1}, 1, self.k - 1)
            elif r["flag"] == "no_data":
                self.rel({den: 1}, 0, 0)

    def rate_structure(self, periods: dict[str, list[str]]) -> None:
        for period, children in periods.items():
            total = self.var(("interpreter_num", period, ()))
            for d in SINGLES["interpreter_rate"]:
                parts = [self.var(("interpreter_num", period, ((d, c),))) for c in sorted(self.universe[d])]
                self.rel({**{p: 1 for p in parts}, total: -1}, 0, 0)
            for key in [()] + [((d, c),) for d in SINGLES["interpreter_rate"] for c in sorted(self.universe[d])]:
                num, den = self.var(("interpreter_num", period, key)), self.var(("contacts", period, key))
                rest = self.var(("interpreter_rest", period, key))  # contacts without an interpreter
                self.rel({num: 1, rest: 1, den: -1}, 0, 0)
                if children:
                    self.rel({num: 1, **{self.var(("interpreter_num", c, key)): -1 for c in children}}, 0, 0)
        for period in periods:
            for key in self.keys("persons_received"):
                self.rel({self.var(("persons_received", period, key)): 1, self.var(("contacts", period, key)): -1},
                         -np.inf, 0)

    def _system(self):
        if getattr(self, "_built", None) is None or self._built[0] != len(self.rows):
            n = len(self.index)
            data, ri, ci, lbs, ubs = [], [], [], [], []
            for i, (coef, lb, ub) in enumerate(self.rows):
                for j, v in coef.items():
                    ri.append(i), ci.append(j), data.append(v)
                lbs.append(lb), ubs.append(ub)
            a = coo_matrix((data, (ri, ci)), shape=(len(self.rows), n)).tocsr()
            self._built = (len(self.rows), LinearConstraint(a, np.array(lbs), np.array(ubs)), n)
        return self._built[1], self._built[2]

    def optimum(self, cell: tuple, sign: int) -> int:
        """The minimum (sign 1) or maximum (sign -1) true value of ``cell`` under everything known."""
        cons, n = self._system()
        cost = np.zeros(n)
        cost[self.index[cell]] = sign
        res = milp(cost, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.full(n, np.inf)), constraints=cons)
        if sign == -1 and res.status != 0 and "unbounded" in res.message.lower():
            self.optimum(cell, 1)  # feasible (asserted there), so unbounded above
            return np.inf
        assert res.status == 0, (cell, res.message)  # the truth is always a solution
        return round(sign * res.fun)

    def pinned(self, cell: tuple, value: int) -> bool:
        """Whether ``value`` is the only value of ``cell`` consistent with everything known."""
        high = self.optimum(cell, -1)
        assert high >= value, (cell, high, value)
        if high > value:
            return False
        low = self.optimum(cell, 1)
        assert low <= value, (cell, low, value)
        return low == value


def truth_of(internal: pl.DataFrame) -> dict[tuple, int]:
    out = {}
    for r in internal.iter_rows(named=True):
        if r["indicator"] == "interpreter_rate":
            out[("interpreter_num", r["period"], _key(r))] = r["numerator"]
        else:
            out[(r["indicator"], r["period"], _key(r))] = r["numerator"]
    return out


def attack(ex, audience: str) -> None:
    periods = calendar(audience)
    codes = list(periods)
    internal = disclosure.series(ex, codes, IDS, by=BY).frame
    shared = disclosure.series(ex, codes, IDS, by=BY, audience=audience).frame
    k = K[audience]
    # a period asked alone gets exactly its rows of the whole calendar
    for code in ("2025-Q4", "2024-H1"):
        alone = disclosure.compute(ex, code, IDS, by=BY, audience=audience).frame
        assert alone.rows() == shared.filter(pl.col("period") == code).rows()
    universe = {d: set(internal[d].drop_nulls().unique()) for d in DIMS}
    adv = Adversary(audience, universe)
    for ind in ("contacts", "persons_received"):
        adv.structure(ind, periods)
    adv.rate_structure(periods)
    adv.read(shared, periods)
    truth = truth_of(internal)
    # every cell of the model, with its true value (absent from the internal table: zero)
    true = {cell: truth.get(cell, 0) for cell in adv.index}
    shown = {(r["indicator"], r["period"], _key(r)) for r in shared.iter_rows(named=True)
             if r["flag"] is None and r["indicator"] != "interpreter_rate"}
    sensitive = [c for c, v in true.items() if 1 <= v < k and c not in shown]
    for c in list(true):  # the rate's numerator and its complement are counts too
        if c[0] == "interpreter_rest":
            true[c] = true[("contacts", c[1], c[2])] - true[("interpreter_num", c[1], c[2])]
    sensitive += [c for c, v in true.items() if c[0] in ("interpreter_num", "interpreter_rest") and 1 <= v < k]
    for cell in sensitive:
        assert not adv.pinned(cell, true[cell]), f"{audience}: {cell} pinned to its true value {true[cell]}"
    return adv, shown, true


def rounded_cells_pinned(ex) -> list:
    """The public's rounded counts that the adversary pins to one exact value."""
    adv, shown, true = attack(ex, "public")
    return [(c, true[c]) for c in sorted(shown) if c in adv.index and true[c] > 0 and adv.pinned(c, true[c])]


@pytest.mark.parametrize("audience", ["partner", "public"])
@pytest.mark.parametrize("period", ["2024-10-01..2024-12-30", "2024-W40"])
def test_ranges_and_weeks_are_refused_to_outside_audiences(tmp_path, audience, period):
    ex = load(tmp_path, persons=[{"person_id": "p"}], contacts=[{"person_id": "p", "date": "2024-05-01"}])
    with pytest.raises(UnpublishedPeriodError, match="calendar periods only"):
        disclosure.compute(ex, period, ["contacts"], audience=audience)
    assert disclosure.compute(ex, period, ["contacts"]).height == 1  # internal: any period


def test_months_are_refused_to_the_public_and_unfinished_periods_to_everyone_outside(tmp_path):
    ex = load(tmp_path, persons=[{"person_id": "p"}], contacts=[{"person_id": "p", "date": "2024-05-01"}])
    with pytest.raises(UnpublishedPeriodError, match="quarters"):
        disclosure.compute(ex, "2024-05", ["contacts"], audience="public")
    with pytest.raises(UnpublishedPeriodError, match="after the extract's date"):
        disclosure.compute(ex, "2026-Q1", ["contacts"], audience="partner")  # extracted on 2025-12-31


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=extracts(), audience=st.sampled_from(["partner", "public"]))
def test_subtraction_never_pins_a_small_hidden_count(data, audience):
    with tempfile.TemporaryDirectory() as tmp:
        ex = load(Path(tmp), **data)
        attack(ex, audience)


@pytest.mark.xfail(reason="known limit of group_round (docs/disclosure.md): totals rounded on their own can pin a "
                          "shown count of k or more (e.g. H1 12 -> 10, H2 13 -> 15, year 25 -> 25); no small "
                          "count is pinned, which the test above checks", strict=False)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=extracts())
def test_rounding_never_pins_a_rounded_count(data):
    with tempfile.TemporaryDirectory() as tmp:
        ex = load(Path(tmp), **data)
        assert rounded_cells_pinned(ex) == []
