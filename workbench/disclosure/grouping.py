"""Grouping over a calendar year: the protection of outside audiences (``group``, ``group_round``).

Figures are decided per (indicator, breakdown, calendar year) on the whole *family* of the
year: every published unit of each level (the year; H1, H2; Q1–Q4; the months), coarsest
level first (docs/disclosure.md gives the argument why no hidden value can be isolated).

* **Totals** of a count: if the total is from 1 to k−1 in any unit of a level, every
  non-zero figure of that indicator at that level is withheld (``[c]``), in every breakdown.
* **Single breakdowns** of a count: a category is shown at a level iff it is shown at the
  coarser levels and is 0 or ≥ k in every unit of the level; the others are grouped into one
  row ``other`` = total − Σ shown. While ``other`` is from 1 to k−1 in some unit, the shown
  category with the smallest sum over the level's units joins it. A ``multi`` dimension (a
  person in several categories) has no ``other`` row: grouped categories are left out.
* **Crosses** group as their margins (each dimension's single breakdown) do; if a cell is then
  from 1 to k−1 in some unit of a level, the cross is withheld at that level and every coarser one.
* **Rates, ratios, means, medians** of a breakdown are withheld (``[c]``) in every unit of a
  level, every category at once, unless in every unit of the level and every row their
  population is 0 or ≥ k and (rate) numerator and population − numerator, (ratio) numerator,
  are 0 or ≥ k (a small total withholds every breakdown of the level). Their numerator and denominator
  are not published.
* At a withheld level every cell is ``[c]``, zeros included, so that no mark says "not zero"
  or "from 1 to k−1" (with a coarser bound, such marks pin a value).
* ``group_round`` then rounds every shown count to the audience's base (half up).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from workbench.disclosure.flags import WITHHELD

OTHER = "other"


def _ok(n: int, k: int) -> bool:
    return n == 0 or n >= k


def round_half_up(n: int, base: int) -> int:
    """``n`` to the nearest multiple of ``base``, halves up: 7 → 5, 8 → 10 (base 5)."""
    return (2 * n + base) // (2 * base) * base


class _Family:
    """One indicator's rows over a calendar year, and the levels they are decided on."""

    def __init__(self, rows: list[dict], dims: Sequence[str], levels, k: int, multi: set[str],
                 parents: Sequence[Sequence[int]] | None = None, n_whole: int | None = None) -> None:
        self.k = k
        self.levels = [(kind, [u.code for u in units]) for kind, units in levels]
        # the levels whose shown categories bound each level's (default: the next coarser one)
        self.parents = parents or [[li - 1] if li else [] for li in range(len(self.levels))]
        # the levels of the whole extract (those after are the scopes' finer levels: scoped.py)
        self.n_whole = len(self.levels) if n_whole is None else n_whole
        self.multi = multi
        self.rows = rows
        self.totals: dict[str, int] = {}
        self.blocks: dict[int, tuple[str, ...]] = {}
        self.values: dict[int, dict[str, dict[tuple, int]]] = defaultdict(lambda: defaultdict(dict))
        for r in rows:
            b = r["_block"]
            if b == 0:
                self.totals[r["period"]] = r["numerator"] or 0
                continue
            key_dims = tuple(d for d in dims if r[d] is not None)
            self.blocks.setdefault(b, key_dims)
            self.values[b][r["period"]][tuple(r[d] for d in key_dims)] = r["numerator"] or 0

    def withheld_levels(self) -> list[bool]:
        """Per level: whether some total of the level is from 1 to k−1."""
        return [any(not _ok(self.totals.get(u, 0), self.k) for u in units) for _, units in self.levels]

    def _sum(self, b: int, units, key: tuple) -> int:
        return sum(self.values[b].get(u, {}).get(key, 0) for u in units)

    def _partitions(self, b: int) -> bool:
        """Whether the block's categories partition the total in every unit (one category per record)."""
        return all(sum(self.values[b].get(u, {}).values()) == self.totals.get(u, 0)
                   for _, units in self.levels[:self.n_whole] for u in units)

    def single(self, b: int) -> tuple[list[set], bool]:
        """Per level the categories shown of single breakdown ``b``, and whether it has an ``other`` row."""
        d = self.blocks[b][0]
        grouped = d not in self.multi and self._partitions(b)
        shown = {key[0] for per in self.values[b].values() for key in per}
        if grouped:
            shown.discard(OTHER)  # a category called "other" is always part of the grouped row
        out: list[set] = []
        for li, (_, units) in enumerate(self.levels):
            parents = self.parents[li]
            candidates = set.intersection(*(out[p] for p in parents)) if parents else shown
            level = {c for c in candidates
                     if all(_ok(self.values[b].get(u, {}).get((c,), 0), self.k) for u in units)}
            while grouped and level:
                rest = [self.totals.get(u, 0) - sum(self.values[b].get(u, {}).get((c,), 0) for c in level)
                        for u in units]
                if all(_ok(r, self.k) for r in rest):
                    break
                level.remove(min(level, key=lambda c: (self._sum(b, units, (c,)), c)))
            out.append(level)
        return out, grouped

    def cross(self, b: int, singles: dict[str, list[set]]) -> tuple[list[list[set]], bool, list[bool]]:
        """Per level the categories of each dimension of cross ``b`` (those its single breakdowns
        show), whether it has ``other`` cells, and whether the level is withheld.

        The cross groups exactly as its margins do: a category grouped only inside the cross would
        be known from its margin and could be told apart from the rest of ``other``. So when a cell
        is from 1 to k−1 in some unit of a level, the whole cross is withheld at that level.
        """
        dims = self.blocks[b]
        grouped = not (set(dims) & self.multi) and self._partitions(b)
        observed = [{key[i] for per in self.values[b].values() for key in per} for i in range(len(dims))]
        out, hidden = [], []
        for li, (_, units) in enumerate(self.levels):
            level = [observed[i] & singles[d][li] if d in singles else set() for i, d in enumerate(dims)]
            bad = any(not _ok(n, self.k) for u in units for n in self.folded(b, u, level, grouped).values())
            out.append(level)
            hidden.append(bad)
        # A coarser cell is the sum of finer ones whose margins bound them from below: a cross shown
        # at the year but withheld at the halves pins a half's cell when its bounds add up to the
        # year's. So a cross withheld at a level is withheld at every coarser level too.
        # A scope's cross (levels after the whole extract's) is always withheld: its cells would bound
        # the whole extract's from below, which the level rule does not cover.
        n = self.n_whole
        return out, grouped, [any(hidden[li:n]) for li in range(n)] + [True] * (len(hidden) - n)

    def _margin(self, b: int, units, ic: tuple[int, str]) -> int:
        i, c = ic
        return sum(n for u in units for key, n in self.values[b].get(u, {}).items() if key[i] == c)

    def folded(self, b: int, u: str, level: list[set], grouped: bool) -> Counter:
        """The published cells of block ``b`` in unit ``u``: shown categories, the rest grouped (or left out)."""
        out: Counter = Counter()
        cells = self.values[b].get(u)
        if not cells:
            return out
        if len(level) == 1:  # a single breakdown (most blocks): the same cells, without a tuple made per cell
            shown, other = level[0], (OTHER,)
            for key, n in cells.items():
                if key[0] in shown:
                    out[key] += n
                elif grouped:
                    out[other] += n
            return out
        for key, n in cells.items():
            new = tuple(c if c in level[i] else OTHER for i, c in enumerate(key))
            if grouped or OTHER not in new:
                out[new] += n
        return out


