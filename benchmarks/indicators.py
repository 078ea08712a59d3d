"""Indicator benchmark: the workbench engine (polars) beside hand-written DuckDB SQL and plain pandas.

    python benchmarks/indicators.py [--persons 1000000] [--repeat 3] [--skip-pandas] [--check]
    python benchmarks/indicators.py --scale [--scale-persons 10000000]

Generates a demo extract of ``--persons`` once (cached under benchmarks/data/demo-N, about 3
contacts per person), then times the whole catalogue with every allowed single breakdown:

* one quarter (2025-Q4): ``disclosure.compute`` / the SQL reference / pandas;
* eight quarters (2024-Q1..2025-Q4): ``indicators.series`` and ``disclosure.compute`` once per
  quarter / the SQL reference once per quarter / pandas once per quarter.

The SQL is tests/reference_sql.py (tables copied into DuckDB beforehand), the pandas is
benchmarks/reference_pandas.py (tables converted beforehand); loading the extract
(``workbench.extract.load``) and these conversions are reported but not timed. Each engine and task
runs in its own process, so its peak memory (the RSS high-water mark, /proc/self/status VmHWM, reset
once the data is loaded) is its own. Medians over ``--repeat`` runs.

``--scale``: 10M persons (about 30M contacts), workbench only: load time, one quarter and eight
quarters, peak memory. ``--whole``: the whole ``workbench indicators`` process beside a DuckDB script
(``--warm-only``: the extract validated once only; ``--phases``: where that process spends its time),
e.g. ``--whole --independent-only --persons 10000000 --warm-only`` for the 10M target. ``--check`` first compares the three engines' tables for 2025-Q4.
"""

from __future__ import annotations

import argparse
import gc
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

