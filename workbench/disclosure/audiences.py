"""Audiences: who sees the figures and how small cells are protected for them.

Declared as data in ``audiences.yaml`` (k, method, rounding base, calendar, note) and checked
by small rules that collect every problem. ``threshold`` overrides k for one request: an
``internal`` request with a threshold gets per-table suppression (``suppress``), which is not
bound to the publication calendar because it is not published outside.

>>> a = resolve_audience("partner")
>>> a.k, a.method, a.outside, a.calendar
(5, 'group', True, ('year', 'half', 'quarter', 'month'))
>>> resolve_audience("internal", 5).method
'suppress'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from workbench import safeyaml
from workbench.exceptions import AudienceDeclarationError, ParameterError

METHODS = ("none", "group", "group_round", "suppress")
#: Methods safe against subtraction between the tables of one extract (grouping over the calendar).
LINKED_SAFE = ("group", "group_round")
CALENDAR_KINDS = ("year", "half", "quarter", "month")
BASES = (5, 10)
DECLARATION = Path(__file__).with_name("audiences.yaml")
_KEYS = {"k", "method", "base", "calendar", "note"}


@dataclass(frozen=True)
class Audience:
    """An audience: its threshold ``k``, protection ``method``, rounding ``base`` and calendar."""

    name: str
    k: int | None
    method: str = "suppress"
    base: int | None = None
    calendar: tuple[str, ...] = ()
    note: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def suppresses(self) -> bool:
        return bool(self.k and self.k > 1)

    @property
    def outside(self) -> bool:
        """Figures leave the organisation: calendar periods only, grouping over the calendar year."""
        return self.suppresses and self.method in LINKED_SAFE

    @property
    def rounds(self) -> bool:
        return self.method == "group_round" and bool(self.base)


def _rules_of(name: str, spec: dict) -> list[str]:
    where = f"audiences.yaml, audience '{name}'"
    problems = [f"{where}: unknown key '{key}' (keys: {', '.join(sorted(_KEYS))})."
                for key in sorted(set(spec) - _KEYS)]
    k, method = spec.get("k"), spec.get("method")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        problems.append(f"{where}: k must be a whole number >= 1 or null, got {k!r}.")
    if method not in METHODS:
        problems.append(f"{where}: method must be one of {', '.join(METHODS)}, got {method!r}.")
    elif (method == "none") != (k is None):
        problems.append(f"{where}: method 'none' goes with k: null, and only with it.")
    elif method == "suppress":
        problems.append(f"{where}: method 'suppress' protects each table on its own, so a hidden cell can be "
                        "recovered by subtracting another table; declare 'group' or 'group_round' (suppress is "
                        "only for the internal audience with an explicit threshold).")
    base = spec.get("base")
    if method == "group_round" and base not in BASES:
        problems.append(f"{where}: group_round needs base: 5 or 10, got {base!r}.")
    if method != "group_round" and base is not None:
        problems.append(f"{where}: base is only read with method group_round.")
    calendar = spec.get("calendar")
    if method in LINKED_SAFE:
        if not isinstance(calendar, list) or not calendar or any(c not in CALENDAR_KINDS for c in calendar):
            problems.append(f"{where}: calendar must list kinds of period among {', '.join(CALENDAR_KINDS)} "
                            f"(an outside audience receives calendar periods only), got {calendar!r}.")
        elif "year" not in calendar:
            problems.append(f"{where}: calendar must include year (decisions are made on the calendar year).")
    elif calendar is not None:
        problems.append(f"{where}: calendar is only read with methods group and group_round.")
    note = spec.get("note")
    if not isinstance(note, dict) or set(note) != {"fr", "en"} or not all(
            isinstance(v, str) and v.strip() for v in note.values()):
        problems.append(f"{where}: note must give non-empty fr and en texts.")
    return problems


def validate(raw) -> list[str]:
    """Every problem of a parsed audiences.yaml, as sentences naming the audience and the key."""
    if not isinstance(raw, dict) or not isinstance(raw.get("audiences"), dict) or not raw["audiences"]:
        return ["audiences.yaml: expected a mapping 'audiences:' with at least one audience."]
    problems = []
    for name, spec in raw["audiences"].items():
        if not isinstance(spec, dict):
            problems.append(f"audiences.yaml, audience '{name}': expected a mapping of {', '.join(sorted(_KEYS))}.")
            continue
        problems += _rules_of(name, spec)
    if "internal" not in raw["audiences"]:
        problems.append("audiences.yaml: the 'internal' audience must be declared.")
    return problems


@cache
def load_audiences(path: str | None = None) -> dict[str, Audience]:
    """The declared audiences (``audiences.yaml`` beside this module unless ``path``)."""
    raw = safeyaml.load(Path(path or DECLARATION).read_text(encoding="utf-8"))
    problems = validate(raw)
    if problems:
        raise AudienceDeclarationError("\n".join(problems))
    return {name: Audience(name, spec["k"], spec["method"], spec.get("base"), tuple(spec.get("calendar") or ()),
                           dict(spec["note"])) for name, spec in raw["audiences"].items()}


def _k(threshold) -> int:
    try:
        k = int(threshold)
    except (TypeError, ValueError):
        raise ParameterError(f"The threshold must be a whole number, got {threshold!r}.") from None
    if k < 1:
        raise ParameterError(f"The threshold must be at least 1, got {k}.")
    return k


def resolve_audience(audience: str | Audience = "internal", threshold: int | None = None) -> Audience:
    """``"partner"`` → the declared partner audience (k = 5); ``threshold`` overrides k.

    An outside audience keeps its method with the new k; ``internal`` with a threshold
    suppresses per table (``suppress``).
    """
    if isinstance(audience, Audience):
        base = audience
    else:
        declared = load_audiences()
        name = str(audience).strip().lower()
        if name not in declared:
            raise ParameterError(f"Unknown audience '{audience}': use {', '.join(declared)}.")
        base = declared[name]
    if threshold is None:
        return base
    k = _k(threshold)
    method = base.method if base.method in LINKED_SAFE else "suppress"
    return Audience(base.name, k, method, base.base, base.calendar, base.note)


def declared_k() -> dict[str, int | None]:
    """Audience name → its declared k."""
    return {name: a.k for name, a in load_audiences().items()}
