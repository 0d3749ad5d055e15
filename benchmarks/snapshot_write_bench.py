"""Time the analysis's snapshot write alone, as `store_analysis` does it, on SQLite and PostgreSQL.

    python benchmarks/snapshot_write_bench.py --customers 1000000
    python benchmarks/snapshot_write_bench.py --customers 1000000 --no-postgres

A fresh store of N customers (built in SQL, not timed) already holding ``--history`` earlier
monthly snapshots, then three writes of one as-of date through
``staged_snapshots`` + ``replace_snapshots`` in one transaction, exactly as the analysis
service writes: the first analysis of the date, a re-analysis with the same scores, and a
re-analysis where every row's scores changed (a quarter of the statuses, stages and tiers too).
For each it prints the wall time, the CPU seconds of this process (SQLite runs inside it) and,
on PostgreSQL, of the server backend (read from /proc), and the load average. Each database
runs in a fresh child process; PostgreSQL gets a throwaway database (``WINBACK_BENCH_PG``,
default ``postgresql://postgres@127.0.0.1:5432/postgres``) and is skipped if unreachable.
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from throwaway_postgres import throwaway_database

AS_OF = date(2025, 12, 31)
STAGES = ["active", "silent", "sleeping", "lost", "prospect"]
STATUSES = ["active", "at_risk", "lost"]


def scores(customers: int, as_of: date, seed: int) -> pl.DataFrame:
    """Snapshot rows shaped like the analysis's (value spread, nulls, signal JSON lengths)."""
    from winback.analytics import frames as contracts

    rng = np.random.default_rng(seed)
    n = customers
    bought = rng.random(n) > 0.1
    signals = pl.select(
        pl.format(
            '[{{"code":"late_vs_rhythm","days_late":{},"usual_interval_days":{}}},'
            '{{"code":"long_silence","days":{}}},{{"code":"low_p_alive","p_alive_pct":{}}}]',
            pl.lit(pl.Series(rng.integers(1, 900, n))),
            pl.lit(pl.Series(rng.integers(5, 200, n))),
            pl.lit(pl.Series(rng.integers(1, 1000, n))),
            pl.lit(pl.Series(rng.integers(0, 100, n))),
        )
    ).to_series()
    frame = pl.DataFrame(
        {
            "customer_pk": np.arange(1, n + 1, dtype=np.int64),
            "as_of": pl.Series([as_of]).repeat_by(n).explode(),
            "stage": np.array(STAGES)[rng.integers(0, 5, n)],
            "customer_type": np.array(["new", "vulnerable", "alert", "evergreen", "lost"])[
                rng.integers(0, 5, n)
            ],
            "status": np.array(STATUSES)[rng.integers(0, 3, n)],
            "churn_score": rng.random(n) * 100,
            "churn_probability": np.where(bought, rng.random(n), np.nan),
            "p_alive": np.where(bought, rng.random(n), np.nan),
            "expected_purchases_365": np.where(bought, rng.random(n) * 10, np.nan),
            "clv_365": np.where(bought, rng.random(n) * 1000, np.nan),
            "value_index": np.where(bought, rng.random(n), np.nan),
            "tier": np.where(bought, rng.integers(1, 6, n), -1),
            "rfm_octant": np.array(["important_value", "general_retain", "important_keep"])[
                rng.integers(0, 3, n)
            ],
            "abc_class": np.array(["A", "B", "C", "D", "E"])[rng.integers(0, 5, n)],
            "early_warning": rng.random(n) < 0.05,
            "retention_action": np.array(["call", "coupon", "none"])[rng.integers(0, 3, n)],
            "days_since_last": np.where(bought, rng.integers(0, 1000, n), -1),
            "expected_interval_days": np.where(bought, rng.random(n) * 90, np.nan),
            "top_signals": signals,
        },
        nan_to_null=True,
    ).with_columns(
        pl.when(pl.col("tier") > 0).then(pl.col("tier")),
        pl.when(pl.col("days_since_last") >= 0).then(pl.col("days_since_last")),
        pl.when(pl.lit(pl.Series(rng.random(n) < 0.4))).then(pl.lit("[]")).otherwise("top_signals"),
    )
    return contracts.conform(frame, contracts.SNAPSHOT, "scores")


