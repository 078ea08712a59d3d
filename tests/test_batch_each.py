"""One report per centre through `workbench batch` (`each: centre`), its figures read back from the filled
returns and compared with `workbench indicators --centre`; refusals in one line; quiet kernels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from workbench.cli.main import main
from workbench.reports import return_demo, templates

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
CENTRES = ("cra_guadeloupe", "cra_guyane", "cra_reunion")  # as the demo's extract.yaml declares them


def _returns(folder: Path) -> Path:
    """The demo return and its map, without the map's own audience (the report's, internal, applies)."""
    return_demo.write(folder)
    path = folder / "detention_return.yaml"
    path.write_text(path.read_text().replace("audience: public\n", ""))
    return path


def _indicators(extract: Path, period: str, centre: str, ids: list[str], by: list[str]) -> list[dict]:
    args = ["indicators", str(extract), "-p", period, "--centre", centre, "-f", "json", "-a", "internal"]
    for i in ids:
        args += ["-i", i]
    for b in by:
        args += ["-b", b]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["rows"]


def _expected(rows: list[dict], entry: templates.Entry, dims: list[str]) -> dict | None:
    for row in rows:
        if row["indicator"] != entry.indicator:
            continue
        if all(row.get(d) == (entry.category if d == entry.by else None) for d in dims):
            return row
    return None


def test_batch_fills_the_detention_return_once_per_centre(report_extract, tmp_path):
    tmap = templates.load_map(_returns(tmp_path / "returns"))
    params = tmp_path / "detention.yaml"
    params.write_text(f"report: detention_report\nextract: {report_extract}\nperiod: 2025-Q4\naudience: internal\n"
                      "formats: [xlsx]\ntemplate: returns/detention_return.yaml\neach: centre\n")
    result = CliRunner().invoke(main, ["batch", str(params), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for centre in CENTRES:
        assert f"detention.yaml [{centre}] → " in result.stdout
    folders = sorted(p.name for p in (tmp_path / "out" / "detention_report" / "2025-Q4").iterdir())
    assert folders == [f"detention_{c}" for c in CENTRES]  # codes, never labels

    ids = sorted({e.indicator for e in tmap.entries if e.indicator})
    by = sorted({e.by for e in tmap.entries if e.by})
    placements, shown = 0, 0
    for centre in CENTRES:
        run = tmp_path / "out" / "detention_report" / "2025-Q4" / f"detention_{centre}"
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["parameters"]["centres"] == [centre] and manifest["parameters"]["audience"] == "internal"
        ws = openpyxl.load_workbook(run / f"detention_{centre}_2025-Q4_detention_return.xlsx")[return_demo.SHEET]
        assert ws["C3"].value == {"cra_guadeloupe": "CRA de Guadeloupe", "cra_guyane": "CRA de Guyane",
                                  "cra_reunion": "CRA de La Réunion"}[centre]
        rows = {0: _indicators(report_extract, "2025-Q4", centre, ids, by),
                -1: _indicators(report_extract, "2025-Q3", centre, ids, by)}
        for entry in tmap.entries:
            if entry.text:
                continue
            row = _expected(rows[entry.offset], entry, by)
            value = ws[entry.cell].value
            if row is None:  # nothing of this category this quarter: a count reads 0
                assert value == 0, entry
            elif entry.indicator.endswith("_rate"):
                assert value == pytest.approx(row["value"] / 100), entry  # a percent cell holds a fraction
            else:
                assert value == pytest.approx(row["value"]), entry
            shown += isinstance(value, (int, float)) and value > 0
        placements += ws["C8"].value
        # the template's formulas and protection are kept in every copy
        assert ws["C17"].value == "=SUM(C14:C16)" and ws.protection.sheet
    assert shown > 10  # real figures, not a template of zeros
    everywhere = CliRunner().invoke(main, ["indicators", str(report_extract), "-p", "2025-Q4", "-i",
                                           "detention_placements", "-f", "json"])
    assert placements == json.loads(everywhere.stdout)["rows"][0]["value"]  # the centres add up


def test_each_on_the_command_line_takes_the_files_own_centres(report_extract, tmp_path):
    _returns(tmp_path / "returns")
    params = tmp_path / "two.yaml"
    params.write_text(f"report: detention_report\nextract: {report_extract}\nperiod: 2025-Q4\n"
                      "formats: [xlsx]\ncentres: [cra_reunion, cra_guyane]\n")
    result = CliRunner().invoke(main, ["render", str(params), "--each", "centre", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    runs = tmp_path / "out" / "detention_report" / "2025-Q4"
    assert sorted(p.name for p in runs.iterdir()) == ["two_cra_guyane", "two_cra_reunion"]
    assert json.loads((runs / "two_cra_reunion" / "manifest.json").read_text())["parameters"]["centres"] == [
        "cra_reunion"]


@pytest.mark.parametrize("text, says", [
    ("report: activity_report\neach: centre\n", "activity_report takes no 'centres' parameter"),
    ("report: detention_report\neach: region\n", "'each' must be centre or site"),
    ("report: detention_report\neach: centre\ncentres: [cra_guyane, cra_mayotte]\n",
     "cra_mayotte not among the centres of the extract"),
])
def test_a_wrong_each_is_refused_in_one_line_with_exit_2(report_extract, tmp_path, text, says):
    params = tmp_path / "bad.yaml"
    params.write_text(f"extract: {report_extract}\nperiod: 2025-Q4\nformats: [xlsx]\n{text}")
    result = CliRunner().invoke(main, ["render", str(params), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and says in result.output, result.output
    problems = [line for line in result.output.splitlines() if says in line]
    assert len(problems) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    batch = CliRunner().invoke(main, ["batch", str(params), "-o", str(tmp_path / "out")])
    assert batch.exit_code == 1 and says in batch.output and not (tmp_path / "out").exists()


def test_a_batch_of_reports_prints_no_kernel_line(report_extract, tmp_path):
    """The kernels keep their default log level: no interrupt at shutdown, no TCP warning, nothing printed."""
    from workbench.reports.kernel import ensure_kernel

    spec = json.loads((Path(sys.prefix) / "share/jupyter/kernels" / ensure_kernel() / "kernel.json").read_text())
    assert not any("log_level" in a for a in spec["argv"])
    files = []
    for report in ("activity_report", "detention_report", "case_management_report"):
        path = tmp_path / f"{report}.yaml"
        path.write_text(f"report: {report}\nextract: {report_extract}\nperiod: 2025-Q4\nformats: [xlsx]\n")
        files.append(str(path))
    done = subprocess.run([WORKBENCH, "batch", *files, "--jobs", "2", "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok      ") == 3
    assert "IPKernelApp" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr


def test_the_report_kernel_gets_no_interrupt_at_shutdown(tmp_path):
    """The cause of "KeyboardInterrupt caught in kernel": jupyter_client sends SIGINT before every shutdown.
    A kernel that records any SIGINT it receives sees one from the stock manager, none from ours."""
    import nbformat
    import papermill
    from jupyter_client.manager import AsyncKernelManager

    from workbench.reports.kernel import ensure_kernel, manager_class

    def run(manager, mark: Path) -> None:
        code = ("import signal\n"
                f"def _seen(*_):\n    open({str(mark)!r}, 'a').write('SIGINT')\n"
                "get_ipython().kernel.saved_sigint_handler = _seen  # what the kernel restores after each message")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": ensure_kernel(), "language": "python", "display_name": "workbench"}
        nbformat.write(nb, tmp_path / "probe.ipynb")
        papermill.execute_notebook(str(tmp_path / "probe.ipynb"), str(tmp_path / "out.ipynb"), progress_bar=False,
                                   kernel_name=ensure_kernel(), kernel_manager_class=manager)

    run(AsyncKernelManager, tmp_path / "stock")
    assert (tmp_path / "stock").read_text() == "SIGINT"  # the probe works: the stock manager interrupts
    run(manager_class(), tmp_path / "ours")
    assert not (tmp_path / "ours").exists()


def test_due_lists_a_scheduled_each_file_per_centre(report_extract, tmp_path):
    import datetime as dt

    from workbench.reports import schedule

    params = tmp_path / "quarterly.yaml"
    params.write_text(f"report: detention_report\nextract: {report_extract}\nperiod: 2025-Q4\ncadence: quarterly\n"
                      "each: centre\n")
    entries = schedule.due([params], dt.date(2026, 1, 10), tmp_path / "out")
    assert [(e.period, e.folder.name, e.done) for e in entries] == [
        ("2025-Q4", f"quarterly_{c}", False) for c in CENTRES]
    assert all(e.params.values["centres"] == [c] for e, c in zip(entries, CENTRES))
