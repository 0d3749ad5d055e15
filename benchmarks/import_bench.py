"""Import throughput: 1,000,000 order lines (and the orders they need) into SQLite and PostgreSQL.

Generates the files itself with numpy (seeded), then, for each database, imports categories,
products, orders and order lines in a fresh child process (so peak memory is per database)
and prints rows/s, the load average beside each figure and the child's peak resident memory.
Then, in the same child, it writes the same order lines the plainest ways into copies of the
same table (COPY and ADBC bulk ingest on PostgreSQL, one ``executemany`` and ADBC bulk ingest on
SQLite) and prints the import's rate as a share of the fastest of them, the floor: on a shared
machine the ratio says more than either figure alone. Beside every wall time it prints the CPU
seconds of this process and, on PostgreSQL, of the server backend (read from /proc), and the
order lines per CPU second, which depend far less on the machine's load than wall times.
PostgreSQL is used when reachable at ``WINBACK_BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``): a throwaway database is created and dropped.

    .venv/bin/python benchmarks/import_bench.py [--lines 1000000] [--no-sqlite | --no-postgres]
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
from pathlib import Path

import numpy as np
import polars as pl

from throwaway_postgres import throwaway_database

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
        cpu = _cpu()
        started = time.perf_counter()
        summary = import_file(kind, folder / f"{kind}.csv", lang="en")
        seconds = time.perf_counter() - started
        results[kind] = {
            "rows": summary.read,
            "inserted": summary.inserted,
            "rejected": summary.rejected,
            "seconds": round(seconds, 2),
            "cpu": _cpu_since(cpu),
            "phases": summary.timings,
        }
        results[kind]["load"] = [load_before, round(os.getloadavg()[0], 2)]
    load_before = round(os.getloadavg()[0], 2)
    cpu = _cpu()
    started = time.perf_counter()
    again = import_file("order-lines", folder / "order-lines.csv", lang="en")
    results["order-lines (re-import)"] = {
        "rows": again.read,
        "unchanged": again.unchanged,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu": _cpu_since(cpu),
        "phases": again.timings,
        "load": [load_before, round(os.getloadavg()[0], 2)],
    }
    floor = _floor()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"results": results, "floor": floor, "peak_rss_mib": round(peak_kib / 1024, 1)})
    )


LINE_COLUMNS = "order_id, line_no, product_id, category_id, quantity, amount_cents, row_hash"


def _server_pid() -> int | None:
    """The PostgreSQL backend serving this process (same machine: its CPU time is read from
    /proc), or None on SQLite, where the database runs inside this process."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _server_cpu(backend: int) -> float:
    """CPU seconds of the backend serving this process plus those of the server's processes
    that have ended (the postmaster's reaped children: the backends of other connections this
    process opened and closed, an import's look-ahead worker's or ADBC's, and any parallel
    workers or autovacuum runs meanwhile)."""
    mine = _proc_stat(backend)
    if mine is None:
        return float("nan")
    postmaster = _proc_stat(int(mine[1]))
    ended = 0 if postmaster is None else int(postmaster[13]) + int(postmaster[14])
    return (int(mine[11]) + int(mine[12]) + ended) / os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds of one live process."""
    fields = _proc_stat(pid)
    if fields is None:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> tuple[float, float]:
    """(this process's CPU seconds, the PostgreSQL server's for this process; 0 on SQLite)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pid = _server_pid()
    return usage.ru_utime + usage.ru_stime, _server_cpu(pid) if pid else 0.0


def _cpu_since(before: tuple[float, float]) -> dict[str, float]:
    now = _cpu()
    return {"python": round(now[0] - before[0], 2), "server": round(now[1] - before[1], 2)}


