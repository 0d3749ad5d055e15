"""Time erasing customers' personal data on a demo business and print seconds.

    python benchmarks/erase_bench.py --customers 2000 --months 12
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench_erase \\
        python benchmarks/erase_bench.py --customers 2000

Runs the demo cycle into a fresh data folder (not timed; a fresh SQLite file unless
WINBACK_DATABASE_URL is set), then times: erasing one customer, erasing 100 customers in one
call, and the retention pass two years after the history's end (anonymising every customer
inactive for a year by then: most of the base, in one call). Each erasure searches the data
folder and compacts the database, so the figures include the VACUUM.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="winback-erase-"))
    os.environ["WINBACK_DATA_DIR"] = str(folder / "data")
    os.environ.setdefault("WINBACK_RETENTION_INACTIVE_YEARS", "1")
    from rich.console import Console

    from winback.store.bootstrap import setup

    setup()
    from winback.app.actors import Actor
    from winback.app.customers.privacy import apply_retention, erase_customers
    from winback.cli.demo_cycle import run_demo
    from winback.store.customers.models import Customer, Order

    end = date(2025, 6, 30)
    started = time.perf_counter()
    run_demo(
        industry="retail",
        customers=args.customers,
        months=args.months,
        seed=3,
        out=folder / "demo",
        console=Console(file=io.StringIO()),
        end_date=end,
        rounds=2,
    )
    print(
        f"demo: {args.customers} customers, {Order.objects.count()} orders "
        f"({time.perf_counter() - started:.1f} s, not timed)"
    )
    ids = list(
        Customer.objects.filter(is_stub=False).order_by("pk").values_list("external_id", flat=True)
    )
    actor = Actor.system("bench")
    t = time.perf_counter()
    erase_customers(actor, external_ids=ids[:1])
    print(f"erase 1 customer: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    erase_customers(actor, external_ids=ids[1:101])
    print(f"erase 100 customers (one call): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    result = apply_retention(actor, today=end.replace(year=end.year + 2))
    print(f"retention pass: {result.anonymised} anonymised in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
