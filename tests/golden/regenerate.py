"""Regenerate the golden notebooks that nbval re-executes (tests/test_golden.py).

    .venv/bin/python tests/golden/regenerate.py

Each report notebook of ``notebooks/`` is run by papermill with the parameters of its
example file in ``parameters/`` (``extract: demo``, audience partner), on the small test
extract (``tests/conftest_reports.py``: 300 persons, three cases out of date order),
normalised like a rendered report, and written here. Commit the result after reading
the diff (``nbdiff`` with the project's ``nbdime_config.json``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(HERE.parent)]

GOLDEN_PERSONS = 300
REPORTS = ("activity_report", "detention_report", "case_management_report", "data_quality_report", "explore",
           "network_report")
OVERRIDES = ["extract=demo", "audience=partner"]


def golden_parameters(report: str, base: Path) -> dict:
    from workbench.reports import params as report_params
    from workbench import reports, resources

    data = report_params.read_file(resources.packaged("parameters") / f"{report}.yaml")
    overrides = [*OVERRIDES, "extract=demo/network"] if report in report_params.NETWORK_REPORTS else OVERRIDES
    data = report_params.apply_overrides(data, list(overrides))
    params = report_params.from_mapping(data, base=base)
    return reports.injected(params)


def main() -> None:
    import papermill

    from conftest_reports import write_report_extract
    from workbench.extract import demo
    from workbench.reports import notebooks as notebook_tools
    from workbench import reports, resources

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_report_extract(work / "demo", persons=GOLDEN_PERSONS)
        demo.network_beside(work / "demo")
        for report in REPORTS:
            out = work / f"{report}.ipynb"
            papermill.execute_notebook(str(resources.packaged("notebooks") / f"{report}.ipynb"), str(out),
                                       parameters=golden_parameters(report, work), cwd=str(work),
                                       kernel_name=reports.ensure_kernel(), progress_bar=False, log_output=False,
                                       record_timing=False)
            nb = notebook_tools.normalise(notebook_tools.read(out), {"report": report, "golden": True})
            notebook_tools.write(nb, HERE / f"{report}.ipynb")
            print(f"written {HERE / f'{report}.ipynb'}")


if __name__ == "__main__":
    main()
