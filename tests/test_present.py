"""Cells, texts and spreadsheet safety: every writer, read back with openpyxl and csv."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from conftest import valid_rows
from workbench import extract
from workbench.cli.main import main as cli
from workbench.present import cells, exports
from workbench.present.texts import text
from workbench.publish import safe_text

DANGEROUS = '=hyperlink("http://example.org","x")'  # codes are read in lower case
STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("flag, shown", [("no_data", "–"), ("suppressed", "< 5"), ("withheld", "[c]"),
                                         ("small_population", "[p]")])
def test_marks_and_legends(flag, shown):
    assert cells.cell(None, flag, "rate", "fr", 5) == shown
    assert cells.legend(flag, "en", 5).startswith(f'"{shown}": ')
    assert cells.legend(flag, "fr", 5).startswith(f"« {shown} » : ")


def test_one_change_rule():
    assert cells.change(12, 10.0, "count", "fr") == "+12 (+10,0 %)"
    assert cells.change(-1.25, None, "rate", "en") == "−1.2 pt"
    assert cells.change(2, -5.0, "median", "en") == "+2.0 d (−5.0%)"
    assert cells.change(None, None, "count", "fr") == ""


def test_one_text_lookup():
    assert text("ui.total", "fr") == "Total"
    assert text("report.headings.about", "en") == "About this report"
    assert text("dashboard.vs", "en", period="Q3") == "vs Q3"


def _dangerous_extract(make_extract):
    persons, contacts = valid_rows("persons"), valid_rows("contacts")
    for row in persons + contacts:
        row["site"] = DANGEROUS
    # An open site list: with extract.yaml's `sites`, an unlisted code would be quarantined before any output.
    return make_extract({"persons": persons, "contacts": contacts}, meta={"organisation": "Test Association",
                                                                          "extracted_on": "2024-12-31"})


def _check_cells(values):
    texts = [v for v in values if isinstance(v, str)]
    live = [v for v in texts if v.startswith(STARTS) and not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", v)]
    assert not live, live
    assert "'" + DANGEROUS in texts


def _xlsx_cells(path_or_bytes):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
    assert b"<f>" not in b"".join(zipfile.ZipFile(io.BytesIO(data)).read(n) for n in
                                  zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/worksheets"))
    book = openpyxl.load_workbook(io.BytesIO(data))
    values = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    return values, book


def test_indicators_command_writes_inert_csv_and_xlsx(make_extract, tmp_path):
    folder = _dangerous_extract(make_extract)
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"ind.{fmt}"
        result = CliRunner().invoke(cli, ["indicators", str(folder), "-p", "2024", "-i", "persons_received",
                                          "-b", "site", "-f", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            rows = list(csv.DictReader(out.open(encoding="utf-8")))
            _check_cells([r["site"] for r in rows if r["site"]])
            assert {r["value"] for r in rows} == {"4"}  # numbers unchanged
        else:
            values, book = _xlsx_cells(out)
            _check_cells(values)
            assert 4 in values  # a number stays a number


def test_report_annex_marks_and_legend(make_extract, tmp_path):
    from workbench import disclosure
    from workbench.reports import outputs

    ex = extract.load(_dangerous_extract(make_extract))
    # the team's own use with a threshold: per-table suppression, "< 5" on a count from 1 to 4
    table = disclosure.compute(ex, "2024", indicators=["persons_received"], by=["site"], threshold=5)
    path = outputs.to_xlsx(table.frame, tmp_path / "annex.xlsx", "fr", 5)
    values, book = _xlsx_cells(path)
    _check_cells(values)
    assert "< 5" in values  # the mark, as text
    legend = book.worksheets[-1]
    assert legend.title == "Légende"
    assert [c.value for c in legend[2]] == ["< 5", "moins de 5"]
    # a partner: 4 persons in the year, so the whole level is withheld, "[c]" with its legend, no range
    table = disclosure.compute(ex, "2024", indicators=["persons_received"], by=["site"], audience="partner")
    values, book = _xlsx_cells(outputs.to_xlsx(table.frame, tmp_path / "partner.xlsx", "fr", 5))
    assert "[c]" in values and "< 5" not in values
    assert [c.value for c in book.worksheets[-1][2]] == ["[c]", "masqué (secret statistique, valeur quelconque)"]


def test_dashboard_downloads_are_inert(make_extract):
    import base64

    from workbench import disclosure
    from workbench.dashboards import views, widgets
    from workbench.periods import parse_period

    ex = extract.load(_dangerous_extract(make_extract))
    view = views.View(period=parse_period("2024"), indicator="persons_received", breakdown="site")
    table = disclosure.compute(ex, "2024", indicators=["persons_received"], by=["site"]).frame
    d = widgets.Downloads()
    d.show(table, view, None)
    csv_b64, xlsx_b64 = re.findall(r"base64,([A-Za-z0-9+/=]+)", d.value)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(csv_b64).decode())))
    _check_cells([r["site"] for r in rows if r["site"]])
    values, _ = _xlsx_cells(base64.b64decode(xlsx_b64))
    _check_cells(values)


def test_quarantine_csv_is_inert(make_extract, tmp_path):
    persons = valid_rows("persons")
    persons[0]["sex"] = "=1+1"
    persons[1]["sex"] = "@SUM(A1)"
    ex = extract.load(make_extract({"persons": persons}))
    path = ex.write_quarantine(tmp_path / "q.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    values = {r["value"] for r in rows}
    assert {"'=#+#", "'@AAA(A#)"} <= values
    assert all(r["row"].isdigit() for r in rows)  # numbers unchanged


@pytest.mark.parametrize("value, safe", [("=1", "'=1"), ("+1+1", "'+1+1"), ("-3", "-3"), ("-1.5", "-1.5"),
                                         ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b")])
def test_safe_text(value, safe):
    assert safe_text(value) == safe


def test_diff_shows_marks():
    from workbench.reports.diff import diff_rows

    a = pl.DataFrame({"indicator": ["persons_received"] * 3, "period": ["2024"] * 3, "site": ["a", "b", "c"],
                      "value": [7.0, None, None], "numerator": [None] * 3, "denominator": [None] * 3,
                      "flag": [None, "suppressed", "withheld"]})
    b = a.with_columns(pl.Series("flag", [None, "withheld", "withheld"]))
    d = diff_rows(a, b, 5, 5)
    assert [(c.old, c.new) for c in d.changed] == [("< 5", "[c]")]


def test_html_table_marks_and_notes():
    from workbench.present import tables

    t = pl.DataFrame({"indicator": ["persons_received"] * 3, "period": ["2024"] * 3, "site": [None, "a", "b"],
                      "value": [20.0, None, None], "numerator": [None] * 3, "denominator": [None] * 3,
                      "flag": [None, "suppressed", "withheld"]})
    html = tables.to_html(tables.breakdown_table(t, "persons_received", "site", "en", k=5))
    assert "&lt; 5" in html and "[c]" in html
    assert "fewer than 5" in html and "withheld for confidentiality (any value)" in html


def test_a_category_grouped_for_one_indicator_reads_c_never_0():
    """Side by side, a category shown for contacts but grouped into "Other" for persons is not a zero."""
    from workbench.present import tables

    t = pl.DataFrame({"indicator": ["persons_received"] * 2 + ["contacts"] * 3, "period": ["2024"] * 5,
                      "sex": [None, "other", None, "male", "other"], "value": [20.0, 20.0, 40.0, 30.0, 10.0],
                      "numerator": [20, 20, 40, 30, 10], "denominator": [None] * 5, "flag": [None] * 5})
    ids = ["persons_received", "contacts"]
    grouped = tables.to_html(tables.matrix_table(t, ids, "sex", "en", k=5, grouped=True))
    assert re.search(r">Male</td>\s*<td[^>]*>\[c\]</td>\s*<td[^>]*>30</td>", grouped)
    assert ">Other</td>" in grouped  # the grouped row (codes.common.other)
    plain = tables.to_html(tables.matrix_table(t, ids, "sex", "en", k=5))
    assert re.search(r">Male</td>\s*<td[^>]*>0</td>", plain)  # internal: absent is zero
