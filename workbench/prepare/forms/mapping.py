"""The mapping that reads the generated forms' exports: no hand-written mapping is needed.

It expects KoboToolbox's (or ODK Central's) export with XML headers (``person/sex``; ``person.sex``
reads the same), cells as XML values or as labels in any language of the form, the main table as
the workbook's first sheet (KoboToolbox names it after the form title), each repeat in its own
sheet joined by ``_submission__uuid``. A select_multiple question is read from its 0/1 columns
(``person/protection_flag/gbv_survivor``) when the export has them, else from its cell of codes
separated by spaces.
"""

from __future__ import annotations

from typing import Any

from workbench.contract.schema import TABLES
from workbench.prepare.forms.codes import codes, own_label
from workbench.prepare.forms.spec import FormSpec
from workbench.prepare.forms.xlsform import Form, Labels, declarations

#: The pseudonym kind of each repeat table's id.
_ID_KIND = {"referrals": ("referral_id", "referral"), "legal_actions": ("action_id", "action")}


def _values(q, spec: FormSpec, labels: Labels) -> dict[str, str]:
    """Labels → codes, in every language of the form (a labels export)."""
    out: dict[str, str] = {}
    if q.list_name == "yes_no":
        return {}
    for code in codes(q.column, spec):
        for lang in spec.languages:
            label = own_label(q.column, code, spec) or labels(q.column.name, code, lang)
            if q.column.name == "nationality":
                continue  # country names in French and English are matched without a list
            out.setdefault(label, code)
    return out


def _column_rule(q, spec: FormSpec, labels: Labels) -> dict[str, Any]:
    column = q.column
    rule: dict[str, Any] = {"to": column.name}
    values = _values(q, spec, labels)
    if values:
        rule["values"] = values
    if q.xlstype.startswith("select_multiple"):
        rule = {"to": column.name, "split": " ", "optional": True}
        if values:
            rule["values"] = values
    if column.kind == "date":
        rule["date_format"] = "YYYY-MM-DD"
    return rule


def _person_columns(form: Form, group: str, spec: FormSpec) -> tuple[dict, dict]:
    keys = [q for q in form.questions if q.column is None and q.group == group]
    if len(keys) == 1:
        return {keys[0].header: {"to": "person_id", "pseudonym": "person"}}, {}
    columns = {q.header: {"to": f"key_{q.name}", "type": "text"} for q in keys}
    derive = {"person_id": {"pseudonym": "person", "of": [f"key_{q.name}" for q in keys]}}
    return columns, derive


def _main_source(form: Form, spec: FormSpec, labels: Labels, file: str) -> dict[str, Any]:
    group = next(q.group for q in form.questions if not q.repeat)
    columns, derive = _person_columns(form, group, spec)
    for q in form.questions:
        if q.repeat or q.column is None:
            continue
        columns[q.header] = _column_rule(q, spec, labels)
        if q.xlstype.startswith("select_multiple"):
            # the 0/1 columns of each option, when the export has them
            columns[q.header]["optional"] = True
            for code in codes(q.column, spec):
                columns[f"{q.header}/{code}"] = {"to": q.column.name, "option": code, "optional": True}
    columns["_uuid"] = {"to": "submission", "pseudonym": "contact"}
    source: dict[str, Any] = {"file": file, "sheet": 1, "columns": columns}
    if derive:
        source["derive"] = derive
    return source


def _repeat_source(form: Form, repeat: str, main: str, spec: FormSpec, labels: Labels, file: str) -> dict:
    table = next(q.table for q in form.questions if q.group == repeat)
    id_field, kind = _ID_KIND[table]
    columns: dict[str, Any] = {"_submission__uuid": {"to": "submission", "pseudonym": "contact"}}
    for q in form.questions:
        if q.group == repeat:
            columns[q.header] = _column_rule(q, spec, labels)
    return {"file": file, "sheet": repeat, "columns": columns,
            "derive": {
                # a repeat row is its submission and its place among that submission's rows: the same
                # id export after export (``_index`` and ``_parent_index`` are renumbered)
                id_field: {"pseudonym": kind, "of": ["submission"], "per_row": True},
                "person_id": {"lookup": main, "on": "submission", "field": "person_id"}}}


def build_mapping(forms: list[Form], spec: FormSpec, labels: Labels) -> dict[str, Any]:
    """The mapping (as data, ready for ``yaml.safe_dump``) of the exports of ``forms``."""
    sources: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    for form in forms:
        file = f"{form.form_id}*"
        main = form.form_id
        sources[main] = _main_source(form, spec, labels, file)
        group_tables = {e["table"] for e in declarations()["forms"][form.form_id]["groups"].values()}
        if "persons" in group_tables:
            tables["persons"] = {"from": main, "one_row_per": "person_id", "first_by": "registered_on"}
            tables["protection_flags"] = {"from": main, "explode": "flag",
                                          "columns": {"identified_on": "registered_on"}}
        if "contacts" in group_tables:
            sources[main]["columns"]["_uuid"] = {"to": "contact_id", "pseudonym": "contact"}
            tables["contacts"] = {"from": main}
        for repeat in form.repeats:
            source = _repeat_source(form, repeat, main, spec, labels, file)
            if "contacts" in group_tables:
                source["columns"]["_submission__uuid"]["to"] = "contact_id"
                source["derive"][next(iter(source["derive"]))]["of"] = ["contact_id"]
                source["derive"]["person_id"]["on"] = "contact_id"
            sources[repeat] = source
            tables[next(q.table for q in form.questions if q.group == repeat)] = {"from": repeat}
    mapping: dict[str, Any] = {"version": 1, "organisation": spec.organisation}
    if spec.label:
        mapping["label"] = spec.label
    for key in ("sites", "partners", "centres"):
        if getattr(spec, key):
            mapping[key] = dict(getattr(spec, key))
    mapping["sources"] = sources
    mapping["tables"] = {t: tables[t] for t in TABLES if t in tables}
    return mapping
