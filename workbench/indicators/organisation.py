"""An organisation's own catalogue, checked and merged with the built-in one.

>>> from workbench.indicators.organisation import catalogue_with          # doctest: +SKIP
>>> cat = catalogue_with("my-indicators.yaml")                              # doctest: +SKIP
>>> cat["org.concern_cases"].label["en"]                                    # doctest: +SKIP

The file (YAML, or the equivalent workbook: :mod:`.declarations`) declares dimensions on the
extract's extra columns (a code list with labels and order, or an open code), bands of a number
or a duration, and indicators written as the built-in ones are. Every id starts with the
file's ``namespace`` and a dot (``org.concern_cases``), so none can shadow a built-in one.
Small rules collect every problem with its file and line (or sheet and cell) and the closest
valid name, then one :class:`~workbench.exceptions.CatalogueError` lists them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from workbench.contract.schema import TABLES
from workbench.exceptions import CatalogueError
from workbench.indicators import catalogue as builtin
from workbench.indicators.catalogue import Catalogue, build_catalogue, closest, load_catalogue, translate
from workbench.indicators.conditions import KINDS, condition_columns
from workbench.indicators.declarations import Where, locate, read_declarations

AUDIENCE_NAMES = ("internal", "partner", "public")
BAND_SOURCES = ("age", "days", "column")
PERSON_COLUMNS = ("person_id", "sex", "nationality", "legal_status", "birth_year")
NAMESPACE = re.compile(r"[a-z][a-z0-9_]{1,30}")

Problem = tuple[tuple, str]  # (path in the data, message)


def _table_columns(table: str) -> set[str]:
    return {c.name for c in TABLES[table].columns} if table in TABLES else set()


class _Scope:
    """What a declaration may name: the built-in catalogue plus the file's own declarations."""

    def __init__(self, data: dict, base: Catalogue) -> None:
        self.ns = str(data.get("namespace") or "")
        self.base = base
        self.dims: dict[str, dict] = {d: s for d, s in (data.get("dimensions") or {}).items()
                                      if isinstance(s, dict)}
        self.families = set(base.families) | set(data.get("families") or {}) | {self.ns}
        self.params: dict[str, Any] = {}
        for entry in data.get("indicators") or []:
            if isinstance(entry, dict) and isinstance(entry.get("params"), dict):
                self.params.update(entry["params"])
        self.params.update(base.default_params())

    def columns(self, table: str) -> set[str]:
        """The columns a record of ``table`` has: the contract's, the person's, the declared extra ones."""
        cols = _table_columns(table) | set(PERSON_COLUMNS)
        if table == "trafficking_persons":
            cols |= {"referred_in_time", "first_flag"}
        for dim, spec in self.dims.items():
            if spec.get("table") in (table, "persons") and not spec.get("bands"):
                cols.add(spec.get("column") or dim.split(".", 1)[-1])
        return cols

    @property
    def dimension_names(self) -> set[str]:
        return set(self.base.dimensions) | set(self.dims)


# --------------------------------------------------------------------------- rules

def _rule_namespace(data: dict, scope: _Scope) -> list[Problem]:
    if NAMESPACE.fullmatch(scope.ns):
        return [] if scope.ns not in scope.base.families else \
            [(("namespace",), f"namespace '{scope.ns}' is a built-in family; choose another")]
    return [(("namespace",), "give 'namespace': a short lower-case name (e.g. org) that starts every id")]


def _rule_dimensions(data: dict, scope: _Scope) -> list[Problem]:
    out: list[Problem] = []
    for dim, spec in (data.get("dimensions") or {}).items():
        at = ("dimensions", dim)
        if not str(dim).startswith(f"{scope.ns}."):
            out.append((at, f"dimension '{dim}' must start with '{scope.ns}.' (e.g. {scope.ns}.{dim})"))
        if not isinstance(spec, dict):
            out.append((at, f"dimension '{dim}' must be a mapping with fr, en and table"))
            continue
        out += [(at, f"dimension '{dim}' has no '{lang}' label") for lang in builtin.LANGUAGES if not spec.get(lang)]
        table = spec.get("table")
        by_age = isinstance(spec.get("bands"), dict) and spec["bands"].get("of") == "age"
        if table not in TABLES and not (by_age and table is None):
            out.append((at + ("table",), f"dimension '{dim}': unknown table '{table}'.{closest(table, TABLES)}"))
        bands, codes = spec.get("bands"), spec.get("codes")
        if bands and codes:
            out.append((at, f"dimension '{dim}' has both codes and bands; give one"))
        if codes is not None:
            out += _check_codes(dim, codes, at)
        if bands is not None:  # (the columns of an unknown table are not checked again)
            out += _check_bands(dim, bands, at, scope.columns(str(table)), table in TABLES or by_age)
    return out


