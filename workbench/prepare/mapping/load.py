"""Reading a mapping file: YAML (without the 1.1 booleans, refusing duplicate keys) into the
model of :mod:`~workbench.prepare.mapping.model`, every problem collected before it fails."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

import yaml

from workbench import safeyaml
from workbench.contract.schema import TABLE_ORDER, TABLES
from workbench.exceptions import MappingError
from workbench.extract import files as readers
from workbench.prepare.mapping.model import (ID_PREFIXES, MAPPING_VERSION, UNMAPPED_CHOICES, USER_TYPES,
                                             ColumnRule, Derived, Mapping, Source, TableMap, _schedule)
from workbench.prepare.mapping.parse import _date_format, match_keys
from workbench.prepare.mapping.validate import (_check_source, _check_table, _Problems, _resolve_types,
                                                _vocabulary_names)

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ORG_CODE = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 booleans (``no``, ``on``, ``y``… stay text: ``NO`` is Norway) and
    refusing duplicate keys (a raw column mapped twice)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_keys(where: str, data: MappingABC, allowed: tuple[str, ...], problems: _Problems) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (keys: {', '.join(allowed)})"
            problems.add(where, f"unknown key '{key}'{hint}")


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file.

    Raises
    ------
    MappingError
        When the file is missing or not valid YAML, or with the list of every problem found
        (unknown keys, codes that are not in a vocabulary, required columns without a field,
        identifiers that are not pseudonymised…), each with where it is and what to do.
    """
    path = Path(path)
    try:
        data_bytes = path.read_bytes()
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file.") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror}).") from None
    text, _ = readers.decode(data_bytes)
    try:
        data = safeyaml.load(text, loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{path.name}: not valid YAML{where}: {' '.join(str(problem).split())}. "
                           "See docs/mappings.md for the form of a mapping file.") from None
    return parse_mapping(data, name=path.name, sha256=hashlib.sha256(data_bytes).hexdigest())


def parse_mapping(data: Any, *, name: str = "mapping", sha256: str = "") -> Mapping:
    """Check a mapping given as data (what the YAML file holds); see :func:`load_mapping`."""
    problems = _Problems()
    if not isinstance(data, MappingABC):
        raise MappingError(f"{name}: expected a mapping with keys organisation, sources and tables "
                           "(see docs/mappings.md).")
    _check_keys(name, data, ("version", "organisation", "label", "extracted_on", "sites", "centres", "partners",
                             "sources", "tables"), problems)
    version = data.get("version", MAPPING_VERSION)
    if version != MAPPING_VERSION:
        problems.add(f"{name}: version", f"{version!r} is not a mapping version this workbench reads "
                                         f"(use {MAPPING_VERSION})")
    organisation = data.get("organisation")
    if not isinstance(organisation, str) or not _ORG_CODE.match(organisation):
        problems.add(f"{name}: organisation", "a short code in lower-case letters, digits and _ is required "
                                              "(e.g. permanence_nord); it tells organisations apart when "
                                              "extracts are combined")
        organisation = str(organisation or "")
    label = data.get("label")
    extracted_on = _parse_extracted_on(data.get("extracted_on"), name, problems)
    labels = {}
    for key in ("sites", "centres", "partners"):
        value = data.get(key) or {}
        if not isinstance(value, MappingABC):
            problems.add(f"{name}: {key}", "must map codes to labels")
            value = {}
        labels[key] = {readers.normalise_code(str(k)): str(v) for k, v in value.items()}
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, MappingABC) or not raw_sources:
        problems.add(f"{name}: sources", "at least one source is needed (a file or sheet of the export)")
        raw_sources = {}
    raw_tables = data.get("tables")
    if not isinstance(raw_tables, MappingABC) or not raw_tables:
        problems.add(f"{name}: tables", "at least the tables persons and contacts must be filled")
        raw_tables = {}
    tables_by_source: dict[str, list[str]] = defaultdict(list)
    for tname, tdata in raw_tables.items():
        if isinstance(tdata, MappingABC) and isinstance(tdata.get("from"), str):
            tables_by_source[tdata["from"]].append(str(tname))
    sources = {}
    for sname, sdata in raw_sources.items():
        source = _parse_source(str(sname), sdata, name, problems)
        if source is not None:
            sources[source.name] = source
    tables = {}
    for tname, tdata in raw_tables.items():
        tm = _parse_table(str(tname), tdata, sources, name, problems)
        if tm is not None:
            tables[tm.name] = tm
    for required in ("persons", "contacts"):
        if raw_tables and required not in raw_tables:
            problems.add(f"{name}: tables", f"the table '{required}' is required by the case extract")
    _, blocked = _schedule(sources)
    if blocked:
        problems.add(f"{name}: sources", "lookups go round in a circle (" + "; ".join(blocked) + "): a field "
                                         "cannot wait for a field that waits for it")
    # Types are resolved in passes, so that lookups may go both ways between sources.
    resolved: dict[str, Source] = {}
    for _ in range(len(sources)):
        resolved = {sname: _resolve_types(source, tables, resolved, name, _Problems())
                    for sname, source in sources.items()}
    resolved = {sname: _resolve_types(source, tables, resolved, name, problems)
                for sname, source in sources.items()}
    sources = {n: resolved[n] for n in sources}
    for tm in tables.values():
        if tm.source in sources:
            _check_table(tm, sources[tm.source], name, problems)
    for source in sources.values():
        _check_source(source, sources, tables, name, problems)
    if problems:
        listed = "\n".join(f"  - {p.removeprefix(name + ': ')}" for p in problems)
        raise MappingError(f"{name}: {len(problems)} problem{'s' if len(problems) > 1 else ''} in the mapping "
                           f"(see docs/mappings.md):\n{listed}")
    return Mapping(name=name, organisation=organisation, label=str(label) if label else None,
                   extracted_on=extracted_on, sites=labels["sites"], centres=labels["centres"],
                   partners=labels["partners"], sources=sources, tables=tables, sha256=sha256)


