"""The rules a mapping is checked by: every field gets a type, every table column a compatible
field, every value map, default and constant fits its type. Problems are collected, not raised
one by one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from functools import cache
from typing import Any

from workbench.contract.schema import TABLES
from workbench.extract import guard
from workbench.prepare.mapping.model import (ColumnRule, Derived, FType, Source, TableMap, _canonical_names,
                                             canonical_type)
from workbench.prepare.mapping.parse import _constant


class _Problems(list):
    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


@cache
def _vocabulary_names() -> set[str]:
    from workbench.contract.schema import VOCABULARIES

    return set(VOCABULARIES)


def _resolve_types(source: Source, tables: dict[str, TableMap], resolved: dict[str, Source], name: str,
                   problems: _Problems) -> Source:
    """Give every field of the source its type: explicit, by its name, or by the column it fills."""
    where = f"{name}: sources.{source.name}"
    fed: dict[str, set[FType]] = defaultdict(set)
    for tm in tables.values():
        if tm.source != source.name:
            continue
        for column, (op, arg) in tm.columns:
            if op != "value":
                fed[str(arg)].add(canonical_type(TABLES[tm.name].column(column)))

    def inferred(fname: str) -> FType:
        if fname in _canonical_names():
            return _canonical_names()[fname]
        if len(fed.get(fname, ())) == 1:
            return next(iter(fed[fname]))
        return FType("text")

    types: dict[str, FType] = {}
    rules = []
    option_fields = set()
    for rule in source.columns:
        if rule.field is None:
            rules.append(rule)
            continue
        if rule.field in types and rule.multi and rule.field in option_fields:
            rules.append(replace(rule, ftype=types[rule.field]))
            continue
        if rule.field in types:
            problems.add(f"{where}.columns.{rule.raw}", f"the field '{rule.field}' is already given by another "
                                                        "column (to combine two columns, use derive: first_of)")
            continue
        if rule.pseudonym:
            ftype = FType("id", rule.pseudonym)
        elif rule.explicit_type == "code":
            ftype = FType("code", rule.explicit_vocab)
        elif rule.explicit_type:
            ftype = FType(rule.explicit_type)
        else:
            ftype = inferred(rule.field)
            if ftype.kind == "id":
                problems.add(f"{where}.columns.{rule.raw}",
                             f"'{rule.field}' is an identifier: add pseudonym: {ftype.vocab} (it is replaced by a "
                             "keyed pseudonym), or map the column to another field")
                continue
        types[rule.field] = ftype
        if rule.multi:
            option_fields.add(rule.field)  # a multiple choice: its 0/1 columns and its cell of codes
        rules.append(replace(rule, ftype=ftype))
    derived = []
    for d in source.derive:
        if d.field in types:
            problems.add(f"{where}.derive.{d.field}", "this field is already given by a column; use a new name "
                                                      "or first_of")
            continue
        ftype = _derived_type(d, types, inferred, resolved, where, problems,
                              frozenset(r.field for r in source.columns if r.field and r.multi))
        if ftype is None:
            continue
        types[d.field] = ftype
        derived.append(Derived(d.field, d.op, d.args, ftype))
    for fname, value in source.defaults:
        if fname not in types:
            types[fname] = inferred(fname)
        ftype = types[fname]
        _check_constant(value, ftype, f"{where}.defaults.{fname}", problems)
    return Source(name=source.name, file=source.file, sheet=source.sheet, header_row=source.header_row,
                  delimiter=source.delimiter, columns=tuple(rules), derive=tuple(derived),
                  defaults=source.defaults, types=tuple(types.items()))


def _derived_type(d: Derived, types: dict[str, FType], inferred, resolved: dict[str, Source], where: str,
                  problems: _Problems, multi: frozenset[str] = frozenset()) -> FType | None:
    w = f"{where}.derive.{d.field}"

    def need(fname: Any, kinds: tuple[str, ...], role: str) -> bool:
        if fname not in types:
            problems.add(w, f"{role} '{fname}' is not a field of this source (fields are defined in order: "
                            "columns first, then derive)")
            return False
        if kinds and types[fname].kind not in kinds:
            problems.add(w, f"{role} '{fname}' is {types[fname].describe()}, not a {' or '.join(kinds)}"
                            + (" (add type: date to its column)" if "date" in kinds else ""))
            return False
        return True

    if d.op == "year_of":
        return FType("year") if need(d.args["year_of"], ("date",), "year_of") else None
    if d.op == "year_from_age":
        ok = need(d.args["year_from_age"], ("integer", "year"), "year_from_age")
        ok = need(d.args["at"], ("date",), "at") and ok
        return FType("year") if ok else None
    if d.op == "pseudonym":
        ok = all([need(f, (), "of") for f in d.args["of"]])
        for f in d.args["of"]:
            if f in multi:
                problems.add(w, f"of '{f}' holds several values per row and cannot make an identifier")
                ok = False
        return FType("id", d.args["pseudonym"]) if ok else None
    if d.op == "lookup":
        other = resolved.get(d.args["lookup"])
        ok = need(d.args["on"], (), "on")
        if d.args["on"] in multi:
            problems.add(w, f"on '{d.args['on']}' holds several values per row")
            ok = False
        if other is None:
            problems.add(w, f"'{d.args['lookup']}' is not another source of this mapping")
            return None
        ftype = other.type_of(d.args["field"])
        if ftype is None or other.type_of(d.args["on"]) is None:
            problems.add(w, f"'{d.args['on']}' and '{d.args['field']}' must be fields of source '{other.name}'")
            return None
        if any(r.multi and r.field == d.args["field"] for r in other.columns):
            problems.add(w, f"'{d.args['field']}' holds several values per row in source '{other.name}' (split: or "
                            f"option:) and cannot be looked up: fill the table that needs it from '{other.name}' "
                            "with explode:")
            return None
        return ftype if ok else None
    if d.op == "value":
        ftype = inferred(d.field)
        _check_constant(d.args["value"], ftype, w, problems)
        return ftype
    subs = []
    for sub in d.args["first_of"]:
        t = _derived_type(sub, types, inferred, resolved, where, problems, multi)
        if t is None:
            return None
        subs.append(t)
    if len(set(subs)) > 1:
        problems.add(w, "the rules of first_of give fields of different types")
        return None
    return subs[0]


def _check_constant(value: Any, ftype: FType, where: str, problems: _Problems) -> None:
    if value is None:
        return
    try:
        _constant(value, ftype)
    except ValueError as exc:
        problems.add(where, str(exc))


def _check_value_targets(rule: ColumnRule, where: str, problems: _Problems) -> None:
    ftype = rule.ftype
    for key, target in rule.values:
        if target is None:
            continue
        if ftype.kind in ("date", "year", "integer", "text", "id"):
            problems.add(f"{where}.values", f"{ftype.describe().capitalize()} column can only map values to ~ (not "
                                            f"recorded); '{key}' maps to {target!r}")
            continue
        try:
            _constant(target, ftype)
        except ValueError as exc:
            problems.add(f"{where}.values", f"{key!r} → {exc}")


def _check_table(tm: TableMap, source: Source, name: str, problems: _Problems) -> None:
    where = f"{name}: tables.{tm.name}"
    spec = TABLES[tm.name]
    given = dict(tm.columns)
    for column in spec.required_columns:
        if column not in given:
            problems.add(where, f"the required column '{column}' has no field: map a raw column to it "
                                f"(to: {column}), give it a default, or set columns: {{{column}: {{value: …}}}}")
    for column, (op, arg) in tm.columns:
        ctype = canonical_type(spec.column(column))
        cwhere = f"{where}.columns.{column}"
        if op == "value":
            if ctype.kind == "id":
                problems.add(cwhere, "an identifier cannot be a constant")
            else:
                _check_constant(arg, ctype, cwhere, problems)
            continue
        ftype = source.type_of(str(arg))
        if ftype is None:
            problems.add(cwhere, f"'{arg}' is not a field of source '{source.name}' "
                                 f"(fields: {', '.join(source.fields) or 'none'})")
            continue
        if ctype.kind == "id":
            if ftype.kind != "id":
                problems.add(cwhere, f"{column} must be a pseudonym: give its raw column pseudonym: {ctype.vocab} "
                                     "(raw identifiers never reach the extract)")
            elif ftype.vocab != ctype.vocab:
                problems.add(cwhere, f"{column} needs a {ctype.vocab} pseudonym, not a {ftype.vocab} one (the same "
                                     "person must get the same pseudonym in every table)")
            continue
        if not _compatible(ftype, ctype):
            problems.add(cwhere, f"the field '{arg}' is {ftype.describe()} but {column} needs "
                                 f"{ctype.describe()}")
    if tm.one_row_per is not None:
        ftype = source.type_of(str(tm.one_row_per))
        if ftype is None or ftype.kind != "id":
            problems.add(f"{where}.one_row_per", f"'{tm.one_row_per}' must be a pseudonym field of source "
                                                 f"'{source.name}' (e.g. person_id)")
    if tm.first_by is not None:
        if tm.one_row_per is None:
            problems.add(f"{where}.first_by", "first_by only applies with one_row_per")
        elif source.type_of(str(tm.first_by)) is None:
            problems.add(f"{where}.first_by", f"'{tm.first_by}' is not a field of source '{source.name}'")
    if tm.explode is not None:
        rule = next((r for r in source.columns if r.field == tm.explode), None)
        if rule is None or not rule.multi:
            problems.add(f"{where}.explode", f"'{tm.explode}' must be a field whose column has split: (several "
                                             "values in one cell) or whose columns have option: (0/1 columns)")
    multi = {r.field for r in source.columns if r.field and r.multi}
    used = {str(a) for _, (op, a) in tm.columns if op != "value"}
    for fname in sorted(multi & used - {tm.explode}):
        problems.add(where, f"the field '{fname}' holds several values per row (split: or option:): add "
                            f"explode: {fname}")
    for key in ("one_row_per", "first_by"):
        if getattr(tm, key) in multi:
            problems.add(f"{where}.{key}", f"'{getattr(tm, key)}' holds several values per row")


def _compatible(ftype: FType, ctype: FType) -> bool:
    if ctype.kind == "code" and ctype.vocab is None:
        return ftype.kind in ("code", "text")
    if ctype.kind == "year":
        return ftype.kind in ("year", "integer")
    if ctype.kind == "code":
        return ftype.kind == "code" and ftype.vocab == ctype.vocab
    return ftype.kind == ctype.kind


def _check_source(source: Source, sources: dict[str, Source], tables: dict[str, TableMap], name: str,
                  problems: _Problems) -> None:
    where = f"{name}: sources.{source.name}"
    table_names = {tm.name for tm in tables.values() if tm.source == source.name}
    for rule in source.columns:
        if rule.field is None:
            continue
        cwhere = f"{where}.columns.{rule.raw}"
        ftype = rule.ftype
        _check_value_targets(rule, cwhere, problems)
        if rule.date_formats and ftype.kind != "date":
            problems.add(f"{cwhere}.date_format", f"only for dates; '{rule.field}' is {ftype.describe()} "
                                                  "(add type: date)")
        if rule.split and ftype.kind not in ("code", "country"):
            problems.add(f"{cwhere}.split", "only for columns of codes (e.g. several protection concerns)")
        if rule.option is not None:
            if ftype.kind not in ("code", "country"):
                problems.add(f"{cwhere}.option", "only for columns of codes (e.g. protection concerns)")
            else:
                _check_constant(rule.option, ftype, f"{cwhere}.option", problems)
        if rule.timezone and ftype.kind != "date":
            problems.add(f"{cwhere}.timezone", f"only for dates; '{rule.field}' is {ftype.describe()}")
        if rule.keep:
            if rule.keep not in table_names:
                problems.add(f"{cwhere}.keep", f"the table '{rule.keep}' is not filled from source '{source.name}'")
            if rule.field in TABLES[rule.keep].column_names:
                problems.add(f"{cwhere}.keep", f"'{rule.field}' is a column of {rule.keep} already; keep is for "
                                               "other columns")
            kind = guard.kind_by_name(rule.raw) or guard.kind_by_name(rule.field)
            if kind or rule.pseudonym:
                problems.add(f"{cwhere}.keep", "this column holds direct identifiers and cannot be kept: drop it, "
                                               "or pseudonymise it (pseudonym: KIND) and use it as an id")
    for d in source.derive:
        for item in ([d] if d.op != "first_of" else d.args["first_of"]):
            if item.op == "lookup" and item.args["lookup"] == source.name:
                problems.add(f"{where}.derive.{d.field}", "a source cannot look up values in itself")
