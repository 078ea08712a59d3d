"""Several selections of one extract at once: each row labelled with the selections that keep it.

A report for an outside audience decides its figures over the whole extract, its declared scopes
and the atoms they cut the extract into (:mod:`workbench.disclosure.family`): several selections
of one extract, asked the same question. Rather than restricting the extract to each one and
evaluating each restricted extract, :func:`labelled` gives one extract whose every row carries
the list of the selections that keep it (the :data:`~workbench.indicators.conditions.UNITS`
column), by the very rules :func:`~workbench.selection.restrict` applies
(:func:`~workbench.selection.restriction.selection_rules`), and
:func:`workbench.indicators.engine.evaluate_units` evaluates them all in one pass: the i-th
evaluation equals ``evaluate(restrict(extract, selections[i]), ...)``.

A person (or a record) belonging to several selections is in each of them, as restricting gives
it; a selection that keeps nothing is an empty unit. Only sites and centres can be labelled:
person attributes leave tables out (and an age group depends on the year), so a selection with
them is restricted and evaluated alone.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Sequence

import polars as pl

from workbench.extract.memo import memo_of
from workbench.indicators.conditions import UNITS
from workbench.selection.choices import ATTRIBUTES, Selection
from workbench.selection.restriction import selection_rules

_KEPT = 2  # labelled extracts remembered per extract (a report asks every question of the same units)
_LOCK = threading.Lock()


def can_label(selection: Selection) -> bool:
    """Whether ``selection`` can be one unit of a labelled extract (sites and centres only)."""
    return not any(getattr(selection, a) for a in ATTRIBUTES)


def labelled(ex, selections: Sequence[Selection]):
    """``ex`` with a :data:`UNITS` column on every table: the indices in ``selections`` of those that keep
    the row (an empty selection keeps every row). Remembered for the last few sets of selections."""
    key = tuple(selections)
    bad = [s for s in key if not can_label(s)]
    if bad:
        raise ValueError(f"only sites and centres can be labelled, not {bad[0]}")
    with _LOCK:
        memo = memo_of(ex, "selection.units", OrderedDict)
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    out = _labelled(ex, key)
    with _LOCK:
        memo[key] = out
        while len(memo) > _KEPT:
            memo.popitem(last=False)
    return out


def _labelled(ex, selections: tuple[Selection, ...]):
    everyone = ex.attributes if ex.attributes is not None else ex.tables.get("persons")
    rules = [selection_rules(ex, s)[0] if not s.is_empty else [] for s in selections]
    tables = {}
    for name, frame in ex.tables.items():
        marks = []
        for i, of_selection in enumerate(rules):
            keep = [r[name] for r in of_selection if name in r]
            unit = pl.lit(i, dtype=pl.UInt32)
            marks.append(pl.when(pl.all_horizontal(keep)).then(unit) if keep else unit)
        tables[name] = frame.with_columns(pl.concat_list(marks).list.drop_nulls().alias(UNITS))
    return dataclasses.replace(ex, tables=tables, attributes=everyone)


__all__ = ["can_label", "labelled"]
