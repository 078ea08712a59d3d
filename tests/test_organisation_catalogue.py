"""An organisation's own catalogue: declared in YAML or in a workbook, checked, and computed.

The test catalogue (tests/catalogues/org.yaml) declares four indicators and three dimensions of
its own on an extra column of the cases (``concern_type``), written into a demo extract here.
Its figures are checked against the independent DuckDB SQL of ``reference_sql.ORG_REFERENCE``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

import reference_sql as ref
from test_reference import differences
from workbench import disclosure, extract
from workbench.cli.main import main
from workbench.exceptions import CatalogueError, UnpublishedPeriodError
from workbench.extract import demo
from workbench.indicators.declarations import DIMENSION_COLUMNS, INDICATOR_COLUMNS
from workbench.indicators.organisation import catalogue_with
from workbench.periods import parse_period

HERE = Path(__file__).parent / "catalogues"
ORG_YAML = HERE / "org.yaml"
CONCERNS = ("violence", "neglect", "exploitation", "child_labour", "street_situation")
PERIODS = ["2025-Q2", "2024", "2025-W44"]


def concern_of(case_id: str) -> str | None:
    """A deterministic concern type for a case (about one case in seven has none)."""
    n = sum(map(ord, case_id))
    return None if n % 7 == 0 else CONCERNS[n % 5]


@pytest.fixture(scope="module")
def org_extract(tmp_path_factory):
    folder = tmp_path_factory.mktemp("org") / "demo"
    demo.write(folder, persons=2500)
    cases = pl.read_parquet(folder / "cases.parquet")
    cases.with_columns(pl.Series("concern_type", [concern_of(c) for c in cases["case_id"]], dtype=pl.String)
                       ).write_parquet(folder / "cases.parquet")
    shutil.copy(ORG_YAML, folder / "my-indicators.yaml")
    meta = yaml.safe_load((folder / "extract.yaml").read_text(encoding="utf-8"))
    meta["catalogue"] = "my-indicators.yaml"
    (folder / "extract.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    ex = extract.load(folder)
    assert ex.quarantined == 0
    return ex


def write_workbook(data: dict, path: Path) -> Path:
    """The YAML declarations as the workbook a coordinator fills in (sheets catalogue, families,
    dimensions, codes, indicators)."""
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.title = "catalogue"
    sheet.append(["key", "value"])
    sheet.append(["namespace", data["namespace"]])
    sheet.append(["catalogue_version", data["catalogue_version"]])
    families = wb.create_sheet("families")
    families.append(["id", "fr", "en"])
    for fid, labels in data.get("families", {}).items():
        families.append([fid, labels["fr"], labels["en"]])
    dims, codes = wb.create_sheet("dimensions"), wb.create_sheet("codes")
    dims.append(list(DIMENSION_COLUMNS))
    codes.append(["dimension", "code", "fr", "en"])
    for did, spec in data["dimensions"].items():
        bands = spec.get("bands") or {}
        dims.append([did, spec["fr"], spec["en"], spec.get("table"), spec.get("column"), bands.get("of"),
                     ", ".join(map(str, bands.get("edges", []))) or None, ", ".join(bands.get("between", [])) or None])
        for c in spec.get("codes", []):
            codes.append([did, c["code"], c["fr"], c["en"]])
    inds = wb.create_sheet("indicators")
    inds.append(list(INDICATOR_COLUMNS))
    for e in data["indicators"]:
        row = []
        for col in INDICATOR_COLUMNS:
            if col.startswith(("label_", "definition_")):
                key, lang = col.rsplit("_", 1)
                row.append(e[key][lang])
            elif col in ("population", "numerator", "params"):
                row.append(yaml.safe_dump(e[col], default_flow_style=True).strip() if col in e else None)
            elif isinstance(e.get(col), list):
                row.append(", ".join(e[col]))
            else:
                row.append(e.get(col))
        inds.append(row)
    wb.save(path)
    return path


def org_ids() -> list[str]:
    return list(ref.ORG_REFERENCE)


# --------------------------------------------------------------------------- the figures

def test_the_catalogue_declares_three_indicators_and_two_dimensions_of_its_own():
    cat = catalogue_with(ORG_YAML)
    own = [i for i in cat if i.id.startswith("org.")]
    assert len(own) >= 3 and len([d for d in cat.dimensions if d.startswith("org.")]) >= 2
    assert [i.id for i in own] == org_ids()
    for ind in own:
        r = ref.ORG_REFERENCE[ind.id]
        assert (r.unit, r.dims) == (ind.unit, ind.breakdowns)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("id", org_ids())
def test_org_indicators_match_the_sql_reference(org_extract, id, period):
    """Total and every single breakdown, digit for digit (the catalogue found through extract.yaml)."""
    con = ref.connect(org_extract.tables)
    w = ref.window(period) if "W" not in period else ref.Window(period, parse_period(period).start,
                                                                 parse_period(period).end)
    theirs = pl.DataFrame(con.execute(ref.indicator_sql(ref.ORG_REFERENCE[id], w)).fetchall(),
                          schema=ref.SCHEMA, orient="row")
    table = disclosure.compute(org_extract, period, [id], by=list(ref.ORG_REFERENCE[id].dims))
    problems = differences(ref.tidy(table.frame), theirs)
    assert not problems, "\n".join(problems[:40])
    assert theirs.height > (0 if period == "2025-W44" else 1)  # a week may have no such child


def test_yaml_and_workbook_give_identical_results(org_extract, tmp_path):
    data = yaml.safe_load(ORG_YAML.read_text(encoding="utf-8"))
    book = write_workbook(data, tmp_path / "org.xlsx")
    by = ["org.concern_type", "org.age_band", "org.case_length", "site", "org.concern_type,sex"]
    a = disclosure.compute(org_extract, "2025", org_ids(), by=by, audience="partner", catalogue=str(ORG_YAML))
    b = disclosure.compute(org_extract, "2025", org_ids(), by=by, audience="partner", catalogue=str(book))
    assert a.frame.equals(b.frame) and a.frame.height > 20
    assert catalogue_with(ORG_YAML).indicators == catalogue_with(book).indicators
    assert catalogue_with(ORG_YAML).dimensions == catalogue_with(book).dimensions


def test_parameters_and_suppression_use_the_declaration(org_extract):
    strict = disclosure.compute(org_extract, "2025", ["org.concern_assessed_rate"], params={"org.assessment_days": 0})
    loose = disclosure.compute(org_extract, "2025", ["org.concern_assessed_rate"])
    assert strict.frame["numerator"][0] < loose.frame["numerator"][0]
    assert strict.frame["denominator"][0] == loose.frame["denominator"][0]
    # a rate is suppressed on its denominator (its declared unit), not on its numerator: "[p]" with a threshold
    part = disclosure.compute(org_extract, "2025-W44", ["org.concern_assessed_rate"], by=["site"], threshold=10)
    small = part.frame.filter(pl.col("flag") == "small_population")
    assert small.height > 0 and small["value"].is_null().all()
    # the public gets calendar periods only, and a rate over a small population is withheld without a range
    with pytest.raises(UnpublishedPeriodError):
        disclosure.compute(org_extract, "2025-W44", ["org.concern_assessed_rate"], audience="public")
    public = disclosure.compute(org_extract, "2025-Q4", ["org.concern_assessed_rate"], by=["site"], audience="public")
    assert set(public.frame["flag"].drop_nulls()) <= {"withheld"}


def test_command_line_with_catalogue_and_weekly_period(org_extract, tmp_path):
    result = CliRunner().invoke(main, ["indicators", str(org_extract.source), "-p", "2025-W44", "--catalogue",
                                       str(ORG_YAML), "-i", "org.concern_cases", "-b", "org.concern_type",
                                       "--param", "org.assessment_days=3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "indicator,period,org.concern_type,value,numerator,denominator,flag"
    assert lines[1].startswith("org.concern_cases,2025-W44,,")
    shown = CliRunner().invoke(main, ["catalogue", "--catalogue", str(ORG_YAML), "--markdown"])
    assert shown.exit_code == 0 and "### `org.concern_cases` — Cases with a concern" in shown.stdout
    assert "`org.concern_type`" in shown.stdout and "street_situation" in shown.stdout


def test_internal_only_indicator_is_withheld_from_partners(org_extract):
    inside = disclosure.compute(org_extract, "2025", ["caseload_per_caseworker"])
    outside = disclosure.compute(org_extract, "2025", ["caseload_per_caseworker"], audience="partner")
    assert inside.frame.height > 0 and outside.frame.height == 0
    assert "internal" in outside.unavailable["caseload_per_caseworker"]


def test_a_missing_extra_column_makes_the_indicator_unavailable(tmp_path):
    folder = tmp_path / "plain"
    demo.write(folder, persons=300)
    cases = pl.read_parquet(folder / "cases.parquet")
    cases.drop("concern_type").write_parquet(folder / "cases.parquet")  # the demo's own extra column, taken out
    table = disclosure.compute(extract.load(folder), "2025", org_ids(), catalogue=str(ORG_YAML))
    assert table.frame.height == 0
    assert set(table.unavailable) == set(org_ids())
    assert "concern_type" in table.unavailable["org.concern_cases"]


# --------------------------------------------------------------------------- broken catalogues



def broken_yaml() -> str:
    text = ORG_YAML.read_text(encoding="utf-8")
    swaps = [
        ("    en: Case length\n    table: cases", "    en: Case length\n    table: casess"),
        ("bands: {of: age, edges: [0, 6, 12, 15, 18]}", "bands: {of: age, edges: [0, 12, 6]}"),
        ("population: [{in_period: opened_on}, {set: concern_type}]\n    age_at",
         "population: [{in_period: opened_on}, {sett: concern_type}]\n    age_at"),
        ("{in: {concern_type: [violence, exploitation]}}", "{in: {concern_typ: [violence, exploitation]}}"),
        ("limit: org.assessment_days}", "limit: org.assessment_day}"),
        ("breakdowns: [org.concern_type, sex]", "breakdowns: [org.concern_typo, sex]"),
        ("  - id: org.concern_length_median", "  - id: concern_length_median"),
        ("    unit: median", "    unit: medain"),
        ("label: {fr: Préoccupations évaluées à temps, en: Concerns assessed on time}",
         "label: {fr: Préoccupations évaluées à temps}"),
    ]
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_broken_catalogue_lists_every_problem_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken_yaml(), encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        catalogue_with(bad)
    message = str(caught.value)
    lines = bad.read_text(encoding="utf-8").splitlines()

    def line_of(fragment: str) -> int:
        return next(i + 1 for i, line in enumerate(lines) if fragment in line)

    expected = [
        (line_of("table: casess"), "unknown table 'casess'. Did you mean 'cases'?"),
        (line_of("edges: [0, 12, 6]"), "edges must be increasing"),
        (line_of("{sett: concern_type}"), "unknown condition 'sett'. Did you mean 'set'?"),
        (line_of("concern_typ:"), "unknown column 'concern_typ' of cases. Did you mean 'concern_type'?"),
        (line_of("org.assessment_day}"), "unknown parameter 'org.assessment_day'. Did you mean 'org.assessment_days'?"),
        (line_of("org.concern_typo"), "unknown breakdown 'org.concern_typo'. Did you mean 'org.concern_type'?"),
        (line_of("org.concern_typo"), "multi dimension 'org.concern_type' is not one of its breakdowns"),
        (line_of("id: concern_length_median"), "starts with 'org.'"),
        (line_of("unit: medain"), "unit 'medain' is not one of"),
        (line_of("Préoccupations évaluées à temps}"), "label has no 'en' text"),
    ]
    for line, words in expected:
        assert f"bad.yaml:{line}: " in message and words in message, (line, words, message)
        assert any(f"bad.yaml:{line}: " in m and words in m for m in message.splitlines()), (line, words)
    assert f"has {len(expected)} problems" in message

    result = CliRunner().invoke(main, ["catalogue", "--catalogue", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "bad.yaml:" in result.output


def test_broken_workbook_names_sheet_and_cell(tmp_path):
    data = yaml.safe_load(ORG_YAML.read_text(encoding="utf-8"))
    data["indicators"][1]["breakdowns"] = ["org.concern_typo", "sex"]
    data["dimensions"]["org.case_length"]["table"] = "casess"
    book = write_workbook(data, tmp_path / "bad.xlsx")
    with pytest.raises(CatalogueError) as caught:
        catalogue_with(book)
    message = str(caught.value)
    assert "bad.xlsx indicators!O3: org.children_with_serious_concern: unknown breakdown 'org.concern_typo'" in message
    assert "bad.xlsx dimensions!D4: dimension 'org.case_length': unknown table 'casess'" in message
