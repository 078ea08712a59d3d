"""An organisation's Excel return filled in: figures read back from the cells, formulas and protection kept."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from workbench import disclosure, extract
from workbench.exceptions import ParameterError
from workbench.reports import return_demo, templates
from workbench.selection import Selection

CENTRES = ("cra_guadeloupe", "cra_guyane", "cra_reunion")


@pytest.fixture(scope="module")
def demo_extract(report_extract):
    return extract.load(report_extract)


def _map(tmp_path: Path, audience: str | None) -> templates.TemplateMap:
    folder = tmp_path / "returns"
    return_demo.write(folder)
    path = folder / "detention_return.yaml"
    text = path.read_text().replace("audience: public\n", f"audience: {audience}\n" if audience else "")
    path.write_text(text)
    return templates.load_map(path)


def _expected(ex, centre: str, entry: templates.Entry, audience: str):
    from workbench.periods import parse_period

    frame = disclosure.compute(ex, parse_period("2025-Q4").shift(entry.offset), indicators=[entry.indicator],
                               by=[entry.by] if entry.by else [], audience=audience,
                               selection=Selection(centres=(centre,))).frame
    dims = [c for c in frame.columns if c not in ("indicator", "period", "value", "numerator", "denominator", "flag")]
    rows = frame.filter(pl.col(entry.by) == entry.category) if entry.by else frame.filter(
        pl.all_horizontal([pl.col(d).is_null() for d in dims] or [pl.lit(True)]))
    return rows.row(0, named=True) if rows.height else None


def test_the_demo_return_is_filled_for_three_centres(demo_extract, tmp_path):
    tmap = _map(tmp_path, None)
    shown = 0
    for centre in CENTRES:
        data = templates.fill(tmap, demo_extract, "2025-Q4", "internal", selection=Selection(centres=(centre,)))
        assert data == templates.fill(tmap, demo_extract, "2025-Q4", "internal",
                                      selection=Selection(centres=(centre,)))  # byte for byte
        ws = openpyxl.load_workbook(io.BytesIO(data))[return_demo.SHEET]
        assert ws["C3"].value == demo_extract.meta.label("centre", centre)
        assert ws["C4"].value == "T4 2025"
        for entry in tmap.entries:
            if entry.text:
                continue
            row = _expected(demo_extract, centre, entry, "internal")
            value = ws[entry.cell].value
            if row is None:
                assert value == 0
            elif entry.indicator.endswith("_rate"):
                assert value == pytest.approx(row["value"] / 100)
            else:
                assert value == pytest.approx(row["value"])
            shown += isinstance(value, (int, float)) and value > 0
        # the template's formulas, formats and protection are kept
        assert ws["C17"].value == "=SUM(C14:C16)" and ws["E8"].value.startswith("=IF(")
        assert ws.protection.sheet and ws["C19"].number_format == "0.0%" and ws["B8"].protection.locked
    assert shown > 10  # real figures, not a template of zeros


def test_withheld_figures_read_the_reports_mark(demo_extract, tmp_path):
    tmap = _map(tmp_path, "public")
    centre = CENTRES[0]
    ws = openpyxl.load_workbook(io.BytesIO(templates.fill(
        tmap, demo_extract, "2025-Q4", "internal", selection=Selection(centres=(centre,)))))[return_demo.SHEET]
    marks = shown = 0
    for entry in tmap.entries:
        if entry.text:
            continue
        row = _expected(demo_extract, centre, entry, "public")
        value = ws[entry.cell].value
        assert value != "< 10"  # the public audience is never told a range
        if row is not None and row["flag"] == "withheld":
            assert value == "[c]"
            marks += 1
        elif row is not None and row["flag"] is None and not entry.indicator.endswith("_rate"):
            assert value == pytest.approx(row["value"])  # rounded to 5 as in the public report
            assert value % 5 == 0 or entry.indicator.endswith("_days")
            shown += 1
    assert marks > 0 and shown > 0


def test_a_bad_map_lists_every_problem(tmp_path):
    return_demo.write(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "template: detention_return.xlsx\ncells:\n"
        "  \"'Retour trimestriel'!C17\": {indicator: detention_exits}\n"
        "  \"Nowhere!A1\": {indicator: detention_placements}\n"
        "  \"'Retour trimestriel'!C8\": {indicator: no_such_indicator}\n"
        "  \"'Retour trimestriel'!C9\": {indicator: detention_placements, by: site, category: x}\n")
    with pytest.raises(ParameterError) as err:
        templates.load_map(tmp_path / "bad.yaml")
    message = str(err.value)
    assert "4 problem(s)" in message and "formula" in message and "no sheet 'Nowhere'" in message
    assert "no_such_indicator" in message and "cannot be broken down by 'site'" in message


def test_render_fills_the_template(report_extract, tmp_path):
    from workbench import reports

    folder = tmp_path / "returns"
    return_demo.write(folder)
    params = tmp_path / "return.yaml"
    params.write_text(f"report: detention_report\nextract: {report_extract}\nperiod: 2025-Q4\naudience: partner\n"
                      f"centres: [cra_guyane]\nformats: [html]\ntemplate: returns/detention_return.yaml\n")
    run = reports.render(params, output_dir=tmp_path / "out")
    filled = run.files["template"]
    assert filled.name == "return_2025-Q4_detention_return.xlsx"
    ws = openpyxl.load_workbook(filled)[return_demo.SHEET]
    assert ws["C3"].value == "CRA de Guyane" and ws["C17"].value == "=SUM(C14:C16)"


@pytest.mark.parametrize("report, mapped, expected", [
    (("internal", None), None, ("internal", None)),
    (("internal", None), "public", ("public", 10)),
    (("public", None), "partner", ("public", 10)),  # a map never loosens its report
    (("partner", None), "partner", ("partner", 5)),
    (("partner", 20), "public", ("public", 20)),  # the larger threshold stays
    (("internal", 3), "partner", ("partner", 5)),
])
def test_the_more_protective_of_the_map_and_the_report_applies(report, mapped, expected):
    from workbench.disclosure.suppression import resolve_audience

    aud = templates.protective(resolve_audience(*report), mapped)
    assert (aud.name, aud.k) == expected
    if aud.name != "internal":  # an outside audience keeps its own method: grouping, never per-table "< k"
        assert aud.method == resolve_audience(aud.name).method


def test_a_partner_map_in_a_public_report_is_filled_for_the_public(demo_extract, tmp_path):
    tmap = _map(tmp_path, "partner")
    centre = CENTRES[1]
    ws = openpyxl.load_workbook(io.BytesIO(templates.fill(
        tmap, demo_extract, "2025-Q4", "public", selection=Selection(centres=(centre,)))))[return_demo.SHEET]
    public, partner_only = 0, 0
    for entry in tmap.entries:
        if entry.text:
            continue
        row = _expected(demo_extract, centre, entry, "public")
        assert ws[entry.cell].value not in ("< 10", "< 5")  # outside audiences are never told a range
        if row is not None and row["flag"] == "withheld":
            assert ws[entry.cell].value == "[c]"
            public += 1
            partner = _expected(demo_extract, centre, entry, "partner")
            partner_only += partner is not None and partner["flag"] is None
        elif row is not None and row["flag"] is None and not entry.indicator.endswith("_rate"):
            assert ws[entry.cell].value == pytest.approx(row["value"])  # the public's rounded figure
    assert public > 0
    # the partner map changes nothing in a public report: the same cells as with a map naming no audience
    plain = openpyxl.load_workbook(io.BytesIO(templates.fill(
        _map(tmp_path / "plain", None), demo_extract, "2025-Q4", "public",
        selection=Selection(centres=(centre,)))))[return_demo.SHEET]
    assert [ws[e.cell].value for e in tmap.entries] == [plain[e.cell].value for e in tmap.entries]
