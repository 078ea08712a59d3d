"""Reviewer diffs: normalised notebooks, indicator-level diffs, nbdime configuration."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
import sys

import nbformat
import polars as pl
from click.testing import CliRunner

from workbench import resources
from workbench.reports import notebooks as notebook_tools

from workbench import reports
from workbench.cli.main import main
from workbench.reports.diff import diff_rows, format_diff

MIME = notebook_tools.MIME

# nbdime's command, next to the interpreter running the tests (PATH may not hold the venv).
NBDIFF = str(Path(sys.executable).with_name("nbdiff"))


def _papermill_like(value: float, when: str, count: int):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": when, "end_time": when, "duration": 1.5, "environment_variables": {}}
    params = nbformat.v4.new_code_cell('period = "2025-Q4"', metadata={"tags": ["parameters"]})
    shown = nbformat.v4.new_code_cell("report.key_figures(['contacts'])", execution_count=count)
    shown.metadata["papermill"] = {"start_time": when, "duration": 0.1}
    shown.metadata["execution"] = {"iopub.execute_input": when}
    payload = {"block": "key-figures", "threshold": 5, "tables": [{"role": "current", "columns": [
        "indicator", "period", "sex", "value", "numerator", "denominator", "flag"], "rows": [
        ["contacts", "2025-Q4", None, value, int(value), None, None],
        ["contacts", "2025-Q4", "female", None, None, None, "suppressed"]]}]}
    shown.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>x</p>", MIME: payload})]
    nb.cells = [params, shown]
    for cell in nb.cells:
        cell["id"] = when[-6:].replace(":", "") + str(len(cell.source))  # random-looking, run-specific
    return nb


def test_normalise_removes_what_is_not_content():
    a = notebook_tools.normalise(_papermill_like(10, "2026-01-01T10:00:00", 3))
    b = notebook_tools.normalise(_papermill_like(10, "2026-03-05T11:22:33", 3))
    assert nbformat.writes(a) == nbformat.writes(b)
    assert "papermill" not in a.metadata and all("papermill" not in c.metadata for c in a.cells)
    assert [c.id for c in a.cells] == [c.id for c in notebook_tools.normalise(a).cells]
    nbformat.validate(a)


def test_indicator_rows_and_diff():
    a = notebook_tools.indicator_rows(_papermill_like(10, "t1", 3))
    b = notebook_tools.indicator_rows(_papermill_like(12, "t2", 3))
    assert a.columns == ["indicator", "period", "sex", "value", "numerator", "denominator", "flag"]
    extra = pl.DataFrame({"indicator": ["cases_opened"], "period": ["2025-Q4"], "sex": [None], "value": [4.0],
                          "numerator": [4], "denominator": [None], "flag": [None]}, schema=a.schema)
    d = diff_rows(a, pl.concat([b, extra]), 5, 5)
    assert [(c.key, c.old, c.new) for c in d.changed] == [("contacts 2025-Q4", "10", "12")]
    assert [(c.key, c.new) for c in d.added] == [("cases_opened 2025-Q4", "4")]
    assert not d.removed and not d.same
    text = format_diff(d)
    assert "contacts 2025-Q4: 10 → 12" in text
    same = diff_rows(a, a, 5, 5)
    assert same.same and "same figures" in format_diff(same)
    hidden = diff_rows(a, a.with_columns(pl.lit(None, dtype=pl.Float64).alias("value"),
                                         pl.lit("suppressed").alias("flag")), 5, 5)
    assert ("contacts 2025-Q4", "10", "< 5") in [(c.key, c.old, c.new) for c in hidden.changed]


def test_nbdime_config_ignores_run_metadata(tmp_path):
    # Raw (un-normalised) notebooks that differ only by papermill metadata and execution counts.
    a, b = _papermill_like(10, "2026-01-01T10:00:00", 3), _papermill_like(10, "2026-03-05T11:22:33", 7)
    for nb, name in ((a, "a"), (b, "b")):
        for cell in nb.cells:
            cell["id"] = "same-id"
        nb.cells[1]["id"] = "shown"
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    done = subprocess.run([NBDIFF, str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout
    # Without the project's configuration the same notebooks differ.
    bare = subprocess.run([NBDIFF, str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert "papermill" in bare.stdout


def test_workbench_diff_between_runs(demo_runs, report_extract, tmp_path):
    run = demo_runs["data_quality_report"]
    other = reports.render(resources.packaged("parameters") / "data_quality_report.yaml",
                           [f"extract={report_extract}", "audience=internal", "formats=[xlsx]"],
                           output_dir=tmp_path).folder
    result = CliRunner().invoke(main, ["diff", str(run), str(other)])
    assert result.exit_code == 1
    assert 'audience: "partner" → "internal"' in result.stdout
    assert "quality_date_order" in result.stdout and "[c] → 3" in result.stdout
    same = CliRunner().invoke(main, ["diff", str(run), str(run)])
    assert same.exit_code == 0 and "same figures" in same.stdout
    as_json = json.loads(CliRunner().invoke(main, ["diff", str(run), str(other), "--json"]).stdout)
    assert as_json["changed"]
