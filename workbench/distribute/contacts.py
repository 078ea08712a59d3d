"""Contact lists: who receives which reports, for which audience and in which language.

Coordinators keep them in the form they already use — a YAML file, a CSV file or an
Excel sheet — with one recipient per entry or row:

======== ==============================================================================
name     how the recipient is greeted
email    their address
audience ``internal``, ``partner`` or ``public``: the least protected outputs they may get
language ``fr``, ``en``, ``ar`` or ``nl``
reports  report names (``activity_report``) or parameter-file names, separated by ``;``
delivery ``attachment`` (default: the PDF) or ``link`` (a link under ``link_base``)
annex    ``yes`` to attach the Excel annex too (default ``no``)
======== ==============================================================================

A YAML list may also give ``link_base`` (where the outputs folder is reachable) and
``messages`` (subject and body per report and language, see :mod:`workbench.distribute.mail`).

Every problem of a list is collected and reported at once (file, entry or row, column),
and nothing is sent from a list with a problem. The addresses are personal data: a
:class:`Contact` never shows its address in its ``repr``, and nothing here writes them.

>>> c = Contact("Amal", "amal@example.org", "partner", "fr", ("activity_report",))
>>> c.may_receive("public"), c.may_receive("internal")
(True, False)
"""

from __future__ import annotations

import csv
import difflib
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench import safeyaml
from workbench.exceptions import DistributionError

#: Audiences from the least to the most protected: a recipient gets their own or a later one.
PROTECTION = ("internal", "partner", "public")
from workbench.periods import LANGUAGES  # noqa: E402
DELIVERIES = ("attachment", "link")
COLUMNS = ("name", "email", "audience", "language", "reports", "delivery", "annex")
REQUIRED = ("name", "email", "audience", "language", "reports")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
#: The fields a message's subject and body may use (filled in by :func:`workbench.distribute.mail.compose`).
MESSAGE_FIELDS = ("name", "title", "period", "period_label", "audience", "attachments", "links")
MESSAGE_PARTS = ("subject", "body")
_YES = {"yes", "true", "1", "oui", "y", "x"}
_NO = {"no", "false", "0", "non", "n", ""}


def allowed_audiences(audience: str) -> tuple[str, ...]:
    """The output audiences a recipient of ``audience`` may receive (their own and more protected ones).

    >>> allowed_audiences("partner")
    ('partner', 'public')
    """
    return PROTECTION[PROTECTION.index(audience):]


@dataclass(frozen=True)
class Contact:
    """One recipient. The address is left out of ``repr`` so it cannot slip into a log line."""

    name: str
    email: str = field(repr=False)
    audience: str
    language: str
    reports: tuple[str, ...]
    delivery: str = "attachment"
    annex: bool = False
    where: str = ""

    def may_receive(self, output_audience: str) -> bool:
        """Whether an output rendered for ``output_audience`` is protected enough for this recipient."""
        return output_audience in allowed_audiences(self.audience)


@dataclass(frozen=True)
class ContactList:
    """A validated contact list: its recipients and its settings."""

    contacts: tuple[Contact, ...]
    source: Path
    link_base: str | None = None
    messages: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading

def _read_entries(path: Path) -> tuple[list[tuple[str, dict]], dict]:
    """(where, raw entry) pairs and the list's settings, from YAML, CSV or Excel."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = safeyaml.load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DistributionError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
        if isinstance(data, list):
            data = {"contacts": data}
        if not isinstance(data, dict) or not isinstance(data.get("contacts"), list):
            raise DistributionError(f"{path}: expected a list of contacts under 'contacts:' (see "
                                    "docs/distribution.md).")
        settings = {k: v for k, v in data.items() if k != "contacts"}
        unknown = sorted(set(settings) - {"link_base", "messages"})
        if unknown:
            raise DistributionError(f"{path}: unknown setting(s) {', '.join(unknown)}; use link_base and messages.")
        return [(f"contact {i}", e) for i, e in enumerate(data["contacts"], start=1)], settings
    if suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
        return [(f"row {i}", r) for i, r in enumerate(rows, start=2)], {}
    if suffix in (".xlsx", ".xlsm"):
        import polars as pl

        try:
            frame = pl.read_excel(path, infer_schema_length=0)
        except Exception as exc:  # fastexcel's own errors
            raise DistributionError(f"{path}: the workbook cannot be read ({exc}).") from None
        rows = [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in frame.iter_rows(named=True)]
        return [(f"row {i}", r) for i, r in enumerate(rows, start=2)], {}
    raise DistributionError(f"{path}: a contact list is a .yaml, .csv or .xlsx file.")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _reports(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        items = [_text(v) for v in value]
    else:
        items = re.split(r"[;,\s]+", _text(value))
    return tuple(dict.fromkeys(i for i in items if i))


def _entry(where: str, raw: Any, known: set[str], problems: list[str]) -> Contact | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected name, email, audience, language, reports.")
        return None
    raw = {str(k).strip().lower(): v for k, v in raw.items()}
    start = len(problems)
    for column in sorted(set(raw) - set(COLUMNS)):
        hint = difflib.get_close_matches(column, COLUMNS, n=1)
        problems.append(f"{where}, column {column}: unknown column" + (f" (did you mean {hint[0]}?)" if hint else
                                                                         f"; use {', '.join(COLUMNS)}") + ".")
    for column in REQUIRED:
        if not _text(raw.get(column)) and not (column == "reports" and isinstance(raw.get(column), list)
                                                and raw.get(column)):
            problems.append(f"{where}, column {column}: missing.")
    email = _text(raw.get("email"))
    if email and not _ADDRESS.fullmatch(email):
        problems.append(f"{where}, column email: not a valid address.")
    audience = _text(raw.get("audience")).lower()
    if audience and audience not in PROTECTION:
        problems.append(f"{where}, column audience: '{audience}' is not internal, partner or public.")
    language = _text(raw.get("language")).lower()
    if language and language not in LANGUAGES:
        problems.append(f"{where}, column language: '{language}' is not one of {', '.join(LANGUAGES)}.")
    reports = _reports(raw.get("reports"))
    for report in reports:
        if known and report not in known:
            hint = difflib.get_close_matches(report, sorted(known), n=1)
            problems.append(f"{where}, column reports: unknown report '{report}'"
                            + (f" (did you mean {hint[0]}?)." if hint else f"; known: {', '.join(sorted(known))}."))
    delivery = _text(raw.get("delivery")).lower() or "attachment"
    if delivery not in DELIVERIES:
        problems.append(f"{where}, column delivery: '{delivery}' is not attachment or link.")
    annex_text = _text(raw.get("annex")).lower()
    if annex_text not in _YES | _NO:
        problems.append(f"{where}, column annex: '{annex_text}' is not yes or no.")
    if len(problems) > start:
        return None
    return Contact(_text(raw["name"]), email, audience, language, reports, delivery, annex_text in _YES, where)


def _template_problem(template: str, part: str) -> str | None:
    """What is wrong with a subject or body template, or ``None``."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError:
        return "a '{' or '}' without its pair (write {{ or }} for the character itself)."
    fields = ", ".join("{" + f + "}" for f in MESSAGE_FIELDS)
    for name in names:
        if name not in MESSAGE_FIELDS:
            hint = difflib.get_close_matches(name, MESSAGE_FIELDS, n=1)
            return f"unknown field {{{name}}}" + (f" (did you mean {{{hint[0]}}}?)" if hint else "") + f"; use {fields}."
    try:
        filled = template.format(**{f: "x" for f in MESSAGE_FIELDS})
    except (ValueError, KeyError, IndexError) as exc:
        return f"cannot be filled in ({exc}); use {fields}."
    if part == "subject" and ("\n" in filled or "\r" in filled):
        return "a subject is one line."
    return None


