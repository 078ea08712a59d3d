"""The indicator catalogue, read from ``catalogue.yaml``.

Each indicator is declared once, as data. This module reads the declarations into
frozen dataclasses and checks them with small rules that collect every problem
before failing, so a mistake in the catalogue is reported whole.

>>> from workbench.indicators.catalogue import load_catalogue
>>> cat = load_catalogue()
>>> cat["persons_received"].label["en"]
'Persons received'
>>> len(cat) >= 30
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from functools import cache
from importlib import resources
from typing import Any

from workbench import safeyaml

from workbench.exceptions import IndicatorError, WorkbenchError
from workbench.contract.schema import TABLES
from workbench.periods import FALLBACK
from workbench.periods import LANGUAGES as ALL_LANGUAGES

UNITS = ("count", "rate", "ratio", "median", "mean")
#: The languages every catalogue declares itself (the built-in one and an organisation's). The other
#: languages of :data:`workbench.periods.LANGUAGES` come from ``catalogue.<lang>.yaml`` (built-in
#: catalogue) or show the French text (:func:`translate`).
LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Indicator:
    id: str
    family: str
    unit: str
    label: dict[str, str]
    definition: dict[str, str]
    tables: tuple[str, ...]
    records: str
    population: tuple[dict, ...]
    breakdowns: tuple[str, ...]
    #: A column counted once per value, or a list: the first recorded of them (``[activity_key, activity_id]``).
    distinct: str | tuple[str, ...] | None = None
    #: For a count: the sum of this column (aggregate counts such as participants) instead of rows.
    sum: str | None = None
    numerator: tuple[dict, ...] = ()
    days: tuple[str, str] | None = None
    age_at: Any = None
    multi: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    order: int = 0
    #: The audiences that may see it (empty: every audience), e.g. ``[internal]`` for a caseload.
    audiences: tuple[str, ...] = ()

    def allows(self, dims: tuple[str, ...]) -> bool:
        """Whether this indicator can be broken down by all of ``dims``."""
        return all(d in self.breakdowns or d == "organisation" for d in dims)

    @property
    def decimals(self) -> int:
        return {"count": 0, "rate": 1, "ratio": 2, "median": 1, "mean": 1}[self.unit]


@dataclass(frozen=True)
class Catalogue:
    """Families, dimensions and indicators.

    A dimension is its labels (``fr``, ``en``) and, optionally, how its values are found:
    ``column`` (the records' column, default the dimension's name), ``table`` (the table that
    holds that column), ``codes`` (code → labels, in display order; absent: an open code),
    ``bands`` (``{of: age | days | column, edges: [...]}``: bands of a number) and ``via``
    (records table → ``{table, key, column}``: a value looked up in another table).
    """

    version: str
    families: dict[str, dict[str, str]]
    dimensions: dict[str, dict[str, Any]]
    indicators: tuple[Indicator, ...]
    #: The organisations' catalogues merged in: namespace → version.
    organisations: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, key: str) -> bool:
        return any(i.id == key for i in self.indicators)

    def __getitem__(self, key: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == key:
                return ind
        raise IndicatorError(unknown_indicator_message(key, self.ids))

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    def family(self, family: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.family == family)

    def merge(self, other: Catalogue, namespace: str) -> Catalogue:
        """This catalogue with an organisation's (already checked, its ids namespaced) after it."""
        n = len(self.indicators)
        added = tuple(dataclass_replace(ind, order=n + i, label=_filled(ind.label), definition=_filled(ind.definition),
                                        notes=_filled(ind.notes) if ind.notes else {})
                      for i, ind in enumerate(other.indicators))
        other = dataclass_replace(other, families={k: _filled(v) for k, v in other.families.items()},
                                  dimensions={k: _filled(v) for k, v in other.dimensions.items()})
        return Catalogue(self.version, {**self.families, **other.families}, {**self.dimensions, **other.dimensions},
                         self.indicators + added, {**self.organisations, namespace: other.version})

    def default_params(self) -> dict[str, Any]:
        """Every parameter of the catalogue with its default."""
        out: dict[str, Any] = {}
        for ind in self.indicators:
            out.update(ind.params)
        return out


