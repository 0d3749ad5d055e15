"""Time the monthly report for a large customer base and print seconds per format.

    python benchmarks/report_bench.py --customers 1000000
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench \\
        python benchmarks/report_bench.py --customers 100000

Builds N customers with 13 monthly analysis snapshots (stages drift month to month by a fixed
transition matrix), two orders per customer over the year and leave reasons for one customer
in twenty, in bulk (loading is not timed). Then times gathering the figures from the database,
the pure metrics, and rendering HTML (zh), PDF (zh) and XLSX (en). Without
WINBACK_DATABASE_URL a fresh SQLite file is used. Rounds are left out: their monitoring is
timed by the programme's own benchmarks.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

MONTH = date(2025, 6, 1)
BATCH = 50_000
STAGES = np.array(["prospect", "active", "silent", "sleeping", "lost"])
# Rows: from prospect, active, silent, sleeping, lost; columns: to the same order.
TRANSITIONS = np.array(
    [
        [0.90, 0.10, 0.00, 0.00, 0.00],
        [0.00, 0.70, 0.30, 0.00, 0.00],
        [0.00, 0.25, 0.45, 0.30, 0.00],
        [0.00, 0.08, 0.00, 0.72, 0.20],
        [0.00, 0.03, 0.00, 0.00, 0.97],
    ]
)
STATUS = {"prospect": "active", "active": "active", "silent": "at_risk", "sleeping": "at_risk"}
REASONS = ["price", "moved_away", "quality", "habit_lapsed", "not_found", "competitor"]


def snapshot_days() -> list[date]:
    """The first day of each of the 13 months up to the day after MONTH's end."""
    days = []
    year, month = MONTH.year, MONTH.month + 1
    for _ in range(13):
        if month > 12:
            year, month = year + 1, month - 12
        days.append(date(year, month, 1))
        month -= 1
        if month < 1:
            year, month = year - 1, month + 12
    return sorted(days)


def stage_paths(customers: int, months: int, rng: np.random.Generator) -> np.ndarray:
    """Stage index per customer per month, drawn from the transition matrix (vectorised)."""
    paths = np.empty((months, customers), dtype=np.int64)
    paths[0] = rng.choice(5, size=customers, p=[0.05, 0.45, 0.2, 0.15, 0.15])
    cumulative = TRANSITIONS.cumsum(axis=1)
    for m in range(1, months):  # 13 steps, each over all customers at once
        u = rng.random(customers)
        paths[m] = (u[:, None] > cumulative[paths[m - 1]]).sum(axis=1)
    return paths


