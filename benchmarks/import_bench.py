"""Import throughput: 1,000,000 order lines (and the orders they need) into SQLite and PostgreSQL.

Generates the files itself with numpy (seeded), then, for each database, imports categories,
products, orders and order lines in a fresh child process (so peak memory is per database)
and prints rows/s, the load average beside each figure and the child's peak resident memory.
Then, in the same child, it writes the same order lines the plainest way into a copy of the
same table (COPY on PostgreSQL, one ``executemany`` on SQLite) and prints the import's rate as a
share of that floor: on a shared machine the ratio says more than either figure alone.
PostgreSQL is used when reachable at ``WINBACK_BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``): a throwaway database is created and dropped.

    .venv/bin/python benchmarks/import_bench.py [--lines 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
KINDS = ("categories", "products", "orders", "order-lines")
TARGET = 150_000  # order lines per second, on both databases


def _yuan(cents: np.ndarray) -> pl.Series:
    """Cents as a POS export writes them: ``-12.50`` (exact, two decimals)."""
    series = pl.Series(cents)
    whole = (series.abs() // 100).cast(pl.String)
    fen = (series.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.Series(np.where(cents < 0, "-", ""))
    return sign + whole + "." + fen


def generate(folder: Path, lines: int, seed: int = 11) -> dict[str, int]:
    """Categories, products, orders and order lines as CSV files; returns row counts."""
    rng = np.random.default_rng(seed)
    n_categories, n_products, n_customers = 60, 5_000, 80_000
    per_order = rng.integers(1, 7, size=lines)  # lines per order until the total is reached
    order_sizes = per_order[: int(np.searchsorted(np.cumsum(per_order), lines)) + 1]
    order_sizes[-1] -= int(order_sizes.sum() - lines)
    order_sizes = order_sizes[order_sizes > 0]
    n_orders = len(order_sizes)
    categories = pl.DataFrame(
        {
            "category_code": [f"K{i:03d}" for i in range(n_categories)],
            "name": [f"品类{i}" for i in range(n_categories)],
            "necessity": rng.choice(["必需", "非必需"], n_categories),
        }
    )
    product_category = rng.integers(0, n_categories, n_products)
    products = pl.DataFrame(
        {
            "sku": [f"SKU{i:06d}" for i in range(n_products)],
            "name": [f"商品{i}" for i in range(n_products)],
            "category_code": [f"K{c:03d}" for c in product_category],
            "unit_price": (rng.gamma(2.0, 40.0, n_products)).round(2),
        }
    )
    order_ids = pl.Series("order_id", np.arange(n_orders)).cast(pl.String).str.zfill(9)
    start = np.datetime64("2022-01-01T00:00:00")
    seconds = rng.integers(0, 3 * 365 * 86400, n_orders).astype("timedelta64[s]")
    order_number = np.repeat(np.arange(n_orders), order_sizes)
    line_no = np.arange(lines) - np.repeat(np.cumsum(order_sizes) - order_sizes, order_sizes) + 1
    sku_index = rng.integers(0, n_products, lines)
    quantity = rng.integers(1, 5, lines)
    line_cents = (rng.gamma(2.0, 3000.0, lines)).astype(np.int64) * quantity
    line_cents[rng.random(lines) < 0.02] *= -1  # refunds
    order_cents = np.bincount(order_number, weights=line_cents, minlength=n_orders)
    orders = pl.DataFrame(
        {
            "order_id": ("O" + order_ids).to_numpy(),
            "customer_id": [f"M{c:07d}" for c in rng.integers(0, n_customers, n_orders)],
            "order_date": pl.Series((start + seconds).astype("datetime64[ms]")).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "amount": _yuan(order_cents.astype(np.int64)),
            "channel": rng.choice(["门店", "小程序", "电话"], n_orders),
        }
    )
    order_lines = pl.DataFrame(
        {
            "order_id": ("O" + order_ids).to_numpy()[order_number],
            "line_no": line_no,
            "sku": products["sku"].to_numpy()[sku_index],
            "category_code": products["category_code"].to_numpy()[sku_index],
            "quantity": quantity,
            "amount": _yuan(line_cents),
        }
    )
    frames = dict(zip(KINDS, (categories, products, orders, order_lines), strict=True))
    for kind, frame in frames.items():
        frame.write_csv(folder / f"{kind}.csv")
    return {kind: frame.height for kind, frame in frames.items()}


def child(database_url: str, folder: Path) -> None:
    """Run in a fresh process: import every file and print timings as JSON."""
    os.environ["WINBACK_DATABASE_URL"] = database_url
    os.environ["WINBACK_DATA_DIR"] = str(folder / "data")
    from winback.store.bootstrap import setup

    setup()
    from winback.app.imports.service import import_file

    results = {}
    for kind in KINDS:
        load_before = round(os.getloadavg()[0], 2)
        started = time.perf_counter()
        summary = import_file(kind, folder / f"{kind}.csv", lang="en")
        seconds = time.perf_counter() - started
        results[kind] = {
            "rows": summary.read,
            "inserted": summary.inserted,
            "rejected": summary.rejected,
            "seconds": round(seconds, 2),
            "phases": summary.timings,
        }
        results[kind]["load"] = [load_before, round(os.getloadavg()[0], 2)]
    started = time.perf_counter()
    again = import_file("order-lines", folder / "order-lines.csv", lang="en")
    results["order-lines (re-import)"] = {
        "rows": again.read,
        "unchanged": again.unchanged,
        "seconds": round(time.perf_counter() - started, 2),
        "phases": again.timings,
    }
    floor = _floor()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"results": results, "floor": floor, "peak_rss_mib": round(peak_kib / 1024, 1)})
    )


LINE_COLUMNS = "order_id, line_no, product_id, category_id, quantity, amount_cents, row_hash"


def _floor() -> dict[str, object]:
    """The same order lines written the plainest way into a copy of the same table (its
    indexes and constraints): COPY (PostgreSQL) or one ``executemany`` (SQLite), one
    transaction. What the import costs on top of this is its own work."""
    from django.db import connection, transaction

    from winback.store.customers.models import OrderLine
    from winback.store.tables import table

    source = table(OrderLine)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LINE_COLUMNS} FROM {source} ORDER BY id")
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE bench_floor (LIKE {source} INCLUDING ALL)")
        buffer = pl.DataFrame(rows, schema=LINE_COLUMNS.split(", "), orient="row").write_csv(
            include_header=False
        )
        load = os.getloadavg()[0]
        started = time.perf_counter()
        copy = f"COPY bench_floor ({LINE_COLUMNS}) FROM STDIN (FORMAT csv)"
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(copy) as cp:
            cp.write(buffer.encode())
        seconds = time.perf_counter() - started
        how = "COPY into the same schema"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name = %s", [source])
            ddl = [r[0] for r in cursor.fetchall() if r[0]]
            for statement in ddl:
                renamed = statement.replace(f'"{source}"', '"bench_floor"')
                cursor.execute(renamed.replace('INDEX "', 'INDEX "floor_'))
        marks = ", ".join(["?"] * len(LINE_COLUMNS.split(", ")))
        raw = connection.connection
        load = os.getloadavg()[0]
        started = time.perf_counter()
        with transaction.atomic():
            raw.executemany(f"INSERT INTO bench_floor ({LINE_COLUMNS}) VALUES ({marks})", rows)
        seconds = time.perf_counter() - started
        how = "executemany into the same schema"
    return {
        "how": how,
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def _run_child(database_url: str, folder: Path) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", database_url, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def _pg_admin_url() -> str | None:
    url = os.environ.get("WINBACK_BENCH_PG", DEFAULT_PG)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


def _report(name: str, outcome: dict[str, object]) -> None:
    print(f"\n== {name}  (peak RSS {outcome['peak_rss_mib']} MiB)")
    results = outcome["results"]
    assert isinstance(results, dict)
    for kind, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("inf")
        load = f"  load {r['load'][0]:.1f}-{r['load'][1]:.1f}" if r.get("load") else ""
        print(
            f"  {kind:<24} {r['rows']:>9,} rows  {r['seconds']:>7.2f} s  {rate:>10,.0f} rows/s"
            + load
        )
        if r.get("phases") and r["rows"] >= 100_000:
            phases = ", ".join(f"{name} {sec:.2f}" for name, sec in r["phases"].items())
            print(f"  {'':<24} ({phases})")
    floor = outcome["floor"]
    assert isinstance(floor, dict)
    lines = results["order-lines"]
    floor_rate = floor["rows"] / floor["seconds"] if floor["seconds"] else float("inf")
    rate = lines["rows"] / lines["seconds"] if lines["seconds"] else float("inf")
    print(
        f"  {'floor: ' + floor['how']:<45} {floor['seconds']:>7.2f} s  {floor_rate:>10,.0f} "
        f"rows/s  load {floor['load'][0]:.1f}-{floor['load'][1]:.1f}"
    )
    print(
        f"  order lines: {rate:,.0f} rows/s = {rate / floor_rate:.2f} of the floor "
        f"(the import is {floor_rate / rate:.1f}x slower; target >= {TARGET:,} rows/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only.")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE_URL", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="winback-import-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = generate(folder, args.lines)
        print(f"generated {counts} in {time.perf_counter() - started:.1f} s")
        _report("SQLite", _run_child(f"sqlite:///{folder / 'bench.sqlite3'}", folder))
        admin = None if args.no_postgres else _pg_admin_url()
        if admin is None:
            print("\n== PostgreSQL not reachable: skipped")
            return
        import psycopg

        name = f"winback_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            base = admin.rsplit("/", 1)[0]
            _report("PostgreSQL", _run_child(f"{base}/{name}", folder))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
