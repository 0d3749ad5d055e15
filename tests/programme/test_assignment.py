"""Assignment to agents: capacity, seniority, balance, dates (R6)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.programme.assignment import (
    SeniorityRules,
    agent_capacity,
    assign_agents,
    level_quotas,
    select_within_capacity,
    with_required_seniority,
    working_days,
)
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy

MONDAY = date(2024, 6, 3)


def test_working_days_skip_weekends_and_holidays() -> None:
    assert working_days(date(2024, 6, 1), date(2024, 6, 30)) == 20
    assert working_days(date(2024, 6, 1), date(2024, 6, 30), [date(2024, 6, 10)]) == 19


def test_level_quotas_fill_from_the_top_and_pass_unused_senior_capacity_down() -> None:
    # 10 senior, 5 intermediate, 20 junior places.
    cap = {3: 10, 2: 5, 1: 20}
    assert level_quotas({3: 4, 2: 8, 1: 100}, cap) == {3: 4, 2: 8, 1: 23}
    assert level_quotas({3: 30, 2: 8, 1: 100}, cap) == {3: 10, 2: 5, 1: 20}
    assert level_quotas({1: 5}, cap) == {3: 0, 2: 0, 1: 5}
    # Inflated for a 50% holdout, with two places kept free.
    assert level_quotas({3: 100}, cap, scale=2.0, margin=2) == {3: 18, 2: 0, 1: 0}


def test_required_seniority_takes_the_strictest_rule() -> None:
    frame = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5],
            "tier": [1, 2, 4, 4, 5],
            "reason_code": [None, None, "attitude", "price", None],
        },
        schema_overrides={"reason_code": pl.String()},
    )
    out = with_required_seniority(
        frame, Playbooks.default(), Taxonomy.default(), SeniorityRules()
    ).sort("customer_pk")
    # tier 1 -> 3, tier 2 -> 2, attitude is sensitive -> 3, price's playbook asks 2.
    assert out["required_seniority"].to_list() == [3, 2, 3, 2, 1]


agents_strategy = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 6)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    agents=agents_strategy,
    n=st.integers(0, 150),
    seed=st.integers(0, 2**31),
)
def test_assignment_never_breaks_capacity_or_seniority(
    agents: list[tuple[int, int]], n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    agent_frame = pl.DataFrame(
        {
            "agent_id": list(range(1, len(agents) + 1)),
            "seniority": [s for s, _ in agents],
            "daily_capacity": [c for _, c in agents],
        }
    )
    capacity = agent_capacity(agent_frame, days=5)
    customers = pl.DataFrame(
        {
            "customer_pk": np.arange(n, dtype=np.int64),
            "required_seniority": rng.integers(1, 4, n),
            "priority_rank": rng.permutation(n) + 1,
        }
    )
    chosen = select_within_capacity(customers, capacity).filter("selected")
    out = assign_agents(chosen, capacity, round_start=MONDAY)
    # Everything selected fits: the nested quotas are feasible.
    assert out["agent_id"].null_count() == 0
    joined = out.join(chosen, on="customer_pk").join(
        agent_frame.rename({"seniority": "s"}), on="agent_id"
    )
    assert (joined["s"] >= joined["required_seniority"]).all()
    per_agent = joined.group_by("agent_id").agg(pl.len(), pl.col("daily_capacity").first())
    assert (per_agent["len"] <= per_agent["daily_capacity"] * 5).all()
    per_day = joined.group_by("agent_id", "planned_date").agg(
        pl.len(), pl.col("daily_capacity").first()
    )
    assert (per_day["len"] <= per_day["daily_capacity"]).all()
    # Selection is maximal: a skipped customer had no free place at its level.
    skipped = customers.join(chosen, on="customer_pk", how="anti")
    for level in skipped["required_seniority"].unique().to_list():
        room = int(agent_frame.filter(pl.col("seniority") >= level)["daily_capacity"].sum() * 5)
        used = joined.filter(pl.col("s") >= level).height
        assert used == room


def test_load_is_balanced_by_capacity_and_mixes_priorities() -> None:
    agents = pl.DataFrame(
        {"agent_id": [1, 2, 3], "seniority": [1, 1, 1], "daily_capacity": [10, 10, 20]}
    )
    capacity = agent_capacity(agents, days=5)
    customers = pl.DataFrame(
        {
            "customer_pk": np.arange(100),
            "required_seniority": np.ones(100, dtype=np.int64),
            "priority_rank": np.arange(1, 101),
        }
    )
    out = assign_agents(customers, capacity, round_start=MONDAY).join(customers, on="customer_pk")
    loads = dict(out.group_by("agent_id").len().iter_rows())
    assert loads == {1: 25, 2: 25, 3: 50}  # proportional to capacity
    top = out.filter(pl.col("priority_rank") <= 20)["agent_id"].unique().sort().to_list()
    assert top == [1, 2, 3]  # the best customers are spread over every list
    # Agent 3 (20 a day) needs 3 days for 50 calls: Monday to Wednesday.
    dates = out.filter(pl.col("agent_id") == 3)["planned_date"].unique().sort().to_list()
    assert dates == [date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)]
