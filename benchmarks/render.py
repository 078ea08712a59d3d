"""Report rendering benchmark: one render against the floor of a bare kernel, and a batch.

    python benchmarks/render.py [--persons 3000] [--big 1000000] [--repeat 3] [--batch 12 --jobs 2]

Demo extracts are generated once (cached under benchmarks/data/). Each measurement runs in
a fresh process, as a user would (`workbench render ...`), and the median of --repeat runs
is printed:

- floor: papermill runs a one-cell notebook that imports what the reports import (polars,
  altair, great-tables, vl-convert, the workbench modules) in the same `workbench` kernel —
  the fixed cost of starting a kernel with those imports;
- notebook: papermill runs the report notebook alone (no HTML, PDF, Excel);
- render: the whole `workbench render` (notebook, HTML, PDF, Excel annex, manifest), for the
  activity report (the longest) and the detention report;
- big: the activity report on --big persons (notebook and whole render, once);
- batch: `workbench batch` of --batch parameter files (the five demo reports over several
  periods) with --jobs.

Target (issue): at the default size a report adds at most 50% over the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
WORKBENCH = str(Path(PYTHON).with_name("workbench"))

FLOOR_CELL = """import polars, altair, great_tables, vl_convert
from workbench import resources
from workbench import selection
from workbench.reports import sections as report_sections
from workbench import indicators
from workbench.present import charts
from workbench.present import tables
from workbench import extract
from workbench.present import labels"""

NOTEBOOK_ONLY = r"""
import sys, time, papermill
from workbench import reports, resources
from workbench.reports import params as report_params
params = report_params.load(sys.argv[1], ["extract=" + sys.argv[2]])
t0 = time.perf_counter()
papermill.execute_notebook(str(resources.packaged("notebooks") / (params.report + ".ipynb")), sys.argv[3],
                           parameters=reports.injected(params), cwd=str(params.base),
                           kernel_name=reports.ensure_kernel(), progress_bar=False, log_output=False,
                           record_timing=False)
print(time.perf_counter() - t0)
"""

FLOOR = r"""
import sys, time, papermill
from workbench import reports, resources
t0 = time.perf_counter()
papermill.execute_notebook(sys.argv[1], sys.argv[2], kernel_name=reports.ensure_kernel(), progress_bar=False,
                           log_output=False, record_timing=False)
print(time.perf_counter() - t0)
"""


def _extract(persons: int) -> Path:
    folder = HERE / "data" / f"demo-{persons}"
    if not (folder / "persons.parquet").exists():
        from workbench.extract import demo

        print(f"generating the demo extract with {persons:,} persons…", flush=True)
        demo.write(folder, persons=persons)
    return folder


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) of the whole process tree, per measurement


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    before = _cpu()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done, _cpu() - before


def _timed(cmd: list[str], key: str) -> float:
    t0 = time.perf_counter()
    _, cpu = _run(cmd)
    CPU.setdefault(key, []).append(cpu)
    return time.perf_counter() - t0


def _child(key: str, script: str, *args: str) -> float:
    done, cpu = _run([PYTHON, "-c", script, *args])
    CPU.setdefault(key, []).append(cpu)
    return float(done.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    return statistics.median(values)


def floor(tmp: Path, repeat: int) -> tuple[float, float]:
    """(papermill time, whole process time) of the bare kernel with the reports' imports."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(FLOOR_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp / "floor.ipynb"
    nbformat.write(nb, path)
    inner, outer = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        inner.append(_child("floor", FLOOR, str(path), str(tmp / "floor-out.ipynb")))
        outer.append(time.perf_counter() - t0)
    return _median(inner), _median(outer)


def notebook_only(report: str, extract: Path, tmp: Path, repeat: int) -> float:
    params = ROOT / "workbench" / "assets" / "parameters" / f"{report}.yaml"
    key = f"{report} {extract.name}: notebook only"
    times = []
    for _ in range(repeat):
        _forget_answers()
        times.append(_child(key, NOTEBOOK_ONLY, str(params), str(extract), str(tmp / f"{report}-nb.ipynb")))
    return _median(times)


def _forget_answers() -> None:
    """Remove the figures and charts kept beside the validated extracts: each render computes and draws
    them afresh."""
    import shutil

    from workbench.indicators import stored
    from workbench.present.charts import CHARTS_FOLDER

    root = Path(os.environ["WORKBENCH_CACHE"])
    stored.forget(root)
    for kept in root.glob(f"*/{CHARTS_FOLDER}"):
        shutil.rmtree(kept, ignore_errors=True)


