"""Reading and validating a case extract: every contract rule, real-world CSV, typed output,
the three input forms and extract.yaml."""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest
from conftest import (EXTRACTED_ON, META, VALID, contract_part, quarantine_of, valid_rows, with_row,
                      write_extract, write_meta, write_table, write_workbook)
from polars.testing import assert_frame_equal

from workbench import extract
from workbench.exceptions import ExtractError
from workbench.extract.guard import mask
from workbench.contract.schema import TABLE_ORDER as CONTRACT_TABLES, TABLES, dtype_of

#: The person-level tables the hand-made fixtures cover (the tables beyond persons: tests/test_beyond.py).
TABLE_ORDER = CONTRACT_TABLES[:7]

ID_OF = {t: TABLES[t].id_column for t in TABLES}
NEW_ID = {"persons": "P099", "contacts": "C099", "cases": "K099", "referrals": "R099",
          "detention_stays": "S099", "legal_actions": "A099", "protection_flags": None}


def bad_row(table: str, **changes: str) -> list[dict[str, str]]:
    """Valid rows plus a copy of the first row under a fresh id, with ``changes``."""
    fresh = {ID_OF[table]: NEW_ID[table]} if ID_OF[table] else {}
    return with_row(table, **{**fresh, **changes})


def only_quarantined(ex, table: str) -> dict:
    """The single quarantine row of the extract, which must belong to ``table``."""
    rows = quarantine_of(ex)
    assert len(rows) == 1, rows
    assert rows[0]["table"] == table
    return rows[0]


def needed(table: str) -> set[str]:
    """The table, its parents and the required tables (fewer files keep the suite fast)."""
    parents = {c.references for c in TABLES[table].columns if c.references}
    return {table, "persons", "contacts"} | parents


def check_one(make_extract, table, changes, rule, column, value, reason):
    """Load the valid extract with one bad row appended to ``table``; check its quarantine line."""
    tables = {t: None for t in TABLE_ORDER if t not in needed(table)}
    ex = extract.load(make_extract({**tables, table: bad_row(table, **changes)}))
    q = only_quarantined(ex, table)
    assert q["file"] == f"{table}.csv"
    assert q["row"] == len(VALID[table]) + 1
    # the quarantine shows the value's shape, never the value (in the value column and the reason)
    shown = mask(value)
    assert (q["rule"], q["column"], q["value"]) == (rule, column, shown)
    # parsed dates and years may be named in the reason; raw text and pseudonyms only by their shape
    forms = [reason] if value is None else [reason.replace(f"'{value}'", f"'{shown}'"), reason.replace(value, shown)]
    assert any(f in q["reason"] for f in forms), q["reason"]
    rep = ex.reports[table]
    assert (rep.read, rep.accepted, rep.quarantined) == (len(VALID[table]) + 1, len(VALID[table]), 1)
    assert rep.by_rule == {rule: 1}
    return q


def test_the_valid_extract_is_accepted_whole(valid_extract):
    ex = extract.load(valid_extract)
    assert ex.quarantine.height == 0
    assert ex.warnings == ()
    for table in TABLE_ORDER:
        assert ex.tables[table].height == len(VALID[table])
        assert ex.reports[table].by_rule == {}


# --- one row breaking one rule -------------------------------------------------------------------

#: legal_actions' columns for a network's strategic litigation: tested in tests/test_beyond.py.
NETWORK_COLUMNS = {"strategic", "action_key", "court", "court_level", "theme", "challenged", "claimants", "hearing_on"}


def _columns(kind: str, *, required: bool | None = None):
    return [(t, c.name) for t in TABLE_ORDER for c in TABLES[t].columns
            if c.kind == kind and (required is None or c.required == required) and c.name not in NETWORK_COLUMNS]


def _required_columns():
    return [(t, c) for t in TABLE_ORDER for c in TABLES[t].required_columns]


@pytest.mark.parametrize(("table", "column"), _required_columns())
def test_required_value_empty(make_extract, table, column):
    changes = {column: ""}
    if column == ID_OF[table]:
        changes = {column: "  "}  # blank counts as empty too
    check_one(make_extract, table, changes, "required", column, None, f"{column} is required but empty")


@pytest.mark.parametrize(("table", "column"),
                         [(t, c) for t, c in _columns("vocab") if c != "nationality"])
def test_unknown_code(make_extract, table, column):
    changes = {column: "not_a_code"}
    if table == "referrals" and column == "status":
        changes["status_on"] = "2024-03-01"
    q = check_one(make_extract, table, changes, "unknown_code", column, "not_a_code",
                  f"{column} 'not_a_code' is not a known code")
    assert "expected one of" in q["reason"] and "unknown" in q["reason"]


@pytest.mark.parametrize("value", ["ZZZ", "France", "TN"])
def test_unknown_nationality(make_extract, value):
    q = check_one(make_extract, "persons", {"nationality": value}, "unknown_code", "nationality", value,
                  f"nationality '{value}' is not a known code")
    assert "ISO 3166-1 alpha-3" in q["reason"]


@pytest.mark.parametrize(("table", "column"), _columns("date"))
def test_invalid_date(make_extract, table, column):
    check_one(make_extract, table, {column: "2024-13-45"}, "invalid_date", column, "2024-13-45",
              f"{column} '2024-13-45' is not a date")


@pytest.mark.parametrize("value", ["31/02/2024", "yesterday", "2024/03/01x", "45292", "unknown",
                                   "01/03/24", "24-03-01", "1/3/24"])  # two-digit years are not guessed
def test_invalid_date_forms(make_extract, value):
    check_one(make_extract, "contacts", {"date": value}, "invalid_date", "date", value,
              f"date '{value}' is not a date")


@pytest.mark.parametrize(("table", "column"), _columns("bool"))
def test_invalid_boolean(make_extract, table, column):
    check_one(make_extract, table, {column: "maybe"}, "invalid_boolean", column, "maybe",
              f"{column} 'maybe' is not a yes/no value")