def _check_codes(dim: str, codes: Any, at: tuple) -> list[Problem]:
    if not isinstance(codes, list) or not codes:
        return [(at + ("codes",), f"dimension '{dim}': codes must be a list of {{code, fr, en}}")]
    out, seen = [], set()
    for i, c in enumerate(codes):
        where = at + ("codes", i)
        if not isinstance(c, dict) or not c.get("code"):
            out.append((where, f"dimension '{dim}': code {i + 1} has no 'code'"))
            continue
        if str(c["code"]) in seen:
            out.append((where, f"dimension '{dim}': code '{c['code']}' is listed twice"))
        seen.add(str(c["code"]))
        out += [(where, f"dimension '{dim}': code '{c['code']}' has no '{lang}' label")
                for lang in builtin.LANGUAGES if not c.get(lang)]
    return out


def _check_bands(dim: str, bands: Any, at: tuple, columns: set[str], known_table: bool) -> list[Problem]:
    where = at + ("bands",)
    if not isinstance(bands, dict):
        return [(where, f"dimension '{dim}': bands must be {{of: age|days|column, edges: [...]}}")]
    out = []
    of = bands.get("of")
    if of not in BAND_SOURCES and of not in columns and known_table:
        out.append((where, f"dimension '{dim}': bands of '{of}' is not age, days or a column."
                           f"{closest(of, [*BAND_SOURCES, *columns])}"))
    edges = bands.get("edges")
    if (not isinstance(edges, list) or len(edges) < 1 or not all(isinstance(e, int) for e in edges)
            or edges != sorted(set(edges))):
        out.append((where, f"dimension '{dim}': edges must be increasing whole numbers, e.g. [0, 6, 12, 18]"))
    if of == "days":
        between = bands.get("between")
        if not known_table:
            pass
        elif not isinstance(between, list) or len(between) != 2:
            out.append((where, f"dimension '{dim}': bands of days need 'between: [from, to]' (two date columns)"))
        else:
            out += [(where, f"dimension '{dim}': unknown column '{c}'.{closest(c, columns)}")
                    for c in between if c not in columns]
    return out


def _rule_indicators(data: dict, scope: _Scope) -> list[Problem]:
    out: list[Problem] = []
    seen: set[str] = set()
    entries = data.get("indicators") or []
    if not entries:
        out.append((("indicators",), "declare at least one indicator"))
    for i, entry in enumerate(entries):
        at = ("indicators", i)
        if not isinstance(entry, dict):
            out.append((at, "an indicator is a mapping of id, unit, label…"))
            continue
        entry.setdefault("family", scope.ns)
        iid = str(entry.get("id", "?"))
        for rule in builtin.RULES:  # the rules of the built-in catalogue, with this file's dimensions
            for message in rule(entry, scope.dimension_names):
                key = next((k for k in ("breakdowns", "tables", "unit", "label", "definition")
                            if f"'{k}'" in message or k.rstrip("s") in message), None)
                out.append((at + ((key,) if key and key in entry else ()), message))
        if not iid.startswith(f"{scope.ns}."):
            out.append((at + ("id",), f"{iid}: an organisation's id starts with '{scope.ns}.' "
                                      f"(e.g. {scope.ns}.{iid.split('.')[-1]}), so it cannot shadow a built-in one"))
        if iid in seen or iid in scope.base:
            out.append((at + ("id",), f"{iid}: declared twice"))
        seen.add(iid)
        if entry["family"] not in scope.families:
            out.append((at + ("family",), f"{iid}: unknown family '{entry['family']}'.{closest(entry['family'], scope.families)}"))
        out += [(at + p, m) for p, m in _check_indicator(entry, scope)]
    return out


