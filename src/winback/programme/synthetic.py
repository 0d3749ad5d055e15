"""Synthetic round inputs for benchmarks, tests and demonstrations (seeded, vectorised).

The frames follow the contracts of :mod:`winback.programme.frames`. The numbers are plausible,
not calibrated: stages follow days since the last purchase (45/90/180), values are lognormal,
a few percent of customers carry each exclusion cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from winback.programme.reasons import REASON_CODES

CATEGORIES = tuple(f"cat{i:02d}" for i in range(12))


@dataclass(frozen=True)
class SyntheticRound:
    snapshot: pl.DataFrame
    customers: pl.DataFrame
    contacts: pl.DataFrame
    complaints: pl.DataFrame
    memberships: pl.DataFrame
    favourites: pl.DataFrame
    agents: pl.DataFrame


def synthetic_round(
    n_customers: int, *, as_of: date, seed: int, n_agents: int = 50, daily_capacity: int = 40
) -> SyntheticRound:
    rng = np.random.default_rng(seed)
    n = n_customers
    pk = np.arange(1, n + 1, dtype=np.int64)
    days = np.minimum(rng.gamma(1.2, 120.0, n), 2000).astype(np.int64)
    stage = np.select(
        [days < 45, days < 90, days < 180], ["active", "silent", "sleeping"], default="lost"
    )
    interval = np.clip(rng.gamma(2.0, 25.0, n), 5.0, 400.0)
    lateness = days / interval
    status = np.where(lateness >= 3.0, "lost", np.where(lateness >= 1.5, "at_risk", "active"))
    p_alive = np.clip(np.exp(-lateness / 3.0) + rng.normal(0, 0.05, n), 0.01, 1.0)
    ticket = np.exp(rng.normal(5.3, 0.7, n))
    clv = p_alive * ticket * 365.0 / interval * rng.uniform(0.5, 1.0, n)
    rank = np.argsort(np.argsort(-clv))  # 0 = most valuable
    tier = (1 + rank * 5 // max(n, 1)).astype(np.int64)  # 1 = most valuable fifth
    snapshot = pl.DataFrame(
        {
            "customer_pk": pk,
            "as_of": pl.repeat(as_of, n, eager=True),
            "stage": stage,
            "status": status,
            "customer_type": np.where(stage == "active", "evergreen", "lost"),
            "tier": tier,
            "churn_score": np.clip(lateness * 20, 0, 100),
            "p_alive": p_alive,
            "clv_365": clv,
            "value_index": clv,
            "expected_interval_days": interval,
            "days_since_last": days,
            "avg_ticket": ticket,
        }
    )
    customers = pl.DataFrame(
        {
            "customer_pk": pk,
            "do_not_contact": rng.random(n) < 0.03,
            "consent_marketing": rng.random(n) < 0.92,
            "utc_offset_minutes": np.where(rng.random(n) < 0.01, -300, 480).astype(np.int64),
        }
    )
    return SyntheticRound(
        snapshot=snapshot,
        customers=customers,
        contacts=_contacts(rng, pk, as_of),
        complaints=_complaints(rng, pk, as_of),
        memberships=_memberships(rng, pk, as_of),
        favourites=_favourites(rng, pk),
        agents=_agents(rng, n_agents, daily_capacity),
    )


def _dates(as_of: date, back_days: np.ndarray) -> pl.Series:
    epoch = (as_of - date(1970, 1, 1)).days
    return pl.Series(epoch - back_days.astype(np.int64), dtype=pl.Int64).cast(pl.Date)


def _contacts(rng: np.random.Generator, pk: np.ndarray, as_of: date) -> pl.DataFrame:
    m = int(pk.size * 0.6)
    who = rng.choice(pk, m)
    reasons = pl.Series(list(REASON_CODES), dtype=pl.String).gather(
        rng.integers(0, len(REASON_CODES), m)
    )
    has_reason = pl.Series(rng.random(m) < 0.3)
    return pl.DataFrame(
        {
            "customer_pk": who,
            "occurred_date": _dates(as_of, rng.integers(0, 120, m)),
            "channel": rng.choice(["phone", "sms", "wechat"], m),
            "direction": np.where(rng.random(m) < 0.85, "outbound", "inbound"),
            "outcome": rng.choice(["reached", "not_reached", "call_back"], m),
            "reason_code": reasons.zip_with(has_reason, pl.Series([None] * m, dtype=pl.String)),
        }
    )


def _complaints(rng: np.random.Generator, pk: np.ndarray, as_of: date) -> pl.DataFrame:
    m = int(pk.size * 0.02)
    return pl.DataFrame(
        {
            "customer_pk": rng.choice(pk, m),
            "occurred_date": _dates(as_of, rng.integers(0, 365, m)),
            "resolved": rng.random(m) < 0.5,
        }
    )


def _memberships(rng: np.random.Generator, pk: np.ndarray, as_of: date) -> pl.DataFrame:
    """Past rounds: some customers were in one round, some in three monthly rounds running."""
    once = rng.choice(pk, int(pk.size * 0.05), replace=False)
    thrice = rng.choice(np.setdiff1d(pk, once), int(pk.size * 0.02), replace=False)
    who = np.concatenate([once, np.repeat(thrice, 3)])
    months_back = np.concatenate(
        [rng.integers(1, 6, once.size), np.tile(np.array([4, 3, 2]), thrice.size)]
    )
    arm = np.where(rng.random(who.size) < 0.1, "control", "treated")
    arm[once.size :] = np.repeat(np.where(rng.random(thrice.size) < 0.1, "control", "treated"), 3)
    start_back = months_back * 30
    return pl.DataFrame(
        {
            "customer_pk": who,
            "round_id": [f"r{k}" for k in months_back.tolist()],
            "starts": _dates(as_of, start_back),
            "ends": _dates(as_of, start_back - 29),
            "arm": arm,
            "returned": rng.random(who.size) < 0.1,
        }
    )


def _favourites(rng: np.random.Generator, pk: np.ndarray) -> pl.DataFrame:
    k = rng.integers(1, 4, pk.size)
    who = np.repeat(pk, k)
    cats = pl.Series(list(CATEGORIES), dtype=pl.String).gather(
        rng.integers(0, len(CATEGORIES), who.size)
    )
    frame = pl.DataFrame(
        {
            "customer_pk": who,
            "category_code": cats,
            "weight": rng.random(who.size),
        }
    ).unique(["customer_pk", "category_code"])
    return frame.with_columns(
        spend_share=pl.col("weight") / pl.col("weight").sum().over("customer_pk"),
        replenishment_days=pl.when(pl.col("category_code") < "cat04")
        .then(pl.lit(30, dtype=pl.Int64))
        .otherwise(pl.lit(None, dtype=pl.Int64)),
    ).drop("weight")


def _agents(rng: np.random.Generator, n_agents: int, daily_capacity: int) -> pl.DataFrame:
    seniority = np.select(
        [np.arange(n_agents) < n_agents * 0.2, np.arange(n_agents) < n_agents * 0.5],
        [3, 2],
        default=1,
    ).astype(np.int64)
    return pl.DataFrame(
        {
            "agent_id": np.arange(1001, 1001 + n_agents, dtype=np.int64),
            "seniority": seniority,
            "daily_capacity": np.full(n_agents, daily_capacity, dtype=np.int64),
        }
    )