@pytest.mark.parametrize("value", ["19x0", "1990.5", "-1990", "nineteen"])
def test_invalid_year(make_extract, value):
    check_one(make_extract, "persons", {"birth_year": value}, "invalid_year", "birth_year", value,
              f"birth_year '{value}' is not a year")


@pytest.mark.parametrize("value", ["1899", str(EXTRACTED_ON.year + 1)])
def test_birth_year_out_of_range(make_extract, value):
    check_one(make_extract, "persons", {"birth_year": value}, "out_of_range", "birth_year", value,
              f"birth_year {value} is outside 1900–{EXTRACTED_ON.year}")


@pytest.mark.parametrize("value", ["1900", str(EXTRACTED_ON.year)])
def test_birth_year_bounds_are_accepted(make_extract, value):
    ex = extract.load(make_extract({"persons": bad_row("persons", birth_year=value)}))
    assert ex.quarantine.height == 0
    assert ex.tables["persons"].filter(pl.col("person_id") == "P099")["birth_year"].item() == int(value)


def test_birth_year_range_without_extracted_on_uses_today(make_extract):
    next_year = str(dt.date.today().year + 1)
    ex = extract.load(make_extract({"persons": bad_row("persons", birth_year=next_year)}, meta=None))
    q = only_quarantined(ex, "persons")
    assert q["rule"] == "out_of_range"


# each date-order rule: (table, later column, earlier column, extra changes)
DATE_ORDER = [
    ("cases", "assessed_on", "opened_on", {}),
    ("cases", "care_plan_on", "opened_on", {}),
    ("cases", "last_review_on", "opened_on", {}),
    ("cases", "closed_on", "opened_on", {"closure_reason": "objectives_met"}),
    ("detention_stays", "left_on", "entered_on", {}),
    ("referrals", "status_on", "referred_on", {}),
    ("legal_actions", "decided_on", "filed_on", {}),
]


def test_every_date_order_rule_is_tested():
    declared = {(t, o.later, o.earlier) for t in TABLE_ORDER for o in TABLES[t].date_order
                if not {o.later, o.earlier} & NETWORK_COLUMNS}
    assert declared == {(t, later, earlier) for t, later, earlier, _ in DATE_ORDER}


@pytest.mark.parametrize(("table", "later", "earlier", "extra"), DATE_ORDER)
def test_date_order(make_extract, table, later, earlier, extra):
    first = VALID[table][0]
    too_early = (dt.date.fromisoformat(first[earlier]) - dt.timedelta(days=1)).isoformat()
    q = check_one(make_extract, table, {later: too_early, **extra}, "date_order", later, too_early,
                  f"{later} {too_early} is before {earlier} {first[earlier]}")
    assert q


def test_same_day_is_in_order(make_extract):
    tables = {}
    for table, later, earlier, extra in DATE_ORDER:
        rows = tables.get(table) or valid_rows(table)
        first = VALID[table][0]
        rows.append({**first, ID_OF[table]: f"{later}_same_day", later: first[earlier], **extra})
        tables[table] = rows
    ex = extract.load(make_extract(tables))
    assert ex.quarantine.height == 0, quarantine_of(ex)
    for table, later, *_ in DATE_ORDER:
        assert f"{later}_same_day" in ex.tables[table][ID_OF[table]].to_list()


@pytest.mark.parametrize(("table", "column"), _columns("date"))
def test_date_after_extracted_on(make_extract, table, column):
    extra = {"closure_reason": "objectives_met"} if column == "closed_on" else {}
    check_one(make_extract, table, {column: "2025-01-05", **extra}, "after_extraction", column, "2025-01-05",
              f"{column} 2025-01-05 is after the extraction date 2024-12-31")


def test_extraction_day_itself_is_accepted(make_extract):
    ex = extract.load(make_extract({"contacts": bad_row("contacts", date="2024-12-31")}))
    assert ex.quarantine.height == 0


def test_future_dates_are_accepted_without_extracted_on(make_extract):
    ex = extract.load(make_extract({"contacts": bad_row("contacts", date="2030-01-01")}, meta=None))
    assert ex.quarantine.height == 0


REQUIRED_WHEN = [
    ("cases", {"closed_on": "2024-07-01", "closure_reason": ""}, "closure_reason",
     "closure_reason is required when closed_on is set"),
    ("detention_stays", {"left_on": "2024-05-10", "outcome": ""}, "outcome",
     "outcome is required when left_on is set"),
    ("legal_actions", {"decided_on": "2024-06-01", "result": ""}, "result",
     "result is required when decided_on is set"),
] + [
    ("referrals", {"status": status, "status_on": ""}, "status_on",
     f"status_on is required when status is {status}")
    for status in ("accepted", "completed", "declined", "no_show")
]


@pytest.mark.parametrize(("table", "changes", "column", "reason"), REQUIRED_WHEN)
def test_required_when(make_extract, table, changes, column, reason):
    check_one(make_extract, table, changes, "required_when", column, None, reason)


def test_pending_referral_needs_no_status_on(make_extract):
    ex = extract.load(make_extract({"referrals": bad_row("referrals", status="pending", status_on="")}))
    assert ex.quarantine.height == 0


def test_open_case_and_current_stay_need_no_reason_or_outcome(make_extract):
    ex = extract.load(make_extract({
        "cases": bad_row("cases", closed_on="", closure_reason=""),
        "detention_stays": bad_row("detention_stays", left_on="", outcome=""),
        "legal_actions": bad_row("legal_actions", decided_on="", result=""),
    }))
    assert ex.quarantine.height == 0


@pytest.mark.parametrize("table", [t for t in TABLE_ORDER if ID_OF[t]])
def test_duplicate_id_quarantines_only_later_rows(make_extract, table):
    rows = valid_rows(table)
    first = rows[0]
    rows += [dict(first), dict(first)]  # two more copies: rows n+1 and n+2
    ex = extract.load(make_extract({table: rows}))
    q = quarantine_of(ex, table)
    n = len(VALID[table])
    assert [r["row"] for r in q] == [n + 1, n + 2]
    idc = ID_OF[table]
    for r in q:  # the pseudonym is shown by its shape only (P001 → A###)
        assert (r["rule"], r["column"], r["value"]) == ("duplicate_id", idc, "A###")
        assert r["reason"] == f"{idc} 'A###' already appears in row 1"
    assert ex.tables[table].height == n
    assert ex.quarantine.height == 2  # children of the kept first row stay accepted


