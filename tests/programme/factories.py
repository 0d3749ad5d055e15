"""Random round inputs for the programme's property tests, and plain-Python oracles."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from hypothesis import strategies as st

from winback.programme.rounds import RoundConfig, RoundInputs

AS_OF = date(2024, 5, 31)
ROUND_START = date(2024, 6, 1)
ROUND_END = date(2024, 6, 30)
STAGES = ("active", "silent", "sleeping", "lost")
REASONS = (None, "price", "attitude", "speed", "moved_away", "poor_results", "habit_lapsed")


@dataclass(frozen=True)
class Params:
    seed: int
    n: int
    n_agents: int
    capacity: int
    dnc_rate: float
    consent_rate: float
    contacts_per_customer: float
    holdout_share: float


params_strategy = st.builds(
    Params,
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 80),
    n_agents=st.integers(1, 5),
    capacity=st.integers(0, 3),
    dnc_rate=st.sampled_from([0.0, 0.2, 0.6]),
    consent_rate=st.sampled_from([1.0, 0.8, 0.3]),
    contacts_per_customer=st.sampled_from([0.0, 1.0, 4.0]),
    holdout_share=st.sampled_from([0.0, 0.1, 0.3, 0.5]),
)


def random_inputs(p: Params) -> RoundInputs:
    rng = np.random.default_rng(p.seed)
    n = p.n
    pk = rng.choice(np.arange(1, 10 * n + 2), size=n, replace=False).astype(np.int64)
    stage = rng.choice(STAGES, n)
    snapshot = pl.DataFrame(
        {
            "customer_pk": pk,
            "stage": stage,
            "status": rng.choice(["active", "at_risk", "lost"], n),
            "tier": rng.integers(1, 6, n),
            "clv_365": rng.gamma(2.0, 300.0, n),
            "p_alive": rng.uniform(0.0, 1.0, n),
            "expected_interval_days": rng.uniform(5.0, 200.0, n),
            "days_since_last": rng.integers(0, 500, n),
            "avg_ticket": rng.gamma(2.0, 80.0, n),
        },
        schema_overrides={"stage": pl.String(), "status": pl.String()},
    )
    customers = pl.DataFrame(
        {
            "customer_pk": pk,
            "do_not_contact": rng.random(n) < p.dnc_rate,
            "consent_marketing": rng.random(n) < p.consent_rate,
            "utc_offset_minutes": rng.choice([480, 480, 480, -300], n).astype(np.int64),
        }
    )
    m = int(n * p.contacts_per_customer)
    contacts = pl.DataFrame(
        {
            "customer_pk": rng.choice(pk, m) if n else np.array([], dtype=np.int64),
            "occurred_date": [AS_OF - timedelta(days=int(d)) for d in rng.integers(-5, 120, m)],
            "channel": rng.choice(["phone", "sms", "wechat"], m),
            "direction": rng.choice(["outbound", "outbound", "inbound"], m),
            "outcome": rng.choice(["reached", "not_reached"], m),
            "reason_code": [REASONS[int(i)] for i in rng.integers(0, len(REASONS), m)],
        },
        schema_overrides={
            "customer_pk": pl.Int64(),
            "occurred_date": pl.Date(),
            "channel": pl.String(),
            "direction": pl.String(),
            "outcome": pl.String(),
            "reason_code": pl.String(),
        },
    )
    k = n // 5
    complaints = pl.DataFrame(
        {
            "customer_pk": rng.choice(pk, k) if n else np.array([], dtype=np.int64),
            "occurred_date": [AS_OF - timedelta(days=int(d)) for d in rng.integers(0, 60, k)],
            "resolved": rng.random(k) < 0.5,
        },
        schema_overrides={"customer_pk": pl.Int64(), "occurred_date": pl.Date()},
    )
    agents = pl.DataFrame(
        {
            "agent_id": np.arange(1, p.n_agents + 1, dtype=np.int64),
            "seniority": rng.integers(1, 4, p.n_agents),
            "daily_capacity": rng.integers(0, p.capacity + 1, p.n_agents),
        }
    )
    favourites = pl.DataFrame(
        {
            "customer_pk": pk,
            "category_code": rng.choice(["a", "b", "c"], n),
            "spend_share": rng.uniform(0.2, 1.0, n),
        },
        schema_overrides={"category_code": pl.String()},
    )
    return RoundInputs(
        snapshot=snapshot,
        customers=customers,
        agents=agents,
        contacts=contacts,
        complaints=complaints,
        favourites=favourites,
    )


def config_for(p: Params, **overrides: Any) -> RoundConfig:
    base = RoundConfig(
        round_start=ROUND_START,
        round_end=ROUND_END,
        holdout_share=p.holdout_share,
        max_contacts_in_window=3,
        contact_window_days=30,
    )
    return replace(base, **overrides)


def outbound_counts(contacts: pl.DataFrame, as_of: date, window: int) -> Counter[int]:
    """Plain-Python oracle: outbound contacts per customer in the last ``window`` days."""
    counts: Counter[int] = Counter()
    for row in contacts.iter_rows(named=True):
        age = (as_of - row["occurred_date"]).days
        if row["direction"] == "outbound" and 0 <= age < window:
            counts[row["customer_pk"]] += 1
    return counts