@dataclass
class Decision:
    """What one count indicator shows over a calendar year, level by level.

    ``shown[b][li]``: per dimension of block ``b`` the categories shown at level ``li``;
    ``grouped[b]``: whether the block has an ``other`` row; ``hidden[b][li]``: whether every
    cell of the block is withheld at the level (block 0 is the total).
    """

    shown: dict[int, list[list[set]]]
    grouped: dict[int, bool]
    hidden: dict[int, list[bool]]


def decide(fam: _Family) -> Decision:
    """The grouping of one count indicator's family (module docstring)."""
    withheld = fam.withheld_levels()
    shown: dict[int, list[list[set]]] = {}
    grouped: dict[int, bool] = {}
    hidden: dict[int, list[bool]] = {0: list(withheld)}
    singles: dict[str, list[set]] = {}
    for b, bdims in fam.blocks.items():
        if len(bdims) == 1:
            per_level, grouped[b] = fam.single(b)
            shown[b] = [[s] for s in per_level]
            singles[bdims[0]] = per_level
            hidden[b] = list(withheld)
    for b, bdims in fam.blocks.items():
        if len(bdims) > 1:
            shown[b], grouped[b], cross = fam.cross(b, singles)
            hidden[b] = [w or c for w, c in zip(withheld, cross)]
    return Decision(shown, grouped, hidden)


def publish(fam: _Family, dec: Decision, units: set | None = None) -> tuple[list[dict], dict]:
    """The published rows of the family's units (those in ``units``, if given) under ``dec``, and the
    number of categories grouped per (unit, block)."""
    level_of = {u: li for li, (_, us) in enumerate(fam.levels) for u in us}
    template = {r["period"]: r for r in fam.rows if r["_block"] == 0}
    out: list[dict] = []
    folded_count: dict = {}
    observed_of = {b: [{key[i] for per in fam.values[b].values() for key in per} for i in range(len(bdims))]
                   for b, bdims in fam.blocks.items()}  # the categories seen over the year, per block
    for u, li in level_of.items():
        if u not in template or (units is not None and u not in units):
            continue
        base = template[u]
        out.append(_count_row(base, {}, base["numerator"] or 0, dec.hidden[0][li]))
        for b, bdims in fam.blocks.items():
            hide = dec.hidden[b][li]
            level = dec.shown[b][li]
            observed = observed_of[b]
            folded_count[(u, b)] = sum(len(observed[i] - level[i]) for i in range(len(bdims)))
            cells = fam.folded(b, u, level, dec.grouped[b])
            if hide:  # every cell of the level withheld, zeros too: no row says "not zero"
                any_other = dec.grouped[b] and any(observed[i] - level[i] for i in range(len(bdims)))
                options = [sorted(level[i]) + ([OTHER] if any_other else []) for i in range(len(bdims))]
                for key in itertools.product(*options):
                    cells.setdefault(key, 0)
            for key, n in cells.items():
                if n == 0 and OTHER in key and not hide:
                    continue
                out.append(_count_row(base, dict(zip(bdims, key)), n, hide, block=b))
    return out, folded_count