def test_duplicate_of_a_quarantined_row_is_still_a_duplicate(make_extract):
    rows = valid_rows("persons")
    rows[0]["sex"] = "M"
    rows.append(dict(VALID["persons"][0]))  # a valid row with the id of quarantined row 1
    ex = extract.load(make_extract({"persons": rows}, all_tables=False))
    q = {r["row"]: r for r in quarantine_of(ex, "persons")}
    assert q[1]["rule"] == "unknown_code"
    assert q[5]["rule"] == "duplicate_id"
    # P001 is not accepted: its contacts are quarantined, naming the first refusal (row 1, not row 5).
    contacts = quarantine_of(ex, "contacts")
    assert {r["row"] for r in contacts} == {1, 2}
    assert all(r["reason"].startswith("person A### (persons.csv row 1) was quarantined: sex 'A'") for r in contacts)
    assert "P001" not in ex.tables["persons"]["person_id"].to_list()


# references: (table, column, value, parent word, parent table)
MISSING_REFERENCES = [
    ("contacts", "person_id", "P999", "person", "persons"),
    ("cases", "person_id", "P999", "person", "persons"),
    ("referrals", "person_id", "P999", "person", "persons"),
    ("referrals", "case_id", "K999", "case", "cases"),
    ("detention_stays", "person_id", "P999", "person", "persons"),
    ("legal_actions", "person_id", "P999", "person", "persons"),
    ("legal_actions", "case_id", "K999", "case", "cases"),
    ("legal_actions", "stay_id", "S999", "stay", "detention_stays"),
    ("protection_flags", "person_id", "P999", "person", "persons"),
]


def test_every_reference_is_tested():
    declared = {(t, c.name) for t in TABLE_ORDER for c in TABLES[t].columns if c.references}
    assert declared == {(t, c) for t, c, *_ in MISSING_REFERENCES}


@pytest.mark.parametrize(("table", "column", "value", "word", "parent"), MISSING_REFERENCES)
def test_missing_reference(make_extract, table, column, value, word, parent):
    check_one(make_extract, table, {column: value}, "missing_reference", column, value,
              f"{word} {value} not found: not in {parent}")


def test_reference_ids_are_trimmed(make_extract):
    ex = extract.load(make_extract({"contacts": bad_row("contacts", person_id="  P002 ")}))
    assert ex.quarantine.height == 0


def test_row_with_quarantined_parent_names_parent_and_reason(make_extract):
    persons = valid_rows("persons")
    persons[1]["sex"] = "M"  # P002
    ex = extract.load(make_extract({"persons": persons}))
    p = quarantine_of(ex, "persons")
    assert [(r["row"], r["rule"]) for r in p] == [(2, "unknown_code")]
    contacts = quarantine_of(ex, "contacts")
    assert [(r["row"], r["column"], r["value"], r["rule"]) for r in contacts] == [
        (3, "person_id", "A###", "quarantined_parent")]
    assert contacts[0]["reason"].startswith("person A### (persons.csv row 2) was quarantined: sex 'A' is not a "
                                            "known code")
    # every row of P002 anywhere is out, and the accepted tables stay whole
    for table in ("contacts", "detention_stays", "legal_actions"):
        assert "P002" not in ex.tables[table]["person_id"].to_list()
    # A001 refers to P002 (and to S001, whose person is P002): refused for its person first
    la = quarantine_of(ex, "legal_actions")
    assert [(r["row"], r["column"]) for r in la] == [(1, "person_id")]


def test_chained_quarantine_person_case_referral(make_extract):
    """P004 is refused → case K002 is refused → referral R009 (person P001, case K002) is refused."""
    persons = valid_rows("persons")
    persons[3]["registered_on"] = "someday"  # P004, row 4
    referrals = valid_rows("referrals") + [
        {"referral_id": "R009", "person_id": "P001", "case_id": "K002", "referred_on": "2024-05-01",
         "service_type": "lawyer", "partner": "", "status": "pending", "status_on": ""}]
    ex = extract.load(make_extract({"persons": persons, "referrals": referrals}))
    # K002 (cases.csv row 2) belongs to P004; values and reasons show pseudonyms by their shape only
    case = quarantine_of(ex, "cases")
    assert [(r["row"], r["column"], r["value"], r["rule"]) for r in case] == [
        (2, "person_id", "A###", "quarantined_parent")]
    assert case[0]["reason"].startswith(
        "person A### (persons.csv row 4) was quarantined: registered_on 'aaaaaaa' is not a date")
    ref = {r["row"]: r for r in quarantine_of(ex, "referrals")}
    assert ref[4]["column"] == "case_id" and ref[4]["value"] == "A###"
    assert ref[4]["rule"] == "quarantined_parent"
    assert ref[4]["reason"].startswith(
        "case A### (cases.csv row 2) was quarantined: person A### (persons.csv row 4) was quarantined: "
        "registered_on 'aaaaaaa'")
    # R002 refers to P004 directly: refused for its person
    assert ref[2]["column"] == "person_id" and ref[2]["value"] == "A###"
    assert ref[2]["reason"].startswith("person A### (persons.csv row 4) was quarantined")
    assert "K002" not in ex.tables["cases"]["case_id"].to_list()
    assert set(ex.tables["referrals"]["referral_id"]) == {"R001", "R003"}


def test_reference_to_a_case_without_cases_table(make_extract):
    ex = extract.load(make_extract({"cases": None}))
    assert not ex.has("cases")
    q = quarantine_of(ex)
    got = {(r["table"], r["row"], r["column"], r["value"], r["rule"]) for r in q}
    assert got == {("referrals", 1, "case_id", "A###", "missing_reference"),
                   ("referrals", 2, "case_id", "A###", "missing_reference"),
                   ("legal_actions", 2, "case_id", "A###", "missing_reference")}
    assert all(r["reason"] == f"case {r['value']} not found: the extract has no cases table" for r in q)
    # a referral without a case is fine
    assert ex.tables["referrals"]["referral_id"].to_list() == ["R003"]


