"""The figures of declared scopes for outside audiences: scopes are finer levels of the whole extract.

A scope (a service, a centre) is one more link between tables: the whole extract minus a
scope, or one scope minus another, is a part of the extract. Scopes are taken by depth (the
services, then the centres inside a service). At depth d, the scopes of depth ≤ d cut the
extract into *parts*: the atoms (sites and centres grouped by the scopes they belong to) and
the rest (what no scope holds); every published scope of depth ≤ d is a sum of atoms, and
the whole extract is the sum of all parts.

So, for each kind of period, the scopes of depth d form a level finer than depth d−1's (the
whole extract is depth 0), whose units are the scopes and parts of depth d in every period of
that kind; the rules of a level apply (``grouping``): a category shown at a scope level is
shown at that kind of period one depth up and at the coarser kinds of the same depth, and is
0 or ≥ k in every unit; ``other`` is 0 or ≥ k in every unit; a total from 1 to k−1 in some unit
withholds the level; a rate, ratio, mean or median unsafe in some unit withholds its breakdown
on the level. A scope's cross is withheld. Shallower levels are decided first, on their own
units only: declaring a scope changes nothing the whole extract (or a containing scope) shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.disclosure.grouping import protect_year


@dataclass(frozen=True)
class Unit:
    """One unit of a level: a period of one selection (``code`` is "selection index|period")."""

    code: str


def protect_scopes(frames: list[pl.DataFrame], groups: list[list[int]], published: set[int], dims, levels,
                   audience, catalogue) -> tuple[pl.DataFrame, dict]:
    """The protected rows of the selections ``published`` (indices in ``frames``).

    ``frames[0]`` holds the whole extract's unprotected rows over the year; ``groups[d]`` the
    indices of the frames of depth d + 1 (its scopes and parts). Rows get a ``_sel`` column
    (index in ``frames``); ``grouped`` is keyed by "index|period".
    """
    joint = pl.concat([f.with_columns(period=pl.lit(f"{i}|") + pl.col("period")) for i, f in enumerate(frames)],
                      how="vertical_relaxed")
    n = len(levels)
    all_levels = [(kind, [Unit(f"0|{u.code}") for u in us]) for kind, us in levels]
    parents = [[li - 1] if li else [] for li in range(n)]
    for d, group in enumerate(groups, start=1):
        all_levels += [(kind, [Unit(f"{i}|{u.code}") for i in group for u in us]) for kind, us in levels]
        parents += [[(d - 1) * n + j] + ([d * n + j - 1] if j else []) for j in range(n)]
    frame, grouped = protect_year(joint, dims, all_levels, audience, catalogue, parents=parents, n_whole=n)
    split = pl.col("period").str.split_exact("|", 1)
    frame = frame.with_columns(_sel=split.struct.field("field_0").cast(pl.Int32), period=split.struct.field("field_1"))
    return frame.filter(pl.col("_sel").is_in(sorted(published))), grouped
