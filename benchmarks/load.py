"""Load-and-validate benchmark: a demo extract of N persons in Parquet.

    python benchmarks/load.py [--persons 1000000] [--repeat 3] [--independent | --independent-only]

Generates the extract once (cached under benchmarks/data/), then, in a fresh process
per run, times reading the same Parquet tables with polars, `workbench.extract.load` with an
empty validation cache (validating; the cache entry is written by a thread while the caller goes
on, so the time until it is written is printed too) and again with the cache filled (the extract
validated once), and reads the process's peak memory. Prints the medians, peak memory, and the accepted
tables' in-memory size. ``--independent`` also measures an extract written by
benchmarks/independent_generate.py; ``--independent-only`` measures that one alone (at 10M persons,
generating the demo extract as well would take long and twice the disk).
Targets: load and validate <= 3x the polars read (issue 17); peak memory under 3x the tables' size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

CHILD = r"""
import json, os, pathlib, resource, sys, time
from workbench import extract  # first, as in the workbench's own processes (its allocator setting: docs/performance.md)
import polars as pl
t0, c0 = time.perf_counter(), time.process_time()
raw = {p.stem: pl.read_parquet(p) for p in sorted(pathlib.Path(sys.argv[1]).glob("*.parquet"))}
polars_read, read_cpu = time.perf_counter() - t0, time.process_time() - c0
del raw
t0, c0, r0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
ex = extract.load(sys.argv[1])
elapsed, cpu, r1 = time.perf_counter() - t0, time.process_time() - c0, resource.getrusage(resource.RUSAGE_SELF)
from workbench.extract import cache
getattr(cache, "wait", lambda: None)()  # the cache entry, written by a thread while the caller goes on
written, written_cpu = time.perf_counter() - t0, time.process_time() - c0
size = sum(f.estimated_size() for f in ex.tables.values())
rows = {n: f.height for n, f in ex.tables.items()}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "polars_read": polars_read, "cpu": cpu, "read_cpu": read_cpu,
                  "written": written, "written_cpu": written_cpu, "peak_bytes": peak, "table_bytes": size, "rows": rows,
                  "sys": r1.ru_stime - r0.ru_stime, "faults": r1.ru_minflt - r0.ru_minflt,
                  "quarantined": ex.quarantined}))
"""

BASELINE = r"""
import resource, json
import workbench.extract.loading
import polars as pl, yaml
print(json.dumps({"peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--independent", action="store_true", help="also an extract the workbench did not generate")
    parser.add_argument("--independent-only", action="store_true",
                        help="only the extract the workbench did not generate")
    args = parser.parse_args()
    from workbench.extract import demo

    folders = []
    if not args.independent_only:
        folder = HERE / "data" / f"demo-{args.persons}"
        if not (folder / "persons.parquet").exists():
            print(f"generating {args.persons:,} persons into {folder} ...", flush=True)
            demo.write(folder, persons=args.persons)
        folders.append(folder)
    if args.independent or args.independent_only:
        other = HERE / "data" / f"indep-{args.persons}"
        if not (other / "persons.parquet").exists():
            subprocess.run([sys.executable, str(HERE / "independent_generate.py"), "--persons", str(args.persons),
                            "--output", str(other)], check=True)
        folders.append(other)
    for each in folders:
        measure(each, args.repeat)


def measure(folder: Path, repeat: int) -> None:
    print(f"\n{folder.name}")
    runs, warm = [], []
    with tempfile.TemporaryDirectory(prefix="wb-load-") as tmp:
        for i in range(repeat):
            env = dict(os.environ, WORKBENCH_CACHE=str(Path(tmp) / f"cold{i}"))
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                                 check=True, env=env)
            runs.append(json.loads(out.stdout))
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                                 check=True, env=env)  # the same cache folder: validated once already
            warm.append(json.loads(out.stdout))
    read = statistics.median(r["polars_read"] for r in runs + warm)
    cold_s = statistics.median(r["seconds"] for r in runs)
    warm_s = statistics.median(r["seconds"] for r in warm)
    load = os.getloadavg()
    print(f"polars read of the Parquet tables: {read:.2f} s; load + validate (empty cache): {cold_s:.2f} s "
          f"= {cold_s / read:.1f}x; load of an extract validated once: {warm_s:.2f} s = {warm_s / read:.1f}x "
          f"(target <= 3x); load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    written_s = statistics.median(r["written"] for r in runs)
    written_cpu = statistics.median(r["written_cpu"] for r in runs)
    print(f"until the validation cache is written too (the thread the process waits for at exit): "
          f"{written_s:.2f} s = {written_s / read:.1f}x, {written_cpu:.2f} CPU seconds")
    read_cpu = statistics.median(r["read_cpu"] for r in runs + warm)
    cold_cpu = statistics.median(r["cpu"] for r in runs)
    warm_cpu = statistics.median(r["cpu"] for r in warm)
    print(f"CPU seconds (all threads; steadier on a busy machine): polars read {read_cpu:.2f}, load + validate "
          f"{cold_cpu:.2f} = {cold_cpu / read_cpu:.1f}x, validated once {warm_cpu:.2f} = {warm_cpu / read_cpu:.1f}x")
    sys_s = statistics.median(r["sys"] for r in runs)
    faults = statistics.median(r["faults"] for r in runs)
    print(f"of which kernel time (page faults of fresh memory): {sys_s:.2f} s, {faults:,.0f} minor page faults; "
          f"wall/CPU of load + validate: {cold_s / cold_cpu:.2f} (above 1: waiting for a CPU or the disk)")
    base = json.loads(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                                     check=True).stdout)
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_bytes"] for r in runs)
    size = runs[0]["table_bytes"]
    mib = 1024 * 1024
    print(f"rows: {runs[0]['rows']}  quarantined: {runs[0]['quarantined']}")
    print(f"load + validate, median of {repeat}: {seconds:.2f} s (runs: "
          f"{', '.join('%.2f' % r['seconds'] for r in runs)})")
    print(f"peak RSS: {peak / mib:,.0f} MiB (imports alone: {base['peak_bytes'] / mib:,.0f} MiB); "
          f"accepted tables in memory: {size / mib:,.0f} MiB; "
          f"ratio peak/tables: {peak / size:.2f} (net of imports: {(peak - base['peak_bytes']) / size:.2f})")
    print(f"targets: <= 3x the polars read -> validating {'met' if cold_s <= 3 * read else 'NOT met'}, "
          f"validated once {'met' if warm_s <= 3 * read else 'NOT met'}; "
          f"peak < 3x tables -> {'met' if peak < 3 * size else 'NOT met'}")


if __name__ == "__main__":
    main()