def test_reference_to_a_stay_without_stays_table(make_extract):
    ex = extract.load(make_extract({"detention_stays": None}))
    q = only_quarantined(ex, "legal_actions")
    assert (q["row"], q["column"], q["rule"]) == (1, "stay_id", "missing_reference")
    assert q["reason"] == "stay A### not found: the extract has no detention_stays table"


def test_first_rule_broken_is_the_one_reported(make_extract):
    # bad sex (column 2) and bad registered_on (column 6): the first column in contract order wins
    ex = extract.load(make_extract({"persons": bad_row("persons", sex="x", registered_on="never")}))
    q = only_quarantined(ex, "persons")
    assert (q["rule"], q["column"]) == ("unknown_code", "sex")


# --- counts and the quarantine file --------------------------------------------------------------

def _messy(make_extract):
    persons = valid_rows("persons") + [
        {**VALID["persons"][0], "person_id": "P010", "sex": "?"},
        {**VALID["persons"][0]},
    ]
    contacts = valid_rows("contacts") + [
        {**VALID["contacts"][0], "contact_id": "C010", "person_id": "P010"},
        {**VALID["contacts"][0], "contact_id": "C011", "date": "2025-06-01"},
        {**VALID["contacts"][0], "contact_id": "C012", "person_id": "P404"},
    ]
    cases = valid_rows("cases") + [{**VALID["cases"][0], "case_id": "K010", "closed_on": "2024-01-01",
                                    "closure_reason": "other"}]
    return extract.load(make_extract({"persons": persons, "contacts": contacts, "cases": cases}))


def test_accepted_plus_quarantined_is_read(make_extract):
    ex = _messy(make_extract)
    summary = ex.summary()
    assert summary["read"] == summary["accepted"] + summary["quarantined"]
    for entry in summary["tables"]:
        t = entry["table"]
        assert entry["read"] == entry["accepted"] + entry["quarantined"]
        assert entry["accepted"] == ex.tables[t].height
        assert entry["quarantined"] == ex.quarantine.filter(pl.col("table") == t).height
        assert sum(entry["by_rule"].values()) == entry["quarantined"]
    by_table = {e["table"]: e for e in summary["tables"]}
    assert (by_table["persons"]["read"], by_table["persons"]["quarantined"]) == (6, 2)
    assert by_table["contacts"]["by_rule"] == {"after_extraction": 1, "missing_reference": 1,
                                              "quarantined_parent": 1}
    assert by_table["cases"]["by_rule"] == {"date_order": 1}
    # a row appears once in the quarantine, under its first rule
    assert ex.quarantine.select("table", "row").is_duplicated().sum() == 0


def test_write_quarantine_has_the_contract_columns(make_extract, tmp_path):
    ex = _messy(make_extract)
    path = ex.write_quarantine(tmp_path / "out" / "quarantine.csv")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        lines = list(reader)
    assert header == ["table", "file", "row", "column", "value", "rule", "reason"]
    assert len(lines) == ex.quarantined == 6
    assert ["persons", "persons.csv", "5", "sex", "?", "unknown_code"] == lines[0][:6]


def test_empty_quarantine_is_written_with_header(valid_extract, tmp_path):
    ex = extract.load(valid_extract)
    path = ex.write_quarantine(tmp_path / "q.csv")
    assert path.read_text(encoding="utf-8").strip() == "table,file,row,column,value,rule,reason"


# --- real-world CSV --------------------------------------------------------------------------------

