"""Attack suite, scopes: the whole extract and its declared scopes, subtracted from each other.

An outside audience receives the whole extract and each scope declared in ``extract.yaml``
(here: sites ``s_a`` + ``s_b``, site ``s_a`` alone, and site ``s_c``). A scope is one more link
between tables: the whole extract minus a scope is the rest. The adversary, written
independently of the product, takes ``contacts`` (one row per contact: every published count
is a sum of the finest cells month × sex × nationality × site) for every calendar period
offered, in total, by nationality, sex and site and crossed sex × nationality, for the whole
extract and every scope, and writes each published row as a linear constraint on the finest
cells: a shown value (or its rounding interval and "0 or ≥ k"), ``other`` (the categories not
listed in that table's level), an absent row (zero); "[c]" says nothing. An integer programme
(scipy's HiGHS) then bounds every withheld count whose true value is from 1 to k−1: the
minimum and maximum must differ.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indicator_fixtures import load
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from test_attack import BASE, DIMS, K, YEARS, calendar, extracts, level_of

from workbench import disclosure
from workbench.selection import Selection

SCOPES = {"ab": {"sites": ["s_a", "s_b"]}, "a": {"sites": ["s_a"]}, "c": {"sites": ["s_c"]}}
BY = ["nationality", "sex", "site", "sex,nationality"]
UNIVERSE = {"sex": ["female", "male"], "nationality": ["CIV", "SDN", "TUN"], "site": ["s_a", "s_b", "s_c"]}
MONTHS = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]


def months_of(code: str) -> list[str]:
    year, kind = level_of(code)
    if kind == "year":
        return [m for m in MONTHS if m.startswith(year)]
    if kind == "half":
        h = int(code[-1])
        return [f"{year}-{m:02d}" for m in range(6 * h - 5, 6 * h + 1)]
    if kind == "quarter":
        q = int(code[-1])
        return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return [code]


class Finest:
    """The true contacts of every month × sex × nationality × site, and what is known about sums of them."""

    def __init__(self, audience: str) -> None:
        self.k, self.base = K[audience], BASE[audience]
        self.cells = list(itertools.product(MONTHS, *(UNIVERSE[d] for d in DIMS)))
        self.index = {c: i for i, c in enumerate(self.cells)}
        self.rows: list[tuple[list[int], float, float]] = []

    def members(self, period: str, sites: set, pattern: dict) -> list[int]:
        months = set(months_of(period))
        return [i for i, (m, *key) in enumerate(self.cells)
                if m in months and key[DIMS.index("site")] in sites
                and all(key[DIMS.index(d)] in allowed for d, allowed in pattern.items())]

    def state(self, cells: list[int], value: float | None) -> None:
        if value is None:
            return
        if self.base is None or value == 0:
            self.rows.append((cells, value, value))
        else:
            self.rows.append((cells, max(value - self.base // 2, self.k), value + (self.base + 1) // 2 - 1))

    def read(self, table: pl.DataFrame, sites: set) -> None:
        table = table.with_columns(pl.lit(None, dtype=pl.String).alias(d) for d in DIMS if d not in table.columns)
        for dims, block in table.group_by([pl.col(d).is_not_null().alias(f"has_{d}") for d in DIMS]):
            dims = tuple(d for d, has in zip(DIMS, dims) if has)
            rows = block.to_dicts()
            listed = {}
            for r in rows:
                for d in dims:
                    if r[d] != "other":
                        listed.setdefault((level_of(r["period"]), d), set()).add(r[d])
            seen = set()
            for r in rows:
                pattern = {d: {r[d]} if r[d] != "other" else set(UNIVERSE[d]) - listed.get((level_of(r["period"]), d), set())
                           for d in dims}
                seen.add((r["period"], tuple(r[d] for d in dims)))
                if r["flag"] is None:
                    self.state(self.members(r["period"], sites, pattern), r["value"])
                else:
                    assert r["flag"] == "withheld", r  # outside audiences: no range is ever claimed
            for period in {r["period"] for r in rows}:
                if not dims:
                    continue
                options = [sorted(listed.get((level_of(period), d), set())) + ["other"] for d in dims]
                for combo in itertools.product(*options):
                    if (period, combo) in seen:
                        continue
                    pattern = {d: {c} if c != "other" else set(UNIVERSE[d]) - listed.get((level_of(period), d), set())
                               for d, c in zip(dims, combo)}
                    self.state(self.members(period, sites, pattern), 0)  # an absent row is a zero

    def bounds(self, cells: list[int]) -> tuple[float, float]:
        n = len(self.cells)
        data, ri, ci, lbs, ubs = [], [], [], [], []
        for i, (members, lb, ub) in enumerate(self.rows):
            for j in members:
                ri.append(i), ci.append(j), data.append(1)
            lbs.append(lb), ubs.append(ub)
        cons = LinearConstraint(coo_matrix((data, (ri, ci)), shape=(len(self.rows), n)).tocsr(), lbs, ubs)
        out = []
        for sign in (1, -1):
            cost = np.zeros(n)
            cost[cells] = sign
            res = milp(cost, integrality=np.ones(n), bounds=Bounds(0, np.inf), constraints=cons)
            if sign == -1 and res.status != 0:
                out.append(np.inf)
                continue
            assert res.status == 0, res.message  # the truth is a solution
            out.append(round(sign * res.fun))
        return out[0], out[1]


def attack(ex, audience: str, scopes: dict) -> int:
    codes = list(calendar(audience))
    selections = {"": (Selection(), set(UNIVERSE["site"]))}
    selections.update({name: (Selection(sites=tuple(s["sites"])), set(s["sites"])) for name, s in scopes.items()})
    model = Finest(audience)
    internal, hidden = {}, []
    for name, (sel, sites) in selections.items():
        shared = disclosure.series(ex, codes, ["contacts"], by=BY, audience=audience, selection=sel).frame
        truth = disclosure.series(ex, codes, ["contacts"], by=BY, selection=sel).frame
        internal[name] = truth
        model.read(shared, sites)
        true = {(r["period"], tuple(r[d] for d in DIMS)): r["numerator"] for r in truth.iter_rows(named=True)}
        for r in shared.filter(pl.col("flag") == "withheld").iter_rows(named=True):
            key = tuple(r[d] for d in DIMS)
            if "other" in key:
                continue
            value = true.get((r["period"], key), 0)
            if 1 <= value < K[audience]:
                pattern = {d: {c} for d, c in zip(DIMS, key) if c is not None}
                hidden.append((name, r["period"], key, value, model.members(r["period"], sites, pattern)))
    for name, period, key, value, cells in hidden:
        low, high = model.bounds(cells)
        assert low <= value <= high
        assert low < high, f"{audience}: scope {name or 'whole'} {period} {key} pinned to {value}"
    return len(hidden)


VARIANTS = [SCOPES, {"ab": SCOPES["ab"]}, {"a": SCOPES["a"], "c": SCOPES["c"]}]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=extracts(), audience=st.sampled_from(["partner", "public"]), scopes=st.sampled_from(VARIANTS))
def test_scopes_never_pin_a_small_hidden_count(data, audience, scopes):
    with tempfile.TemporaryDirectory() as tmp:
        ex = load(Path(tmp), meta={"scopes": scopes}, **data)
        attack(ex, audience, scopes)


def test_the_adversary_pins_what_per_scope_tables_would_give_away(tmp_path):
    """The adversary is not blind: given the whole extract's and scope ab's unprotected year, it pins s_c."""
    persons = [{"person_id": f"p{i}", "sex": "female", "nationality": "TUN", "birth_year": "1990"} for i in range(3)]
    contacts = ([{"person_id": "p0", "date": f"2024-{m:02d}-{d:02d}", "site": "s_a"} for m in range(1, 13)
                 for d in range(1, 8)]
                + [{"person_id": "p1", "date": "2024-03-10", "site": "s_c"},
                   {"person_id": "p2", "date": "2024-03-11", "site": "s_c"}])
    ex = load(tmp_path, persons=persons, contacts=contacts, meta={"scopes": {"ab": SCOPES["ab"]}})
    model = Finest("partner")
    for sel, sites in ((Selection(), set(UNIVERSE["site"])), (Selection(sites=("s_a", "s_b")), {"s_a", "s_b"})):
        model.read(disclosure.compute(ex, "2024", ["contacts"], selection=sel).frame, sites)
    assert model.bounds(model.members("2024", {"s_c"}, {})) == (2, 2)


def _busy_a(extra: list[dict]) -> tuple[list[dict], list[dict]]:
    persons = [{"person_id": f"p{i}", "sex": "female", "nationality": "TUN", "birth_year": "1990"} for i in range(3)]
    contacts = [{"person_id": "p0", "date": f"2024-{m:02d}-{d:02d}", "site": "s_a"} for m in range(1, 13)
                for d in range(1, 8)]
    return persons, contacts + extra


def test_a_small_part_withholds_the_scopes_never_the_whole_extract(tmp_path):
    """Site s_c has 2 contacts, in March: the whole extract minus scope ab would give them back.

    The whole extract is protected alone and shown; the scopes, as crosses of it, are withheld
    at every level where a part (a, b, c, the rest) is from 1 to k−1 in some unit, and coarser.
    """
    persons, contacts = _busy_a([{"person_id": "p1", "date": "2024-03-10", "site": "s_c"},
                                 {"person_id": "p2", "date": "2024-03-11", "site": "s_c"}])
    for scopes in (SCOPES, {"ab": SCOPES["ab"]}):  # with ab alone, s_c is the rest of the extract
        ex = load(tmp_path, persons=persons, contacts=contacts, meta={"scopes": scopes})
        for period, value in (("2024", 86.0), ("2024-03", 9.0), ("2024-Q3", 21.0)):
            whole = disclosure.compute(ex, period, ["contacts"], audience="partner").frame
            assert whole["value"].to_list() == [value]
            for name, scope in scopes.items():
                sel = Selection(sites=tuple(scope["sites"]))
                table = disclosure.compute(ex, period, ["contacts"], audience="partner", selection=sel).frame
                assert table["flag"].to_list() == ["withheld"], (period, name)
    # declaring scopes changes nothing the whole extract shows
    ex = load(tmp_path, persons=persons, contacts=contacts)
    assert disclosure.compute(ex, "2024-03", ["contacts"], audience="partner").frame["value"].to_list() == [9.0]


def test_scopes_whose_parts_are_never_small_are_shown(tmp_path):
    persons, contacts = _busy_a([{"person_id": "p1", "date": f"2024-{m:02d}-{d:02d}", "site": "s_c"}
                                 for m in range(1, 13) for d in range(10, 15)])
    ex = load(tmp_path, persons=persons, contacts=contacts, meta={"scopes": SCOPES})
    shown = {name: disclosure.compute(ex, "2024-Q2", ["contacts"], audience="partner",
                                      selection=Selection(sites=tuple(s["sites"]))).frame["value"].to_list()
             for name, s in SCOPES.items()}
    assert shown == {"ab": [21.0], "a": [21.0], "c": [15.0]}