def _parse_extracted_on(value: Any, name: str, problems: _Problems) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.add(f"{name}: extracted_on", f"'{value}' is not a date (use YYYY-MM-DD)")
        return None


_COLUMN_KEYS = ("to", "type", "vocabulary", "values", "unmapped", "date_format", "pseudonym", "keep",
                "optional", "split", "countries", "drop", "option", "timezone")
_DERIVE_OPS = ("year_of", "year_from_age", "pseudonym", "lookup", "value", "first_of")
_DERIVE_KEYS = _DERIVE_OPS + ("at", "of", "per_row", "on", "field")


def _parse_source(sname: str, sdata: Any, name: str, problems: _Problems) -> Source | None:
    where = f"{name}: sources.{sname}"
    if not isinstance(sdata, MappingABC):
        problems.add(where, "expected keys file, sheet, columns…")
        return None
    _check_keys(where, sdata, ("file", "sheet", "header_row", "delimiter", "columns", "derive", "defaults"),
                problems)
    header_row = sdata.get("header_row", "auto")
    if header_row == "auto" or header_row is None:
        header_row = None
    elif not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        problems.add(f"{where}.header_row", f"{header_row!r} is not a row number (1, 2…) or auto")
        header_row = None
    delimiter = sdata.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter.replace("\\t", "\t")) != 1):
        problems.add(f"{where}.delimiter", f"{delimiter!r} is not one character (use ',', ';' or '\\t')")
        delimiter = None
    elif isinstance(delimiter, str):
        delimiter = delimiter.replace("\\t", "\t")
    raw_columns = sdata.get("columns")
    if not isinstance(raw_columns, MappingABC) or not raw_columns:
        problems.add(f"{where}.columns", "list the raw columns (headers as written) and what each becomes")
        raw_columns = {}
    columns = []
    keys_seen: dict[str, str] = {}
    for raw, rule in raw_columns.items():
        parsed = _parse_column(str(raw), rule, f"{where}.columns.{raw}", problems)
        if parsed is None:
            continue
        if parsed.raw.strip() in keys_seen:
            problems.add(f"{where}.columns.{raw}", f"is the same header as '{keys_seen[parsed.raw.strip()]}' "
                                                   "(headers are compared trimmed)")
            continue
        keys_seen[parsed.raw.strip()] = str(raw)
        columns.append(parsed)
    derive = []
    raw_derive = sdata.get("derive") or {}
    if not isinstance(raw_derive, MappingABC):
        problems.add(f"{where}.derive", "must map field names to rules such as {year_of: date_of_birth}")
        raw_derive = {}
    for fname, rule in raw_derive.items():
        d = _parse_derive(str(fname), rule, f"{where}.derive.{fname}", problems)
        if d is not None:
            derive.append(d)
    defaults = sdata.get("defaults") or {}
    if not isinstance(defaults, MappingABC):
        problems.add(f"{where}.defaults", "must map field names to values")
        defaults = {}
    for fname in defaults:
        if not _FIELD_NAME.match(str(fname)):
            problems.add(f"{where}.defaults.{fname}", "a field name is lower-case letters, digits and _")
    file = sdata.get("file")
    sheet = sdata.get("sheet")
    if isinstance(sheet, bool) or isinstance(sheet, int) and sheet < 1 or sheet is not None and not isinstance(
            sheet, (int, str)):
        problems.add(f"{where}.sheet", f"{sheet!r} is not a sheet name or position (1: the first sheet)")
        sheet = None
    return Source(name=sname, file=str(file) if file is not None else None,
                  sheet=sheet if isinstance(sheet, int) or sheet is None else str(sheet), header_row=header_row, delimiter=delimiter,
                  columns=tuple(columns), derive=tuple(derive),
                  defaults=tuple((str(k), v) for k, v in defaults.items()))