def test_utf8_with_bom(make_extract):
    folder = make_extract()
    text = (folder / "persons.csv").read_text(encoding="utf-8")
    (folder / "persons.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["persons"].columns[0] == "person_id"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_windows_1252_and_latin1_keep_accents(make_extract, encoding):
    persons = [{**r, "commentaire": "régularisé à Besançon"} for r in valid_rows("persons")]
    folder = make_extract({"persons": None}, meta=None)
    write_table(folder, "persons", persons, encoding=encoding)
    write_meta(folder, META)
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["persons"]["commentaire"].to_list() == ["régularisé à Besançon"] * 4


def test_extract_yaml_site_label_with_accents(make_extract):
    folder = make_extract(meta={**META, "sites": {"Evry Centre": "Évry — centre-ville"}})
    ex = extract.load(folder)
    assert ex.meta.label("site", "evry_centre") == "Évry — centre-ville"
    assert ex.meta.label("site", "lyon") == "lyon"


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_delimiters(make_extract, sep):
    folder = make_extract({"persons": None})
    write_table(folder, "persons", valid_rows("persons"), sep=sep)
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["persons"].height == 4


def test_french_excel_csv(make_extract):
    """Semicolon, Windows-1252, DD/MM/YYYY dates, oui/non: what French Excel writes."""
    contacts = [{**r, "date": "/".join(reversed(r["date"].split("-"))),
                 "interpreter": {"true": "oui", "false": "non", "": ""}[r["interpreter"]],
                 "lieu": "Évry"} for r in valid_rows("contacts")]
    folder = make_extract({"contacts": None})
    write_table(folder, "contacts", contacts, sep=";", encoding="cp1252")
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert_frame_equal(contract_part(ex.tables["contacts"], "contacts"),
                       contract_part(extract.load(make_extract()).tables["contacts"], "contacts"))
    assert ex.tables["contacts"]["lieu"].unique().to_list() == ["Évry"]


DATE_FORMS = [
    ("2024-03-01", dt.date(2024, 3, 1)),
    ("01/03/2024", dt.date(2024, 3, 1)),
    ("1/3/2024", dt.date(2024, 3, 1)),
    ("01.03.2024", dt.date(2024, 3, 1)),
    ("01-03-2024", dt.date(2024, 3, 1)),
    ("2024-03-01 00:00:00", dt.date(2024, 3, 1)),
    ("2024-03-01T10:30", dt.date(2024, 3, 1)),
    ("2024-03-01T10:30:00Z", dt.date(2024, 3, 1)),
    (" 2024-03-01 ", dt.date(2024, 3, 1)),
    ("29/02/2024", dt.date(2024, 2, 29)),
]

BOOLEAN_FORMS = [
    ("oui", True), ("non", False), ("Oui", True), ("NON", False), ("yes", True), ("no", False),
    ("true", True), ("false", False), ("TRUE", True), ("1", True), ("0", False), ("Y", True),
    ("vrai", True), ("faux", False),
    ("unknown", None), ("Unknown", None), ("inconnu", None), ("", None),
]


def _many(table: str, column: str, texts: list[str], prefix: str) -> list[dict[str, str]]:
    """The valid rows plus one row per text (ids ``prefix1``, ``prefix2``…)."""
    idc = ID_OF[table]
    return valid_rows(table) + [{**VALID[table][0], idc: f"{prefix}{i}", column: text}
                                for i, text in enumerate(texts)]


def _values(ex, table: str, column: str, prefix: str) -> list:
    idc = ID_OF[table]
    return ex.tables[table].filter(pl.col(idc).str.starts_with(prefix))[column].to_list()


def test_date_forms(make_extract):
    """ISO dates, JJ/MM/AAAA (and . or - separators), ISO date-times keep their date."""
    texts, expected = zip(*DATE_FORMS)
    ex = extract.load(make_extract({"contacts": _many("contacts", "date", list(texts), "D")}, all_tables=False))
    assert ex.quarantine.height == 0, quarantine_of(ex)
    assert _values(ex, "contacts", "date", "D") == list(expected)


def test_boolean_forms(make_extract):
    """oui/non, yes/no, true/false, 1/0 in any case; 'unknown' is read as empty, not refused."""
    texts, expected = zip(*BOOLEAN_FORMS)
    ex = extract.load(make_extract({"contacts": _many("contacts", "interpreter", list(texts), "B")},
                                   all_tables=False))
    assert ex.quarantine.height == 0, quarantine_of(ex)
    assert _values(ex, "contacts", "interpreter", "B") == list(expected)


CODE_FORMS = [
    ("sex", " Male ", "male"),
    ("sex", "FEMALE", "female"),
    ("legal_status", "Asylum Seeker", "asylum_seeker"),
    ("legal_status", "rejected-asylum-seeker", "rejected_asylum_seeker"),
    ("legal_status", " Unknown", "unknown"),
    ("nationality", "civ", "CIV"),
    ("nationality", " tun ", "TUN"),
    ("nationality", "xxa", "XXA"),
    ("nationality", "Unknown", "unknown"),
    ("site", " Paris Nord ", "paris_nord"),
    ("birth_year", " 1990 ", 1990),
    ("birth_year", "1990.0", 1990),
    ("birth_year", "unknown", None),  # not known: read as empty, like booleans
    ("birth_year", "Inconnu", None),
]


def test_codes_are_normalised(make_extract):
    """Stray spaces, capitals and hyphens in codes; nationality upper-cased; years as text."""
    persons = valid_rows("persons") + [{**VALID["persons"][0], "person_id": f"N{i}", column: text}
                                       for i, (column, text, _) in enumerate(CODE_FORMS)]
    ex = extract.load(make_extract({"persons": persons}, all_tables=False))
    assert ex.quarantine.height == 0, quarantine_of(ex)
    p = ex.tables["persons"]
    for i, (column, text, expected) in enumerate(CODE_FORMS):
        assert p.filter(pl.col("person_id") == f"N{i}")[column].item() == expected, (column, text)


def test_headers_with_capitals_and_spaces(make_extract):
    headers = {"person_id": " PERSON_ID ", "sex": "Sex", "birth_year": "Birth Year", "nationality": "NATIONALITY",
               "legal_status": "Legal-Status", "registered_on": "Registered  On", "site": "site "}
    rows = [{headers[k]: v for k, v in r.items()} for r in valid_rows("persons")]
    ex = extract.load(make_extract({"persons": rows}))
    assert ex.quarantine.height == 0
    assert ex.tables["persons"].columns == list(TABLES["persons"].column_names)


def test_extra_columns_are_kept_and_ignored(make_extract):
    rows = [{**r, "Team Note": "x" if i else "", "legal_status": r["legal_status"], "sex_raw": "F"}
            for i, r in enumerate(valid_rows("persons"))]
    ex = extract.load(make_extract({"persons": rows}))
    assert ex.quarantine.height == 0
    p = ex.tables["persons"]
    assert p.columns == [*TABLES["persons"].column_names, "team_note", "sex_raw"]
    assert p["team_note"].to_list() == [None, "x", "x", "x"]
    assert p["sex_raw"].dtype == pl.String


def test_extra_columns_follow_their_rows(make_extract):
    persons = [{**r, "note": f"n{r['person_id']}"} for r in valid_rows("persons")]
    persons[0]["sex"] = "bad"
    ex = extract.load(make_extract({"persons": persons}, all_tables=False))
    p = ex.tables["persons"]
    assert p["person_id"].to_list() == ["P002", "P003", "P004"]
    assert p["note"].to_list() == ["nP002", "nP003", "nP004"]


def test_optional_columns_absent_are_null(make_extract):
    keep = TABLES["contacts"].required_columns
    contacts = [{k: v for k, v in r.items() if k in keep} for r in valid_rows("contacts")]
    cases = [{k: v for k, v in r.items() if k in TABLES["cases"].required_columns} for r in valid_rows("cases")]
    ex = extract.load(make_extract({"contacts": contacts, "cases": cases}))
    assert ex.quarantine.height == 0
    c = ex.tables["contacts"]
    assert c.columns == list(TABLES["contacts"].column_names)
    for col in ("channel", "topic", "interpreter"):
        assert c[col].null_count() == c.height
    assert dict(c.schema) == TABLES["contacts"].polars_schema()


def test_crlf_line_endings_and_trailing_blank_line(make_extract):
    folder = make_extract()
    text = (folder / "contacts.csv").read_text(encoding="utf-8")
    (folder / "contacts.csv").write_bytes(text.replace("\n", "\r\n").encode() + b"\r\n")
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["contacts"].height == 5


def test_old_macintosh_line_endings(make_extract):
    folder = make_extract()
    text = (folder / "contacts.csv").read_text(encoding="utf-8")
    (folder / "contacts.csv").write_bytes(text.replace("\n", "\r").encode())
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["contacts"].height == 5


def test_quoted_cells_with_delimiters(make_extract):
    contacts = [{**r, "note": "a, b; c"} for r in valid_rows("contacts")]
    ex = extract.load(make_extract({"contacts": contacts}))
    assert ex.quarantine.height == 0
    assert ex.tables["contacts"]["note"].unique().to_list() == ["a, b; c"]


def test_sites_not_listed_in_extract_yaml_are_quarantined(make_extract):
    ex = extract.load(make_extract({"persons": bad_row("persons", site="Nouveau Site")}))
    q = only_quarantined(ex, "persons")
    assert (q["rule"], q["column"], q["value"]) == ("unknown_code", "site", "Aaaaaaa Aaaa")
    assert "nouveau_site" not in ex.tables["persons"]["site"].to_list()


def test_a_phone_typed_as_a_site_is_quarantined_whatever_the_list(make_extract):
    ex = extract.load(make_extract({"persons": bad_row("persons", site="+216 23 706 433")}))
    q = only_quarantined(ex, "persons")
    assert (q["rule"], q["column"], q["value"]) == ("identifier", "site", "+### ## ### ###")
    assert "phone" in q["reason"] and "706" not in q["reason"]


# --- typed output ---------------------------------------------------------------------------------

def test_typed_output_matches_the_contract(valid_extract):
    ex = extract.load(valid_extract)
    for table in TABLE_ORDER:
        frame = ex.tables[table]
        assert dict(contract_part(frame, table).schema) == TABLES[table].polars_schema(), table
    p = ex.tables["persons"]
    assert isinstance(p.schema["sex"], pl.Enum)
    assert p.schema["registered_on"] == pl.Date
    assert p.schema["birth_year"] == pl.Int32
    assert ex.tables["contacts"].schema["interpreter"] == pl.Boolean
    assert p["nationality"].to_list() == ["TUN", "CIV", "SDN", "XXA"]


def test_empty_optional_table_is_typed(make_extract):
    header = ",".join(TABLES["cases"].column_names) + "\n"
    ex = extract.load(make_extract({"cases": header, "referrals": None, "legal_actions": None}))
    assert ex.has("cases") and ex.tables["cases"].height == 0
    assert dict(ex.tables["cases"].schema) == TABLES["cases"].polars_schema()


# --- the three input forms -------------------------------------------------------------------------

def _accepted(ex) -> dict[str, pl.DataFrame]:
    return {t: contract_part(f, t) for t, f in ex.tables.items()}


def _assert_same_tables(a, b):
    assert set(a) == set(b)
    for t in a:
        assert_frame_equal(a[t], b[t], check_row_order=True)


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "text"])
def test_parquet_folder_gives_the_same_tables(valid_extract, tmp_path, typed):
    reference = extract.load(valid_extract)
    folder = tmp_path / "pq"
    folder.mkdir()
    for table in TABLE_ORDER:
        if typed:
            frame = reference.tables[table]
        else:
            frame = pl.read_csv(valid_extract / f"{table}.csv", infer_schema=False)
        frame.write_parquet(folder / f"{table}.parquet")
    write_meta(folder, META)
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    _assert_same_tables(_accepted(ex), _accepted(reference))


