"""Rendering reports: real papermill, real nbconvert, real Chromium, on a small demo extract.

The demo reports are rendered once per session (``demo_runs`` in conftest_reports.py,
audience partner); the tests read what was written. A few tests render again to check
reproducibility and failures.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench import resources
from workbench import disclosure

from workbench import extract

from workbench import indicators

from workbench.reports import notebooks as notebook_tools

from workbench.reports import outputs as report_outputs

from workbench import reports

from workbench.selection import Selection, restrict
from workbench.exceptions import ParameterError, ReportError
from workbench.reports.params import load, parse_override

REPORTS = ("activity_report", "detention_report", "case_management_report", "data_quality_report", "explore")
ID_COLUMNS = {"persons": ["person_id"], "contacts": ["contact_id"], "cases": ["case_id", "caseworker_id"],
              "referrals": ["referral_id"], "detention_stays": ["stay_id"], "legal_actions": ["action_id"]}

# nbdime's command, next to the interpreter running the tests (PATH may not hold the venv).
NBDIFF = str(Path(sys.executable).with_name("nbdiff"))


def _file(run: Path, suffix: str) -> Path:
    (path,) = run.glob(f"*{suffix}")
    return path


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _ids(extract_dir: Path) -> set[str]:
    ex = extract.load(extract_dir)
    out: set[str] = set()
    for table, cols in ID_COLUMNS.items():
        for col in cols:
            out |= set(ex.table(table)[col].drop_nulls().to_list())
    return out


def _params(name: str, extract_dir: Path, *sets: str):
    return load(resources.packaged("parameters") / f"{name}.yaml", [f"extract={extract_dir}", *sets])


# --------------------------------------------------------------------------- every report

@pytest.mark.parametrize("name", REPORTS)
def test_each_demo_report_is_written(demo_runs, name):
    run = demo_runs[name]
    manifest = json.loads((run / "manifest.json").read_text())
    expected = {".ipynb", ".html", ".xlsx"} | (set() if name == "data_quality_report" else {".pdf"})
    assert {p.suffix for p in run.iterdir()} == expected | {".json"}
    assert set(manifest["outputs"]) == {p.name for p in run.iterdir() if p.name != "manifest.json"}
    for file, digest in manifest["outputs"].items():
        assert hashlib.sha256((run / file).read_bytes()).hexdigest() == digest
    assert manifest["parameters"]["audience"] == "partner"
    assert "persons.parquet" in manifest["extract"]["files"]
    assert manifest["versions"]["catalogue"]
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:", json.dumps(manifest)), "no wall-clock time in the manifest"


@pytest.mark.parametrize("name", REPORTS)
def test_html_has_no_code_and_loads_nothing(demo_runs, name):
    page = _file(demo_runs[name], ".html").read_text()
    report_outputs.check_offline(page)
    assert "<script" not in page.lower()
    assert "open_report" not in page and "report_sections" not in page and "import " not in page
    assert "jp-InputArea" not in page and "highlight" not in page
    assert "<svg" in page or name == "data_quality_report"


@pytest.mark.parametrize("name", REPORTS)
def test_no_pseudonym_or_id_leaves_the_extract(demo_runs, report_extract, name):
    ids = _ids(report_extract)
    run = demo_runs[name]
    texts = [_file(run, ".html").read_text(), _file(run, ".ipynb").read_text()]
    with zipfile.ZipFile(_file(run, ".xlsx")) as book:
        texts += [book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml")]
    tokens = {t for text in texts for t in re.findall(r"\b[A-Z][0-9A-F]{4,8}\b", text)}
    assert not tokens & ids


@pytest.mark.parametrize("name", REPORTS)
def test_withheld_cells_read_c_and_claim_no_range(demo_runs, name):
    run = demo_runs[name]
    page = _file(run, ".html").read_text()
    nb = notebook_tools.read(_file(run, ".ipynb"))
    rows = notebook_tools.indicator_rows(nb)
    hidden = rows.filter(pl.col("flag") == "withheld")
    assert hidden.height > 0
    assert hidden.select(pl.col("value").is_null().all() & pl.col("numerator").is_null().all()
                         & pl.col("denominator").is_null().all()).item()
    # a partner is never told a range: no "< k", no "[p]"; the mark and its legend (workbench.present.cells)
    assert set(rows["flag"].drop_nulls()) <= {"withheld", "no_data"}
    assert "&lt; 5" not in page and "[p]" not in page
    assert "[c]" in page and ("masqué (secret statistique, valeur quelconque)" in page
                              or "withheld for confidentiality (any value)" in page)
    disclosure.check(rows, 5)


def _command_rows(report_extract: Path, params, indicator: str, by: list[str]) -> pl.DataFrame:
    """What ``workbench indicators`` prints for the report's period, audience, sites and centres."""
    from click.testing import CliRunner

    from workbench.cli.main import main

    args = ["indicators", str(report_extract), "-p", params.period, "-i", indicator, "-a", params.values["audience"],
            "-f", "csv"]
    args += [a for b in by for a in ("-b", b)]
    args += [a for s in params.values.get("sites") or () for a in ("--site", s)]
    args += [a for c in params.values.get("centres") or () for a in ("--centre", c)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return pl.read_csv(result.stdout.encode(), infer_schema=False)


@pytest.mark.parametrize("name", ["activity_report", "detention_report", "explore"])
def test_figures_are_those_of_the_indicators_command(demo_runs, report_extract, name):
    run = demo_runs[name]
    params = load(resources.packaged("parameters") / f"{name}.yaml",
                  [f"extract={report_extract}", "audience=partner"])  # as demo_runs renders them
    rows = notebook_tools.indicator_rows(notebook_tools.read(_file(run, ".ipynb")))
    from workbench.indicators.catalogue import load_catalogue

    current = rows.filter((pl.col("period") == params.period) & pl.col("indicator").is_in(load_catalogue().ids))
    for indicator in current["indicator"].unique(maintain_order=True).to_list()[:12]:
        mine = current.filter(pl.col("indicator") == indicator)
        dims = [c for c in mine.columns if c not in ("indicator", "period", *notebook_tools.FIGURE_COLUMNS)
                and mine[c].null_count() < mine.height]
        # The breakdowns shown: each pattern of filled dimensions (a cross-breakdown fills several).
        by = [b for b in dict.fromkeys(",".join(d for d in dims if row[d] is not None)
                                       for row in mine.iter_rows(named=True)) if b]
        command = _command_rows(report_extract, params, indicator, by)
        key = ["indicator", "period", *dims]
        got = indicators.format_values(mine.select(*key, *notebook_tools.FIGURE_COLUMNS))
        got = got.select(pl.all().cast(pl.String)).sort(key, nulls_last=False)
        want = command.select(*key, *notebook_tools.FIGURE_COLUMNS).sort(key, nulls_last=False)
        assert_frame_equal(got, want, check_dtypes=False)


def test_explore_matches_the_indicators_command(demo_runs, report_extract):
    from click.testing import CliRunner

    from workbench.cli.main import main

    result = CliRunner().invoke(main, ["indicators", str(report_extract), "-p", "2025", "-i", "persons_received",
                                       "-i", "contacts", "-b", "sex", "-a", "partner", "-f", "csv"])
    assert result.exit_code == 0, result.output
    csv_rows = pl.read_csv(result.stdout.encode(), schema_overrides={"period": pl.String})
    rows = notebook_tools.indicator_rows(notebook_tools.read(_file(demo_runs["explore"], ".ipynb")))
    mine = rows.filter(pl.col("indicator").is_in(["persons_received", "contacts"]) & (pl.col("period") == "2025")
                       & pl.col("age_group").is_null())
    mine = indicators.format_values(mine.select("indicator", "period", "sex", *notebook_tools.FIGURE_COLUMNS))
    assert sorted(mine.select("indicator", "sex", "value").rows(), key=str) == \
        sorted(csv_rows.select("indicator", "sex", pl.col("value").cast(pl.String)).rows(), key=str)


def test_excel_annex_reads_like_the_report(demo_runs, report_extract, tmp_path):
    import openpyxl

    book = openpyxl.load_workbook(_file(demo_runs["activity_report"], ".xlsx"))
    assert book.sheetnames[:3] == ["Accueil et information", "Gestion de cas", "Orientations"]
    assert book.sheetnames[-3:] == ["Évolution", "Définitions", "Légende"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]][:5] == ["Indicateur", "Ventilation", "Catégorie", "Valeur", "Unité"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert rows[0][:3] == ["Personnes reçues", "Total", "Total"]  # the total before its breakdowns
    sites = [r[2] for r in rows if r[0] == "Personnes reçues" and r[1] == "Site"]
    assert sites == sorted(sites)  # categories by label, as in the report
    values = [c for ws in book.worksheets[:-3] for r in ws.iter_rows(min_row=2) for c in r if c.column == 4]
    assert any(c.value == "[c]" for c in values)  # a withheld cell reads its mark
    assert any(isinstance(c.value, (int, float)) for c in values)
    assert not any(c.value == "< 5" for ws in book.worksheets for r in ws.iter_rows() for c in r)
    rates = [c for ws in book.worksheets for r in ws.iter_rows(min_row=2) for c in r
             if c.column == 4 and isinstance(c.value, float) and c.number_format == "0.0%"]
    assert all(0 <= c.value <= 1 for c in rates)  # a rate is a percentage
    from workbench.reports import outputs
    from workbench import extract

    internal = disclosure.compute(extract.load(report_extract), "2025-Q4", ["legal_action_success_rate", "contacts"])
    annex = openpyxl.load_workbook(outputs.to_xlsx(internal.frame, tmp_path / "internal.xlsx", "fr", None))
    rates = [c for ws in annex.worksheets for r in ws.iter_rows(min_row=2) for c in r
             if c.column == 4 and isinstance(c.value, float) and c.number_format == "0.0%"]
    assert rates and all(0 <= c.value <= 1 for c in rates)
    definitions = book["Définitions"]
    assert definitions["A2"].value == "Personnes reçues" and definitions["D2"].value.startswith("Personnes")


def test_pdf_shows_the_tables(demo_runs, tmp_path):
    run = demo_runs["detention_report"]
    pdf = _file(run, ".pdf")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "Chiffres clés" in text and "Placements en rétention" in text and "[c]" in text and "< 5" not in text
    rows = notebook_tools.indicator_rows(notebook_tools.read(_file(run, ".ipynb")))
    dims = [c for c in ("centre", "sex", "nationality", "age_group", "outcome") if c in rows.columns]
    totals = rows.filter((pl.col("period") == "2025-Q4") & pl.col("flag").is_null() & (pl.col("value") >= 10)
                         & pl.all_horizontal([pl.col(d).is_null() for d in dims]))
    assert totals.height > 0 and all(f"{int(v)}" in text for v in totals["value"] if float(v).is_integer())
    assert b"/CreationDate (D:20260115000000" in pdf.read_bytes()


def test_html_loads_nothing_in_a_browser(demo_runs):
    from playwright.sync_api import sync_playwright

    page_path = _file(demo_runs["activity_report"], ".html")
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri(), wait_until="load")
        assert page.locator("h1").first.inner_text().startswith("Rapport d")
        assert page.locator("svg").count() >= 5
        browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


