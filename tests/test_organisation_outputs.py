"""An organisation's catalogue flows into every output: a report rendered with papermill (its
indicators, labels, definitions and a cross-table), the dashboard (pickers, cross picker, table)
and the Excel annex; the YAML file and its workbook give the same report figures.

The extract and the catalogue are those of tests/test_organisation_catalogue.py (whose figures are
checked there against the independent DuckDB SQL).
"""

from __future__ import annotations

import io

import polars as pl
import pytest
import yaml
from openpyxl import load_workbook

from test_organisation_catalogue import ORG_YAML, org_extract, write_workbook  # noqa: F401  (fixture)
from workbench import disclosure
from workbench.dashboards import views, widgets
from workbench.present.annex import annex_xlsx
from workbench.present.crosses import cross_table
from workbench.present.tables import to_html
from workbench.reports import notebooks as nbt
from workbench.reports.runs import render

OWN = ["org.concern_cases", "org.children_with_serious_concern", "org.concern_assessed_rate"]
BY = ["org.concern_type", "org.concern_type,sex"]


def _cross(ex, audience="partner", catalogue=None):
    return disclosure.compute(ex, "2025", ["org.concern_cases"], by=["org.concern_type,sex", "org.concern_type", "sex"],
                              audience=audience, catalogue=catalogue)


def test_cross_table_has_both_margins_and_the_codes_labels(org_extract):
    table = _cross(org_extract, "internal")
    html = to_html(cross_table(table, "org.concern_cases", "org.concern_type", "sex", "fr", org_extract.meta))
    assert "Type de préoccupation" in html and "Travail des enfants" in html and "Dossiers avec une préoccupation" in html
    frame = table.frame
    total = frame.filter(pl.col("org.concern_type").is_null() & pl.col("sex").is_null())["value"][0]
    cells = frame.filter(pl.col("org.concern_type").is_not_null() & pl.col("sex").is_not_null())
    # internal: nothing withheld, so the cells add up to each margin and to the total
    assert cells["value"].sum() == total
    by_row = cells.group_by("org.concern_type").agg(pl.col("value").sum())
    margin = frame.filter(pl.col("org.concern_type").is_not_null() & pl.col("sex").is_null())
    assert dict(by_row.iter_rows()) == dict(margin.select("org.concern_type", "value").iter_rows())
    assert f">{int(total)}<" in html  # the corner is the total


def test_annex_holds_the_organisations_indicators_and_the_cross(org_extract):
    table = _cross(org_extract)
    book = load_workbook(io.BytesIO(annex_xlsx(table, "fr", period="2025")))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert "Type de préoccupation × Sexe" in cells and "Violence × Femme" in cells
    assert "Dossiers avec une préoccupation" in cells
    definitions = [ws for ws in book.worksheets if ws.title == "Définitions"][0]
    assert any("type de préoccupation est renseigné" in str(c.value) for row in definitions.iter_rows() for c in row)


def test_dashboard_offers_the_organisations_indicators_and_a_cross(org_extract):
    session = views.Session(org_extract, audience="partner")
    page = views.page("explore")
    offered = session.indicator_choices(page)
    assert set(OWN) <= set(offered) and "persons_received" in offered
    assert not set(OWN) & set(session.indicator_choices(views.page("detention")))
    view, notices = views.from_query("indicator=org.concern_cases&by=org.concern_type&cross=sex&period=2025",
                                     page, session)
    assert not notices and view.cross == "sex"
    board = widgets.Dashboard(session, page, view)
    assert "Type de préoccupation" in board.table.value and "Négligence" in board.table.value
    assert "Dossiers avec une préoccupation" in board.picker.dropdown.label
    assert board.cross_picker.value == "sex" and None in [v for _, v in board.cross_picker.options]
    # the cross and both margins were computed for the partner audience
    figures = session.breakdown(view)
    assert figures.k == 5 and {"org.concern_type", "sex"} <= set(figures.columns)
    _, bad = views.from_query("indicator=org.concern_cases&by=sex&cross=sex", page, session)
    assert [n.key for n in bad] == ["cross"]


@pytest.fixture(scope="module")
def rendered(org_extract, tmp_path_factory):
    """The explore report with the organisation's catalogue, once from the YAML file, once from its workbook."""
    out = {}
    folder = tmp_path_factory.mktemp("org-report")
    book = write_workbook(yaml.safe_load(ORG_YAML.read_text(encoding="utf-8")), folder / "org.xlsx")
    for name, catalogue in (("yaml", ORG_YAML), ("xlsx", book)):
        params = folder / f"own_{name}.yaml"
        params.write_text(yaml.safe_dump({
            "report": "explore", "extract": str(org_extract.source), "period": "2025", "audience": "partner",
            "language": "fr", "catalogue": str(catalogue), "indicators": OWN, "by": BY, "trend_periods": 2,
            "rendering": True, "formats": ["html", "xlsx"]}), encoding="utf-8")
        out[name] = render(params, output_dir=folder / name)
    return out


def test_report_shows_the_organisations_indicators_and_cross(rendered):
    run = rendered["yaml"]
    html = run.html.read_text(encoding="utf-8")
    for words in ("Dossiers avec une préoccupation", "Préoccupations évaluées à temps", "Type de préoccupation",
                  "Situation de rue", "Dossiers ouverts dans la période dont le type de préoccupation est renseigné"):
        assert words in html, words
    assert "Type de préoccupation × Sexe" in html
    book = load_workbook(run.files["xlsx"])
    assert any(c.value == "Type de préoccupation × Sexe" for ws in book.worksheets for row in ws.iter_rows()
               for c in row)


def test_report_from_yaml_and_workbook_gives_identical_figures(rendered):
    import nbformat

    rows = {name: nbt.indicator_rows(nbformat.read(run.notebook, as_version=4)) for name, run in rendered.items()}
    assert rows["yaml"].height > 20 and rows["yaml"].equals(rows["xlsx"])
    assert set(rows["yaml"]["indicator"].unique()) >= set(OWN)
