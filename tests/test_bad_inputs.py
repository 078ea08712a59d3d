"""The bad-input set: what a coordinator's real files look like when they go wrong.

Each case checks the message (it names the file, and the row or column where that
applies) through :func:`workbench.extract.load`, and the exit code of
``workbench validate`` with no traceback in its output.
"""

from __future__ import annotations

import csv
import json
import os
import re

import pytest
from click.testing import CliRunner
from conftest import META, VALID, csv_text, valid_rows, write_meta, write_table, write_workbook

from workbench import extract
from workbench.cli.main import main
from workbench.exceptions import (ExtractError, IdentifierColumnError, MissingColumnError, MissingTableError,
                                  UnreadableFileError)
from workbench.contract.schema import TABLE_ORDER as CONTRACT_TABLES, TABLES

#: The person-level tables the hand-made fixtures cover (the tables beyond persons: tests/test_beyond.py).
TABLE_ORDER = CONTRACT_TABLES[:7]


def validate(*args) -> object:
    """Run ``workbench validate`` in-process; never a traceback."""
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    assert "Traceback" not in result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), result.exc_info
    return result


def refused(folder, error=ExtractError, *, exit_code=2) -> tuple[ExtractError, str]:
    """Load must raise ``error``; the CLI must exit 2 with the same message."""
    with pytest.raises(error) as info:
        extract.load(folder)
    result = validate(folder)
    assert result.exit_code == exit_code, result.output
    assert "error:" in result.stderr
    # the command shows the same message, sheet names in brackets included
    message = " ".join(str(info.value).split()[:6])
    assert message in " ".join(result.stderr.split())
    return info.value, result.stderr


def extra_column(table: str, column: str, values: list[str]) -> list[dict[str, str]]:
    """The valid rows of ``table`` with one more column, cycling through ``values``;
    padded with copies so that there are at least 8 rows."""
    rows = valid_rows(table)
    idc = TABLES[table].id_column
    while len(rows) < 8:
        rows.append({**VALID[table][0], idc: f"{VALID[table][0][idc]}x{len(rows)}"})
    return [{**r, column: values[i % len(values)]} for i, r in enumerate(rows)]


# --- files that cannot be read ---------------------------------------------------------------------

def test_empty_file(make_extract):
    folder = make_extract({"persons": b""})
    err, out = refused(folder, UnreadableFileError)
    assert err.file == "persons.csv"
    assert "persons.csv: the file is empty" in out
    assert "person_id" in out  # says which header is expected


def test_whitespace_only_file(make_extract):
    err, _ = refused(make_extract({"contacts": "\n \r\n"}), UnreadableFileError)
    assert err.file == "contacts.csv" and "empty" in str(err)


def test_empty_optional_file_is_refused_too(make_extract):
    err, _ = refused(make_extract({"cases": b""}), UnreadableFileError)
    assert err.file == "cases.csv"


def test_header_only_required_table(make_extract):
    header = ",".join(TABLES["persons"].column_names) + "\n"
    err, out = refused(make_extract({"persons": header}), UnreadableFileError)
    assert err.file == "persons.csv" and err.table == "persons"
    assert "no data rows" in out and "required" in out


def test_header_and_blank_lines_only_required_table(make_extract):
    header = ",".join(TABLES["contacts"].column_names) + "\n\n,,,,,,,\n"
    err, _ = refused(make_extract({"contacts": header}), UnreadableFileError)
    assert err.file == "contacts.csv" and "no data rows" in str(err)


def test_header_only_optional_table_is_accepted_empty(make_extract):
    header = ",".join(TABLES["protection_flags"].column_names) + "\n"
    folder = make_extract({"protection_flags": header})
    ex = extract.load(folder)
    assert ex.has("protection_flags") and ex.tables["protection_flags"].height == 0
    assert ex.reports["protection_flags"].read == 0
    assert any("protection_flags.csv: header only" in w for w in ex.warnings)
    result = validate(folder)
    assert result.exit_code == 0, result.output
    assert "protection_flags.csv: header only" in result.output


def test_header_only_parent_table_quarantines_its_children(make_extract):
    header = ",".join(TABLES["cases"].column_names) + "\n"
    ex = extract.load(make_extract({"cases": header}))
    q = ex.quarantine.to_dicts()
    # the rows referring to K001 and K002; the pseudonyms shown by their shape only
    assert {(r["table"], r["row"], r["column"], r["value"]) for r in q} == {
        ("referrals", 1, "case_id", "A###"), ("referrals", 2, "case_id", "A###"), ("legal_actions", 2, "case_id", "A###")}
    assert all(r["reason"] == "case A### not found: not in cases" for r in q)


