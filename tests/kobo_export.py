"""A synthetic truth for the generated forms, and its export in KoboToolbox's exact XLSX layout.

The layout is read from the generated XLSForm itself (its survey sheet): the main sheet is named
after the form title, headers are ``group/question`` (or ``group.question``), a select_multiple
question is exported both as one cell of space-separated codes and as one 0/1 column per option,
metadata columns (``_id``, ``_uuid``, ``_submission_time``, ``_index``…) follow, and each repeat
group has its own sheet joined by ``_parent_index`` and ``_submission__uuid``. No real data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import numpy as np
import openpyxl
import xlsxwriter

MAIN_META = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
             "__version__", "_tags", "_index"]
REPEAT_META = ["_index", "_parent_table_name", "_parent_index", "_submission__id", "_submission__uuid",
               "_submission__submission_time", "_submission__validation_status", "_submission__notes",
               "_submission__status", "_submission__submitted_by", "_submission___version__", "_submission__tags"]


def read_xlsform(path: Path) -> tuple[str, list[tuple[str, str, str | None, bool]], dict[str, list[str]],
                                      dict[tuple[str, str], str]]:
    """(form title, questions as (group, name, type, in a repeat), codes by list, fr labels)."""
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["survey"].iter_rows(values_only=True))
    head = rows[0]
    survey = [dict(zip(head, r)) for r in rows[1:]]
    crow = list(book["choices"].iter_rows(values_only=True))
    choices: dict[str, list[str]] = {}
    labels = {}
    label_fr = next(c for c in crow[0] if c and c.startswith("label::Fr"))
    for r in crow[1:]:
        entry = dict(zip(crow[0], r))
        choices.setdefault(entry["list_name"], []).append(entry["name"])
        labels[(entry["list_name"], entry["name"])] = entry[label_fr]
    settings = dict(zip(*list(book["settings"].iter_rows(values_only=True))))
    questions, group, repeat = [], None, False
    for row in survey:
        kind = row["type"]
        if kind in ("begin group", "begin repeat"):
            group, repeat = row["name"], kind == "begin repeat"
        elif kind in ("end group", "end repeat"):
            group, repeat = None, False
        elif group is not None:
            questions.append((group, row["name"], kind, repeat))
    return settings["form_title"], questions, choices, labels


def truth(spec, seed: int = 7, persons: int = 40) -> dict[str, list[dict]]:
    """Persons, their protection concerns, visits, referrals and legal actions, drawn at random."""
    rng = np.random.default_rng(seed)
    sites = list(spec.sites)
    partners = list(spec.partners)
    flags = ["unaccompanied_minor", "separated_child", "trafficking_suspected", "gbv_survivor", "disability"]
    out: dict[str, list[dict]] = {"persons": [], "flags": [], "visits": [], "referrals": [], "legal_actions": []}
    start = dt.date(2024, 1, 1)
    for i in range(persons):
        registered = start + dt.timedelta(days=int(rng.integers(0, 150)))
        person = {"file_number": f"TST-{i:04d}", "sex": str(rng.choice(["female", "male", "other"])),
                  "birth_year": int(rng.integers(1960, 2012)),
                  "nationality": str(rng.choice(["SDN", "CIV", "GIN", "AFG", "SYR"])),
                  "legal_status": str(rng.choice(["asylum_seeker", "refugee", "undocumented"])),
                  "registered_on": registered, "site": str(rng.choice(sites)),
                  "flags": sorted(rng.choice(flags, size=int(rng.integers(0, 3)), replace=False).tolist())}
        out["persons"].append(person)
        out["flags"] += [{"file_number": person["file_number"], "flag": f} for f in person["flags"]]
        for v in range(int(rng.integers(1, 4))):
            day = registered + dt.timedelta(days=int(rng.integers(0, 60)) + v)
            visit = {"file_number": person["file_number"], "date": day, "site": str(rng.choice(sites)),
                     "channel": str(rng.choice(["in_person", "phone", "outreach"])),
                     "service": str(rng.choice(["information", "legal_consultation", "social_support"])),
                     "topic": str(rng.choice(["asylum", "residence", "housing"])),
                     "interpreter": bool(rng.integers(0, 2)), "referrals": [], "legal_actions": []}
            for _ in range(int(rng.integers(0, 3))):
                status = str(rng.choice(["pending", "accepted", "completed", "declined"]))
                visit["referrals"].append({
                    "referred_on": day, "service_type": str(rng.choice(["lawyer", "health", "shelter"])),
                    "partner": str(rng.choice(partners)), "status": status,
                    "status_on": None if status == "pending" else day + dt.timedelta(days=int(rng.integers(1, 9)))})
            if rng.random() < 0.4:
                decided = rng.random() < 0.5
                visit["legal_actions"].append({
                    "action_type": str(rng.choice(["asylum_claim", "asylum_appeal"])), "filed_on": day,
                    "decided_on": day + dt.timedelta(days=20) if decided else None,
                    "result": str(rng.choice(["won", "lost"])) if decided else None})
            out["visits"].append(visit)
            out["referrals"] += visit["referrals"]
            out["legal_actions"] += visit["legal_actions"]
    return out


def _cell(value, kind: str, list_name: str | None, labels: dict, mode: str):
    if value is None:
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if mode == "labels" and kind.startswith("select_one") and list_name != "nationality":
        return labels[(list_name, value)]
    return value


def _sheet_title(title: str) -> str:
    return "".join(c for c in title if c not in "[]:*?/\\")[:31]


def write_export(form_path: Path, records: list[dict], out: Path, *, mode: str = "values", sep: str = "/",
                 seed: int = 11) -> Path:
    """Write the Kobo XLSX export of ``records`` (one dict per submission, repeats as lists under the
    repeat group's name) for the XLSForm at ``form_path``."""
    rng = np.random.default_rng(seed)
    title, questions, choices, labels = read_xlsform(form_path)
    main_q = [q for q in questions if not q[3]]
    repeats = list(dict.fromkeys(q[0] for q in questions if q[3]))
    book = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False})
    main = book.add_worksheet(_sheet_title(title))
    headers = ["start", "end"]
    for group, name, kind, _ in main_q:
        headers.append(f"{group}{sep}{name}")
        if kind.startswith("select_multiple"):
            headers += [f"{group}{sep}{name}{sep}{code}" for code in choices[kind.split()[1]]]
    headers += MAIN_META
    main.write_row(0, 0, headers)
    sheets = {}
    for repeat in repeats:
        sheet = book.add_worksheet(repeat)
        rq = [q for q in questions if q[0] == repeat]
        sheet.write_row(0, 0, [f"{repeat}{sep}{name}" for _, name, _, _ in rq] + REPEAT_META)
        sheets[repeat] = [sheet, rq, 1]
    for n, record in enumerate(records, start=1):
        sub_uuid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        sub_time = f"{record.get('date', record.get('registered_on')).isoformat()}T{8 + n % 9:02d}:15:00"
        row = ["2024-01-01T09:00:00.000+01:00", "2024-01-01T09:10:00.000+01:00"]
        for _, name, kind, _ in main_q:
            key = "flags" if name == "protection_flag" else name
            list_name = kind.split()[1] if " " in kind else None
            if kind.startswith("select_multiple"):
                chosen = record.get(key) or []
                row.append(" ".join(chosen) if chosen else None)
                row += [1 if code in chosen else 0 for code in choices[list_name]]
            else:
                row.append(_cell(record.get(key), kind, list_name, labels, mode))
        row += [1000 + n, sub_uuid, sub_time, None, None, "submitted_via_web", None, "vXYZ", None, n]
        main.write_row(n, 0, row)
        for repeat in repeats:
            sheet, rq, line = sheets[repeat]
            for item in record.get(repeat, []):
                cells = [_cell(item.get(name), kind, kind.split()[1] if " " in kind else None, labels, mode)
                         for _, name, kind, _ in rq]
                cells += [line, _sheet_title(title), n, 1000 + n, sub_uuid, sub_time, None, None,
                          "submitted_via_web", None, "vXYZ", None]
                sheet.write_row(line, 0, cells)
                line += 1
            sheets[repeat][2] = line
    book.close()
    return out
