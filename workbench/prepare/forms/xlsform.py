"""An XLSForm (sheets survey, choices, settings) made from the contract: one question per contract
column of the tables a form fills, its type from the column's kind, its choices from
:func:`~workbench.prepare.forms.codes.codes` with labels in every language of the organisation,
``required`` from the contract, constraints mirroring the contract's rules (no date in the future,
date order, required when), repeats for the child tables. KoboToolbox and ODK read it as is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from workbench.contract.schema import SCHEMA_VERSION, TABLES, Column, Table
from workbench.exceptions import MappingError
from workbench.prepare.forms.codes import codes, own_label
from workbench.prepare.forms.spec import LANGUAGE_NAMES, FormSpec

#: ``labels(column, code, lang)``: the label of a code (the command passes the text catalogue's).
Labels = Callable[[str, str, str], str]
BIRTH_YEAR_MIN = 1900


@cache
def declarations() -> dict:
    """The forms as declared in ``forms.yaml`` beside this module."""
    return yaml.safe_load((Path(__file__).with_name("forms.yaml")).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Question:
    """One question: its XLSForm ``name``, the contract column (None: a person-key question) and
    the path of groups or repeat it sits in (``person``, ``referrals``)."""

    name: str
    column: Column | None
    table: str
    group: str
    repeat: bool
    xlstype: str
    list_name: str | None = None

    @property
    def header(self) -> str:
        """The export's column header (KoboToolbox: ``group/question``)."""
        return f"{self.group}/{self.name}"


@dataclass
class Form:
    """A generated form: its id and title, questions, and the XLSForm rows."""

    form_id: str
    title: dict[str, str]
    questions: list[Question]
    survey: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def repeats(self) -> list[str]:
        return list(dict.fromkeys(q.group for q in self.questions if q.repeat))


def _text(entry: dict, lang: str) -> str:
    return entry.get(lang) or entry.get("en") or next(iter(entry.values()))


def _lang_columns(prefix: str, texts: dict[str, str], spec: FormSpec) -> dict[str, str]:
    return {f"{prefix}::{LANGUAGE_NAMES[lang]}": texts.get(lang) or texts["fr"] for lang in spec.languages}


def _question(name: str, group: str, table: Table, repeat: bool, spec: FormSpec) -> list[Question]:
    if name == "person_key":
        return [Question(k, None, table.name, group, repeat, "text") for k in spec.person_key]
    column = table.column(name)
    if column.kind == "vocab":
        kind = "select_multiple" if table.name == "protection_flags" or name == "protection_flag" else "select_one"
        return [Question(name, column, table.name, group, repeat, f"{kind} {name}", name)]
    if column.kind == "code":
        if not codes(column, spec):
            return []  # the organisation lists no partners (centres): the question is left out
        return [Question(name, column, table.name, group, repeat, f"select_one {name}", name)]
    if column.kind == "bool":
        return [Question(name, column, table.name, group, repeat, "select_one yes_no", "yes_no")]
    return [Question(name, column, table.name, group, repeat, {"date": "date", "year": "integer"}[column.kind])]


def _flag_column() -> Column:
    return TABLES["protection_flags"].column("flag")


def form_questions(form_id: str, spec: FormSpec) -> list[Question]:
    decl = declarations()["forms"][form_id]
    out = []
    for repeat, part in ((False, decl["groups"]), (True, decl["repeats"])):
        for group, entry in part.items():
            table = TABLES[entry["table"]]
            for name in entry["questions"]:
                if name == "protection_flag":
                    out.append(Question(name, _flag_column(), "protection_flags", group, repeat,
                                        "select_multiple protection_flag", "protection_flag"))
                else:
                    out.extend(_question(name, group, table, repeat, spec))
    return out


def _rules(q: Question, questions: list[Question], texts: dict) -> dict[str, str]:
    """``required``, ``constraint`` and its message, from the contract's rules on the column."""
    out: dict[str, str] = {}
    if q.column is None:
        return {"required": "yes"}
    table = TABLES[q.table]
    if q.column.required and q.table != "protection_flags":
        out["required"] = "yes"
    names = {x.name for x in questions if x.group == q.group}
    messages = texts["messages"]
    constraints, said = [], []
    if q.column.kind == "date":
        constraints.append(". <= today()")
        said.append("not_after_today")
        for order in table.date_order:
            if order.later == q.name and order.earlier in names:
                constraints.append(f"(${{{order.earlier}}} = '' or . >= ${{{order.earlier}}})")
                said.append(("not_before", order.earlier))
    if q.column.kind == "year":
        constraints.append(f". >= {BIRTH_YEAR_MIN} and . <= int(format-date(today(), '%Y'))")
        said.append("birth_year")
    for rule in table.required_when:
        if rule.column == q.name and rule.when in names:
            if rule.values:
                out["required"] = " or ".join(f"${{{rule.when}}} = '{v}'" for v in rule.values)
            else:
                out["required"] = f"${{{rule.when}}} != ''"
    if constraints:
        out["constraint"] = " and ".join(constraints)
        out["_said"] = said  # type: ignore[assignment]
    return out