def _parse_column(raw: str, rule: Any, where: str, problems: _Problems) -> ColumnRule | None:
    if rule == "drop" or rule is None or (isinstance(rule, MappingABC) and rule.get("drop") is True):
        if isinstance(rule, MappingABC) and set(rule) - {"drop", "optional"}:
            problems.add(where, "a dropped column takes no other keys")
        return ColumnRule(raw=raw, field=None, optional=True)
    if isinstance(rule, str):
        rule = {"to": rule}
    if not isinstance(rule, MappingABC):
        problems.add(where, "expected 'drop', a field name, or keys such as to, values, date_format")
        return None
    _check_keys(where, rule, _COLUMN_KEYS, problems)
    target = rule.get("to")
    if not isinstance(target, str) or not _FIELD_NAME.match(target):
        problems.add(where, "'to' must name the field the column becomes (lower-case letters, digits and _), "
                            "e.g. to: sex")
        return None
    explicit_type = rule.get("type")
    if explicit_type is not None and (not isinstance(explicit_type, str) or explicit_type not in USER_TYPES):
        problems.add(f"{where}.type", f"'{explicit_type}' is not a type (types: {', '.join(USER_TYPES)})")
        explicit_type = None
    vocab = rule.get("vocabulary")
    if vocab is not None and (not isinstance(vocab, str) or vocab not in _vocabulary_names()):
        problems.add(f"{where}.vocabulary", f"'{vocab}' is not a vocabulary "
                                            f"({', '.join(sorted(_vocabulary_names()))})")
        vocab = None
    values = rule.get("values") or {}
    if not isinstance(values, MappingABC):
        problems.add(f"{where}.values", "must map raw values to codes, e.g. {Homme: male, Femme: female}")
        values = {}
    value_pairs: dict[str, Any] = {}
    for (k, v), key in zip(values.items(), match_keys(list(values))):
        if key in value_pairs and value_pairs[key] != v:
            problems.add(f"{where}.values", f"'{k}' reads as the same value as another key with a different "
                                            "target (values are compared without case or accents)")
        value_pairs[key] = v
    unmapped = rule.get("unmapped")
    if unmapped is not None and (not isinstance(unmapped, str) or unmapped not in UNMAPPED_CHOICES):
        problems.add(f"{where}.unmapped", f"'{unmapped}' is not one of {', '.join(UNMAPPED_CHOICES)}")
        unmapped = None
    formats = rule.get("date_format") or ()
    if isinstance(formats, str):
        formats = (formats,)
    elif not isinstance(formats, list | tuple):
        problems.add(f"{where}.date_format", "a date format (e.g. JJ/MM/AAAA) or a list of them")
        formats = ()
    parsed_formats = []
    for f in formats:
        fmt = _date_format(f) if isinstance(f, str) else None
        if fmt is None:
            problems.add(f"{where}.date_format", f"'{f}' is not a date format with a day, a month and a "
                                                 "four-digit year (e.g. JJ/MM/AAAA, %d/%m/%Y, DD-MMM-YYYY)")
        else:
            parsed_formats.append(fmt)
    pseudonym = rule.get("pseudonym")
    if pseudonym is not None and (not isinstance(pseudonym, str) or pseudonym not in ID_PREFIXES):
        problems.add(f"{where}.pseudonym", f"'{pseudonym}' is not a kind of pseudonym "
                                           f"({', '.join(ID_PREFIXES)})")
        pseudonym = None
    keep = rule.get("keep")
    if keep is not None and (not isinstance(keep, str) or keep not in TABLES):
        problems.add(f"{where}.keep", f"'{keep}' is not a table; keep names the table the column is kept in")
        keep = None
    split = rule.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        problems.add(f"{where}.split", "the separator of the values in one cell, e.g. ','")
        split = None
    for key in ("optional", "countries"):
        if key in rule and not isinstance(rule[key], bool):
            problems.add(f"{where}.{key}", "true or false")
    option = rule.get("option")
    if option is not None:
        if not isinstance(option, (str, int)) or isinstance(option, bool) or not str(option).strip():
            problems.add(f"{where}.option", "the code this 0/1 column stands for, e.g. option: unaccompanied_minor")
            option = None
        elif split is not None or values:
            problems.add(f"{where}.option", "a 0/1 option column takes neither split: nor values:")
            option = None
        else:
            option = str(option)
    timezone = rule.get("timezone")
    if timezone is not None and not _valid_zone(timezone):
        problems.add(f"{where}.timezone", f"{timezone!r} is not a time zone (e.g. Europe/Brussels, Africa/Tunis, "
                                          "UTC)")
        timezone = None
    return ColumnRule(option=option, timezone=timezone, raw=raw, field=target, values=tuple(value_pairs.items()), unmapped=unmapped,
                      date_formats=tuple(parsed_formats), pseudonym=pseudonym, keep=keep,
                      optional=rule.get("optional") is True, split=split, countries=rule.get("countries", True)
                      is not False, explicit_type=explicit_type, explicit_vocab=vocab)


