"""Time generating and writing a demo case extract.

    python benchmarks/demo_generate.py --persons 1000000
    python benchmarks/demo_generate.py --persons 1000000 --format csv --output /tmp/demo-1m

Prints the rows of each table, the time to generate, the time to write each format asked for,
the size written and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import demo  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="persons to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
    parser.add_argument("--profile", choices=demo.PROFILES, default="all")
    parser.add_argument("--format", choices=("parquet", "csv", "xlsx", "none"), action="append",
                        help="format(s) to write (default parquet; 'none' to only generate)")
    parser.add_argument("--output", type=Path, help="folder to write into (default: a temporary folder)")
    args = parser.parse_args(argv)
    formats = [f for f in (args.format or ["parquet"]) if f != "none"]

    started = time.perf_counter()
    frames = demo.generate(args.persons, args.seed, args.profile)
    generated = time.perf_counter() - started
    rows = sum(f.height for f in frames.values())
    print(f"persons {args.persons:,}  profile {args.profile}  seed {args.seed}")
    for name, frame in frames.items():
        print(f"  {name:<17} {frame.height:>12,} rows  {frame.estimated_size('mb'):>9,.1f} MB in memory")
    print(f"generate:       {generated:7.2f} s  ({rows:,} rows, {rows / generated:,.0f} rows/s)")

    with tempfile.TemporaryDirectory(prefix="demo-bench-") as scratch:
        root = args.output or Path(scratch)
        for fmt in formats:
            started = time.perf_counter()
            path = demo.write_frames(frames, root / fmt, args.profile, format=fmt)
            elapsed = time.perf_counter() - started
            folder = path if path.is_dir() else path.parent
            size = sum(p.stat().st_size for p in folder.iterdir())
            print(f"write {fmt:<8}: {elapsed:7.2f} s  ({size / 2**20:,.1f} MB in {folder})")
        if formats:
            started = time.perf_counter()
            demo.write(root / "again", args.persons, args.seed, args.profile, format=formats[0])
            print(f"write() of {formats[0]}, generation included: {time.perf_counter() - started:7.2f} s")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux
    print(f"peak memory: {peak:,.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