def _message(said: list, lang: str, texts: dict) -> str:
    parts = []
    for item in said:
        if isinstance(item, tuple):
            parts.append(_text(texts["messages"][item[0]], lang) + _text(texts["questions"][item[1]], lang))
        else:
            parts.append(_text(texts["messages"][item], lang))
    return " ".join(parts)


def build_form(form_id: str, spec: FormSpec, labels: Labels) -> Form:
    """The XLSForm of one declared form (``registration``, ``visit``) for the organisation."""
    texts = declarations()
    if form_id not in texts["forms"]:
        raise MappingError(f"'{form_id}' is not a form (forms: {', '.join(texts['forms'])}).")
    decl = texts["forms"][form_id]
    questions = form_questions(form_id, spec)
    survey: list[dict[str, str]] = [{"type": "start", "name": "start"}, {"type": "end", "name": "end"}]
    lists: dict[str, Column | None] = {}
    current = None
    for q in questions:
        if q.group != current:
            if current is not None:
                survey.append({"type": "end repeat" if current_repeat else "end group"})
            current, current_repeat = q.group, q.repeat
            survey.append({"type": "begin repeat" if q.repeat else "begin group", "name": q.group,
                           **_lang_columns("label", {lang: _text(texts["groups"][q.group], lang)
                                                     for lang in spec.languages}, spec)})
        label = spec.person_key.get(q.name) if q.column is None else None
        question_texts = texts["questions"].get(q.name, {})
        row = {"type": q.xlstype, "name": q.name,
               **_lang_columns("label", {lang: (label or {}).get(lang) or _text(question_texts or {"en": q.name},
                                                                                 lang)
                                         for lang in spec.languages}, spec)}
        rules = _rules(q, questions, texts)
        said = rules.pop("_said", None)
        row.update(rules)
        if said:
            row.update(_lang_columns("constraint_message", {lang: _message(said, lang, texts)
                                                            for lang in spec.languages}, spec))
        if q.column is None:
            # a direct or indirect identifier the organisation declared: replaced by a keyed pseudonym
            row.update(_lang_columns("hint", {lang: _text(texts["messages"]["pseudonymised"], lang)
                                              for lang in spec.languages}, spec))
        survey.append(row)
        if q.list_name:
            lists.setdefault(q.list_name, q.column)
    if current is not None:
        survey.append({"type": "end repeat" if current_repeat else "end group"})
    choices = []
    for list_name, column in lists.items():
        if list_name == "yes_no":
            for code, entry in texts["yes_no"].items():
                choices.append({"list_name": "yes_no", "name": code,
                                **_lang_columns("label", {lang: _text(entry, lang) for lang in spec.languages},
                                                spec)})
            continue
        dimension = column.name
        for code in codes(column, spec):
            own = own_label(column, code, spec)
            choices.append({"list_name": list_name, "name": code,
                            **_lang_columns("label", {lang: own or labels(dimension, code, lang)
                                                      for lang in spec.languages}, spec)})
    title = {lang: _text(decl["title"], lang) for lang in spec.languages}
    form_title = title[spec.languages[0]] + (f" — {spec.label}" if spec.label else "")
    settings = {"form_title": form_title, "form_id": f"{spec.organisation}_{form_id}",
                "version": f"contract{SCHEMA_VERSION}", "default_language": LANGUAGE_NAMES[spec.languages[0]]}
    return Form(form_id=form_id, title=title, questions=questions, survey=survey, choices=choices,
                settings=settings)


def write_xlsform(form: Form, path: str | Path) -> Path:
    """Write the form as an XLSForm workbook (survey, choices, settings), byte-identical for the same
    form (the workbook's creation date is fixed)."""
    import datetime as dt

    import xlsxwriter

    path = Path(path)
    from workbench.publish import XLSX_OPTIONS

    book = xlsxwriter.Workbook(str(path), dict(XLSX_OPTIONS))
    book.set_properties({"created": dt.datetime(2000, 1, 1)})
    for sheet_name, rows in (("survey", form.survey), ("choices", form.choices), ("settings", [form.settings])):
        sheet = book.add_worksheet(sheet_name)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        for c, name in enumerate(columns):
            sheet.write_string(0, c, name)
        for r, row in enumerate(rows, start=1):
            for c, name in enumerate(columns):
                if row.get(name):
                    sheet.write_string(r, c, str(row[name]))
    book.close()
    return path