def test_missing_required_column(make_extract):
    persons = [{k: v for k, v in r.items() if k != "registered_on"} for r in valid_rows("persons")]
    err, out = refused(make_extract({"persons": persons}), MissingColumnError)
    assert (err.file, err.table, err.column) == ("persons.csv", "persons", "registered_on")
    assert "persons.csv: required column 'registered_on' missing from table 'persons'" in out


def test_missing_required_table(make_extract):
    err, out = refused(make_extract({"contacts": None}), MissingTableError)
    assert err.table == "contacts"
    assert "the required table 'contacts' is missing" in out
    assert "contacts.csv" in out


def test_empty_folder(tmp_path):
    err, _ = refused(tmp_path, MissingTableError)
    assert err.table == "persons"


def test_no_such_folder(tmp_path):
    err, out = refused(tmp_path / "nowhere")
    assert "nowhere: no such file or folder" in out


def test_a_single_csv_is_not_an_extract(valid_extract):
    err, out = refused(valid_extract / "persons.csv")
    assert "persons.csv" in out and "folder of tables" in out


def test_wrong_delimiter_hints_at_the_delimiter(make_extract):
    folder = make_extract({"persons": csv_text(valid_rows("persons"), sep="|")})
    err, out = refused(folder, MissingColumnError)
    assert err.file == "persons.csv"
    assert "delimiter" in out and "'|'" in out


def test_two_files_for_one_table(make_extract):
    folder = make_extract()
    (folder / "persons.parquet").write_bytes(b"")
    err, out = refused(folder)
    assert err.table == "persons"
    assert "persons.csv" in out and "persons.parquet" in out and "twice" in out


def test_ragged_row_with_too_many_fields(make_extract):
    text = csv_text(valid_rows("contacts")).replace("C003,P002,", "C003,P002,Paris, 15e,")
    err, out = refused(make_extract({"contacts": text}), UnreadableFileError)
    assert (err.file, err.row) == ("contacts.csv", 3)
    assert "contacts.csv: row 3 has 10 fields but the header has 8" in out


def test_ragged_row_with_too_few_fields_is_read_with_a_warning(make_extract):
    lines = csv_text(valid_rows("contacts")).splitlines()
    lines[2] = lines[2].rsplit(",", 2)[0]  # row 2 loses topic and interpreter
    ex = extract.load(make_extract({"contacts": "\n".join(lines) + "\n"}))
    assert ex.quarantine.height == 0
    assert any("contacts.csv: row 2 has fewer fields than the header" in w for w in ex.warnings), ex.warnings
    row = ex.tables["contacts"].row(1, named=True)
    assert row["contact_id"] == "C002" and row["topic"] is None and row["interpreter"] is None


def test_unclosed_quote_names_the_row(make_extract):
    text = csv_text(valid_rows("contacts")).replace("C004,P003", 'C004,"P003')
    err, out = refused(make_extract({"contacts": text}), UnreadableFileError)
    assert err.file == "contacts.csv" and err.row == 4
    assert "quote opened in row 4" in out


def test_blank_rows_are_ignored_with_a_warning_and_rows_keep_their_numbers(make_extract):
    rows = valid_rows("persons")
    rows[3]["sex"] = "?"  # P004, row 4 of the data... but blank rows come before it
    lines = csv_text(rows).splitlines()
    text = "\n".join([lines[0], lines[1], "", ",,,,,,", lines[2], lines[3], lines[4], ";;", ""]) + "\n"
    ex = extract.load(make_extract({"persons": text}, all_tables=False))
    q = ex.quarantine.filter(ex.quarantine["table"] == "persons").to_dicts()
    # rows: 1 P001, 2 blank, 3 blank, 4 P002, 5 P003, 6 P004, 7 ';;' (a text cell), 8 blank
    assert [(r["row"], r["value"]) for r in q] == [(6, "?"), (7, None)]
    assert q[1]["rule"] == "required"
    assert any("persons.csv: 3 blank rows ignored (rows 2, 3, 8)" in w for w in ex.warnings), ex.warnings
    assert ex.reports["persons"].read == 5


def test_duplicate_header(make_extract):
    text = csv_text(valid_rows("persons")).replace("legal_status", "Sex", 1)
    err, out = refused(make_extract({"persons": text}), UnreadableFileError)
    assert err.file == "persons.csv"
    assert "columns 'sex' and 'Sex' both read as 'sex'" in out