QUARTER = "2025-Q4"
QUARTERS = [f"{y}-Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)]
MIB = 1024 * 1024

# (engine, task) -> label
TASKS = {
    ("workbench", "quarter"): "workbench compute",
    ("duckdb", "quarter"): "duckdb SQL",
    ("pandas", "quarter"): "pandas",
    ("workbench", "series"): "workbench series (8 in one call)",
    ("workbench", "loop"): "workbench compute x 8",
    ("duckdb", "loop"): "duckdb SQL x 8",
    ("pandas", "loop"): "pandas x 8",
}


# --------------------------------------------------------------------------- memory

def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- breakdowns

def catalogue_dims() -> list[str]:
    from workbench.indicators.catalogue import load_catalogue

    return list(dict.fromkeys(d for ind in load_catalogue() for d in ind.breakdowns))


def usable_dims() -> tuple[list[str], list[str]]:
    """Every catalogue dimension the engine can break down by (probed on a tiny demo extract),
    and those it cannot."""
    from workbench.extract import demo
    from workbench import extract
    from workbench import disclosure

    dims, broken = catalogue_dims(), []
    with tempfile.TemporaryDirectory() as tmp:
        demo.write(Path(tmp) / "demo", persons=300)
        ex = extract.load(Path(tmp) / "demo")
        for d in dims:
            try:
                disclosure.compute(ex, QUARTER, by=[d]).frame
            except Exception:  # noqa: BLE001 - an engine bug: leave the breakdown out everywhere
                broken.append(d)
    return [d for d in dims if d not in broken], broken


# --------------------------------------------------------------------------- one engine, one task (child)

def child(engine: str, task: str, folder: str, repeat: int, dims: list[str]) -> dict:
    from workbench import extract

    started = time.perf_counter()
    ex = extract.load(folder)
    load_seconds = time.perf_counter() - started
    table_bytes = sum(f.estimated_size() for f in ex.tables.values())
    after_load = _status()

    started = time.perf_counter()
    if engine == "workbench":
        from workbench import disclosure

        def quarter():
            return disclosure.compute(ex, QUARTER, by=dims).frame.height

        def loop():
            return sum(disclosure.compute(ex, q, by=dims).frame.height for q in QUARTERS)

        def series():
            return disclosure.series(ex, QUARTERS, by=dims).frame.height
        runs = {"quarter": quarter, "loop": loop, "series": series}
    elif engine == "duckdb":
        from tests import reference_sql

        con = reference_sql.connect(ex.tables)
        del ex
        gc.collect()

        def quarter():
            return reference_sql.compute(con, QUARTER, dims=dims).height

        def loop():
            return sum(reference_sql.compute(con, q, dims=dims).height for q in QUARTERS)
        runs = {"quarter": quarter, "loop": loop}
    elif engine == "pandas":
        import reference_pandas

        data = reference_pandas.prepare(ex.tables)
        del ex
        gc.collect()

        def quarter():
            return reference_pandas.compute(data, QUARTER, dims=dims).height

        def loop():
            return sum(reference_pandas.compute(data, q, dims=dims).height for q in QUARTERS)
        runs = {"quarter": quarter, "loop": loop}
    else:
        raise SystemExit(f"unknown engine {engine}")
    prepare_seconds = time.perf_counter() - started
    gc.collect()
    before = _status()
    reset = _reset_peak()

    seconds, cpu, rows = [], [], 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        rows = runs[task]()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    after = _status()
    return {"engine": engine, "task": task, "seconds": seconds, "cpu_seconds": cpu, "rows": rows,
            "load_seconds": load_seconds, "prepare_seconds": prepare_seconds, "table_bytes": table_bytes,
            "rss_after_load": after_load["VmRSS"], "peak_load": after_load["VmHWM"],
            "rss_data": before["VmRSS"], "peak_before": before["VmHWM"],
            "peak_compute": after["VmHWM"] if reset else None,
            "peak_process": max(before["VmHWM"], after["VmHWM"]),
            "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def run_child(engine: str, task: str, folder: Path, repeat: int, dims: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, task, str(folder),
           "--repeat", str(repeat), "--dims", ",".join(dims)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        hint = " (killed: out of memory?)" if out.returncode in (-9, 137) else ""
        print(f"  {engine} {task} failed, exit {out.returncode}{hint}", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- parent

def ensure_extract(persons: int) -> Path:
    folder = HERE / "data" / f"demo-{persons}"
    if not (folder / "persons.parquet").exists():
        print(f"generating a demo extract of {persons:,} persons into {folder} ...", flush=True)
        t0 = time.perf_counter()
        # in a child process, so that this process stays small
        subprocess.run([sys.executable, "-c",
                        f"from workbench.extract import demo; demo.write({str(folder)!r}, persons={persons})"],
                       check=True)
        print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def mib(n: int | None) -> str:
    return "-" if n is None else f"{n / MIB:,.0f} MiB"


def check(folder: Path, dims: list[str], pandas: bool) -> None:
    """The three engines give the same table for the quarter."""
    import polars as pl

    from tests import reference_sql
    from tests.test_reference import differences
    from workbench import extract
    from workbench import disclosure

    ex = extract.load(folder)
    ours = reference_sql.tidy(disclosure.compute(ex, QUARTER, by=dims).frame)
    con = reference_sql.connect(ex.tables)
    sql = reference_sql.compute(con, QUARTER, dims=dims)
    others = {"duckdb": sql}
    if pandas:
        import reference_pandas

        others["pandas"] = reference_pandas.compute(reference_pandas.prepare(ex.tables), QUARTER, dims=dims)
    for name, table in others.items():
        problems = []
        for id in reference_sql.REFERENCE:
            problems += [f"  {id}: {p}" for p in differences(ours.filter(pl.col("indicator") == id),
                                                            table.filter(pl.col("indicator") == id))]
        print(f"check {QUARTER}: workbench vs {name}: {ours.height:,} vs {table.height:,} rows, "
              f"{len(problems)} difference(s)")
        print("\n".join(problems[:20]))


def report(results: list[dict], repeat: int) -> None:
    first = results[0]
    print(f"extract.load: {statistics.median(r['load_seconds'] for r in results):.2f} s (median over the "
          f"{len(results)} processes; not in the timings); tables in memory {mib(first['table_bytes'])}, "
          f"RSS after load {mib(first['rss_after_load'])}, peak during load {mib(first['peak_load'])}")
    header = (f"{'':36} {'median':>8} {'best':>7} {'runs (s)':<22} {'CPU':>7} {'rows':>7} {'prepare':>8} "
              f"{'data RSS':>10} {'peak RSS compute':>17} {'peak RSS process':>17}")
    by_key = {(r["engine"], r["task"]): r for r in results}
    for title, tasks in ((f"one quarter ({QUARTER})", ["quarter"]),
                         (f"eight quarters ({QUARTERS[0]}..{QUARTERS[-1]})", ["series", "loop"])):
        print(f"\n{title}, whole catalogue, every single breakdown; median of {repeat}")
        print(header)
        for (engine, task), label in TASKS.items():
            r = by_key.get((engine, task))
            if task not in tasks or r is None:
                continue
            med = statistics.median(r["seconds"])
            runs = " ".join(f"{s:.2f}" for s in r["seconds"])
            cpu = statistics.median(r["cpu_seconds"])
            print(f"  {label:<34} {med:>7.2f}s {min(r['seconds']):>6.2f}s {runs:<22} {cpu:>6.1f}s {r['rows']:>7,} "
                  f"{r['prepare_seconds']:>7.1f}s {mib(r['rss_data']):>10} {mib(r['peak_compute']):>17} "
                  f"{mib(r['peak_process']):>17}")

    def med(engine, task, key="seconds"):
        r = by_key.get((engine, task))
        return statistics.median(r[key]) if r else None

    lines = []
    for label, (e1, t1), (e2, t2) in (
            ("workbench / duckdb, one quarter", ("workbench", "quarter"), ("duckdb", "quarter")),
            ("workbench series / duckdb x 8", ("workbench", "series"), ("duckdb", "loop")),
            ("workbench compute x 8 / duckdb x 8", ("workbench", "loop"), ("duckdb", "loop")),
            ("pandas / workbench, one quarter", ("pandas", "quarter"), ("workbench", "quarter")),
            ("pandas x 8 / workbench series", ("pandas", "loop"), ("workbench", "series")),
            ("pandas x 8 / workbench compute x 8", ("pandas", "loop"), ("workbench", "loop"))):
        a, b = med(e1, t1), med(e2, t2)
        if a is not None and b:
            lines.append(f"  {label:<38} {a / b:6.2f}  ({med(e1, t1, 'cpu_seconds') / med(e2, t2, 'cpu_seconds'):.2f})")
    if lines:
        print("\nratios of median wall-clock times (of median CPU times)")
        print("\n".join(lines))
    print("\n'median', 'best': wall-clock seconds; 'CPU': median CPU seconds of the process (all threads; "
          "steadier than wall time on a busy machine); 'data RSS': the process after loading (and converting) "
          "the data; 'peak RSS compute': its high-water mark while computing (reset after loading); "
          "'peak RSS process': including the load.")


# --------------------------------------------------------------------------- whole processes

DUCKDB_SCRIPT = r"""
import sys
import duckdb
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from tests import reference_sql
folder, period, dims, out = Path(sys.argv[2]), sys.argv[3], sys.argv[4].split(","), sys.argv[5]
con = duckdb.connect()
for file in sorted(folder.glob("*.parquet")):
    con.execute(f'CREATE TABLE "{file.stem}" AS SELECT * FROM read_parquet(?)', [str(file)])
con.execute(reference_sql.MACROS)
reference_sql.compute(con, period, dims=dims).write_csv(out)
"""


_MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - t0, "code": done.returncode, "err": done.stderr.decode()[-2000:],
                  "peak": usage.ru_maxrss * 1024, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, int, float]:
    """Wall-clock seconds, peak RSS (bytes) and CPU seconds (user + system, all threads) of one whole
    process, measured by a small parent process of its own (so that the peak is not this process's,
    inherited at fork). CPU seconds are steadier than wall time on a busy machine."""
    out = json.loads(subprocess.run([sys.executable, "-c", _MEASURE, *cmd], env=env, capture_output=True,
                                    text=True, check=True).stdout)
    if out["code"] not in (0, 1):  # indicators exits 1 when some indicators are not available
        raise SystemExit(f"failed: {' '.join(cmd[:4])} ... ({out['err']})")
    return out["seconds"], out["peak"], out["cpu"]


def _forget_answers(cache: Path) -> None:
    """Remove the answers kept beside the validated extracts: figures computed afresh."""
    from workbench.indicators import stored

    stored.forget(cache)


def whole_process(folder: Path, dims: list[str], repeat: int, cold: bool = True
                  ) -> dict[str, tuple[float, int, float]]:
    """``workbench indicators`` (cold: an empty validation cache; warm: the extract already validated)
    beside a DuckDB script doing the same from the Parquet files, loading included."""
    workbench = str(Path(sys.executable).with_name("workbench"))
    cli = [workbench, "indicators", str(folder), "--period", QUARTER, *[a for d in dims for a in ("-b", d)]]
    runs: dict[str, list[tuple[float, int, float]]] = {"workbench (cold cache)": [], "workbench (validated once)": [],
                                                 "workbench (asked before)": [], "duckdb script": []}
    if not cold:
        del runs["workbench (cold cache)"]
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        warm = dict(os.environ, WORKBENCH_CACHE=str(Path(tmp) / "warm"))
        _timed(cli + ["-o", str(Path(tmp) / "out.csv")], warm)  # validates once, fills the cache
        for i in range(repeat):
            if cold:
                env = dict(os.environ, WORKBENCH_CACHE=str(Path(tmp) / f"cold{i}"))
                runs["workbench (cold cache)"].append(_timed(cli + ["-o", str(Path(tmp) / "out.csv")], env))
            _forget_answers(Path(tmp) / "warm")  # validated once, computed afresh
            runs["workbench (validated once)"].append(_timed(cli + ["-o", str(Path(tmp) / "out.csv")], warm))
            # the same question again: the figures read from the answers kept beside the extract
            runs["workbench (asked before)"].append(_timed(cli + ["-o", str(Path(tmp) / "out.csv")], warm))
            runs["duckdb script"].append(_timed([sys.executable, "-c", DUCKDB_SCRIPT, str(ROOT), str(folder),
                                                 QUARTER, ",".join(dims), str(Path(tmp) / "duck.csv")]))
    return {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}


PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from workbench import disclosure, extract  # first, as the command does (its allocator setting)
import polars
from workbench.present import exports
t1 = time.perf_counter()
from workbench.indicators.catalogue import load_catalogue
load_catalogue()
t2 = time.perf_counter()
ex = extract.load(sys.argv[1])
t3 = time.perf_counter()
table = disclosure.compute(ex, sys.argv[2], by=sys.argv[3].split(","))
t4 = time.perf_counter()
exports.write(table, sys.argv[4], "csv")
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "catalogue": t2 - t1, "load (validated once)": t3 - t2, "compute": t4 - t3,
                  "write": t5 - t4}))