def test_parquet_with_categoricals_datetimes_and_floats(valid_extract, tmp_path):
    """What pandas tends to write: categoricals, datetime columns, float years with NaN."""
    reference = extract.load(valid_extract)
    folder = tmp_path / "pq"
    folder.mkdir()
    for table in TABLE_ORDER:
        frame = reference.tables[table]
        frame = frame.with_columns(
            *[pl.col(c).cast(pl.String).cast(pl.Categorical) for c, t in frame.schema.items()
              if isinstance(t, pl.Enum)],
            *[pl.col(c).cast(pl.Datetime("us")) for c, t in frame.schema.items() if t == pl.Date],
            *[pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if t == pl.Int32],
        )
        frame.write_parquet(folder / f"{table}.parquet")
    write_meta(folder, META)
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    _assert_same_tables(_accepted(ex), _accepted(reference))


def test_xlsx_workbook_gives_the_same_tables(valid_extract, tmp_path):
    reference = extract.load(valid_extract)
    path = tmp_path / "export.xlsx"
    write_workbook(path, {t: valid_rows(t) for t in TABLE_ORDER},
                   sheet_names={"persons": "Persons", "contacts": "CONTACTS"})
    write_meta(tmp_path, META)
    ex = extract.load(path)
    assert ex.quarantine.height == 0, quarantine_of(ex)
    _assert_same_tables(_accepted(ex), _accepted(reference))
    assert ex.meta.organisation == "Test Association"
    assert any("Notes" in w and "ignored" in w for w in ex.warnings), ex.warnings
    assert ex.reports["persons"].file == "export.xlsx[Persons]"


def test_xlsx_quarantine_names_sheet_and_row(tmp_path):
    persons = valid_rows("persons")
    persons[2]["sex"] = "x"
    path = tmp_path / "export.xlsx"
    write_workbook(path, {"persons": persons, "contacts": valid_rows("contacts")}, extra_sheet=False)
    ex = extract.load(path)
    q = quarantine_of(ex)
    assert [(r["file"], r["row"], r["column"], r["value"], r["rule"]) for r in q] == [
        ("export.xlsx[persons]", 3, "sex", "a", "unknown_code"),
        ("export.xlsx[contacts]", 4, "person_id", "A###", "quarantined_parent"),
    ]
    assert q[1]["reason"].startswith("person A### (export.xlsx[persons] row 3) was quarantined: sex 'a'")