def changed(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Every score moved; a quarter of the rows change status, stage and tier."""
    rng = np.random.default_rng(seed)
    moved = pl.Series(rng.random(frame.height) < 0.25)
    return frame.with_columns(
        pl.col("churn_score") * 0.99 + 0.5,
        pl.col("p_alive") * 0.98,
        pl.when(moved).then(pl.col("status").shift(1)).otherwise("status").fill_null("lost"),
        pl.when(moved).then(pl.col("stage").shift(1)).otherwise("stage").fill_null("lost"),
        pl.when(moved).then(pl.col("tier").shift(1)).otherwise("tier"),
    )


def load_customers(customers: int) -> None:
    from django.db import connection

    from winback.store.tables import tables

    pg = connection.vendor == "postgresql"
    numbers = (
        f"SELECT generate_series(1, {customers}) AS n"
        if pg
        else f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
        f"WHERE n < {customers}) SELECT n FROM s"
    )
    key = "'C' || lpad(n::text, 8, '0')" if pg else "printf('C%08d', n)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tables().customer} (id, external_id, name, phone, email, gender, "
            "channel, decision_style, tags, key_dates, consent_marketing, do_not_contact, "
            "do_not_contact_source, notes, is_stub, row_hash, created_at, updated_at) "
            f"SELECT n, {key}, '', '', '', '', '', '', '[]', '{{}}', TRUE, FALSE, '', '', FALSE, "
            f"'', '2025-01-01 00:00:00', '2025-01-01 00:00:00' FROM ({numbers}) AS numbers"
        )
        if pg:
            cursor.execute(f"ANALYZE {tables().customer}")


def write(frame: pl.DataFrame, as_of: date) -> int:
    """As ``winback.app.analysis.service.store_analysis`` writes the snapshot."""
    from django.db import connection, transaction

    from winback.store.snapshots import replace_snapshots, staged_snapshots

    connection.ensure_connection()
    raw, vendor = connection.connection, connection.vendor
    with staged_snapshots(raw, vendor, as_of, frame) as staged, transaction.atomic():
        return replace_snapshots(raw, vendor, as_of, frame, staged=staged)


def server_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def proc_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(frame: pl.DataFrame, as_of: date) -> dict[str, Any]:
    pid = server_pid()
    load = os.getloadavg()[0]
    cpu, server = time.process_time(), proc_cpu(pid)
    started = time.perf_counter()
    rows = write(frame, as_of)
    return {
        "rows": rows,
        "wall": round(time.perf_counter() - started, 2),
        "cpu": round(time.process_time() - cpu, 2),
        "server": round(proc_cpu(pid) - server, 2),
        "load": f"{load:.1f} -> {os.getloadavg()[0]:.1f}",
    }


def child(database_url: str, folder: Path, customers: int, history: int) -> None:
    os.environ["WINBACK_DATABASE_URL"] = database_url
    os.environ["WINBACK_DATA_DIR"] = str(folder)
    from winback.store.bootstrap import setup

    setup()
    load_customers(customers)
    for month in range(history, 0, -1):
        earlier = AS_OF - timedelta(days=30 * month)
        write(scores(customers, earlier, seed=month), earlier)
    first = scores(customers, AS_OF, seed=0)
    results = {
        "first analysis of the date": timed(first, AS_OF),
        "re-analysis, same scores": timed(first, AS_OF),
        "re-analysis, changed scores": timed(changed(first, seed=1), AS_OF),
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"results": results, "peak_gib": round(peak, 2)}))


def run_child(url: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, str(folder)]
    command += ["--customers", str(args.customers), "--history", str(args.history)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(name: str, outcome: dict[str, Any]) -> None:
    print(f"\n== {name} (peak RSS {outcome['peak_gib']} GiB)")
    for what, r in outcome["results"].items():
        server = f" + server {r['server']:.2f}" if r["server"] else ""
        print(
            f"  {what:<30} {r['rows']:>9,} rows  {r['wall']:>6.2f} s  "
            f"CPU {r['cpu']:.2f}{server} s  load {r['load']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=1, help="earlier monthly snapshots")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE_URL", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.customers, args.history)
        return
    print(f"{args.customers:,} customers, {args.history} earlier snapshot(s) in the table")
    with tempfile.TemporaryDirectory(prefix="winback-snapshot-bench-") as tmp:
        folder = Path(tmp)
        if not args.no_sqlite:
            report("SQLite", run_child(f"sqlite:///{folder / 'bench.sqlite3'}", folder, args))
        if args.no_postgres:
            print("\n== PostgreSQL: skipped")
            return
        with throwaway_database() as url:
            if url is None:
                print("\n== PostgreSQL: skipped (not reachable)")
                return
            report("PostgreSQL", run_child(url, folder, args))


if __name__ == "__main__":
    main()
