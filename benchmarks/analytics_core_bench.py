"""Time and memory of winback.analytics.pipeline.analyze on a large synthetic base.

Prints figures; asserts nothing. Default: 1,000,000 customers and about 20,000,000 order
lines (``--customers`` scales both). The frames are built directly (no database), so the
figure is the analytics core alone; extraction and snapshot writing are measured elsewhere.

    .venv/bin/python benchmarks/analytics_core_bench.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from datetime import date

import numpy as np
import polars as pl

from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    AnalyticsFrames,
)
from winback.analytics.pipeline import analyze
from winback.config import preset

AS_OF = date(2025, 12, 31)
FIRST_DAY = (date(2021, 1, 1) - date(1970, 1, 1)).days
LAST_DAY = (AS_OF - date(1970, 1, 1)).days
CATEGORIES = [f"cat{i:02d}" for i in range(40)]
NECESSITY = ["necessary", "discretionary", None, "necessary"] * 10
KINDS = ["forum_post", "forum_reply", "qa_answer", "event_attendance", "survey_response"]
KINDS += ["suggestion", "complaint", "referral"]


def build(n: int, seed: int = 1) -> AnalyticsFrames:
    """About 6 orders and 20 lines per customer, dropouts BG/NBD-style."""
    rng = np.random.default_rng(seed)
    pk = np.arange(1, n + 1, dtype=np.int64)
    join = rng.integers(FIRST_DAY, LAST_DAY - 30, size=n)
    # BG/NBD-like: a personal rate while alive, a dropout chance after each repeat purchase.
    rate = np.clip(rng.gamma(1.5, 1 / 60.0, size=n), 1 / 500, 1 / 3)
    repeats = np.minimum(rng.geometric(rng.beta(1.2, 6.0, size=n)) - 1, 60)
    n_orders = repeats + 1
    owner = np.repeat(np.arange(n), n_orders)
    gaps = rng.exponential(1.0, size=owner.size) / rate[owner]
    starts = np.cumsum(n_orders) - n_orders
    gaps[starts] = 0.0
    running = np.cumsum(gaps)
    day = join[owner] + (running - running[starts][np.repeat(np.arange(n), n_orders)]).astype(
        np.int64
    )
    kept = day <= LAST_DAY
    owner, day = owner[kept], day[kept]
    orders = pl.DataFrame(
        {
            "order_pk": np.arange(1, owner.size + 1, dtype=np.int64),
            "customer_pk": pk[owner],
            "order_date": pl.Series(day.astype(np.int32)).cast(pl.Date),
            "amount_cents": rng.gamma(3.0, 3000.0, size=owner.size).astype(np.int64),
            "coupon_code": pl.Series([None] * owner.size, dtype=pl.String),
        },
        schema=ORDERS,
    )
    per_order = rng.poisson(2.3, size=owner.size) + 1
    line_order = np.repeat(np.arange(owner.size), per_order)
    category = rng.integers(0, len(CATEGORIES), size=line_order.size)
    lines = pl.DataFrame(
        {
            "order_pk": orders["order_pk"].gather(line_order),
            "customer_pk": orders["customer_pk"].gather(line_order),
            "order_date": orders["order_date"].gather(line_order),
            "category_code": pl.Series(CATEGORIES).gather(category),
            "necessity": pl.Series(NECESSITY, dtype=pl.String).gather(category),
            "replenishment_days": pl.Series([None] * line_order.size, dtype=pl.Int64),
            "quantity": np.ones(line_order.size),
            "amount_cents": rng.gamma(2.0, 1000.0, size=line_order.size).astype(np.int64),
        },
        schema=ORDER_LINES,
    )
    n_events = rng.poisson(3.0, size=n) * (rng.random(n) < 0.4)
    e_owner = np.repeat(np.arange(n), n_events)
    kind = rng.integers(0, len(KINDS), size=e_owner.size)
    e_day = rng.integers(join[e_owner], LAST_DAY + 1)
    kind_name = pl.col("event_type")
    events = pl.DataFrame(
        {
            "customer_pk": pk[e_owner],
            "event_type": pl.Series(KINDS).gather(kind),
            "occurred_date": pl.Series(e_day.astype(np.int32)).cast(pl.Date),
            "referred_customer_pk": rng.integers(1, n + 1, size=e_owner.size),
            "score": rng.integers(0, 11, size=e_owner.size),
            "flag": rng.random(e_owner.size) < 0.5,
        }
    ).select(
        "customer_pk",
        "event_type",
        "occurred_date",
        pl.when(kind_name == "referral")
        .then(pl.col("referred_customer_pk"))
        .alias("referred_customer_pk"),
        pl.lit(None, dtype=pl.Boolean).alias("referred_bought"),
        pl.when(kind_name == "survey_response").then(pl.col("score")).alias("score"),
        pl.when(kind_name == "suggestion").then(pl.col("flag")).alias("adopted"),
        pl.when(kind_name == "complaint").then(pl.col("flag")).alias("resolved"),
        pl.lit(None, dtype=pl.Date).alias("resolved_date"),
    )
    events = events.select([pl.col(c).cast(t) for c, t in EVENTS.items()])
    n_contacts = rng.poisson(2.0, size=n)
    c_owner = np.repeat(np.arange(n), n_contacts)
    contacts = pl.DataFrame(
        {
            "customer_pk": pk[c_owner],
            "occurred_date": pl.Series(
                rng.integers(FIRST_DAY, LAST_DAY + 1, size=c_owner.size).astype(np.int32)
            ).cast(pl.Date),
            "channel": pl.Series(["phone"]).gather(np.zeros(c_owner.size, dtype=np.int64)),
            "direction": pl.Series(["outbound", "inbound"]).gather(
                rng.integers(0, 2, size=c_owner.size)
            ),
            "outcome": pl.Series(["reached", "not_reached"]).gather(
                rng.integers(0, 2, size=c_owner.size)
            ),
        },
        schema=CONTACTS,
    )
    customers = pl.DataFrame(
        {
            "customer_pk": pk,
            "external_id": pl.Series(pk).cast(pl.String),
            "join_date": pl.Series(join.astype(np.int32)).cast(pl.Date),
            "birthday": pl.Series([None] * n, dtype=pl.Date),
            "store_code": pl.Series([None] * n, dtype=pl.String),
            "is_stub": np.zeros(n, dtype=bool),
            "consent_marketing": np.ones(n, dtype=bool),
            "do_not_contact": np.zeros(n, dtype=bool),
        },
        schema=CUSTOMERS,
    )
    return AnalyticsFrames(customers, orders, lines, events, contacts)


def rss_gib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


class PeakSampler(threading.Thread):
    """Samples the resident set size every 50 ms while the measured call runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_gib())
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    frames = build(args.customers)
    built = time.perf_counter() - started
    print(
        f"frames: {frames.customers.height:,} customers, {frames.orders.height:,} orders, "
        f"{frames.order_lines.height:,} lines, {frames.events.height:,} events, "
        f"{frames.contacts.height:,} contacts (built in {built:.1f} s)"
    )
    print(f"RSS holding the frames: {rss_gib():.2f} GiB")
    sampler = PeakSampler()
    sampler.start()
    started = time.perf_counter()
    result = analyze(frames, preset("retail"), AS_OF)
    elapsed = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"analyze(): {elapsed:.1f} s wall; stages {result.timings}")
    print(f"peak RSS during analyze(): {sampler.peak:.2f} GiB (process high-water {max_rss:.2f})")
    print(f"scored {result.scores.height:,} customers; model {result.model['value_model']}")
    print(result.model)
    held = result.backtest.get("scores", {})
    print("held-out", {k: (v or {}).get("roc_auc") for k, v in held.items()})


if __name__ == "__main__":
    main()