def _count_rows(rows: list[dict], dims: Sequence[str], levels, k: int, multi: set[str],
                **scoped) -> tuple[list[dict], dict]:
    """The published rows of one count indicator over the year, and the grouped categories per (period, block)."""
    fam = _Family(rows, dims, levels, k, multi, **scoped)
    return publish(fam, decide(fam))


def _count_row(base: dict, keys: dict, n: int, hide: bool, block: int = 0) -> dict:
    row = {**base, **{d: None for d in base if d not in _FIXED}, **keys, "_block": block}
    row.update(value=None if hide else float(n), numerator=None if hide else n, denominator=None,
               flag=WITHHELD if hide else None)
    return row


_FIXED = ("indicator", "period", "value", "numerator", "denominator", "flag", "_start", "_order", "_block")


def _bad(unit: str, num, den, k: int) -> bool:
    num, den = num or 0, den or 0
    if not _ok(den, k):
        return True
    if unit == "rate":
        return not (_ok(num, k) and _ok(den - num, k))
    if unit == "ratio":
        return not _ok(num, k)
    return False


def stat_bad_levels(rows: list[dict], level_of: dict[str, int], k: int, unit: str) -> set[tuple[int, int]]:
    """The (block, level) pairs where a rate, ratio, mean or median is unsafe in some unit."""
    return {(r["_block"], level_of[r["period"]]) for r in rows
            if r["period"] in level_of and _bad(unit, r["numerator"], r["denominator"], k)}


def stat_rows(rows: list[dict], level_of: dict[str, int], bad_level: set) -> list[dict]:
    """The published rows: numerator and denominator dropped, a whole breakdown withheld on a bad level."""
    out = []
    for r in rows:
        if r["period"] not in level_of:
            continue
        row = {**r, "numerator": None, "denominator": None}
        li = level_of[r["period"]]
        # A whole breakdown at once: the total and the other categories would give a withheld one back.
        if (r["_block"], li) in bad_level or (0, li) in bad_level:
            row.update(value=None, flag=WITHHELD)
        out.append(row)
    return out


def _stat_rows(rows: list[dict], dims: Sequence[str], levels, k: int, unit: str) -> list[dict]:
    """Rates, ratios, means and medians: a row is withheld on a whole level when it is unsafe in one unit.

    "[p]" would say "a population from 1 to k−1", which subtraction can pin (a year [p] whose
    population is the sum of k−1 months marked [p] is k−1), and "–" would say "zero": so on an
    unsafe level every unit of the row is "[c]", whatever its population.
    """
    level_of = {u.code: li for li, (_, units) in enumerate(levels) for u in units}
    return stat_rows(rows, level_of, stat_bad_levels(rows, level_of, k, unit))


def rounded(rows: list[dict], audience) -> list[dict]:
    """``group_round``: every shown count rounded to the audience's base (half up)."""
    if audience.rounds:
        for r in rows:
            if r["flag"] is None and r["numerator"] is not None:
                r["numerator"] = round_half_up(r["numerator"], audience.base)
                r["value"] = float(r["numerator"])
    return rows


def protect_year(frame: pl.DataFrame, dims: Sequence[str], levels, audience, catalogue,
                 **scoped) -> tuple[pl.DataFrame, dict]:
    """Protect the evaluated family of one calendar year for an outside audience.

    ``frame`` holds the unprotected rows of every unit of ``levels`` (with the engine's helper
    columns). Returns the published rows (``other`` rows added, grouped categories gone) and
    the number of categories grouped per (indicator, period, block).
    """
    k = audience.k
    inds = {i.id: i for i in catalogue}
    out: list[dict] = []
    folded: dict = {}
    for (ind_id,), part in frame.group_by(["indicator"], maintain_order=True):
        ind = inds[ind_id]
        rows = part.to_dicts()
        if ind.unit == "count":
            published, counts = _count_rows(rows, dims, levels, k, set(ind.multi), **scoped)
            out += rounded(published, audience)
            folded.update({(ind_id, u, b): n for (u, b), n in counts.items()})
        else:
            out += _stat_rows(rows, dims, levels, k, ind.unit)
    result = pl.DataFrame(out, schema=frame.schema) if out else frame.clear()
    return result, folded
