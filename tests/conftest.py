"""Shared helpers: a tiny, hand-written, valid case extract and ways to spoil it.

Everything here is invented (codes such as P001, K001, W01); no real person appears.
The valid extract has every table, a few rows each, and every row is accepted when
``extract.yaml`` says it was extracted on 2024-12-31.

* :data:`VALID` — table → list of row dicts (all values as CSV text).
* :func:`write_table` — one table as CSV: rows or raw CSV text, any delimiter/encoding.
* :func:`write_extract` — a whole extract folder, with per-table replacements.
* :func:`write_workbook` — tables as sheets of one ``.xlsx`` (real date cells, numbers).
* fixtures ``make_extract`` (a factory writing into ``tmp_path``) and ``valid_extract``.
"""

from __future__ import annotations

import copy
import os
import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest

from workbench.contract.schema import TABLES

EXTRACTED_ON = dt.date(2024, 12, 31)
META = {"organisation": "Test Association", "extracted_on": "2024-12-31",
        "sites": {"paris_nord": "Paris Nord", "marseille": "Marseille"}}

# fmt: off
VALID: dict[str, list[dict[str, str]]] = {
    "persons": [
        {"person_id": "P001", "sex": "female", "birth_year": "1990", "nationality": "TUN",
         "legal_status": "asylum_seeker", "registered_on": "2024-01-15", "site": "paris_nord"},
        {"person_id": "P002", "sex": "male", "birth_year": "1985", "nationality": "CIV",
         "legal_status": "refugee", "registered_on": "2024-02-01", "site": "paris_nord"},
        {"person_id": "P003", "sex": "male", "birth_year": "", "nationality": "SDN",
         "legal_status": "undocumented", "registered_on": "2024-03-10", "site": "marseille"},
        {"person_id": "P004", "sex": "other", "birth_year": "2010", "nationality": "XXA",
         "legal_status": "unknown", "registered_on": "2024-04-05", "site": "marseille"},
    ],
    "contacts": [
        {"contact_id": "C001", "person_id": "P001", "date": "2024-01-15", "site": "paris_nord",
         "channel": "in_person", "service": "information", "topic": "asylum", "interpreter": "true"},
        {"contact_id": "C002", "person_id": "P001", "date": "2024-02-20", "site": "paris_nord",
         "channel": "phone", "service": "legal_consultation", "topic": "asylum", "interpreter": "false"},
        {"contact_id": "C003", "person_id": "P002", "date": "2024-02-01", "site": "paris_nord",
         "channel": "in_person", "service": "orientation", "topic": "residence", "interpreter": ""},
        {"contact_id": "C004", "person_id": "P003", "date": "2024-03-10", "site": "marseille",
         "channel": "outreach", "service": "social_support", "topic": "housing", "interpreter": "true"},
        {"contact_id": "C005", "person_id": "P004", "date": "2024-04-05", "site": "marseille",
         "channel": "", "service": "accompaniment", "topic": "", "interpreter": ""},
    ],
    "cases": [
        {"case_id": "K001", "person_id": "P001", "site": "paris_nord", "case_type": "legal",
         "risk_level": "high", "opened_on": "2024-01-20", "assessed_on": "2024-01-25",
         "care_plan_on": "2024-02-01", "last_review_on": "2024-06-01", "closed_on": "",
         "closure_reason": "", "caseworker_id": "W01"},
        {"case_id": "K002", "person_id": "P004", "site": "marseille", "case_type": "child_protection",
         "risk_level": "medium", "opened_on": "2024-04-05", "assessed_on": "2024-04-10",
         "care_plan_on": "", "last_review_on": "", "closed_on": "2024-09-30",
         "closure_reason": "turned_18", "caseworker_id": "W02"},
    ],
    "referrals": [
        {"referral_id": "R001", "person_id": "P001", "case_id": "K001", "referred_on": "2024-02-01",
         "service_type": "lawyer", "partner": "barreau", "status": "pending", "status_on": ""},
        {"referral_id": "R002", "person_id": "P004", "case_id": "K002", "referred_on": "2024-04-12",
         "service_type": "child_protection_authority", "partner": "ase", "status": "completed",
         "status_on": "2024-05-01"},
        {"referral_id": "R003", "person_id": "P003", "case_id": "", "referred_on": "2024-03-11",
         "service_type": "health", "partner": "pass", "status": "declined", "status_on": "2024-03-20"},
    ],
    "detention_stays": [
        {"stay_id": "S001", "person_id": "P002", "centre": "cra_1", "entered_on": "2024-05-01",
         "left_on": "2024-05-20", "outcome": "released_judge", "with_children": "false", "assisted": "true"},
        {"stay_id": "S002", "person_id": "P003", "centre": "cra_2", "entered_on": "2024-11-01",
         "left_on": "", "outcome": "", "with_children": "false", "assisted": "false"},
    ],
    "legal_actions": [
        {"action_id": "A001", "person_id": "P002", "case_id": "", "stay_id": "S001",
         "action_type": "detention_appeal_judge", "filed_on": "2024-05-03", "decided_on": "2024-05-05",
         "result": "won"},
        {"action_id": "A002", "person_id": "P001", "case_id": "K001", "stay_id": "",
         "action_type": "asylum_claim", "filed_on": "2024-02-10", "decided_on": "", "result": ""},
    ],
    "protection_flags": [
        {"person_id": "P004", "flag": "unaccompanied_minor", "identified_on": "2024-04-05"},
        {"person_id": "P001", "flag": "gbv_survivor", "identified_on": "2024-01-25"},
    ],
}
# fmt: on

REQUIRED_ONLY = ("persons", "contacts")

Content = list[Mapping[str, object]] | str | bytes


