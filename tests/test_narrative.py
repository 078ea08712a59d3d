"""The coordinator's commentary: placeholders filled by the cell presenter, withheld figures never leak."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.exceptions import ParameterError
from workbench.reports import narrative
from workbench.reports.sections import open_report

HIDDEN = "unaccompanied_minors_received"


def _report(report_extract, value, audience="partner"):
    return open_report("activity_report", {"extract": str(report_extract), "period": "2025-Q4",
                                           "audience": audience, "narrative": value})


def test_placeholders_show_the_tables_figures_and_marks(report_extract):
    text = ("Nous avons reçu **{{ persons_received }}** personnes ({{ persons_received.change }} par rapport au "
            "trimestre précédent, {{ persons_received.previous }}). Mineurs : {{ " + HIDDEN + " }}. "
            "<script>alert(1)</script>")
    report = _report(report_extract, {"summary": text, "reception": "Accueil : {{ contacts }} contacts."})
    figures = report.figures(["persons_received", HIDDEN])
    total = figures.filter(pl.col("indicator") == "persons_received").row(0, named=True)
    hidden = figures.filter(pl.col("indicator") == HIDDEN).row(0, named=True)
    assert hidden["flag"] == "withheld" and hidden["value"] is None
    html = report.title_block().html
    assert f"<strong>{int(total['value'])}</strong>" in html
    assert f"{int(total['previous_value'])})" in html
    assert "Mineurs : [c]." in html  # the mark, as in the tables
    assert "&lt; 5" not in html  # a partner is never told a range
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Accueil :" in report.heading("reception").html


def test_the_internal_report_shows_the_figure_the_partner_one_hides(report_extract):
    internal = _report(report_extract, {"summary": "{{ " + HIDDEN + " }}"}, audience="internal")
    value = internal.figures([HIDDEN]).filter(pl.col("indicator") == HIDDEN)["value"][0]
    assert f"<p>{int(value)}</p>" in internal.commentary("summary")
    assert "<p>[c]</p>" in _report(report_extract, {"summary": "{{ " + HIDDEN + " }}"}).commentary("summary")


def test_a_markdown_file_per_language(report_extract, tmp_path):
    (tmp_path / "note.en.md").write_text("## summary\nWe saw {{ contacts }} contacts.\n\n## reception\nBusy.\n")
    assert narrative.sections(str(tmp_path / "note.{lang}.md"), "en") == {
        "summary": "We saw {{ contacts }} contacts.", "reception": "Busy."}
    with pytest.raises(ParameterError, match="cannot be read"):
        narrative.sections(str(tmp_path / "note.{lang}.md"), "fr")


def test_an_unknown_placeholder_stops_the_report(report_extract):
    with pytest.raises(ParameterError, match="no indicator 'contactz'"):
        _report(report_extract, {"summary": "{{ contactz }}"}).title_block()