def _valid_zone(zone: Any) -> bool:
    import zoneinfo

    if not isinstance(zone, str) or not zone.strip() or zone.startswith(("/", ".")) or ".." in zone:
        return False
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _parse_derive(fname: str, rule: Any, where: str, problems: _Problems) -> Derived | None:
    if not _FIELD_NAME.match(fname):
        problems.add(where, "a field name is lower-case letters, digits and _")
        return None
    if not isinstance(rule, MappingABC):
        problems.add(where, f"expected one of {', '.join(_DERIVE_OPS)} (e.g. {{year_of: date_of_birth}})")
        return None
    _check_keys(where, rule, _DERIVE_KEYS, problems)
    ops = [op for op in _DERIVE_OPS if op in rule]
    if len(ops) != 1:
        problems.add(where, f"give exactly one of {', '.join(_DERIVE_OPS)}")
        return None
    op = ops[0]
    args = dict(rule)
    for key in ("year_of", "year_from_age", "at", "lookup", "on", "field"):
        if key in rule and not (isinstance(rule[key], str) and _FIELD_NAME.match(rule[key]) or
                                key == "lookup" and isinstance(rule[key], str) and rule[key]):
            problems.add(f"{where}.{key}", f"{rule[key]!r} must name a {'source' if key == 'lookup' else 'field'}")
            return None
    if "per_row" in rule and not isinstance(rule["per_row"], bool):
        problems.add(f"{where}.per_row", "true or false")
        return None
    if op == "year_from_age" and "at" not in rule:
        problems.add(where, "year_from_age needs 'at': the date field the age was recorded at")
        return None
    if op == "pseudonym":
        if not isinstance(rule["pseudonym"], str) or rule["pseudonym"] not in ID_PREFIXES:
            problems.add(f"{where}.pseudonym", f"'{rule['pseudonym']}' is not a kind of pseudonym "
                                               f"({', '.join(ID_PREFIXES)})")
            return None
        of = rule.get("of")
        if isinstance(of, str):
            of = [of]
        if not isinstance(of, list) or not of or not all(isinstance(f, str) for f in of):
            problems.add(where, "a pseudonym needs 'of': the field or fields that identify the row")
            return None
        args["of"] = of
    if op == "lookup" and not (isinstance(rule.get("on"), str) and isinstance(rule.get("field"), str)):
        problems.add(where, "lookup needs 'on' (the field both sources share) and 'field' (the field to take)")
        return None
    if op == "first_of":
        items = rule["first_of"]
        if not isinstance(items, list) or not items:
            problems.add(where, "first_of takes a list of rules, e.g. [{year_of: date_of_birth}, "
                                "{year_from_age: age, at: registered_on}]")
            return None
        subs = []
        for i, item in enumerate(items):
            sub = _parse_derive(fname, item, f"{where}.first_of[{i}]", problems)
            if sub is None:
                return None
            if sub.op == "first_of":
                problems.add(f"{where}.first_of[{i}]", "first_of cannot be nested")
                return None
            subs.append(sub)
        args["first_of"] = subs
    return Derived(field=fname, op=op, args=args)