def test_folder_with_only_a_workbook_reads_the_workbook(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    write_workbook(folder / "export.xlsx", {t: valid_rows(t) for t in ("persons", "contacts")})
    write_meta(folder, META)
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert set(ex.tables) == {"persons", "contacts"}
    assert ex.meta.extracted_on == EXTRACTED_ON


# --- extract.yaml ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2024-12-31", "'2024-12-31'", "31/12/2024", "'2024-12-31 18:00:00'",
                                   "2024-12-31 18:00:00"])
def test_extracted_on_as_date_or_string(make_extract, value):
    folder = make_extract(meta=f"organisation: Test\nextracted_on: {value}\n")
    ex = extract.load(folder)
    assert ex.meta.extracted_on == EXTRACTED_ON
    assert ex.summary()["extracted_on"] == "2024-12-31"


def test_metadata_fields(make_extract):
    folder = make_extract(meta={"organisation": "Association Test", "extracted_on": dt.date(2024, 12, 31),
                                "sites": {"paris_nord": "Paris Nord", "Marseille": "Marseille"},
                                "centres": {"cra_1": "Centre 1"}, "partners": ["barreau"],
                                "schema_version": 1})
    ex = extract.load(folder)
    assert ex.meta.organisation == "Association Test"
    assert ex.meta.sites == {"paris_nord": "Paris Nord", "marseille": "Marseille"}
    assert ex.meta.label("centre", "cra_1") == "Centre 1"
    assert ex.meta.label("partner", "barreau") == "barreau"
    assert ex.meta.schema_version == "1"
    assert ex.summary()["organisation"] == "Association Test"


def test_no_extract_yaml(make_extract):
    ex = extract.load(make_extract(meta=None))
    assert ex.meta.organisation is None and ex.meta.extracted_on is None
    assert ex.quarantine.height == 0


@pytest.mark.parametrize("text", [
    "organisation: [unclosed\n",
    "organisation: Test\n  extracted_on: : 2024\n",
    "- just\n- a list\n",
    "extracted_on: not a date\n",
    "sites: 12\n",
    "extracted_on: 2024-02-30\n",  # YAML reads it as a timestamp and fails
    "\t- tab\n",
])
def test_malformed_extract_yaml(make_extract, text):
    folder = make_extract(meta=text)
    with pytest.raises(ExtractError, match="extract.yaml"):
        extract.load(folder)


def test_extract_yaml_in_windows_1252(make_extract):
    folder = make_extract(meta=None)
    (folder / "extract.yaml").write_bytes("organisation: Association Réfugiés\nextracted_on: 2024-12-31\n"
                                          .encode("cp1252"))
    ex = extract.load(folder)
    assert ex.meta.organisation == "Association Réfugiés"


def test_write_extract_helper_writes_what_it_says(tmp_path):
    folder = write_extract(tmp_path / "x", {"cases": None}, all_tables=False)
    assert sorted(p.name for p in folder.iterdir()) == ["contacts.csv", "extract.yaml", "persons.csv"]


