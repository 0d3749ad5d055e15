"""Time reading events by their type's role (winback.store.extract.shape_events) and print
seconds: the shaping as it was before event types were configurable (codes passed through as
they came) against today's, on synthetic events.

    python benchmarks/event_roles_bench.py --events 2000000

Two cases: events of the built-in types only (the common case: no code is rewritten, one
distinct pass over the column), and a mix with a configured type (``brand_defence`` read as a
referral) and an undefined code (read as ``unknown``), where the column is rewritten. The
minimum of nine alternating runs each; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import date
from functools import partial

import numpy as np
import polars as pl

from winback.analytics.frames import EVENTS, conform
from winback.store.extract import active_roles, as_date, shape_events
from winback.vocabulary import EVENT_ROLES

AS_OF = date(2024, 6, 30)
TZ = "Asia/Shanghai"
RUNS = 9


def shape_as_before(raw: pl.DataFrame) -> pl.DataFrame:
    """shape_events without the role mapping (the codes pass through)."""
    resolved_on = (
        pl.from_epoch(pl.col("resolved_epoch").cast(pl.Int64), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(TZ)
        .dt.date()
    )
    frame = raw.with_columns(
        as_date("occurred_day").alias("occurred_date"),
        resolved_on.alias("resolved_date"),
        pl.col("resolved").cast(pl.Boolean),
    )
    later = pl.col("resolved_date") > pl.lit(AS_OF)
    frame = frame.with_columns(
        pl.when(later).then(pl.lit(False)).otherwise(pl.col("resolved")).alias("resolved"),
        pl.when(later).then(None).otherwise(pl.col("resolved_date")).alias("resolved_date"),
    )
    shaped: pl.DataFrame = conform(frame, EVENTS, "events")
    return shaped


def events(n: int, codes: list[str]) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    return pl.DataFrame(
        {
            "customer_pk": rng.integers(1, max(n // 10, 2), n),
            "event_type": pl.Series(codes).gather(rng.integers(0, len(codes), n)),
            "occurred_day": rng.integers(19000, 19800, n).astype(np.int32),
            "referred_customer_pk": pl.Series([None] * n, dtype=pl.Int64),
            "referred_bought": pl.Series([None] * n, dtype=pl.Boolean),
            "score": pl.Series([None] * n, dtype=pl.Int64),
            "adopted": pl.Series([None] * n, dtype=pl.Boolean),
            "resolved": pl.Series([None] * n, dtype=pl.Boolean),
            "resolved_epoch": pl.Series([None] * n, dtype=pl.Int64),
        }
    )


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    args = parser.parse_args()
    stored = pl.DataFrame(
        {"code": ["brand_defence"], "role": ["referral"], "active": [True]},
        schema={"code": pl.String, "role": pl.String, "active": pl.Boolean},
    )
    roles = active_roles(stored)
    cases = {
        "built-in types only": list(EVENT_ROLES),
        "with brand_defence and an undefined code": [*EVENT_ROLES, "brand_defence", "odd"],
    }
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    for name, codes in cases.items():
        raw = events(args.events, codes)
        before = best(partial(shape_as_before, raw))
        after = best(partial(shape_events, raw, AS_OF, TZ, roles))
        print(f"{args.events:,} events, {name}: before {before:.3f} s, by role {after:.3f} s")


if __name__ == "__main__":
    main()
