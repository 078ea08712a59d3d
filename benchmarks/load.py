"""Load-and-validate benchmark: a demo extract of N persons in Parquet.

    python benchmarks/load.py [--persons 1000000] [--repeat 3]

Generates the extract once (cached under benchmarks/data/), then, in a fresh process
per run, times `workbench.extract.load` and reads the process's peak memory. Prints
the median time, peak memory, and the accepted tables' in-memory size.
Targets (issue 3): under 5 s and peak memory under 3x the tables' size at 1M persons.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

CHILD = r"""
import json, resource, sys, time
import polars as pl
from workbench import extract
t0 = time.perf_counter()
ex = extract.load(sys.argv[1])
elapsed = time.perf_counter() - t0
size = sum(f.estimated_size() for f in ex.tables.values())
rows = {n: f.height for n, f in ex.tables.items()}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_bytes": peak, "table_bytes": size, "rows": rows,
                  "quarantined": ex.quarantined}))
"""

BASELINE = r"""
import resource, polars as pl, dataframely, yaml, json
import workbench.extract.loading
print(json.dumps({"peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from workbench.extract import demo

    folder = HERE / "data" / f"demo-{args.persons}"
    if not (folder / "persons.parquet").exists():
        print(f"generating {args.persons:,} persons into {folder} ...", flush=True)
        demo.write(folder, persons=args.persons)
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout))
    base = json.loads(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                                     check=True).stdout)
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_bytes"] for r in runs)
    size = runs[0]["table_bytes"]
    mib = 1024 * 1024
    print(f"rows: {runs[0]['rows']}  quarantined: {runs[0]['quarantined']}")
    print(f"load + validate, median of {args.repeat}: {seconds:.2f} s (runs: "
          f"{', '.join('%.2f' % r['seconds'] for r in runs)})")
    print(f"peak RSS: {peak / mib:,.0f} MiB (imports alone: {base['peak_bytes'] / mib:,.0f} MiB); "
          f"accepted tables in memory: {size / mib:,.0f} MiB; "
          f"ratio peak/tables: {peak / size:.2f} (net of imports: {(peak - base['peak_bytes']) / size:.2f})")
    print(f"targets: < 5 s -> {'met' if seconds < 5 else 'NOT met'}; "
          f"peak < 3x tables -> {'met' if peak < 3 * size else 'NOT met'}")


if __name__ == "__main__":
    main()