def render(report: str, extract: Path, out: Path, repeat: int, *sets: str, again: bool = False) -> float:
    """Median time of ``workbench render``: figures computed afresh, or (``again``) the same render
    repeated, its figures read from the answers kept by the one before."""
    params = ROOT / "workbench" / "assets" / "parameters" / f"{report}.yaml"
    cmd = [WORKBENCH, "render", str(params), "--set", f"extract={extract}", *[a for s in sets for a in ("--set", s)],
           "--output-dir", str(out)]
    key = f"{report} {extract.name}: render {' '.join(sets)}{' again' if again else ''}".strip()
    times = []
    for _ in range(repeat):
        if again:
            _run(cmd)  # asked once
        else:
            _forget_answers()
        times.append(_timed(cmd, key))
    return _median(times)


def batch_files(extract: Path, folder: Path, n: int) -> list[Path]:
    """n parameter files: the demo reports over several periods (activity and detention quarterly…)."""
    import yaml

    runs = [("activity_report", p) for p in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")]
    runs += [("detention_report", p) for p in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")]
    runs += [("case_management_report", "2025-H1"), ("case_management_report", "2025-H2"),
             ("data_quality_report", "2025-Q4"), ("explore", "2025")]
    files = []
    for i, (report, period) in enumerate((runs * (n // len(runs) + 1))[:n]):
        data = yaml.safe_load((ROOT / "workbench" / "assets" / "parameters" / f"{report}.yaml").read_text())
        data.update({"extract": str(extract), "period": period, "name": f"{report}-{i:02d}"})
        path = folder / f"{report}-{i:02d}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        files.append(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 to skip the large extract")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["WORKBENCH_CACHE"] = str(tmp / "cache")  # a cache of its own, its answers forgotten as needed
        subprocess.run([PYTHON, "-c", "from workbench import reports; reports.ensure_kernel()"], check=True)
        small = _extract(args.persons)
        results["floor (kernel + imports, papermill)"], results["floor (whole process)"] = floor(tmp, args.repeat)
        for report in ("activity_report", "detention_report"):
            results[f"{report}: notebook only"] = notebook_only(report, small, tmp, args.repeat)
            results[f"{report}: render (ipynb+html+pdf+xlsx)"] = render(report, small, tmp / "out", args.repeat)
        results["activity_report: render without pdf"] = render("activity_report", small, tmp / "out", args.repeat,
                                                                "formats=[html,xlsx]")
        results["activity_report: render again (figures and charts kept)"] = render(
            "activity_report", small, tmp / "out", args.repeat, again=True)
        if args.batch:
            folder = tmp / "batch"
            folder.mkdir()
            files = batch_files(small, folder, args.batch)
            _forget_answers()
            results[f"batch of {args.batch} (--jobs {args.jobs})"] = _timed(
                [WORKBENCH, "batch", *map(str, files), "--jobs", str(args.jobs),
                 "--output-dir", str(tmp / "batch-out")], "batch")
        if args.big:
            big = _extract(args.big)
            results[f"activity_report at {args.big:,} persons: notebook only"] = notebook_only(
                "activity_report", big, tmp, 1)
            results[f"activity_report at {args.big:,} persons: render"] = render("activity_report", big, tmp / "big", 1)

    outer, inner = results["floor (whole process)"], results["floor (kernel + imports, papermill)"]
    print(f"\nRender benchmark ({args.persons:,} persons; median of {args.repeat}; big: one run)")
    print("  notebook-only times compare with the papermill floor, renders with the whole-process floor")
    width = max(map(len, results))
    for name, seconds in results.items():
        base = inner if "notebook only" in name else outer
        ratio = "" if name.startswith("floor") or "batch" in name else f"  {100 * (seconds / base - 1):+.0f}% vs floor"
        print(f"  {name:<{width}}  {seconds:7.2f} s{ratio}")
    nb = results["activity_report: notebook only"]
    print(f"\n  notebook work over the kernel floor (activity): {nb - inner:.2f} s "
          f"({100 * (nb / inner - 1):+.0f}%); target: at most +50% over the floor")
    print("\n  CPU seconds (user + system, whole process tree; median), less sensitive to a busy machine:")
    cpu = {k: _median(v) for k, v in CPU.items() if k != "batch"}
    for name, seconds in cpu.items():
        ratio = "" if name == "floor" or name == "batch" else f"  {100 * (seconds / cpu['floor'] - 1):+.0f}% vs floor"
        print(f"  {name:<{width}}  {seconds:7.2f} s{ratio}")
    with open("/proc/loadavg") as f:
        print(f"\n  load average at the end: {f.read().split()[0]} (2 cores: above 2 means other work competed)")
    print(json.dumps({"wall": {k: round(v, 3) for k, v in results.items()},
                      "cpu": {k: round(v, 3) for k, v in cpu.items()}}))


if __name__ == "__main__":
    main()
