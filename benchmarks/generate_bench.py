"""Time and peak memory of the sample data generator (prints figures; asserts nothing).

    .venv/bin/python benchmarks/generate_bench.py [--customers 1000000] [--industry retail]
        [--months 36] [--seed 7] [--keep DIR]

Peak memory is the process's maximum resident set size (numpy, Polars and Python together).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from winback.simulate.generator import generate_dataset

END_DATE = date(2026, 10, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--industry", default="retail")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write here and keep the files")
    args = parser.parse_args()

    out = args.keep or Path(tempfile.mkdtemp(prefix="winback-generate-"))
    try:
        started = time.perf_counter()
        manifest = generate_dataset(
            args.industry, args.customers, args.months, args.seed, out, end_date=END_DATE
        )
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1024**2
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)

    print(f"industry {args.industry}, {args.customers:,} customers, {args.months} months")
    for entry in manifest["files"]:
        print(f"  {entry['path']:<18} {entry['rows']:>12,} rows")
    print(f"time        {elapsed:8.1f} s")
    print(f"peak memory {peak_mb:8.0f} MB (max RSS)")
    print(f"files       {size_mb:8.0f} MB")


if __name__ == "__main__":
    main()
