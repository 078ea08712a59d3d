"""Periods the extract covers, stale extracts in `due`, trends from the first data, collation, identical PDFs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from workbench.cli.main import main
from workbench.periods import parse_period
from workbench.reports import coverage, schedule
from workbench.reports.sections import from_first_data, open_report

EXTRACTED_ON = dt.date(2026, 1, 15)  # the demo extract's extracted_on


def _params(folder: Path, extract: Path, **keys) -> Path:
    data = {"report": "data_quality_report", "extract": str(extract), "period": "2025-Q4", "formats": ["xlsx"],
            **keys}
    path = folder / "p.yaml"
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in data.items()) + "\n")
    return path


def test_coverage_of_a_period():
    assert [coverage.coverage(parse_period(p), EXTRACTED_ON) for p in ("2025-Q4", "2026-01", "2026-Q1", "2026-Q3")] \
        == ["full", "partial", "partial", "after"]
    assert coverage.coverage(parse_period("2030"), None) == "full"


def test_a_period_after_the_extract_is_refused_with_exit_2(report_extract, tmp_path):
    path = _params(tmp_path, report_extract, period="2026-Q3")
    result = CliRunner().invoke(main, ["render", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "2026-Q3 starts on 2026-07-01, after the extract was taken (extracted_on 2026-01-15" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_partly_covered_period_is_flagged_in_the_title_block(report_extract):
    report = open_report("activity_report", {"extract": str(report_extract), "period": "2026-Q1"})
    html = report.title_block().html
    assert "wb-partial" in html and "15 janvier 2026" in html
    full = open_report("activity_report", {"extract": str(report_extract), "period": "2025-Q4"})
    assert "wb-partial" not in full.title_block().html


def test_due_skips_periods_a_stale_extract_does_not_cover(report_extract, tmp_path):
    path = _params(tmp_path, report_extract, cadence="quarterly", lag_days=10, since="2025-Q3")
    entries = schedule.due([path], dt.date(2026, 10, 20), tmp_path / "out")
    assert [(e.period, e.skipped is None) for e in entries] == [
        ("2025-Q3", True), ("2025-Q4", True), ("2026-Q1", False), ("2026-Q2", False), ("2026-Q3", False)]
    assert "extract was taken on 2026-01-15" in entries[-1].skipped and "refresh the extract" in entries[-1].skipped
    result = CliRunner().invoke(main, ["due", str(path), "--as-of", "2026-10-20", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "2 report(s) due, 0 already rendered, 3 skipped." in result.stdout
    assert "skip" in result.stdout and "2026-Q3: the extract was taken on 2026-01-15" in result.stdout


def test_trends_start_at_the_first_period_with_data(report_extract):
    report = open_report("activity_report", {"extract": str(report_extract), "period": "2025", "trend_periods": 6})
    series = report.series(["persons_received"])
    periods = series["period"].unique(maintain_order=True).to_list()
    assert periods[-1] == "2025" and "2020" not in periods and len(periods) < 6
    first = series.filter(pl.col("period") == periods[0])
    assert (first["value"].fill_null(0) > 0).any()
    frame = pl.DataFrame({"indicator": ["a"] * 3, "period": ["2023", "2024", "2025"], "value": [0.0, None, 3.0],
                          "flag": [None, "no_data", None]})
    assert from_first_data(frame)["period"].to_list() == ["2025"]
    hidden = frame.with_columns(pl.Series("flag", [None, "suppressed", None]))
    assert from_first_data(hidden)["period"].to_list() == ["2024", "2025"]


def test_categories_sort_by_their_label_in_the_language():
    from workbench.present.labels import country_name, sort_codes

    codes = ["BEN", "BFA", "CIV", "CMR", "XXA", "TGO", "SYR", "PSE", "unknown"]
    fr = [country_name(c, "fr") for c in sort_codes("nationality", codes, "fr")]
    assert fr == ["Apatride", "Bénin", "Burkina Faso", "Cameroun", "Côte d'Ivoire", "Palestine", "Syrie", "Togo",
                  country_name("unknown", "fr")]
    en = [country_name(c, "en") for c in sort_codes("nationality", codes, "en")]
    assert en[:3] == ["Benin", "Burkina Faso", "Cameroon"] and "Stateless" in en and "Syria" in en
    from workbench.present.labels import format_date

    assert format_date(dt.date(2025, 10, 1), "fr") == "1er octobre 2025"
    assert format_date(dt.date(2025, 10, 2), "fr") == "2 octobre 2025"


def test_the_same_page_prints_the_same_pdf_ten_times(tmp_path):
    from workbench.reports.outputs import find_chromium, print_pdf

    if find_chromium() is None:
        pytest.skip("no Chromium on this machine")
    page = tmp_path / "page.html"
    page.write_text("<html><head><style>@page{size:A4}</style></head><body><h1>Rapport d'activité</h1>"
                    "<table><tr><th>Personnes reçues</th><td>85</td></tr><tr><th>Mineurs</th><td>&lt; 5</td></tr>"
                    "</table><svg width='200' height='50'><rect width='120' height='20' fill='#2b6cb0'/></svg>"
                    "</body></html>")
    digests = {hashlib.sha256(print_pdf(page, tmp_path / f"{i}.pdf", EXTRACTED_ON).read_bytes()).hexdigest()
               for i in range(10)}
    assert len(digests) == 1
    assert b"/StructTreeRoot" not in (tmp_path / "0.pdf").read_bytes()  # untagged: no structure ids
    assert b"D:20260115000000" in (tmp_path / "0.pdf").read_bytes()


def test_a_full_report_renders_the_same_pdf_and_annex_twice(report_extract, tmp_path):
    from workbench import reports

    path = tmp_path / "activity.yaml"
    path.write_text(f"report: activity_report\nextract: {report_extract}\nperiod: 2025-Q4\naudience: partner\n"
                    "sites: [tunis_centre, la_marsa, ariana, sfax]\nformats: [pdf, xlsx]\n")
    digests = []
    for out in ("a", "b"):
        run = reports.render(path, output_dir=tmp_path / out)
        digests.append({p.suffix: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.files.values()})
    assert digests[0] == digests[1] and {".pdf", ".xlsx"} <= set(digests[0])