def _parse_table(tname: str, tdata: Any, sources: dict[str, Source], name: str,
                 problems: _Problems) -> TableMap | None:
    where = f"{name}: tables.{tname}"
    if tname not in TABLES:
        close = difflib.get_close_matches(tname, list(TABLES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.add(where, f"'{tname}' is not a table of the case extract{hint} "
                            f"(tables: {', '.join(TABLE_ORDER)})")
        return None
    if not isinstance(tdata, MappingABC):
        problems.add(where, "expected keys from, one_row_per, columns…")
        return None
    _check_keys(where, tdata, ("from", "one_row_per", "first_by", "explode", "columns"), problems)
    source = tdata.get("from")
    for key in ("one_row_per", "first_by", "explode"):
        if tdata.get(key) is not None and not isinstance(tdata.get(key), str):
            problems.add(f"{where}.{key}", f"{tdata.get(key)!r} must name a field")
            return None
    if not isinstance(source, str) or source not in sources:
        problems.add(f"{where}.from", f"'{source}' is not a source of this mapping "
                                      f"(sources: {', '.join(sources) or 'none'})")
        return None
    spec = TABLES[tname]
    given = tdata.get("columns") or {}
    if not isinstance(given, MappingABC):
        problems.add(f"{where}.columns", "must map table columns to fields, e.g. {registered_on: {min: date}}")
        given = {}
    one_row_per = tdata.get("one_row_per")
    columns: dict[str, tuple[str, Any]] = {}
    for column, value in given.items():
        cwhere = f"{where}.columns.{column}"
        if column not in spec.column_names:
            close = difflib.get_close_matches(str(column), spec.column_names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.add(cwhere, f"'{column}' is not a column of {tname}{hint}; to keep another column, use "
                                 "keep: on the raw column")
            continue
        if isinstance(value, str):
            columns[column] = ("field", value)
        elif isinstance(value, MappingABC) and len(value) == 1:
            op, arg = next(iter(value.items()))
            if op not in ("field", "first", "min", "max", "value"):
                problems.add(cwhere, f"'{op}' is not one of field, first, min, max, value")
                continue
            if op != "value" and not isinstance(arg, str):
                problems.add(cwhere, f"{op}: {arg!r} must name a field")
                continue
            if op in ("first", "min", "max") and not one_row_per:
                problems.add(cwhere, f"'{op}' needs one_row_per (it combines the rows of one person)")
                continue
            columns[column] = (op, arg)
        else:
            problems.add(cwhere, "expected a field name, or one of {field: F}, {first: F}, {min: F}, {max: F}, "
                                 "{value: CODE}")
    src = sources[source]
    field_names = {r.field for r in src.columns if r.field} | {d.field for d in src.derive} | {
        k for k, _ in src.defaults}
    for column in spec.column_names:
        if column not in columns and column in field_names:
            columns[column] = ("field", column)
    extras = tuple(r.field for r in src.columns if r.keep == tname and r.field)
    return TableMap(name=tname, source=source, columns=tuple((c, columns[c]) for c in spec.column_names
                                                             if c in columns),
                    one_row_per=one_row_per, first_by=tdata.get("first_by"), explode=tdata.get("explode"),
                    extras=extras)