def _message_problems(messages: Any, known: set[str], problems: list[str]) -> None:
    """Check ``messages:`` (report or run name → language → subject and body) before anything is sent."""
    if not isinstance(messages, Mapping):
        problems.append("messages: expected report names, each with a subject and body per language.")
        return
    for report, per_language in messages.items():
        where = f"messages, {report}"
        if known and str(report) not in known:
            hint = difflib.get_close_matches(str(report), sorted(known), n=1)
            problems.append(f"{where}: unknown report '{report}'" + (f" (did you mean {hint[0]}?)." if hint else "."))
        if not isinstance(per_language, Mapping):
            problems.append(f"{where}: expected a subject and body per language ({', '.join(LANGUAGES)}).")
            continue
        for lang, parts in per_language.items():
            if lang not in LANGUAGES:
                problems.append(f"{where}: '{lang}' is not one of {', '.join(LANGUAGES)}.")
                continue
            if not isinstance(parts, Mapping):
                problems.append(f"{where}, {lang}: expected subject and body.")
                continue
            for key in sorted(set(map(str, parts)) - set(MESSAGE_PARTS)):
                problems.append(f"{where}, {lang}, {key}: unknown key; use subject and body.")
            for key in MESSAGE_PARTS:
                if key not in parts:
                    continue
                if not isinstance(parts[key], str):
                    problems.append(f"{where}, {lang}, {key}: expected text.")
                elif problem := _template_problem(parts[key], key):
                    problems.append(f"{where}, {lang}, {key}: {problem}")


def load_contacts(path: str | Path, known_reports: Iterable[str] | None = None) -> ContactList:
    """Read and validate a contact list; every problem is reported at once.

    ``known_reports`` are the report and parameter-file names a list may name
    (default: the report notebooks the workbench knows).

    Raises
    ------
    DistributionError
        When the file is missing or unreadable, or any entry has a problem (missing
        audience, invalid address, unknown report…); the message lists them all and
        never shows an address.
    """
    from workbench.reports.params import REPORTS

    path = Path(path)
    if not path.is_file():
        raise DistributionError(f"{path}: no contact list there (see docs/distribution.md for its columns).")
    known = set(known_reports if known_reports is not None else REPORTS)
    entries, settings = _read_entries(path)
    problems: list[str] = []
    contacts = [c for where, raw in entries if (c := _entry(where, raw, known, problems)) is not None]
    seen: dict[str, str] = {}
    for c in contacts:
        key = c.email.lower()
        if key in seen:
            problems.append(f"{c.where}, column email: the same address as {seen[key]}.")
        seen.setdefault(key, c.where)
    link_base = settings.get("link_base")
    if any(c.delivery == "link" for c in contacts) and not link_base:
        problems.append("link_base: some contacts get a link, but the list gives no link_base (the address "
                        "where the outputs folder is published).")
    if not entries:
        problems.append("the list has no contacts.")
    messages = settings.get("messages") or {}
    _message_problems(messages, known, problems)
    if problems:
        raise DistributionError(f"{path}: {len(problems)} problem(s) in the contact list; nothing was sent:\n"
                                + "\n".join(f"  - {p}" for p in problems))
    return ContactList(tuple(contacts), path, str(link_base).rstrip("/") + "/" if link_base else None, messages)