def insert(cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    for lo in range(0, len(rows), BATCH):
        cur.executemany(sql, rows[lo : lo + BATCH])


def load(customers: int, seed: int) -> None:
    from django.db import connection, transaction

    from winback.store.analysis.models import AnalysisRun

    rng = np.random.default_rng(seed)
    days = snapshot_days()
    paths = stage_paths(customers, len(days), rng)
    tier = rng.integers(1, 6, size=customers)
    now = "2025-07-01 12:00:00"
    ids = np.arange(1, customers + 1)
    with transaction.atomic(), connection.cursor() as cur:
        insert(
            cur,
            "INSERT INTO customers_customer (id, external_id, name, phone, email, gender, "
            "channel, decision_style, tags, key_dates, consent_marketing, do_not_contact, "
            "do_not_contact_source, notes, is_stub, row_hash, created_at, updated_at) "
            "VALUES (%s, %s, '', '', '', '', '', '', '[]', '{}', %s, %s, '', '', %s, '', %s, %s)",
            [(int(i), f"C{i:08d}", True, False, False, now, now) for i in ids],
        )
        for m, day in enumerate(days):
            stages = STAGES[paths[m]]
            warn = rng.random(customers) < 0.15
            moved = np.clip(
                tier + rng.integers(-1, 2, size=customers) * (rng.random(customers) < 0.1), 1, 5
            )
            insert(
                cur,
                "INSERT INTO analysis_customersnapshot (customer_id, as_of, stage, customer_type, "
                "status, churn_score, tier, rfm_octant, abc_class, early_warning, "
                "retention_action, top_signals) VALUES (%s, %s, %s, 'regular', %s, 50.0, %s, "
                "'', 'B', %s, '', '[]')",
                [
                    (int(i), day, str(s), STATUS.get(str(s), "lost"), int(t), bool(w))
                    for i, s, t, w in zip(ids, stages, moved, warn, strict=True)
                ],
            )
            frame = pl.DataFrame({"stage": stages, "warn": warn})
            counts = {
                "stage": dict(frame.group_by("stage").len().iter_rows()),
                "status": dict(
                    frame.with_columns(pl.col("stage").replace_strict(STATUS, default="lost"))
                    .group_by("stage")
                    .len()
                    .iter_rows()
                ),
                "early_warning": {"true": int(warn.sum()), "false": int((~warn).sum())},
            }
            AnalysisRun.objects.create(as_of=day, customers=customers, counts=counts)
        order_days = rng.integers(0, 365, size=2 * customers)
        amounts = (rng.gamma(2.0, 150.0, size=2 * customers) * 100).astype(np.int64)
        insert(
            cur,
            "INSERT INTO customers_order (order_key, key_derived, customer_id, ordered_at, "
            "order_date, channel, coupon_code, amount_cents, row_hash) "
            "VALUES (%s, %s, %s, %s, %s, '', '', %s, '')",
            [
                (
                    f"o{k}",
                    False,
                    int(ids[k % customers]),
                    now,
                    days[-1] - timedelta(days=int(d)),
                    int(a),
                )
                for k, (d, a) in enumerate(zip(order_days, amounts, strict=True))
            ],
        )
        reasons = rng.choice(REASONS, size=customers // 20)
        insert(
            cur,
            "INSERT INTO customers_contactlog (source_key, key_derived, customer_id, channel, "
            "direction, agent_name, outcome, occurred_at, occurred_date, reason_code, "
            "offer_code, notes, simulated, row_hash) VALUES (%s, %s, %s, 'phone', "
            "'outbound', '', 'reached', %s, %s, %s, '', '', %s, '')",
            [
                (
                    f"k{k}",
                    False,
                    int(ids[k * 20]),
                    now,
                    MONTH + timedelta(days=k % 28),
                    str(r),
                    False,
                )
                for k, r in enumerate(reasons)
            ],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def loaded(customers: int) -> bool:
    from winback.store.analysis.models import AnalysisRun
    from winback.store.customers.models import Customer

    return Customer.objects.count() == customers and AnalysisRun.objects.count() == len(
        snapshot_days()
    )


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def measure() -> dict[str, float]:
    from winback.app.reports.service import gather, render
    from winback.reporting.metrics import build_report

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inputs = gather(MONTH)
    t1 = time.perf_counter()
    timings["gather (SQL)"] = t1 - t0
    report = build_report(inputs)
    t2 = time.perf_counter()
    timings["metrics (pure)"] = t2 - t1
    for lang, fmt in (("zh", "html"), ("zh", "pdf"), ("en", "xlsx")):
        started = time.perf_counter()
        size = len(render(report, lang, fmt))
        timings[f"render {fmt} ({size / 1024:.0f} KiB)"] = time.perf_counter() - started
    timings["total"] = time.perf_counter() - t0
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--folder",
        type=Path,
        help="Keep the SQLite database here and reuse it when it already holds the data.",
    )
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="winback-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WINBACK_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ["WINBACK_DATA_DIR"] = str(folder)
    from winback.store.bootstrap import setup

    setup()
    print(f"database {os.environ['WINBACK_DATABASE_URL']}, {args.customers:,} customers")
    started = time.perf_counter()
    if loaded(args.customers):
        print("reusing the data already loaded")
    else:
        load(args.customers, args.seed)
        print(f"load (not timed below) {time.perf_counter() - started:.1f} s")
    for stage, seconds in measure().items():
        print(f"{stage:<28}{seconds:8.2f} s")
    print(f"peak memory {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
