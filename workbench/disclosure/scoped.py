"""The figures of declared scopes for outside audiences: a scope is a finer level of the whole extract.

A scope (a service, a centre) is one more link between tables: the whole extract minus a
scope, or one scope minus another, is a part of the extract. The declared scopes cut the
extract into *parts*: the atoms (sites and centres grouped by the scopes they belong to) and
the rest (what no scope holds). Every published scope is a sum of atoms, and the whole
extract is the sum of all parts.

So, for each kind of period, the scopes form a level finer than the whole extract's, whose
units are every part and every published scope in every period of that kind; the rules of a
level apply (``grouping``): a category shown at a scope level is shown by the whole extract at
that kind of period and by the scopes at the coarser kinds, and is 0 or ≥ k in every unit;
``other`` is 0 or ≥ k in every unit; a total from 1 to k−1 in some unit withholds the level; a
rate, ratio, mean or median unsafe in some unit withholds its breakdown on the level. A
scope's cross is withheld. The whole extract's levels come first and are decided on its own
units only: declaring a scope changes nothing the whole extract shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.disclosure.grouping import protect_year


@dataclass(frozen=True)
class Unit:
    """One unit of a level: a period of one selection (``code`` is "selection index|period")."""

    code: str


def protect_scopes(frames: list[pl.DataFrame], parts: list[int], dims, levels, audience, catalogue
                   ) -> tuple[pl.DataFrame, dict]:
    """The protected rows of every selection of ``frames`` but the first (the whole extract).

    ``frames[0]`` holds the whole extract's unprotected rows over the year, the others those of
    the published scopes and of the parts (indices ``parts``, decision only: they are dropped).
    Rows get a ``_sel`` column (index in ``frames``); ``grouped`` is keyed by "index|period".
    """
    joint = pl.concat([f.with_columns(period=pl.lit(f"{i}|") + pl.col("period")) for i, f in enumerate(frames)],
                      how="vertical_relaxed")
    n = len(levels)
    whole = [(kind, [Unit(f"0|{u.code}") for u in us]) for kind, us in levels]
    scoped = [(kind, [Unit(f"{i}|{u.code}") for i in range(1, len(frames)) for u in us]) for kind, us in levels]
    parents = [[li - 1] if li else [] for li in range(n)] + [[j] + ([n + j - 1] if j else []) for j in range(n)]
    frame, grouped = protect_year(joint, dims, whole + scoped, audience, catalogue, parents=parents, n_whole=n)
    split = pl.col("period").str.split_exact("|", 1)
    frame = frame.with_columns(_sel=split.struct.field("field_0").cast(pl.Int32), period=split.struct.field("field_1"))
    return frame.filter((pl.col("_sel") > 0) & ~pl.col("_sel").is_in(parts)), grouped