def test_unnamed_empty_columns_are_dropped(make_extract):
    text = "\n".join(line + ";;;" for line in csv_text(valid_rows("persons"), sep=";").splitlines()) + "\n"
    ex = extract.load(make_extract({"persons": text}))
    assert ex.quarantine.height == 0
    assert ex.tables["persons"].columns == list(TABLES["persons"].column_names)


def test_unnamed_column_with_values_is_refused(make_extract):
    rows = [{**r, "": "x"} for r in valid_rows("persons")]
    err, out = refused(make_extract({"persons": rows}), UnreadableFileError)
    assert "persons.csv: column 8 has values but no header" in out


def test_corrupted_xlsx(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    err, out = refused(path, UnreadableFileError)
    assert err.file == "export.xlsx"
    assert "export.xlsx: cannot be opened as an Excel workbook" in out


def test_empty_xlsx_file(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"")
    err, out = refused(path, UnreadableFileError)
    assert "export.xlsx" in out and "empty" in out


def test_corrupted_parquet(make_extract):
    folder = make_extract({"cases": None})
    (folder / "cases.parquet").write_bytes(os.urandom(300))
    err, out = refused(folder, UnreadableFileError)
    assert err.file == "cases.parquet" and "not a readable Parquet file" in out


def test_utf16_csv(make_extract):
    folder = make_extract({"persons": None})
    text = csv_text([{**r, "note": "réfugié"} for r in valid_rows("persons")], sep="\t")
    (folder / "persons.csv").write_bytes(text.encode("utf-16"))
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert ex.tables["persons"]["note"].to_list() == ["réfugié"] * 4


def test_latin1_file_loads_with_accents(make_extract):
    folder = make_extract({"contacts": None})
    rows = [{**r, "Antenne": "Évry-Courcouronnes", "remarque": "suivi à l'hôpital"} for r in valid_rows("contacts")]
    write_table(folder, "contacts", rows, sep=";", encoding="latin-1")
    ex = extract.load(folder)
    assert ex.tables["contacts"]["antenne"].unique().to_list() == ["Évry-Courcouronnes"]
    assert ex.tables["contacts"]["remarque"].unique().to_list() == ["suivi à l'hôpital"]
    result = validate(folder)
    assert result.exit_code == 0, result.output


def test_columns_named_like_the_loaders_own_are_ignored(make_extract):
    persons = valid_rows("persons")
    persons[0]["sex"] = "bad"
    contacts = [{**r, "wb_row": "1", "wb_parent_reason": "x"} for r in valid_rows("contacts")]
    ex = extract.load(make_extract({"persons": persons, "contacts": contacts}, all_tables=False))
    q = ex.quarantine.filter(ex.quarantine["table"] == "contacts").to_dicts()
    assert [r["row"] for r in q] == [1, 2]
    assert q[0]["reason"].startswith("person A### (persons.csv row 1) was quarantined: sex 'aaa'")
    assert "wb_row" not in ex.tables["contacts"].columns
    assert any("'wb_row', 'wb_parent_reason' ignored" in w for w in ex.warnings), ex.warnings


def test_malformed_extract_yaml_through_the_cli(make_extract):
    folder = make_extract(meta="organisation: [unclosed\n")
    err, out = refused(folder)
    assert err.file == "extract.yaml"
    assert "extract.yaml: not valid YAML (line 2, column 1" in out


# --- rows that break rules: quarantined, exit 1 ----------------------------------------------------

@pytest.mark.parametrize(("table", "change", "rule", "where"), [
    ("persons", {"sex": "M"}, "unknown_code", "persons.csv row 5, column sex"),
    ("persons", {"person_id": "P001"}, "duplicate_id", "persons.csv row 5, column person_id"),
    ("contacts", {"person_id": "P777"}, "missing_reference", "contacts.csv row 6, column person_id"),
    ("cases", {"closed_on": "2023-12-01", "closure_reason": "other"}, "date_order",
     "cases.csv row 3, column closed_on"),
    ("contacts", {"date": "2025-02-01"}, "after_extraction", "contacts.csv row 6, column date"),
])
def test_rule_breaks_are_quarantined(make_extract, tmp_path, table, change, rule, where):
    idc = TABLES[table].id_column
    rows = valid_rows(table) + [{**VALID[table][0], idc: "NEW", **change}]
    folder = make_extract({table: rows})
    ex = extract.load(folder)
    assert ex.quarantine.height == 1
    assert ex.quarantine["rule"].item() == rule
    result = validate(folder)
    assert result.exit_code == 1, result.output
    assert where in result.output
    assert re.search(r"\b1 rows? quarantined", result.output)


def test_workbook_with_extra_sheets(tmp_path):
    path = tmp_path / "export.xlsx"
    write_workbook(path, {t: valid_rows(t) for t in ("persons", "contacts")}, extra_sheet=True)
    write_meta(tmp_path, META)
    ex = extract.load(path)
    assert ex.quarantine.height == 0
    assert ex.warnings == ("export.xlsx: sheet 'Notes' is not a table of the case extract, ignored.",)
    result = validate(path)
    assert result.exit_code == 0
    assert "sheet 'Notes'" in result.output


def test_workbook_with_duplicate_header(tmp_path):
    path = tmp_path / "export.xlsx"
    persons = [{**r, "Sex ": r["sex"]} for r in valid_rows("persons")]
    write_workbook(path, {"persons": persons, "contacts": valid_rows("contacts")}, extra_sheet=False)
    err, _ = refused(path, UnreadableFileError)
    assert err.file == "export.xlsx[persons]" and err.column == "sex"
    assert "columns 'sex' and 'Sex ' both read as 'sex'" in str(err)


def test_workbook_without_persons_sheet(tmp_path):
    path = tmp_path / "export.xlsx"
    write_workbook(path, {"contacts": valid_rows("contacts")})
    err, out = refused(path, MissingTableError)
    assert "sheet 'persons'" in out


def test_other_files_in_the_folder_are_ignored_with_a_warning(make_extract):
    folder = make_extract()
    (folder / "notes.txt").write_text("invented notes", encoding="utf-8")
    (folder / "staff.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    ex = extract.load(folder)
    assert ex.quarantine.height == 0
    assert set(ex.warnings) == {"notes.txt: not a table of the case extract, ignored.",
                                "staff.csv: not a table of the case extract, ignored."}


# --- direct identifiers: refused ------------------------------------------------------------------

NAMES = ["Amina Diallo", "Jean-Marc Kouassi", "Omar Ben Salah", "Sara Mensah", "Awa Traoré", "Yusuf Ahmed"]


@pytest.mark.parametrize(("column", "values", "kind", "row"), [
    ("beneficiaire", NAMES, "personal names", 1),
    ("numero", ["", "06 12 34 56 78", "+33 6 98 76 54 32", "0033612345678"], "phone numbers", 2),
    ("contact", ["", "", "", "someone@example.org"], "e-mail addresses", 4),
    ("lieu_de_vie", ["12 rue des Lilas", "3 bis avenue Jean Jaurès", "", ""], "street addresses", 1),
    ("ref_prefecture", ["7501234567", "", "1301234567"], "identity or case-file numbers", 1),
])
def test_identifier_content_is_refused(make_extract, column, values, kind, row):
    folder = make_extract({"contacts": extra_column("contacts", column, values)})
    err, out = refused(folder, IdentifierColumnError)
    assert (err.file, err.table, err.column, err.row) == ("contacts.csv", "contacts", column, row)
    assert f"contacts.csv: column '{column}' holds values that look like {kind}" in out
    assert f"first at row {row}" in out
    for value in values:  # the values themselves are never echoed
        if value:
            assert value not in out


@pytest.mark.parametrize("column", ["Nom", "Prénom", "Téléphone", "E-mail", "Adresse", "Numéro AGDREF"])
def test_identifier_column_names_are_refused(make_extract, column):
    folder = make_extract({"persons": [{**r, column: ""} for r in valid_rows("persons")]})
    err, out = refused(folder, IdentifierColumnError)
    assert err.file == "persons.csv"
    assert f"column '{err.column}' looks like it holds" in out and "(by its name)" in out


def test_caseworker_names_in_a_pseudonym_column(make_extract):
    cases = valid_rows("cases")
    cases[0]["caseworker_id"] = "Marie Dupont"
    cases[1]["caseworker_id"] = "Paul Martin"
    err, _ = refused(make_extract({"cases": cases}), IdentifierColumnError)
    assert (err.file, err.column) == ("cases.csv", "caseworker_id")


def test_repeated_labels_are_not_taken_for_names(make_extract):
    contacts = extra_column("contacts", "antenne", ["Paris Nord", "Saint Denis"])
    ex = extract.load(make_extract({"contacts": contacts}))
    assert ex.quarantine.height == 0


def test_agdref_numbers_stored_as_numbers_in_parquet(valid_extract, tmp_path):
    import polars as pl

    folder = tmp_path / "pq"
    folder.mkdir()
    ex = extract.load(valid_extract)
    for table in TABLE_ORDER:
        frame = ex.tables[table]
        if table == "persons":
            frame = frame.with_columns(pl.Series("dossier", [7501234567, 7501234568, 7501234569, 7501234560]))
        frame.write_parquet(folder / f"{table}.parquet")
    err, _ = refused(folder, IdentifierColumnError)
    assert (err.file, err.column) == ("persons.parquet", "dossier")


def test_identifier_in_workbook_names_the_sheet(tmp_path):
    path = tmp_path / "export.xlsx"
    persons = [{**r, "tel": ""} for r in valid_rows("persons")]
    write_workbook(path, {"persons": persons, "contacts": valid_rows("contacts")}, extra_sheet=False)
    with pytest.raises(IdentifierColumnError) as info:
        extract.load(path)
    assert info.value.file == "export.xlsx[persons]"
    assert str(info.value).startswith("export.xlsx[persons]: column 'tel' looks like it holds phone numbers")
    result = validate(path)
    assert result.exit_code == 2 and "column 'tel'" in result.stderr


def test_cli_shows_sheet_names_in_brackets(tmp_path):
    path = tmp_path / "export.xlsx"
    persons = valid_rows("persons")
    persons[0]["sex"] = "x"
    write_workbook(path, {"persons": persons, "contacts": valid_rows("contacts")}, extra_sheet=False)
    result = validate(path)
    assert result.exit_code == 1
    table_line = next(line for line in result.stdout.splitlines() if line.startswith("│ persons"))
    assert "export.xlsx[persons]" in table_line


def test_cli_error_keeps_sheet_names_in_brackets(tmp_path):
    path = tmp_path / "export.xlsx"
    persons = [{**r, "tel": ""} for r in valid_rows("persons")]
    write_workbook(path, {"persons": persons, "contacts": valid_rows("contacts")}, extra_sheet=False)
    assert "export.xlsx[persons]: column 'tel'" in validate(path).stderr


# --- the validate command ---------------------------------------------------------------------------

def test_validate_exit_0_when_all_accepted(valid_extract):
    result = validate(valid_extract)
    assert result.exit_code == 0, result.output
    assert "persons" in result.stdout and "total" in result.stdout
    assert "quarantined" in result.stdout


def test_validate_json(make_extract, tmp_path):
    persons = valid_rows("persons")
    persons[1]["sex"] = "M"
    folder = make_extract({"persons": persons})
    result = validate(folder, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["organisation"] == "Test Association" and summary["extracted_on"] == "2024-12-31"
    tables = {t["table"]: t for t in summary["tables"]}
    assert set(tables) == set(TABLE_ORDER)
    for entry in tables.values():
        assert set(entry) >= {"read", "accepted", "quarantined", "by_rule"}
        assert entry["read"] == entry["accepted"] + entry["quarantined"]
    assert tables["persons"]["by_rule"] == {"unknown_code": 1}
    assert tables["contacts"]["by_rule"] == {"quarantined_parent": 1}
    assert summary["quarantined"] == sum(t["quarantined"] for t in tables.values())


def test_validate_json_exit_0(valid_extract):
    result = validate(valid_extract, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["quarantined"] == 0


def test_validate_quarantine_file(make_extract, tmp_path):
    contacts = valid_rows("contacts") + [{**VALID["contacts"][0], "contact_id": "C009", "channel": "fax"}]
    folder = make_extract({"contacts": contacts})
    out = tmp_path / "reports" / "quarantine.csv"
    result = validate(folder, "--quarantine", out, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["quarantine_file"] == str(out)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["table", "file", "row", "column", "value", "rule", "reason"]
    assert rows == [{"table": "contacts", "file": "contacts.csv", "row": "6", "column": "channel", "value": "aaa",
                     "rule": "unknown_code",
                     "reason": rows[0]["reason"]}]
    assert rows[0]["reason"].startswith("channel 'aaa' is not a known code")  # 'fax' by its shape only
    assert "fax" not in out.read_text(encoding="utf-8")


def test_validate_refused_exit_2_json(make_extract):
    result = validate(make_extract({"persons": b""}), "--json")
    assert result.exit_code == 2
    assert "persons.csv: the file is empty" in result.stderr
    assert result.stdout == ""


def test_validate_refused_writes_no_quarantine(make_extract, tmp_path):
    out = tmp_path / "q.csv"
    result = validate(make_extract({"contacts": None}), "--quarantine", out)
    assert result.exit_code == 2
    assert not out.exists()
