"""What a selection may name: sites, detention centres and person attributes.

A :class:`Selection` names the sites, detention centres and person attributes (sex,
age group, nationality, legal status) to keep; empty means "all". Its codes are checked
against the choices the extract offers (:func:`choices`, :func:`validate`) before
anything is computed, and only ever compared with ``is_in``: never used to build a
path, a column name or an expression. What a selection keeps of each table is
:func:`workbench.selection.restrict`'s business (see :mod:`workbench.selection.restriction`).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, fields

import polars as pl

from workbench.exceptions import ParameterError
from workbench.contract.schema import AGE_GROUPS, vocabulary

PERSON = "person_id"
#: Person attributes a selection can restrict, in display order.
ATTRIBUTES = ("sex", "age_group", "nationality", "legal_status")
#: Every field of a selection, in display order.
FIELDS = ("sites", "centres", *ATTRIBUTES)


@dataclass(frozen=True)
class Selection:
    """Codes to keep, per filter; an empty tuple keeps everything."""

    sites: tuple[str, ...] = ()
    centres: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    age_group: tuple[str, ...] = ()
    nationality: tuple[str, ...] = ()
    legal_status: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) or not isinstance(value, tuple | list | set | frozenset):
                raise ParameterError(f"Filter '{f.name}' takes a tuple of codes, got {value!r}.")
            # Sorted and unique: two selections that keep the same records are equal (and cache alike).
            object.__setattr__(self, f.name, tuple(sorted({str(v) for v in value})))

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in FIELDS)

    def active(self) -> dict[str, tuple[str, ...]]:
        """The filters that restrict something."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f)}

    def replace(self, **changes) -> Selection:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Choices:
    """The codes a selection may use, as the extract offers them (display order)."""

    sites: tuple[str, ...]
    centres: tuple[str, ...]
    sex: tuple[str, ...]
    age_group: tuple[str, ...]
    nationality: tuple[str, ...]
    legal_status: tuple[str, ...]


def _observed(ex, table: str, column: str) -> set[str]:
    if not ex.has(table):
        return set()
    return {v for v in ex.table(table)[column].cast(pl.String).unique().to_list() if v is not None}


def choices(ex) -> Choices:
    """What each filter can be set to on this extract.

    Sites are those of ``extract.yaml`` (its ``sites`` and ``scopes``) and those seen in persons, contacts and cases;
    centres those of ``extract.yaml`` and of the detention stays; nationalities those
    of the persons; sex, age group and legal status their whole vocabulary.
    """
    sites = set(ex.meta.sites) | _observed(ex, "persons", "site") | _observed(ex, "contacts", "site") \
        | _observed(ex, "cases", "site")
    centres = set(ex.meta.centres) | _observed(ex, "detention_stays", "centre")
    for scope in (getattr(ex.meta, "scopes", None) or {}).values():  # a declared scope names sites and centres
        sites |= set(scope.get("sites", ()))
        centres |= set(scope.get("centres", ()))
    nationalities = _observed(ex, "persons", "nationality")
    if ex.has("persons") and ex.table("persons")["nationality"].null_count():  # a network's extract has none
        nationalities.add("unknown")
    order = {c: i for i, c in enumerate(vocabulary("nationality"))}
    legal = vocabulary("legal_status")
    return Choices(
        sites=tuple(sorted(sites)), centres=tuple(sorted(centres)),
        sex=vocabulary("sex"), age_group=AGE_GROUPS,
        nationality=tuple(sorted(nationalities, key=lambda c: (order.get(c, len(order)), c))),
        legal_status=legal,
    )


def validate(selection: Selection, known: Choices) -> Selection:
    """The selection if every code is one of the choices; else one error naming them all."""
    problems = []
    for name in FIELDS:
        allowed = getattr(known, name)
        bad = [v for v in getattr(selection, name) if v not in allowed]
        if bad:
            shown = []
            for code in bad[:5]:
                close = difflib.get_close_matches(code, list(allowed), n=1, cutoff=0.6)
                shown.append(repr(code[:40]) + (f" (did you mean '{close[0]}'?)" if close else ""))
            problems.append(f"{name}: {', '.join(shown)} "
                            f"(choices: {', '.join(allowed[:12]) or 'none in this extract'}"
                            f"{'…' if len(allowed) > 12 else ''})")
    if problems:
        raise ParameterError("Unknown filter value(s): " + "; ".join(problems) + ".")
    return selection


__all__ = ["ATTRIBUTES", "FIELDS", "Choices", "Selection", "choices", "validate"]
