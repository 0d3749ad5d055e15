"""Issue 15, defects 1-3 in the pure core: reachable channels, due dates spread from the
round's first call day within capacity, and the round's closing rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.programme.assignment import (
    days_off,
    first_call_day,
    spread_due_dates,
    working_days,
)
from winback.programme.care import HolidayCalendar
from winback.programme.rounds import (
    RoundConfig,
    RoundInputs,
    plan_round,
    reachable_channel,
    round_closes_on,
    round_state,
)

from .factories import AS_OF, ROUND_END, ROUND_START, Params, config_for, random_inputs

# --- defect 2: due dates ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 120), min_size=1, max_size=5),
    caps=st.lists(st.one_of(st.none(), st.integers(1, 40)), min_size=5, max_size=5),
    start=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    booked_n=st.integers(0, 30),
)
def test_due_dates_never_exceed_daily_capacity_and_skip_weekends(
    sizes: list[int], caps: list[int | None], start: date, booked_n: int
) -> None:
    agent = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    cap = [caps[a - 1] for a in agent]
    tasks = pl.DataFrame(
        {"agent_id": agent, "task": np.arange(agent.size), "daily_capacity": cap},
        schema={"agent_id": pl.Int64(), "task": pl.Int64(), "daily_capacity": pl.Int64()},
    )
    holidays = (start + timedelta(days=3),)
    booked = pl.DataFrame(
        {"agent_id": [1, 1], "due_date": [start, start - timedelta(days=9)], "n": [booked_n, 2]}
    )
    out = spread_due_dates(tasks, start=start, holidays=holidays, booked=booked)
    assert out.height == tasks.height
    assert out["task"].to_list() == tasks["task"].to_list()  # rows kept, in order
    if out.height == 0:
        return
    assert out["planned_date"].null_count() == 0
    assert (out["planned_date"] >= start).all()
    assert all(d.weekday() < 5 and d not in holidays for d in out["planned_date"].to_list())
    load = Counter(zip(out["agent_id"].to_list(), out["planned_date"].to_list(), strict=True))
    # The booked tasks (an overdue one counts on the first working day) share the capacity.
    first = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward", holidays=holidays)
    already = {(1, first.astype(object)): booked_n + 2}
    for (agent_id, day), n in load.items():
        limit = caps[agent_id - 1] or 40
        booked_then = already.get((agent_id, day), 0)
        assert n == 0 or n + booked_then <= max(limit, booked_then)
        if booked_then >= limit:
            assert n == 0
    # Call order within an agent never goes back in time.
    for _, part in out.group_by("agent_id"):
        assert part["planned_date"].is_sorted()


def test_a_round_planned_on_the_6th_is_not_overdue_on_day_one() -> None:
    """The issue's case: 77 calls for a 40-a-day agent, round of December planned on the 6th."""
    tasks = pl.DataFrame({"agent_id": [1] * 77, "daily_capacity": [40] * 77})
    start = first_call_day(date(2026, 12, 1), date(2026, 12, 31), date(2026, 12, 6))
    assert start == date(2026, 12, 6)  # a Sunday: the first calls are due on Monday the 7th
    out = spread_due_dates(tasks, start=start)
    per_day = dict(out.group_by("planned_date").len().iter_rows())
    assert per_day == {date(2026, 12, 7): 40, date(2026, 12, 8): 37}
    assert out["planned_date"].min() >= date(2026, 12, 6)


def test_first_call_day_keeps_the_start_for_a_round_planned_early_or_replayed_late() -> None:
    assert first_call_day(date(2026, 12, 1), date(2026, 12, 31), date(2026, 11, 28)) == date(
        2026, 12, 1
    )
    assert first_call_day(date(2026, 6, 1), date(2026, 6, 30), date(2026, 12, 6)) == date(
        2026, 6, 1
    )
    assert first_call_day(date(2026, 6, 1), date(2026, 6, 30), None) == date(2026, 6, 1)


def test_days_off_are_the_public_holidays_not_the_greeting_occasions() -> None:
    off = days_off(HolidayCalendar.default(), date(2026, 1, 1), date(2026, 12, 31))
    assert date(2026, 10, 1) in off  # National Day
    assert date(2026, 3, 8) not in off  # Women's Day: a working day
    assert date(2026, 11, 11) not in off