def unknown_indicator_message(key: str, ids: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, ids, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"Unknown indicator '{key}'.{hint} See `docs/indicators.md` for the catalogue."


# --- rules that check the catalogue; each returns a list of problems -----------------------------

Rule = Callable[[dict, set[str]], list[str]]


def _rule_fields(entry: dict, dims: set[str]) -> list[str]:
    missing = [k for k in ("id", "family", "unit", "label", "definition", "tables", "records", "breakdowns")
               if k not in entry]
    return [f"{entry.get('id', '?')}: missing '{k}'" for k in missing]


def _rule_unit(entry: dict, dims: set[str]) -> list[str]:
    unit = entry.get("unit")
    problems = [] if unit in UNITS else [f"{entry.get('id')}: unit '{unit}' is not one of {UNITS}"]
    if unit == "rate" and "numerator" not in entry:
        problems.append(f"{entry.get('id')}: a rate needs a numerator")
    if unit in ("median", "mean") and "days" not in entry:
        problems.append(f"{entry.get('id')}: a {unit} needs 'days: [from, to]'")
    if unit == "ratio" and "distinct" not in entry:
        problems.append(f"{entry.get('id')}: a ratio needs 'distinct' (its denominator)")
    if "sum" in entry and unit != "count":
        problems.append(f"{entry.get('id')}: 'sum' is for a count (the sum of a column), not a {unit}")
    distinct = entry.get("distinct")
    if distinct is not None and not (isinstance(distinct, str) or (
            isinstance(distinct, list) and distinct and all(isinstance(d, str) for d in distinct))):
        problems.append(f"{entry.get('id')}: 'distinct' is a column or a list of columns")
    return problems


def _rule_languages(entry: dict, dims: set[str]) -> list[str]:
    problems = []
    for key in ("label", "definition"):
        value = entry.get(key) or {}
        for lang in LANGUAGES:
            if not isinstance(value, dict) or not value.get(lang):
                problems.append(f"{entry.get('id')}: {key} has no '{lang}' text")
    return problems


def _rule_tables(entry: dict, dims: set[str]) -> list[str]:
    return [f"{entry.get('id')}: unknown table '{t}'.{closest(t, TABLES)}"
            for t in entry.get("tables", []) if t not in TABLES]


def closest(name: object, names) -> str:
    """`` Did you mean x?`` when a valid name is close to ``name`` (empty otherwise)."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(n) for n in names], n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def _rule_breakdowns(entry: dict, dims: set[str]) -> list[str]:
    problems = [f"{entry.get('id')}: unknown breakdown '{d}'.{closest(d, dims)}"
                for d in entry.get("breakdowns", []) if d not in dims]
    problems += [f"{entry.get('id')}: multi dimension '{d}' is not one of its breakdowns"
                 for d in entry.get("multi", []) if d not in entry.get("breakdowns", [])]
    return problems


RULES: tuple[Rule, ...] = (_rule_fields, _rule_unit, _rule_languages, _rule_tables, _rule_breakdowns)


def parse_catalogue(data: dict) -> Catalogue:
    """Build a :class:`Catalogue` from its YAML data, reporting every problem at once."""
    dims = set(data.get("dimensions", {}))
    families = data.get("families", {})
    problems: list[str] = []
    seen: set[str] = set()
    for entry in data.get("indicators", []):
        for rule in RULES:
            problems += rule(entry, dims)
        if entry.get("id") in seen:
            problems.append(f"{entry.get('id')}: declared twice")
        seen.add(entry.get("id"))
        if entry.get("family") not in families:
            problems.append(f"{entry.get('id')}: unknown family '{entry.get('family')}'")
    if problems:
        raise WorkbenchError("The indicator catalogue has problems:\n- " + "\n- ".join(problems))
    return build_catalogue(data)


def build_catalogue(data: dict) -> Catalogue:
    """A :class:`Catalogue` of checked data."""
    indicators = tuple(
        Indicator(
            id=e["id"], family=e["family"], unit=e["unit"], label=dict(e["label"]),
            definition=dict(e["definition"]), tables=tuple(e["tables"]), records=e["records"],
            population=tuple(e.get("population") or []), breakdowns=tuple(e["breakdowns"]),
            distinct=tuple(e["distinct"]) if isinstance(e.get("distinct"), list) else e.get("distinct"),
            sum=e.get("sum"), numerator=tuple(e.get("numerator") or []),
            days=tuple(e["days"]) if e.get("days") else None, age_at=e.get("age_at"),
            multi=tuple(e.get("multi") or []), params=dict(e.get("params") or {}),
            notes=dict(e.get("notes") or {}), order=i, audiences=tuple(e.get("audiences") or ()),
        )
        for i, e in enumerate(data["indicators"])
    )
    return Catalogue(str(data.get("catalogue_version", "0")), data.get("families", {}),
                     data.get("dimensions", {}), indicators)


def read_yaml(text: str) -> Any:
    """YAML text as data, within size and alias limits: every catalogue file is read through this one function."""
    return safeyaml.load(text)


def _builtin_data() -> dict:
    return read_yaml(resources.files("workbench").joinpath("indicators", "catalogue.yaml").read_text(encoding="utf-8"))


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, its Arabic and Dutch texts merged in."""
    data = _builtin_data()
    parse_catalogue(data)  # every problem of the declarations first, before any translation
    return build_catalogue(translate(data, {lang: translations(lang) for lang in ALL_LANGUAGES if lang not in LANGUAGES}))


# --- texts in the languages beyond French and English ----------------------------------------------

def translations(lang: str) -> dict[str, str]:
    """``catalogue.<lang>.yaml``: ``families.<id>``, ``dimensions.<id>``, ``indicators.<id>.<label|definition|notes>``."""
    source = resources.files("workbench").joinpath("indicators", f"catalogue.{lang}.yaml")
    if not source.is_file():
        return {}
    return {str(k): str(v) for k, v in (read_yaml(source.read_text(encoding="utf-8")) or {}).items()}


def _texts(data: dict) -> Iterator[tuple[str, dict]]:
    """Every ``{fr, en…}`` text of catalogue data with its translation key."""
    for fid, family in (data.get("families") or {}).items():
        yield f"families.{fid}", family
    for did, dim in (data.get("dimensions") or {}).items():
        yield f"dimensions.{did}", dim
    for entry in data.get("indicators") or []:
        for key in ("label", "definition", "notes"):
            if isinstance(entry.get(key), dict):
                yield f"indicators.{entry['id']}.{key}", entry[key]


def _filled(texts: dict) -> dict:
    """``texts`` with every language: a missing one shows the French text."""
    out = dict(texts)
    if texts.get(FALLBACK):
        out.update({lang: texts[FALLBACK] for lang in ALL_LANGUAGES if not texts.get(lang)})
    return out


def translate(data: dict, by_lang: dict[str, dict[str, str]]) -> dict:
    """Catalogue data with each language's translations merged in and French where one is missing."""
    import copy

    out = copy.deepcopy(data)
    for key, texts in _texts(out):
        for lang, flat in by_lang.items():
            if key in flat:
                texts[lang] = flat[key]
        texts.update(_filled(texts))
    return out


def translation_problems(lang: str) -> list[str]:
    """Texts of the built-in catalogue with no ``lang`` version (shown in French), and
    translation keys that name no text."""
    if lang in LANGUAGES:
        return []
    flat = translations(lang)
    keys = [key for key, _ in _texts(_builtin_data())]
    return ([f"catalogue: {k}" for k in keys if not flat.get(k)]
            + [f"unknown: catalogue: {k}" for k in flat if k not in set(keys)])


def resolve(catalogue: Catalogue | None) -> Catalogue:
    """The catalogue given, else the built-in one."""
    return catalogue if catalogue is not None else load_catalogue()
