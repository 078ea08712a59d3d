"""The figures of declared scopes for outside audiences: a scope is a cross of the whole extract.

A scope (a service, a centre) is one more link between tables: the whole extract minus a
scope, or one scope minus another, is a part of the extract. The declared scopes cut the
extract into *parts*: the atoms (sites and centres grouped by the scopes they belong to) and
the rest (what no scope holds). Every published scope is a sum of parts.

So the scopes are protected as crosses are (``grouping``): the whole extract is protected
first, alone, and its decisions are never changed by a scope (declaring a scope costs the
whole extract nothing). A scope's tables show exactly the categories the whole extract shows
at each level; they are withheld (``[c]``) at a level — and every coarser level — where some
part has a cell from 1 to k−1 in some unit (a total, a category, ``other``, a cross cell), or
an unsafe rate, ratio, mean or median; and wherever the whole extract is withheld.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from workbench.disclosure.grouping import (
    Decision,
    _Family,
    _ok,
    decide,
    publish,
    rounded,
    stat_bad_levels,
    stat_rows,
)


def _up_to_coarser(bad: list[bool]) -> list[bool]:
    """Withheld at a level → withheld at every coarser level (a coarser cell is a sum of finer ones
    whose bounds could otherwise pin them, as for crosses)."""
    return [any(bad[li:]) for li in range(len(bad))]


def _count_decision(whole: _Family, joint: _Family, parts: set[str]) -> Decision:
    dec = decide(whole)
    k = joint.k
    total_bad = [any(not _ok(joint.totals.get(u, 0), k) for u in units if u in parts) for _, units in joint.levels]
    # Totals alone are a two-way table (parts × units of a level) whose margins (the parts'
    # coarser totals, the whole extract's units) pin a cell only to a margin or to zero
    # (Fréchet bounds): withheld on the level only. Breakdowns add a third way: as crosses.
    total = [h or t for h, t in zip(dec.hidden[0], total_bad)]
    shown, grouped, hidden = dict(dec.shown), dict(dec.grouped), {0: total}
    nlev = len(joint.levels)
    for b, bdims in joint.blocks.items():
        if b not in dec.shown:  # a block the whole extract does not have: nothing to show
            shown[b] = [[set() for _ in bdims] for _ in range(nlev)]
            grouped[b] = False
            hidden[b] = [True] * nlev
            continue
        bad = [dec.hidden[b][li] or total[li]
               or any(not _ok(n, k) for u in units if u in parts
                      for n in joint.folded(b, u, dec.shown[b][li], dec.grouped[b]).values())
               for li, (_, units) in enumerate(joint.levels)]
        hidden[b] = [h or t for h, t in zip(_up_to_coarser(bad), total)]
    return Decision(shown, grouped, hidden)


def protect_scopes(whole: pl.DataFrame, joint: pl.DataFrame, dims: Sequence[str], levels, joint_levels,
                   parts: set[str], published: set[str], audience, catalogue) -> tuple[pl.DataFrame, dict]:
    """The rows of the published scopes' units (``published``) for an outside audience.

    ``whole`` holds the whole extract's unprotected rows over the year (units of ``levels``);
    ``joint`` the rows of every part and every published scope, their units (``joint_levels``)
    named "index|period"; ``parts`` the units of the parts.
    """
    k = audience.k
    inds = {i.id: i for i in catalogue}
    whole_by = {ind: part.to_dicts() for (ind,), part in whole.group_by(["indicator"], maintain_order=True)}
    out: list[dict] = []
    folded: dict = {}
    for (ind_id,), part in joint.group_by(["indicator"], maintain_order=True):
        ind = inds[ind_id]
        rows = part.to_dicts()
        mine = whole_by.get(ind_id, [])
        if ind.unit == "count":
            multi = set(ind.multi)
            fam = _Family(rows, dims, joint_levels, k, multi)
            dec = _count_decision(_Family(mine, dims, levels, k, multi), fam, parts)
            rows_out, counts = publish(fam, dec, published)
            out += rounded(rows_out, audience)
            folded.update({(ind_id, u, b): n for (u, b), n in counts.items()})
        else:
            level_whole = {u.code: li for li, (_, us) in enumerate(levels) for u in us}
            level_joint = {u.code: li for li, (_, us) in enumerate(joint_levels) for u in us}
            bad = stat_bad_levels(mine, level_whole, k, ind.unit)
            bad |= stat_bad_levels([r for r in rows if r["period"] in parts], level_joint, k, ind.unit)
            blocks = {r["_block"] for r in rows} | {0}
            total = _up_to_coarser([(0, li) in bad for li in range(len(levels))])
            spread = {(b, li) for b in blocks
                      for li, h in enumerate(_up_to_coarser([(b, lj) in bad or total[lj] for lj in range(len(levels))]))
                      if h}
            out += stat_rows([r for r in rows if r["period"] in published], level_joint, spread)
    result = pl.DataFrame(out, schema=joint.schema) if out else joint.clear()
    return result, folded
