"""Round planning: exclusions, holdout, priority, assignment, reproducibility (R6, R13)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal

from winback.config import preset
from winback.programme.assignment import working_days
from winback.programme.playbooks import Playbooks
from winback.programme.rounds import (
    EXCLUSION_CAUSES,
    RoundConfig,
    RoundInputs,
    plan_round,
)
from winback.programme.synthetic import synthetic_round

from .factories import (
    AS_OF,
    ROUND_END,
    ROUND_START,
    Params,
    config_for,
    outbound_counts,
    params_strategy,
    random_inputs,
)

PLAYBOOKS = Playbooks.default()


@settings(max_examples=40, deadline=None)
@given(params_strategy)
def test_call_list_never_holds_protected_or_over_cap_customers(p: Params) -> None:
    inputs = random_inputs(p)
    plan = plan_round(inputs, config_for(p), as_of=AS_OF, seed=p.seed)
    calls = plan.call_list()
    flags = {r["customer_pk"]: r for r in inputs.customers.iter_rows(named=True)}
    stage = dict(inputs.snapshot.select("customer_pk", "stage").iter_rows())
    assert inputs.contacts is not None
    in_30 = outbound_counts(inputs.contacts, AS_OF, 30)
    for pk in calls["customer_pk"].to_list():
        assert not flags[pk]["do_not_contact"]
        assert flags[pk]["consent_marketing"]
        assert in_30[pk] < 3
        policy = PLAYBOOKS.for_stage(stage[pk])
        assert outbound_counts(inputs.contacts, AS_OF, policy.window_days)[pk] < (
            policy.max_contacts
        )


@settings(max_examples=40, deadline=None)
@given(params_strategy)
def test_control_customers_are_never_assigned(p: Params) -> None:
    plan = plan_round(random_inputs(p), config_for(p), as_of=AS_OF, seed=p.seed)
    control = plan.members.filter(pl.col("arm") == "control")
    assert control["agent_id"].null_count() == control.height
    assert control["planned_date"].null_count() == control.height
    called = set(plan.call_list()["customer_pk"].to_list())
    assert called.isdisjoint(control["customer_pk"].to_list())
    assert set(plan.offers["customer_pk"].to_list()).isdisjoint(control["customer_pk"].to_list())


@settings(max_examples=40, deadline=None)
@given(params_strategy)
def test_assignment_respects_capacity_and_seniority(p: Params) -> None:
    inputs = random_inputs(p)
    plan = plan_round(inputs, config_for(p), as_of=AS_OF, seed=p.seed)
    days = working_days(ROUND_START, ROUND_END)
    agents = {r["agent_id"]: r for r in inputs.agents.iter_rows(named=True)}
    calls = plan.call_list()
    for agent_id, count in calls.group_by("agent_id").len().iter_rows():
        assert count <= agents[agent_id]["daily_capacity"] * days
    for row in calls.iter_rows(named=True):
        assert agents[row["agent_id"]]["seniority"] >= row["required_seniority"]
        assert ROUND_START <= row["planned_date"] <= ROUND_END
    # Daily capacity holds on every planned day too.
    per_day = calls.group_by("agent_id", "planned_date").len()
    for agent_id, _, count in per_day.iter_rows():
        assert count <= agents[agent_id]["daily_capacity"]


@settings(max_examples=25, deadline=None)
@given(params_strategy)
def test_summary_adds_up(p: Params) -> None:
    s = plan_round(random_inputs(p), config_for(p), as_of=AS_OF, seed=p.seed).summary
    assert s["candidates"] == s["excluded"] + s["eligible"]
    assert sum(s["excluded_by_cause"].values()) == s["excluded"]
    assert list(s["excluded_by_cause"]) == list(EXCLUSION_CAUSES)
    assert s["eligible"] == s["selected"] + s["waitlisted"]
    assert s["selected"] == s["treated"] + s["control"]
    assert s["treated"] == s["assigned"] + s["treated_unassigned"]
    assert sum(s["per_agent"].values()) == s["assigned"]


@settings(max_examples=25, deadline=None)
@given(params_strategy)
def test_same_inputs_and_seed_give_the_same_plan_whatever_the_row_order(p: Params) -> None:
    inputs = random_inputs(p)
    shuffled = RoundInputs(
        snapshot=inputs.snapshot.sample(fraction=1.0, shuffle=True, seed=1),
        customers=inputs.customers.sample(fraction=1.0, shuffle=True, seed=2),
        agents=inputs.agents.sample(fraction=1.0, shuffle=True, seed=3),
        contacts=inputs.contacts,
        complaints=inputs.complaints,
        favourites=inputs.favourites,
    )
    a = plan_round(inputs, config_for(p), as_of=AS_OF, seed=p.seed)
    b = plan_round(shuffled, config_for(p), as_of=AS_OF, seed=p.seed)
    assert_frame_equal(a.members, b.members)
    assert_frame_equal(a.excluded, b.excluded)
    assert_frame_equal(a.offers, b.offers)
    assert a.summary == b.summary


def _big_plan(seed: int) -> pl.DataFrame:
    s = synthetic_round(3000, as_of=AS_OF, seed=11, n_agents=10, daily_capacity=40)
    inputs = RoundInputs(
        snapshot=s.snapshot, customers=s.customers, agents=s.agents, contacts=s.contacts
    )
    config = RoundConfig(round_start=ROUND_START, round_end=ROUND_END, holdout_share=0.1)
    members: pl.DataFrame = plan_round(inputs, config, as_of=AS_OF, seed=seed).members
    return members


def test_a_different_seed_draws_a_different_control_with_the_same_strata_sizes() -> None:
    a, b = _big_plan(1), _big_plan(2)
    assert_frame_equal(a.select("customer_pk"), b.select("customer_pk"))  # same selection
    control_a = set(a.filter(pl.col("arm") == "control")["customer_pk"].to_list())
    control_b = set(b.filter(pl.col("arm") == "control")["customer_pk"].to_list())
    assert control_a != control_b
    assert len(control_a & control_b) < 0.5 * len(control_a)  # overlap ~ share, not ~ all

    def sizes(m: pl.DataFrame) -> dict[tuple[int, str], int]:
        control = m.filter(pl.col("arm") == "control").group_by("tier", "stage").len()
        return {(t, s): n for t, s, n in control.iter_rows()}

    sa, sb = sizes(a), sizes(b)
    strata = a.group_by("tier", "stage").len()
    for tier, stage, total in strata.iter_rows():
        na, nb = sa.get((tier, stage), 0), sb.get((tier, stage), 0)
        assert abs(na - nb) <= 1
        assert abs(na - 0.1 * total) <= 1


def _one_customer_frames(rows: list[dict[str, Any]]) -> RoundInputs:
    n = len(rows)
    pks = [int(r["pk"]) for r in rows]
    snapshot = pl.DataFrame(
        {
            "customer_pk": pks,
            "stage": [r.get("stage", "lost") for r in rows],
            "status": ["lost"] * n,
            "tier": [r.get("tier", 3) for r in rows],
            "clv_365": [r.get("clv", 1000.0) for r in rows],
            "p_alive": [0.5] * n,
            "expected_interval_days": [30.0] * n,
            "days_since_last": [200] * n,
        }
    )
    customers = pl.DataFrame(
        {
            "customer_pk": pks,
            "do_not_contact": [r.get("dnc", False) for r in rows],
            "consent_marketing": [r.get("consent", True) for r in rows],
            "utc_offset_minutes": [r.get("offset", 480) for r in rows],
        }
    )
    contacts = pl.DataFrame(
        {
            "customer_pk": [
                pk
                for r, pk in zip(rows, pks, strict=True)
                for _ in range(int(r.get("contacts", 0)))
            ],
            "occurred_date": [
                AS_OF - timedelta(days=i) for r in rows for i in range(int(r.get("contacts", 0)))
            ],
            "channel": "phone",
            "outcome": "reached",
        },
        schema_overrides={"customer_pk": pl.Int64(), "occurred_date": pl.Date()},
    )
    complaints = pl.DataFrame(
        {
            "customer_pk": [pk for r, pk in zip(rows, pks, strict=True) if r.get("complaint")],
            "occurred_date": [AS_OF - timedelta(days=3) for r in rows if r.get("complaint")],
        },
        schema_overrides={"customer_pk": pl.Int64(), "occurred_date": pl.Date()},
    )
    memberships = pl.DataFrame(
        [m for r in rows for m in r.get("memberships", [])],
        schema={
            "customer_pk": pl.Int64(),
            "round_id": pl.String(),
            "starts": pl.Date(),
            "ends": pl.Date(),
            "arm": pl.String(),
            "returned": pl.Boolean(),
        },
    )
    agents = pl.DataFrame({"agent_id": [1, 2], "seniority": [3, 1], "daily_capacity": [50, 50]})
    return RoundInputs(
        snapshot=snapshot,
        customers=customers,
        agents=agents,
        contacts=contacts,
        complaints=complaints,
        memberships=memberships,
    )


def _membership(pk: int, arm: str, ends: date, returned: bool | None) -> dict[str, Any]:
    return {
        "customer_pk": pk,
        "round_id": f"r-{ends.isoformat()}",
        "starts": ends - timedelta(days=29),
        "ends": ends,
        "arm": arm,
        "returned": returned,
    }


def test_each_excluded_customer_is_counted_once_under_the_first_cause() -> None:
    lost_thrice = [
        _membership(9, "treated", AS_OF - timedelta(days=d), False) for d in (150, 120, 90)
    ]
    rows: list[dict[str, Any]] = [
        {"pk": 1, "dnc": True, "consent": False, "contacts": 5},
        {"pk": 2, "consent": False, "complaint": True},
        {"pk": 3, "contacts": 4, "complaint": True},  # 4 in 30 days >= cap 4
        {"pk": 4, "complaint": True, "offset": -300},
        {
            "pk": 5,
            "memberships": [_membership(5, "treated", ROUND_START + timedelta(days=5), None)],
        },
        {"pk": 6, "memberships": [_membership(6, "control", AS_OF - timedelta(days=40), None)]},
        {"pk": 7, "memberships": [_membership(7, "treated", AS_OF - timedelta(days=40), False)]},
        # treated in a round that started more than 90 days ago: may be drawn again
        {"pk": 8, "memberships": [_membership(8, "treated", AS_OF - timedelta(days=70), False)]},
        {"pk": 9, "memberships": lost_thrice},
        {"pk": 10, "offset": -300},  # 10:00 Beijing = 21:00 at UTC-5: no phone calls
        {"pk": 11},
    ]
    inputs = _one_customer_frames(rows)
    config = RoundConfig.from_profile(
        preset("aesthetics"), round_start=ROUND_START, round_end=ROUND_END, holdout_share=0.0
    )
    plan = plan_round(inputs, config, as_of=AS_OF, seed=5)
    causes = dict(plan.excluded.iter_rows())
    assert causes == {
        1: "do_not_contact",
        2: "no_consent",
        3: "over_contact_cap",
        4: "open_complaint",
        5: "in_active_round",
        6: "in_active_round",  # a control group under measurement stays untouched
        7: "recently_treated",  # its round started 69 days ago: still measured
        9: "retired",
        10: "outside_allowed_hours",
    }
    assert set(plan.call_list()["customer_pk"].to_list()) == {8, 11}
    assert plan.summary["excluded_by_cause"]["in_active_round"] == 2


def test_priority_follows_expected_incremental_value_when_capacity_binds() -> None:
    rows: list[dict[str, Any]] = [{"pk": i, "clv": float(100 * i), "tier": 4} for i in range(1, 31)]
    inputs = _one_customer_frames(rows)
    agents = pl.DataFrame({"agent_id": [1], "seniority": [1], "daily_capacity": [1]})
    inputs = RoundInputs(snapshot=inputs.snapshot, customers=inputs.customers, agents=agents)
    start, end = date(2024, 6, 3), date(2024, 6, 7)  # five working days
    config = RoundConfig(round_start=start, round_end=end, holdout_share=0.0)
    plan = plan_round(inputs, config, as_of=AS_OF, seed=1)
    assert sorted(plan.call_list()["customer_pk"].to_list()) == [26, 27, 28, 29, 30]
    assert plan.waitlist.height == 25
    assert plan.call_list()["planned_date"].n_unique() == 5  # one call per day


def test_sensitive_reasons_and_top_tiers_go_to_senior_agents() -> None:
    rows: list[dict[str, Any]] = [
        {"pk": 1, "tier": 4},
        {"pk": 2, "tier": 4},
        {"pk": 3, "tier": 1},
    ]
    inputs = _one_customer_frames(rows)
    reasons = pl.DataFrame({"customer_pk": [1, 2], "reason_code": ["attitude", "habit_lapsed"]})
    inputs = RoundInputs(
        snapshot=inputs.snapshot,
        customers=inputs.customers,
        agents=inputs.agents,
        reasons=reasons,
    )
    config = RoundConfig(round_start=ROUND_START, round_end=ROUND_END, holdout_share=0.0)
    members = plan_round(inputs, config, as_of=AS_OF, seed=3).members
    by_pk = {r["customer_pk"]: r for r in members.iter_rows(named=True)}
    assert by_pk[1]["required_seniority"] == 3
    assert by_pk[1]["agent_id"] == 1
    assert by_pk[3]["required_seniority"] == 3
    assert by_pk[3]["agent_id"] == 1
    assert by_pk[2]["required_seniority"] == 1
    assert by_pk[2]["channel"] == "sms"  # the habit_lapsed playbook's channel


def test_round_config_takes_the_profile_rules() -> None:
    profile = preset("dental", {"programme": {"holdout_share": 0.2, "retire_after_rounds": 5}})
    config = RoundConfig.from_profile(profile, round_start=ROUND_START, round_end=ROUND_END)
    assert config.holdout_share == 0.2
    assert config.retire_after_rounds == 5
    with pytest.raises(ValueError, match="holdout_share"):
        RoundConfig(round_start=ROUND_START, round_end=ROUND_END, holdout_share=1.0)


def test_missing_columns_are_named() -> None:
    inputs = _one_customer_frames([{"pk": 1}])
    broken = RoundInputs(
        snapshot=inputs.snapshot.drop("tier"), customers=inputs.customers, agents=inputs.agents
    )
    config = RoundConfig(round_start=ROUND_START, round_end=ROUND_END)
    with pytest.raises(ValueError, match=r"snapshot frame lacks columns \['tier'\]"):
        plan_round(broken, config, as_of=AS_OF, seed=1)
