"""Limits checked before memory is spent: each refusal is one line naming the file, exit 2.

Wide and huge CSV files, cells over the csv module's limit, unclosed quotes, oversized
files and workbooks, and YAML alias bombs in every YAML reader (parameter files,
``extract.yaml``, mapping files).
"""

from __future__ import annotations

import re
import time

import pytest
from click.testing import CliRunner
from conftest import write_extract, write_workbook, valid_rows

from workbench import extract, safeyaml
from workbench.cli.main import main
from workbench.exceptions import ExtractError, MappingError, ParameterError, UnreadableFileError
from workbench.extract import files
from workbench.prepare import mapping
from workbench.reports import params

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))


def validate(folder) -> object:
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one clear line
    return lines[0]


def refused(folder, file: str, *words: str) -> str:
    with pytest.raises(UnreadableFileError) as info:
        extract.load(folder)
    message = str(info.value)
    assert message.startswith(f"{file}: "), message
    for word in words:
        assert word in message, message
    line = validate(folder)
    assert file in line and words[0] in line
    return message


def test_100000_columns_refused_at_the_header_in_well_under_a_second(tmp_path):
    folder = write_extract(tmp_path / "x")
    wide = ",".join(f"c{i}" for i in range(100_000))
    (folder / "contacts.csv").write_text(wide + "\n" + ",".join("1" for _ in range(100_000)) + "\n")
    start = time.perf_counter()
    with pytest.raises(UnreadableFileError) as info:
        extract.load(folder)
    assert time.perf_counter() - start < 1.0
    assert "contacts.csv" in str(info.value) and "100,000 columns" in str(info.value)
    refused(folder, "contacts.csv", "100,000 columns", f"limit of {files.MAX_COLUMNS}")


def test_column_limit_is_a_setting(tmp_path, monkeypatch):
    folder = write_extract(tmp_path / "x")
    monkeypatch.setattr(files, "MAX_COLUMNS", 7)
    with pytest.raises(UnreadableFileError, match=r"^\w+\.csv: the header has \d+ columns, over the limit of 7 "):
        extract.load(folder)
    assert "over the limit of 7" in validate(folder)
    monkeypatch.setattr(files, "MAX_COLUMNS", 500)
    assert extract.load(folder).quarantined == 0


def test_cell_over_the_csv_field_limit_names_row_and_column(tmp_path):
    rows = valid_rows("contacts")
    columns = list(rows[0])
    rows[1][columns[-1]] = "x" * (files.MAX_CELL_CHARS + 10)
    folder = write_extract(tmp_path / "x", {"contacts": rows})
    message = refused(folder, "contacts.csv", "row 2", f"column {len(columns)}", "131,072")
    assert "x" * 100 not in message


def test_unclosed_quote_in_a_2_mb_file_names_the_row_opening_it(tmp_path):
    rows = valid_rows("contacts")
    columns = list(rows[0])
    body = "\n".join(",".join(r[c] for c in columns) for r in rows)
    tail = "\n".join(",".join(rows[0][c] for c in columns) for _ in range(35_000))
    text = ",".join(columns) + "\n" + body + "\n" + ",".join(rows[0][c] for c in columns[:-1]) + ',"open\n' + tail
    assert len(text) > 2_000_000
    folder = write_extract(tmp_path / "x", {"contacts": text})
    refused(folder, "contacts.csv", f"quote opened in row {len(rows) + 1}", "never closed")


def test_csv_file_over_the_size_limit(tmp_path, monkeypatch):
    folder = write_extract(tmp_path / "x")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(UnreadableFileError, match=r"^\w+\.csv: [\d,]+ (bytes|KB), over the limit of 100 bytes for one file"):
        extract.load(folder)
    assert "over the limit" in validate(folder)


def test_workbook_over_the_size_limit_and_too_wide(tmp_path, monkeypatch):
    book = tmp_path / "extract.xlsx"
    write_workbook(book, {t: valid_rows(t) for t in ("persons", "contacts")})
    monkeypatch.setattr(files, "MAX_WORKBOOK_BYTES", 100)
    with pytest.raises(UnreadableFileError, match=r"^extract\.xlsx: .* over the limit"):
        extract.load(book)
    monkeypatch.setattr(files, "MAX_WORKBOOK_BYTES", 200 << 20)
    monkeypatch.setattr(files, "MAX_COLUMNS", 3)
    with pytest.raises(UnreadableFileError, match=r"^extract\.xlsx\[persons\]: the header has \d+ columns"):
        extract.load(book)


# --- YAML ------------------------------------------------------------------------------------------

def test_alias_bomb_refused_without_expanding():
    start = time.perf_counter()
    with pytest.raises(safeyaml.LimitError) as info:
        safeyaml.load(BOMB)
    assert time.perf_counter() - start < 1.0
    assert f"stand for more than {safeyaml.MAX_ALIASED:,} values" in str(info.value)
    assert re.search(r"line \d+, column \d+", str(info.value))


def test_ordinary_aliases_are_read():
    text = "sites: &s [paris, lyon]\nreport_sites: *s\nnested: &n {a: *s, b: *s}\nagain: [*n, *n]\n"
    data = safeyaml.load(text)
    assert data["report_sites"] == ["paris", "lyon"] and data["again"][1]["b"] == ["paris", "lyon"]


def test_yaml_size_limit():
    with pytest.raises(safeyaml.LimitError, match="over the limit"):
        safeyaml.load("a: " + "x" * 100, max_chars=50)
    assert safeyaml.load("a: &x 1\nb: 2") == {"a": 1, "b": 2}  # an anchor alone is harmless


def test_alias_bomb_in_a_parameter_file(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("report: activity_report\n" + BOMB)
    with pytest.raises(ParameterError, match=r"bomb\.yaml: not valid YAML .*aliases"):
        params.read_file(path)
    result = CliRunner().invoke(main, ["render", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "MemoryError" not in result.output
    assert "bomb.yaml" in result.stderr


def test_alias_bomb_in_extract_yaml(tmp_path):
    folder = write_extract(tmp_path / "x", meta=BOMB)
    with pytest.raises(ExtractError, match=r"extract\.yaml: not valid YAML \(line \d+, column \d+: the aliases"):
        extract.load(folder)
    assert "extract.yaml" in validate(folder)


def test_alias_bomb_in_a_mapping_file(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text(BOMB)
    with pytest.raises(MappingError, match=r"mapping\.yaml: not valid YAML \(line \d+.*aliases .* stand for more"):
        mapping.load_mapping(path)
