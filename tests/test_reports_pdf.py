"""A real report page (tables, SVG charts, the report's fonts) printed to PDF ten times in a row: the same bytes."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.reports.outputs import find_chromium, print_pdf


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_a_report_page_prints_the_same_pdf_ten_times_in_a_row(report_extract, tmp_path):
    from workbench import reports

    params = tmp_path / "detention.yaml"
    params.write_text(f"report: detention_report\nextract: {report_extract}\nperiod: 2025-Q4\naudience: partner\n"
                      "formats: [html]\n")
    run = reports.render(params, output_dir=tmp_path / "out")
    page = run.html.read_text(encoding="utf-8")
    assert "<svg" in page and "<table" in page  # a page with charts and tables, as a report prints
    first = print_pdf(run.html, tmp_path / "0.pdf", dt.date(2026, 1, 15)).read_bytes()
    assert first.startswith(b"%PDF-") and b"/StructTreeRoot" not in first and b"D:20260115000000" in first
    for i in range(1, 10):
        again = print_pdf(run.html, tmp_path / f"{i}.pdf", dt.date(2026, 1, 15)).read_bytes()
        assert again == first, f"print {i + 1} differs from the first"