def valid_rows(table: str) -> list[dict[str, str]]:
    """A fresh copy of the valid rows of ``table``."""
    return copy.deepcopy(VALID[table])


def csv_text(rows: list[Mapping[str, object]], *, sep: str = ",", columns: list[str] | None = None) -> str:
    """Rows as CSV text (header from ``columns`` or from the rows' keys, in order of appearance)."""
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        if any(ch in text for ch in (sep, '"', "\n")):
            text = '"' + text.replace('"', '""') + '"'
        return text

    lines = [sep.join(columns)] + [sep.join(cell(row.get(c)) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write_table(folder: Path, table: str, content: Content, *, sep: str = ",", encoding: str = "utf-8",
                name: str | None = None) -> Path:
    """Write one table as ``<table>.csv``: rows (dicts) or raw CSV text or bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{table}.csv")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        text = content if isinstance(content, str) else csv_text(list(content), sep=sep)
        path.write_bytes(text.encode(encoding))
    return path


def write_meta(folder: Path, meta: Mapping[str, object] | str | None = META) -> None:
    """Write ``extract.yaml`` (a mapping, or raw YAML text); ``None`` writes nothing."""
    import yaml

    if meta is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    text = meta if isinstance(meta, str) else yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False)
    (folder / "extract.yaml").write_text(text, encoding="utf-8")


def write_extract(folder: Path, tables: Mapping[str, Content | None] | None = None, *,
                  all_tables: bool = True, meta: Mapping[str, object] | str | None = META) -> Path:
    """Write the valid extract into ``folder``, replacing tables given in ``tables``.

    ``tables`` maps a table to rows, raw CSV text/bytes, or ``None`` (leave the table out).
    ``all_tables=False`` starts from persons and contacts only.
    """
    base = list(VALID) if all_tables else list(REQUIRED_ONLY)
    contents: dict[str, Content | None] = {t: valid_rows(t) for t in base}
    contents.update(tables or {})
    for table, content in contents.items():
        if content is not None:
            write_table(folder, table, content)
    write_meta(folder, meta)
    return folder


def write_workbook(path, tables: dict[str, list[dict[str, str]]], *, extra_sheet: bool = True,
                   sheet_names: dict[str, str] | None = None) -> None:
    """Write tables as sheets, with real date cells, numbers for years and booleans."""
    import xlsxwriter

    kinds = {t: {c.name: c.kind for c in TABLES[t].columns} for t in TABLES}
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for table, rows in tables.items():
        sheet = book.add_worksheet((sheet_names or {}).get(table, table))
        columns = list(rows[0])
        for j, column in enumerate(columns):
            sheet.write_string(0, j, column)
        for i, row in enumerate(rows, start=1):
            for j, column in enumerate(columns):
                value = row[column]
                kind = kinds[table].get(column)
                if value == "":
                    continue  # an empty cell
                if kind == "date":
                    sheet.write_datetime(i, j, dt.datetime.fromisoformat(value), date_format)
                elif kind == "year":
                    sheet.write_number(i, j, int(value))
                elif kind == "bool":
                    sheet.write_boolean(i, j, value == "true")
                else:
                    sheet.write_string(i, j, value)
    if extra_sheet:
        notes = book.add_worksheet("Notes")
        notes.write_string(0, 0, "Export notes: invented data for tests")
    book.close()


def with_row(table: str, **changes: str) -> list[dict[str, str]]:
    """The valid rows of ``table`` plus one more: a copy of its first row with ``changes``.

    The new row keeps the first row's id unless ``changes`` gives one; it is row
    ``len(VALID[table]) + 1`` of the file.
    """
    rows = valid_rows(table)
    rows.append({**rows[0], **changes})
    return rows


def quarantine_of(ex, table: str | None = None) -> list[dict]:
    """The quarantine rows of a loaded extract (of one table), as dicts."""
    q = ex.quarantine if table is None else ex.quarantine.filter(pl.col("table") == table)
    return q.to_dicts()


def contract_part(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The contract columns of an accepted table, in contract order."""
    return frame.select(TABLES[table].column_names)


@pytest.fixture(autouse=True, scope="session")
def _test_validation_cache(tmp_path_factory):
    """The validation cache of the tests (and of the processes they start) is a folder of their own."""
    os.environ.setdefault("WORKBENCH_CACHE", str(tmp_path_factory.mktemp("validation-cache")))


@pytest.fixture
def make_extract(tmp_path):
    """A factory: ``make_extract(tables=None, *, all_tables=True, meta=META, name="extract")``."""
    counter = iter(range(10_000))

    def make(tables: Mapping[str, Content | None] | None = None, *, all_tables: bool = True,
             meta: Mapping[str, object] | str | None = META, name: str | None = None) -> Path:
        folder = tmp_path / (name or f"extract{next(counter)}")
        return write_extract(folder, tables, all_tables=all_tables, meta=meta)

    return make


@pytest.fixture
def valid_extract(make_extract) -> Path:
    """A folder holding the whole valid extract as CSV."""
    return make_extract(name="valid")


# Session fixtures of the report tests (small demo extract, demo reports rendered once).
pytest_plugins = ["conftest_reports"]


@pytest.fixture(scope="module")
def person_extract(tmp_path_factory):
    """A demo extract of 1,200 persons (one per test module that asks for it)."""
    from workbench import extract
    from workbench.extract import demo

    return extract.load(demo.write(tmp_path_factory.mktemp("persons") / "demo", persons=1200, seed=7))


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The demo network extract (no persons table; legal actions, activities, several sites)."""
    from workbench import extract
    from workbench.extract import demo

    return extract.load(demo.write(tmp_path_factory.mktemp("network") / "net", profile="network"))