def test_planned_calls_start_on_the_planning_day_within_capacity() -> None:
    p = Params(
        seed=3,
        n=80,
        n_agents=3,
        capacity=3,
        dnc_rate=0.0,
        consent_rate=1.0,
        contacts_per_customer=0.0,
        holdout_share=0.1,
    )
    inputs = random_inputs(p)
    inputs = replace(
        inputs, agents=inputs.agents.with_columns(daily_capacity=pl.lit(2, dtype=pl.Int64))
    )
    planning = ROUND_START + timedelta(days=9)  # Monday 10 June 2024
    config = config_for(p, planning_day=planning)
    plan = plan_round(inputs, config, as_of=AS_OF, seed=p.seed)
    calls = plan.call_list()
    assert calls.height > 0
    assert calls["planned_date"].min() == planning
    per_day = calls.group_by("agent_id", "planned_date").len()
    assert per_day["len"].max() <= 2
    # Capacity is counted over the working days left, not the whole month.
    days_left = working_days(planning, ROUND_END)
    assert plan.summary["working_days"] == days_left
    assert plan.summary["first_call_day"] == planning.isoformat()
    assert calls.height <= 3 * 2 * days_left


# --- defect 1: reachable channels ---------------------------------------------------------------


def test_reachable_channel_falls_back_and_never_phones_without_a_number() -> None:
    frame = pl.DataFrame(
        {
            "channel": ["phone", "phone", "email", "email", "wechat", "sms", "visit"],
            "has_phone": [True, False, False, True, False, False, False],
            "has_email": [False, True, True, False, False, True, False],
        }
    )
    got = frame.select(
        reachable_channel(pl.col("channel"), pl.col("has_phone"), pl.col("has_email"))
    ).to_series()
    assert got.to_list() == ["phone", "email", "email", "phone", None, "email", "visit"]


def test_customers_without_phone_get_another_channel_or_are_not_tasked() -> None:
    p = Params(
        seed=11,
        n=60,
        n_agents=4,
        capacity=3,
        dnc_rate=0.0,
        consent_rate=1.0,
        contacts_per_customer=0.0,
        holdout_share=0.0,
    )
    inputs = random_inputs(p)
    pks = inputs.customers["customer_pk"]
    no_phone_email = set(pks.head(20).to_list())
    unreachable = set(pks.slice(20, 20).to_list())
    customers = inputs.customers.with_columns(
        has_phone=~pl.col("customer_pk").is_in(list(no_phone_email | unreachable)),
        has_email=pl.col("customer_pk").is_in(list(no_phone_email)),
    )
    inputs = replace(inputs, customers=customers, complaints=None)
    config = replace(config_for(p), tiers=None)
    plan = plan_round(inputs, config, as_of=AS_OF, seed=p.seed)
    members = plan.members
    phoned = members.filter(pl.col("channel").is_in(["phone", "sms", "wechat"]))
    assert not set(phoned["customer_pk"].to_list()) & (no_phone_email | unreachable)
    emailed = members.filter(pl.col("customer_pk").is_in(list(no_phone_email)))
    assert set(emailed["channel"].to_list()) <= {"email"}
    assert not set(members["customer_pk"].to_list()) & unreachable
    excluded = dict(plan.excluded.select("customer_pk", "cause").iter_rows())
    candidates = set(
        inputs.snapshot.filter(pl.col("status").is_in(config.statuses))["customer_pk"].to_list()
    )
    for pk in unreachable & candidates:
        assert excluded[pk] == "no_reachable_channel"
    assert plan.summary["no_reachable_channel"] == len(unreachable & candidates)
    assert plan.summary["excluded_by_cause"]["no_reachable_channel"] > 0


def test_older_flag_frames_without_contact_columns_plan_as_before() -> None:
    p = Params(3, 40, 3, 3, 0.0, 1.0, 0.0, 0.1)
    inputs = random_inputs(p)
    assert "has_phone" not in inputs.customers.columns
    plan = plan_round(inputs, config_for(p), as_of=AS_OF, seed=3)
    assert plan.summary["no_reachable_channel"] == 0


# --- defect 3: the closing rule -----------------------------------------------------------------


def test_a_round_closes_the_set_days_after_its_end() -> None:
    end = date(2026, 6, 30)
    assert round_closes_on(end) == date(2026, 7, 1)
    assert round_closes_on(end, 5) == date(2026, 7, 6)
    assert round_state("active", end, date(2026, 6, 30)) == "active"
    assert round_state("active", end, date(2026, 7, 1)) == "closed"
    assert round_state("active", end, date(2026, 7, 3), 5) == "ending"
    assert round_state("active", end, date(2026, 7, 6), 5) == "closed"
    assert round_state("closed", end, date(2026, 6, 10)) == "closed"


def test_round_config_keeps_a_planning_day() -> None:
    c = RoundConfig(round_start=ROUND_START, round_end=ROUND_END, planning_day=date(2024, 6, 5))
    assert c.planning_day == date(2024, 6, 5)
    assert isinstance(RoundInputs, type)