"""


def phases(folder: Path, dims: list[str], repeat: int) -> None:
    """Where the whole process spends its time, the extract validated once: the steps of
    ``workbench indicators`` in one process, each timed (medians of ``repeat`` processes)."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        env = dict(os.environ, WORKBENCH_CACHE=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-c", PHASES, str(folder), QUARTER, ",".join(dims), str(Path(tmp) / "out.csv")]
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # validates once, fills the cache
        for _ in range(repeat):
            _forget_answers(Path(tmp) / "cache")  # computed afresh each time
            out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    load = os.getloadavg()
    print(f"\nphases of one process, {folder.name}, {QUARTER}, extract validated once; median of {repeat} "
          f"(load average {load[0]:.1f} on {os.cpu_count()} CPUs)")
    for step in runs[0]:
        print(f"  {step:<24} {statistics.median(r[step] for r in runs):6.2f} s")
    print(f"  {'total':<24} {statistics.median(sum(r.values()) for r in runs):6.2f} s")


def report_whole(folder: Path, dims: list[str], repeat: int, cold: bool = True) -> None:
    figures = whole_process(folder, dims, repeat, cold)
    duck_s, duck_m, duck_c = figures["duckdb script"]
    load = os.getloadavg()
    print(f"\nwhole process, {folder.name}, {QUARTER}, whole catalogue, every single breakdown; "
          f"median of {repeat} (target: <= 0.5x the DuckDB time, peak memory <= 1x); "
          f"load average at the end {load[0]:.1f} on {os.cpu_count()} CPUs")
    for label, (sec, peak, cpu) in figures.items():
        print(f"  {label:<28} {sec:6.2f} s  {mib(peak):>10}   time {sec / duck_s:5.2f}x  memory {peak / duck_m:5.2f}x"
              f"   CPU {cpu:5.2f} s {cpu / duck_c:5.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true", help="leave pandas out (it is slow)")
    parser.add_argument("--check", action="store_true", help="first compare the engines' tables for the quarter")
    parser.add_argument("--scale", action="store_true", help="workbench only, on --scale-persons")
    parser.add_argument("--scale-persons", type=int, default=10_000_000)
    parser.add_argument("--whole", action="store_true",
                        help="only the whole-process comparison (CLI vs a DuckDB script), also on --independent")
    parser.add_argument("--independent", action="store_true",
                        help="also on an extract from benchmarks/independent_generate.py")
    parser.add_argument("--independent-only", action="store_true",
                        help="only the extract from benchmarks/independent_generate.py (with --whole: 10M persons "
                             "without generating the demo extract of that size)")
    parser.add_argument("--warm-only", action="store_true",
                        help="with --whole: leave out the runs that validate the extract again (cold cache)")
    parser.add_argument("--phases", action="store_true",
                        help="with --whole: also time the steps of one process (imports, catalogue, load, compute, "
                             "write)")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "TASK", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--dims", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        engine, task, folder = args.child
        print(json.dumps(child(engine, task, folder, args.repeat, args.dims.split(","))))
        return 0

    persons = args.scale_persons if args.scale else args.persons
    folder = None if args.independent_only else ensure_extract(persons)
    dims, broken = usable_dims()
    load = os.getloadavg()
    print(f"persons {persons:,}; {os.cpu_count()} CPUs (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}); "
          f"python {sys.version.split()[0]}")
    if broken:
        print(f"left out of every engine (the workbench fails on them): breakdown(s) {', '.join(broken)}")
    if args.check and folder is not None:
        check(folder, dims, pandas=not (args.skip_pandas or args.scale))
    folders = [folder] if folder is not None else []
    if args.independent or args.independent_only:
        other = HERE / "data" / f"indep-{persons}"
        if not (other / "persons.parquet").exists():
            subprocess.run([sys.executable, str(HERE / "independent_generate.py"), "--persons", str(persons),
                            "--output", str(other)], check=True)
        folders.append(other)
    for each in folders:
        report_whole(each, dims, args.repeat, cold=not args.warm_only)
        if args.phases:
            phases(each, dims, args.repeat)
    if args.whole or folder is None:
        return 0

    if args.scale:  # series last: it holds the most memory
        wanted = [("workbench", "quarter"), ("workbench", "loop"), ("workbench", "series")]
    else:
        wanted = [k for k in TASKS if not (args.skip_pandas and k[0] == "pandas")]
    results = []
    for engine, task in wanted:
        print(f"running {TASKS[(engine, task)]} ...", flush=True)
        result = run_child(engine, task, folder, args.repeat, dims)
        if result is not None:
            results.append(result)
    print()
    if not results:
        return 1
    report(results, args.repeat)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
          + (" -- the machine was busy: timings are noisy" if load[1] > 0.75 * (os.cpu_count() or 1) else ""))
    rows = {r["engine"] + "/" + r["task"]: r["rows"] for r in results}
    print(f"rows produced: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