def _floor() -> dict[str, object]:
    """The same order lines written the plainest ways into copies of the same table (its
    indexes and constraints), one transaction each; the fastest is the floor: COPY (CSV,
    psycopg) and ADBC bulk ingest (binary COPY) on PostgreSQL, one ``executemany`` and ADBC
    bulk ingest on SQLite. What the import costs on top of this is its own work."""
    from django.db import connection

    from winback.store.customers.models import OrderLine
    from winback.store.tables import table

    source = table(OrderLine)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LINE_COLUMNS} FROM {source} ORDER BY id")
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, schema=LINE_COLUMNS.split(", "), orient="row")
    if connection.vendor == "postgresql":
        ways = {"COPY (CSV)": _pg_copy_floor, "ADBC ingest (binary COPY)": _adbc_floor}
    else:
        ways = {"executemany": _sqlite_floor, "ADBC ingest": _adbc_floor}
    runs = {}
    for n, (how, write) in enumerate(ways.items()):
        copy = f"bench_floor{n}"
        _copy_table(source, copy)
        load = os.getloadavg()[0]
        cpu = _cpu()
        started = time.perf_counter()
        elsewhere = write(copy, frame)
        seconds = time.perf_counter() - started
        used = _cpu_since(cpu)
        used["server"] = round(used["server"] + elsewhere, 2)
        runs[how] = {
            "how": how + " into the same schema",
            "rows": frame.height,
            "seconds": round(seconds, 2),
            "cpu": used,
            "load": [round(load, 2), round(os.getloadavg()[0], 2)],
        }
    fastest = min(runs.values(), key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    return {**fastest, "all": runs}


def _copy_table(source: str, copy: str) -> None:
    """An empty table like ``source``: its columns, indexes and constraints."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {copy} (LIKE {source} INCLUDING ALL)")
            return
        cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name = %s", [source])
        for (statement,) in [r for r in cursor.fetchall() if r[0]]:
            renamed = statement.replace(f'"{source}"', f'"{copy}"')
            cursor.execute(renamed.replace('INDEX "', f'INDEX "{copy}_'))


def _pg_copy_floor(copy: str, frame: pl.DataFrame) -> float:
    from django.db import connection, transaction

    buffer = frame.write_csv(include_header=False)
    sql = f"COPY {copy} ({LINE_COLUMNS}) FROM STDIN (FORMAT csv)"
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as cp:
        cp.write(buffer.encode())
    return 0.0


def _sqlite_floor(copy: str, frame: pl.DataFrame) -> float:
    from django.db import connection, transaction

    marks = ", ".join(["?"] * frame.width)
    with transaction.atomic():
        raw = connection.connection
        raw.executemany(f"INSERT INTO {copy} ({LINE_COLUMNS}) VALUES ({marks})", frame.rows())
    return 0.0


def _adbc_floor(copy: str, frame: pl.DataFrame) -> float:
    """ADBC's bulk ingest (its own connection; one transaction). Returns the CPU seconds of
    that connection's PostgreSQL backend."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc

        user, host, port = settings["USER"], settings["HOST"], settings["PORT"] or 5432
        uri = f"postgresql://{user}@{host}:{port}/{settings['NAME']}"
        if settings["PASSWORD"]:
            uri = f"postgresql://{user}:{settings['PASSWORD']}@{host}:{port}/{settings['NAME']}"
        conn = adbc.connect(uri)
    else:
        import adbc_driver_sqlite.dbapi as adbc

        conn = adbc.connect(str(settings["NAME"]))
    try:
        with conn.cursor() as cursor:
            pid = None
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_backend_pid()")
                pid = int(cursor.fetchone()[0])
                before = _proc_cpu(pid)
            # Binary COPY needs the column types exactly (line_no is a 4-byte integer there).
            typed = frame.with_columns(pl.col("line_no").cast(pl.Int32))
            cursor.adbc_ingest(copy, typed.to_arrow(), mode="append")
        conn.commit()
        return _proc_cpu(pid) - before if pid else 0.0
    finally:
        conn.close()


def _run_child(database_url: str, folder: Path) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", database_url, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def _report(name: str, outcome: dict[str, object]) -> None:
    print(f"\n== {name}  (peak RSS {outcome['peak_rss_mib']} MiB)")
    results = outcome["results"]
    assert isinstance(results, dict)
    for kind, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("inf")
        load = f"  load {r['load'][0]:.1f}-{r['load'][1]:.1f}" if r.get("load") else ""
        print(
            f"  {kind:<24} {r['rows']:>9,} rows  {r['seconds']:>7.2f} s  {rate:>10,.0f} rows/s"
            + _cpu_text(r)
            + load
        )
        if r.get("phases") and r["rows"] >= 100_000:
            phases = ", ".join(f"{name} {sec:.2f}" for name, sec in r["phases"].items())
            print(f"  {'':<24} ({phases})")
    floor = outcome["floor"]
    assert isinstance(floor, dict)
    for run in floor["all"].values():
        run_rate = run["rows"] / run["seconds"] if run["seconds"] else float("inf")
        print(
            f"  {'floor: ' + run['how']:<45} {run['seconds']:>7.2f} s  {run_rate:>10,.0f} "
            f"rows/s{_cpu_text(run)}  load {run['load'][0]:.1f}-{run['load'][1]:.1f}"
        )
    lines = results["order-lines"]
    floor_rate = floor["rows"] / floor["seconds"] if floor["seconds"] else float("inf")
    rate = lines["rows"] / lines["seconds"] if lines["seconds"] else float("inf")
    print(
        f"  order lines: {rate:,.0f} rows/s = {rate / floor_rate:.2f} of the floor "
        f"({floor['how']}; the import is {floor_rate / rate:.1f}x slower; "
        f"target >= {TARGET:,} rows/s)"
    )
    cpu = lines["cpu"]["python"] + lines["cpu"]["server"]
    floor_cpu = floor["cpu"]["python"] + floor["cpu"]["server"]
    print(
        f"  order lines per CPU second (this process + database server): import "
        f"{lines['rows'] / cpu:,.0f}, floor {floor['rows'] / floor_cpu:,.0f}"
    )


def _cpu_text(r: dict[str, object]) -> str:
    cpu = r.get("cpu")
    if not isinstance(cpu, dict):
        return ""
    server = f" + db {cpu['server']:.2f}" if cpu["server"] else ""
    return f"  cpu {cpu['python']:.2f}{server} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only.")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only.")
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
        if not args.no_sqlite:
            _report("SQLite", _run_child(f"sqlite:///{folder / 'bench.sqlite3'}", folder))
        if args.no_postgres:
            print("\n== PostgreSQL: skipped (--no-postgres)")
            return
        with throwaway_database() as url:
            if url is None:
                print("\n== PostgreSQL not reachable: skipped")
                return
            _report("PostgreSQL", _run_child(url, folder))


if __name__ == "__main__":
    main()