# --------------------------------------------------------------------------- reproducibility and failures

@pytest.fixture(scope="module")
def explore_again(demo_runs, report_extract, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("again")
    params = _params("explore", report_extract, "audience=partner")
    return reports.render(params, output_dir=out).folder


def test_two_renders_are_identical(demo_runs, explore_again):
    assert _hashes(demo_runs["explore"]) == _hashes(explore_again)


def test_nbdime_with_the_shipped_config_sees_no_difference(demo_runs, explore_again, tmp_path):
    # A raw papermill run differs in metadata; normalised runs do not, and nbdiff agrees.
    a, b = _file(demo_runs["explore"], ".ipynb"), _file(explore_again, ".ipynb")
    done = subprocess.run([NBDIFF, "--ignore-details", str(a), str(b)], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True)
    assert done.returncode == 0 and done.stdout.strip() == ""


def test_a_failing_run_keeps_the_previous_report(report_extract, tmp_path):
    out = tmp_path / "out"
    params = _params("data_quality_report", report_extract, "formats=[xlsx]")
    good = reports.render(params, output_dir=out)
    before = _hashes(good.folder)
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in report_extract.iterdir():
        if f.is_file():  # not the network extract the demo keeps beside it (demo/network/)
            (broken / f.name).write_bytes(f.read_bytes())
    (broken / "contacts.parquet").write_bytes(b"not parquet")
    with pytest.raises(ReportError) as err:
        reports.render(_params("data_quality_report", broken, "formats=[xlsx]", "name=data_quality_report"),
                       output_dir=out)
    message = str(err.value)
    assert "stopped at cell [3]" in message and "UnreadableFileError" in message and "contacts.parquet" in message
    (broken / "contacts.parquet").unlink()
    with pytest.raises(ReportError, match="required table 'contacts' is missing"):
        reports.render(_params("data_quality_report", broken, "formats=[xlsx]"), output_dir=out)
    with pytest.raises(ParameterError, match="did you mean 'period'"):
        reports.render(resources.packaged("parameters") / "data_quality_report.yaml", ["perod=2025-Q3"], output_dir=out)
    assert _hashes(good.folder) == before
    assert sorted(p.name for p in good.folder.parent.iterdir()) == [good.folder.name]  # no temporary left


def test_the_notebook_refuses_a_misspelled_parameter(report_extract, tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(resources.packaged("notebooks") / "data_quality_report.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"extract": str(report_extract), "perod": "2025-Q3"},
                                   kernel_name=reports.ensure_kernel(), progress_bar=False, log_output=False)
    assert err.value.ename == "ParameterError" and "did you mean 'period'" in err.value.evalue


# --------------------------------------------------------------------------- parameters (no kernel)

def test_parameter_files_are_validated_whole(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("report: detention_report\nextract: data\nperiod: 2025-Q5\naudiance: public\n"
                    "language: de\nsites: [a]\ncadence: fortnightly\n")
    with pytest.raises(ParameterError) as err:
        load(path)
    text = str(err.value)
    for expected in ("5 problems", "2025-Q5", "unknown parameter 'audiance' (did you mean 'audience'?)",
                     "'language' must be one of fr, en, ar, nl", "'sites' is a parameter of activity_report",
                     "'cadence' must be one of"):
        assert expected in text, text


def test_paths_are_relative_to_the_parameter_file(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    path = tmp_path / "params" / "q.yaml"
    path.write_text("report: explore\nextract: ../data/extract\nperiod: 2025\n")
    p = load(path)
    assert p.extract_path().resolve() == (tmp_path / "data" / "extract").resolve()
    assert p.run_dir(tmp_path / "out") == tmp_path / "out" / "explore" / "2025" / "q"
    monkeypatch.chdir(tmp_path)
    p = load(path, ["extract=other", "period=2025-q3", "by=[sex, 'sex,age_group']"])
    assert p.extract_path().resolve() == (tmp_path / "other").resolve()
    assert p.values["period"] == "2025-Q3" and p.values["by"] == ["sex", "sex,age_group"]
    assert reports.injected(p) == {"extract": "../other", "period": "2025-Q3", "by": ["sex", "sex,age_group"],
                                   "rendering": True}  # widgets have no live kernel in a rendered report


@pytest.mark.parametrize("item, expected", [
    ("period=2025", ("period", 2025)), ("sites=[a, b]", ("sites", ["a", "b"])), ("threshold=null", ("threshold", None)),
    ("assessment_deadlines.high=2", ("assessment_deadlines.high", 2)), ("title=Rapport: T4", ("title", "Rapport: T4")),
])
def test_overrides_are_read_as_yaml(item, expected):
    assert parse_override(item) == expected


def test_a_report_selection_restricts_the_extract_to_sites_or_centres(report_extract):
    ex = extract.load(report_extract)
    held = restrict(ex, Selection(centres=("cra_guyane",)))
    persons = set(held.table("persons")["person_id"])
    assert set(held.table("detention_stays")["centre"]) == {"cra_guyane"}
    assert set(held.table("detention_stays")["person_id"]) == persons
    assert set(held.table("contacts")["person_id"]) <= persons
    sfax = restrict(ex, Selection(sites=("sfax",)))
    assert set(sfax.table("contacts")["site"]) == {"sfax"} and sfax.quarantined == ex.quarantined
    assert set(sfax.table("persons")["site"]) == {"sfax"}  # new persons of a site: registered there
    assert sfax.attributes.height == ex.table("persons").height  # records keep every person's attributes
    assert restrict(ex, Selection()) is ex
    with pytest.raises(ParameterError, match="did you mean 'cra_guyane'"):
        restrict(ex, Selection(centres=("cra_guyanne",)))


def test_partner_report_against_internal_cell_by_cell(demo_runs, report_extract, tmp_path):
    """The same report for internal and partner, cell by cell: every figure the partner sees is the
    internal one, every "Other" is the internal total minus the categories shown, and no mark claims a
    range (no "< k": a withheld cell says nothing about its value)."""
    from workbench.indicators.catalogue import load_catalogue

    cat = load_catalogue()
    run = reports.render(resources.packaged("parameters") / "activity_report.yaml",
                         [f"extract={report_extract}", "audience=internal", "formats=[html]"], output_dir=tmp_path)
    internal = notebook_tools.indicator_rows(notebook_tools.read(next(run.folder.glob("*.ipynb"))))
    partner = notebook_tools.indicator_rows(notebook_tools.read(_file(demo_runs["activity_report"], ".ipynb")))
    dims = [c for c in partner.columns if c not in ("indicator", "period", "value", "numerator", "denominator",
                                                     "flag")]
    truth = {(r["indicator"], r["period"], *(r[d] for d in dims)): r["value"] for r in internal.iter_rows(named=True)}
    checked = others = 0
    for r in partner.iter_rows(named=True):
        key = (r["indicator"], r["period"], *(r[d] for d in dims))
        assert r["flag"] in (None, "withheld", "no_data"), r  # never "< k" nor "[p]"
        if r["flag"] is not None or r["indicator"] not in cat.ids:
            continue
        if "other" in key[2:]:
            dim = dims[[r[d] for d in dims].index("other")]
            block = partner.filter((pl.col("indicator") == r["indicator"]) & (pl.col("period") == r["period"])
                                   & pl.col(dim).is_not_null() & (pl.col(dim) != "other"))
            total = truth[(r["indicator"], r["period"], *(None for _ in dims))]
            assert r["value"] == total - sum(truth.get((r["indicator"], r["period"], *(b[d] for d in dims)), 0)
                                             for b in block.iter_rows(named=True))
            others += 1
        else:
            assert r["value"] == pytest.approx(truth.get(key, 0.0)), key
            checked += 1
    assert checked > 50 and others > 0
    page = _file(demo_runs["activity_report"], ".html").read_text()
    assert "&lt; 5" not in page