def _same_extract(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert_frame_equal(a.tables[name], b.tables[name])
    assert_frame_equal(a.quarantine, b.quarantine)
    assert a.warnings == b.warnings and a.summary() == b.summary()


def test_tables_read_several_at_a_time_give_what_one_at_a_time_gives(tmp_path, monkeypatch):
    """Tables are read and checked several at a time (the persons first, then the largest files), each
    checked against the persons as soon as both are known: the extract is the one read table by
    table, quarantine, warnings and person numbers included."""
    from workbench.extract import cache, demo, loading

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    folder = demo.write(tmp_path / "demo", persons=300)
    contacts = pl.read_parquet(folder / "contacts.parquet").with_columns(pl.all().cast(pl.String))
    odd = contacts.head(2).with_columns(pl.Series("contact_id", ["C-NONE", "C-EMPTY"]),
                                        pl.Series("person_id", ["P-NONE", None]))  # a missing person, an empty one
    blank = pl.DataFrame({c: [None] for c in contacts.columns}, schema=contacts.schema)
    pl.concat([contacts, odd, blank]).write_csv(folder / "contacts.csv")
    (folder / "contacts.parquet").unlink()
    together = extract.load(folder)
    monkeypatch.setattr(loading, "TABLES_AT_ONCE", 1)
    alone = extract.load(folder)
    _same_extract(together, alone)
    assert {"missing_reference", "required"} <= set(together.quarantine["rule"].to_list())
    assert any("blank row" in w for w in together.warnings)
    numbered = [name for name in together.tables if cache.numbers_of(together.tables[name]) is not None]
    assert {"contacts", "cases", "referrals"} <= set(numbered)
    for name in together.tables:
        a, b = cache.numbers_of(together.tables[name]), cache.numbers_of(alone.tables[name])
        assert (b is None) if a is None else a.equals(b), name


@pytest.mark.parametrize("cases", ["some quarantined", "header only", "absent"])
def test_tables_naming_cases_and_stays_checked_as_soon_as_these_are_give_what_checking_them_last_gives(
        tmp_path, monkeypatch, cases):
    """Referrals and legal actions are checked against the cases and stays as soon as these are checked
    (their own references included): missing, quarantined and good parents give the extract, and the
    person numbers, that checking every reference at the end gives."""
    from workbench.extract import cache, demo, loading
    from workbench.extract.references import Early

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    folder = demo.write(tmp_path / "demo", persons=400)

    def rewrite(table: str, change) -> None:
        frame = pl.read_parquet(folder / f"{table}.parquet").with_columns(pl.all().cast(pl.String))
        change(frame).write_csv(folder / f"{table}.csv")
        (folder / f"{table}.parquet").unlink()

    every = lambda n: pl.int_range(pl.len()) % n == 0  # noqa: E731
    rewrite("cases", {"some quarantined": lambda f: f.with_columns(
        pl.when(every(5)).then(pl.lit("not a date")).otherwise(pl.col("opened_on")).alias("opened_on")),
        "header only": lambda f: f.head(0), "absent": lambda f: f}[cases])
    if cases == "absent":
        (folder / "cases.csv").unlink()
    rewrite("detention_stays", lambda f: f.with_columns(pl.when(every(4)).then(pl.lit("P-NONE"))
                                                        .otherwise(pl.col("person_id")).alias("person_id")))
    rewrite("referrals", lambda f: f.with_columns(pl.when(every(7)).then(pl.lit("K-NONE"))
                                                  .otherwise(pl.col("case_id")).alias("case_id")))
    rewrite("legal_actions", lambda f: f.with_columns(pl.when(every(6)).then(pl.lit("S-NONE"))
                                                      .otherwise(pl.col("stay_id")).alias("stay_id")))
    as_soon = extract.load(folder)
    rules = as_soon.quarantine.group_by("table", "rule").len()
    assert {("referrals", "missing_reference"), ("legal_actions", "missing_reference")} | (
        {("referrals", "quarantined_parent")} if cases == "some quarantined" else set()) <= {
        (t, r) for t, r, _ in rules.iter_rows()}
    monkeypatch.setattr(loading, "on_parents", lambda name, accepted, quarantined, file, numbers, parents: (
        accepted, quarantined, Early(numbers, settled=False)))  # left for the end, as when a parent is unknown
    last = extract.load(folder)
    _same_extract(as_soon, last)
    for name in last.tables:
        a, b = cache.numbers_of(as_soon.tables[name]), cache.numbers_of(last.tables[name])
        assert (b is None) if a is None else a.equals(b), name


@pytest.mark.parametrize("form", ["csv", "parquet"])
@pytest.mark.parametrize("case", ["clean", "padded person", "spaces only", "blank but spaces", "padded and refused",
                                  "spaces and refused", "padded missing person", "empty text"])
def test_person_ids_checked_for_trimming_against_the_persons_give_what_trimming_first_gives(
        tmp_path, monkeypatch, case, form):
    """A table's person ids are checked for trimming only where they are no person's id as written
    (and in its refused rows): the extract is the one read by trimming every cell first."""
    from workbench.extract import cache, demo, loading

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    folder = demo.write(tmp_path / "demo", persons=200)
    contacts = pl.read_parquet(folder / "contacts.parquet").with_columns(pl.all().cast(pl.String))
    person = contacts["person_id"][0]
    changes = {"clean": {"person_id": "P-NONE"},
               "padded person": {"person_id": f" {person}\t"},
               "spaces only": {"person_id": "   "},
               "blank but spaces": {c: None for c in contacts.columns if c != "contact_id"} | {"person_id": "  "},
               "padded and refused": {"person_id": f"{person} ", "date": "not a date"},
               "spaces and refused": {"person_id": " ", "date": "not a date"},  # required comes first
               "padded missing person": {"person_id": " P-NONE "},
               "empty text": {"person_id": ""}}[case]
    odd = contacts.head(1).with_columns(pl.lit(None if case == "blank but spaces" else "C-ODD", dtype=pl.String)
                                        .alias("contact_id"),
                                        *[pl.lit(v, dtype=pl.String).alias(c) for c, v in changes.items()])
    table = pl.concat([contacts, odd])
    (folder / "contacts.parquet").unlink()
    if form == "csv":
        table.write_csv(folder / "contacts.csv")
    else:
        table.write_parquet(folder / "contacts.parquet")
    checked_later = extract.load(folder)
    monkeypatch.setattr(loading, "_checked_later", lambda spec: None)
    trimmed_first = extract.load(folder)
    _same_extract(checked_later, trimmed_first)
    for name in trimmed_first.tables:
        a, b = cache.numbers_of(checked_later.tables[name]), cache.numbers_of(trimmed_first.tables[name])
        assert (b is None) if a is None else a.equals(b), name
    accepted = checked_later.table("contacts").filter(pl.col("contact_id") == "C-ODD")
    if case == "padded person":  # trimmed, and its person found
        assert accepted["person_id"].to_list() == [person]
        assert cache.numbers_of(checked_later.table("contacts"))[-1] is not None
    elif case == "blank but spaces":
        assert accepted.height == 0 and any("blank row" in w for w in checked_later.warnings)
    else:
        rule = {"clean": "missing_reference", "padded missing person": "missing_reference",
                "padded and refused": "invalid_date"}.get(case, "required")
        assert rule in checked_later.quarantine["rule"].to_list()


@pytest.mark.parametrize("form", ["csv", "parquet"])
@pytest.mark.parametrize("sexes", [
    ["female", "male", None],                  # codes as written: typed by one cast while reading
    ["female", "Male", None],                  # a code to normalise
    ["female", " male", ""],                   # spaces, an empty cell
    ["female", "M", "unknown"],                # not a code
])
def test_a_vocabulary_column_cast_while_reading_is_typed_as_code_by_code(tmp_path, monkeypatch, sexes, form):
    from workbench.extract import cache, demo, loading

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    folder = demo.write(tmp_path / "demo", persons=150)
    persons = pl.read_parquet(folder / "persons.parquet").with_columns(pl.all().cast(pl.String))
    persons = persons.with_columns(pl.Series("sex", (sexes * persons.height)[:persons.height]))
    (folder / "persons.parquet").unlink()
    persons.write_csv(folder / "persons.csv") if form == "csv" else persons.write_parquet(folder / "persons.parquet")
    cast = extract.load(folder)
    monkeypatch.setattr(loading, "code_casts", lambda spec: {})
    _same_extract(cast, extract.load(folder))
    assert cast.table("persons").schema["sex"] == dtype_of(TABLES["persons"].column("sex"))


def test_tables_read_at_once_fail_as_one_at_a_time_would(make_extract, monkeypatch):
    """The first table in the contract's order that cannot be read is the one named, whichever
    finished first; the other tables' work is abandoned."""
    from workbench.extract import loading

    broken = {"cases": "case_id,person_id\nK1,P001\n",  # required columns missing
              "referrals": b"\x00\x01 not a table" * 5000}  # the largest file: read first
    folder = make_extract(broken)
    with pytest.raises(ExtractError) as together:
        extract.load(folder)
    monkeypatch.setattr(loading, "TABLES_AT_ONCE", 1)
    with pytest.raises(ExtractError) as alone:
        extract.load(folder)
    assert str(together.value) == str(alone.value) and "cases.csv" in str(together.value)
