"""Time planning a win-back round from the database, stage by stage, and print the figures.

    python benchmarks/round_plan_db_bench.py --customers 1000000
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench \\
        python benchmarks/round_plan_db_bench.py --customers 100000

Builds a store of N customers with an analysis snapshot (about 80 % of them lost or at risk),
consent flags, a contact history and a team of 50 agents (loading is not timed), then runs the
service exactly as `winback round plan` does: read the inputs from the database, plan (the pure
rules), write members and call tasks in bulk. Without WINBACK_DATABASE_URL a fresh SQLite file
is used.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

MONTH = date(2025, 6, 1)
SNAPSHOT_DAY = date(2025, 5, 31)
AGENTS = 50
DAILY_CAPACITY = 40
BATCH = 20_000


def load(customers: int, seed: int) -> None:
    """Insert customers, snapshots and contacts with executemany in one transaction."""
    from django.db import connection, transaction

    from winback.store.accounts.models import Role, User
    from winback.store.analysis.models import AnalysisRun

    rng = np.random.default_rng(seed)
    now = datetime(2025, 5, 31, 12, 0).isoformat(sep=" ")
    status = rng.choice(["lost", "at_risk", "active"], size=customers, p=[0.5, 0.3, 0.2])
    stage = rng.choice(["silent", "sleeping", "lost"], size=customers)
    tier = rng.integers(1, 6, size=customers)
    clv = rng.gamma(2.0, 300.0, size=customers)
    alive = rng.uniform(0.05, 0.9, size=customers)
    flags = rng.random((customers, 2))
    with transaction.atomic(), connection.cursor() as cur:
        for lo in range(0, customers, BATCH):
            hi = min(lo + BATCH, customers)
            cur.executemany(
                "INSERT INTO customers_customer (id, external_id, name, phone, email, gender, "
                "channel, decision_style, tags, key_dates, consent_marketing, do_not_contact, "
                "do_not_contact_source, notes, is_stub, row_hash, created_at, updated_at) "
                "VALUES (%s, %s, '', %s, '', '', '', '', '[]', '{}', %s, %s, '', '', %s, '', "
                "%s, %s)",
                [
                    (
                        i + 1,
                        f"C{i:08d}",
                        f"138{i:08d}",
                        bool(flags[i, 0] > 0.05),
                        bool(flags[i, 1] < 0.03),
                        False,
                        now,
                        now,
                    )
                    for i in range(lo, hi)
                ],
            )
            cur.executemany(
                "INSERT INTO analysis_customersnapshot (customer_id, as_of, stage, "
                "customer_type, status, churn_score, p_alive, clv_365, tier, rfm_octant, "
                "abc_class, early_warning, retention_action, days_since_last, "
                "expected_interval_days, top_signals) VALUES (%s, %s, %s, 'regular', %s, 50.0, "
                "%s, %s, %s, '', 'B', %s, '', 120, 45.0, '[]')",
                [
                    (
                        i + 1,
                        SNAPSHOT_DAY,
                        str(stage[i]),
                        str(status[i]),
                        float(alive[i]),
                        float(clv[i]),
                        int(tier[i]),
                        False,
                    )
                    for i in range(lo, hi)
                ],
            )
            contacted = range(lo, hi, 10)
            cur.executemany(
                "INSERT INTO customers_contactlog (source_key, key_derived, customer_id, channel, "
                "direction, agent_name, outcome, occurred_at, occurred_date, reason_code, "
                "offer_code, notes, simulated, row_hash) VALUES (%s, %s, %s, 'phone', "
                "'outbound', '', 'reached', %s, %s, %s, '', '', %s, '')",
                [
                    (
                        f"k{i}",
                        False,
                        i + 1,
                        now,
                        SNAPSHOT_DAY - timedelta(days=i % 60),
                        "price" if i % 30 == 0 else "",
                        False,
                    )
                    for i in contacted
                ],
            )
        AnalysisRun.objects.create(as_of=SNAPSHOT_DAY, customers=customers)
        for k in range(AGENTS):
            User.objects.create(
                username=f"agent{k:03d}",
                role=Role.AGENT,
                seniority=3 if k < 10 else 2 if k < 25 else 1,
                daily_capacity=DAILY_CAPACITY,
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [customers]
            )
            cur.execute("ANALYZE")


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def measure(seed: int) -> dict[str, float]:
    from django.db import transaction

    from winback.app.rounds import planning

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # Everything the wizard's preview and the use case run before writing: the reads through
    # the store, the contact gate's verdicts and the pure planner.
    prepared = planning.prepare_plan(MONTH, seed=seed)
    t1 = time.perf_counter()
    timings["read inputs + contact gate + plan"] = t1 - t0
    with transaction.atomic():
        rnd = planning.persist_plan(prepared, user=None)
    t2 = time.perf_counter()
    timings["write members + tasks"] = t2 - t1
    timings["total"] = t2 - t0
    s = rnd.summary
    print(
        f"candidates {s['candidates']:,}, excluded {s['excluded']:,}, selected {s['selected']:,}"
        f", treated {s['treated']:,}, control {s['control']:,}, waitlisted {s['waitlisted']:,}"
    )
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="winback-round-bench-"))
    os.environ.setdefault("WINBACK_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ["WINBACK_DATA_DIR"] = str(folder)
    from winback.store.bootstrap import setup

    setup()
    print(f"database {os.environ['WINBACK_DATABASE_URL']}, {args.customers:,} customers")
    started = time.perf_counter()
    load(args.customers, args.seed)
    print(f"load (not part of the plan) {time.perf_counter() - started:.1f} s")
    timings = measure(args.seed)
    for stage, seconds in timings.items():
        print(f"{stage:<24}{seconds:8.2f} s")
    print(f"peak memory {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