def _check_indicator(entry: dict, scope: _Scope) -> list[Problem]:
    iid, out = entry.get("id"), []
    records = entry.get("records")
    if records not in TABLES:
        out.append((("records",), f"{iid}: records '{records}' is not a table.{closest(records, TABLES)}"))
        return out
    columns = scope.columns(records)
    for key in ("population", "numerator"):
        conds = entry.get(key) or []
        if not isinstance(conds, list):
            out.append(((key,), f"{iid}: {key} must be a list of conditions"))
            continue
        for cond in conds:
            if not isinstance(cond, dict) or len(cond) != 1:
                out.append(((key,), f"{iid}: a condition is one key, e.g. {{in_period: date}}, not {cond!r}"))
                continue
            (kind, arg), = cond.items()
            if kind not in KINDS:
                out.append(((key,), f"{iid}: unknown condition '{kind}'.{closest(kind, KINDS)}"))
                continue
            cols, limit = condition_columns(kind, arg)
            out += [((key,), f"{iid}: unknown column '{c}' of {records}.{closest(c, columns)}")
                    for c in cols if c not in columns]
            if isinstance(limit, str) and limit not in scope.params:
                out.append(((key,), f"{iid}: unknown parameter '{limit}'.{closest(limit, scope.params)}"))
    distinct = entry.get("distinct")  # a column, or a list of columns (the first recorded counts)
    for c in [distinct] if isinstance(distinct, str) else distinct if isinstance(distinct, list) else []:
        if isinstance(c, str) and c not in columns:
            out.append((("distinct",), f"{iid}: unknown column '{c}' of {records}.{closest(c, columns)}"))
    for c in entry.get("days") or []:
        if c not in columns:
            out.append((("days",), f"{iid}: unknown column '{c}' of {records}.{closest(c, columns)}"))
    for name in (entry.get("params") or {}):
        if not str(name).startswith(f"{scope.ns}."):
            out.append((("params",), f"{iid}: parameter '{name}' must start with '{scope.ns}.'"))
    for aud in entry.get("audiences") or []:
        if aud not in AUDIENCE_NAMES:
            out.append((("audiences",), f"{iid}: unknown audience '{aud}'.{closest(aud, AUDIENCE_NAMES)}"))
    for dim in entry.get("breakdowns") or []:
        spec = scope.dims.get(dim)
        by_age = spec and isinstance(spec.get("bands"), dict) and spec["bands"].get("of") == "age"
        if spec and not by_age and spec.get("table") in TABLES and spec.get("table") not in (records, "persons"):
            out.append((("breakdowns",), f"{iid}: dimension '{dim}' is a column of {spec.get('table')}, "
                                         f"not of {records}"))
    return out


RULES: tuple[Callable[[dict, _Scope], list[Problem]], ...] = (_rule_namespace, _rule_dimensions, _rule_indicators)


# --------------------------------------------------------------------------- building

def check(data: dict, where: Where, name: str, base: Catalogue | None = None) -> Catalogue:
    """The organisation's catalogue merged after ``base`` (the built-in one), or every problem at once."""
    base = base or load_catalogue()
    scope = _Scope(data, base)
    problems = [p for rule in RULES for p in rule(data, scope)]
    if problems:
        lines = [f"{locate(where, path) or name}: {message}" for path, message in problems]
        raise CatalogueError(f"The catalogue {name} has {len(lines)} problem{'s' if len(lines) > 1 else ''}:\n- "
                             + "\n- ".join(lines) + "\nSee docs/organisation-catalogue.md.")
    dims = {}
    for dim, spec in scope.dims.items():
        spec = dict(spec)
        if not spec.get("bands"):
            spec.setdefault("column", dim.split(".", 1)[1])
        if spec.get("codes"):
            spec["codes"] = {str(c["code"]): {"fr": str(c["fr"]), "en": str(c["en"]),
                                              **{lang: str(c.get(lang) or c["fr"]) for lang in ("ar", "nl")}}
                             for c in spec["codes"]}
        dims[dim] = spec
    families = {f: dict(v) for f, v in (data.get("families") or {}).items()}
    families.setdefault(scope.ns, {"fr": f"Indicateurs propres ({scope.ns})", "en": f"Own indicators ({scope.ns})"})
    # An organisation writes French and English; Arabic and Dutch readers see the French text (listed by
    # `workbench texts --check` like any missing translation of the built-in catalogue).
    own = build_catalogue(translate({"catalogue_version": str(data.get("catalogue_version", "0")),
                                     "families": families, "dimensions": dims, "indicators": data["indicators"]}, {}))
    return base.merge(own, scope.ns)


@cache
def _cached(path: str, mtime: float) -> Catalogue:
    data, where, name = read_declarations(path)
    return check(data, where, name)


def catalogue_with(path: str | Path | None) -> Catalogue:
    """The built-in catalogue with the organisation's file merged in (``None``: the built-in one)."""
    if path is None:
        return load_catalogue()
    p = Path(path)
    if not p.is_file():
        raise CatalogueError(f"{p}: no such catalogue file. Give a .yaml or .xlsx file "
                             "(docs/organisation-catalogue.md).")
    return _cached(str(p.resolve()), p.stat().st_mtime)


def catalogue_for(extract, path: str | Path | None = None) -> Catalogue:
    """The catalogue for an extract: ``path`` if given, else ``catalogue:`` of its ``extract.yaml``
    (relative to the extract's folder), else the built-in one."""
    if path is not None:
        return catalogue_with(path)
    meta = getattr(extract, "meta", None)
    declared = getattr(meta, "catalogue", None)
    if not declared:
        return load_catalogue()
    source = Path(getattr(extract, "source", "."))
    folder = source if source.is_dir() else source.parent
    return catalogue_with(folder / declared)
