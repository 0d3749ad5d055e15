"""Targeting a round: expected incremental margin, uplift classes, the random share (R6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2

from winback.config import preset
from winback.programme.priority import (
    ClassThresholds,
    contact_cost,
    select_places,
)
from winback.programme.rounds import RoundConfig, RoundInputs, plan_round
from winback.programme.targeting import Targeting

from .factories import (
    AS_OF,
    ROUND_END,
    ROUND_START,
    Params,
    config_for,
    params_strategy,
    random_inputs,
)

ALPHA = 1e-6  # strict: a property test must not fail by chance over many examples


def _eligible(n: int, seed: int) -> pl.DataFrame:
    """``n`` eligible customers of one seniority level, priority in a random order."""
    rng = np.random.default_rng(seed)
    pk = rng.choice(np.arange(1, 20 * n + 1), size=n, replace=False).astype(np.int64)
    return pl.DataFrame(
        {
            "customer_pk": pk,
            "priority_rank": rng.permutation(n).astype(np.int64) + 1,
            "required_seniority": np.ones(n, dtype=np.int64),
            "worth": rng.random(n) < 0.7,
        }
    )


def _capacity(places: int) -> pl.DataFrame:
    return pl.DataFrame({"agent_id": [1], "seniority": [1], "daily_capacity": [1]}).with_columns(
        capacity=pl.lit(places, dtype=pl.Int64)
    )


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(
    n=st.integers(20, 60),
    places_share=st.sampled_from([0.3, 0.5, 0.8]),
    share=st.sampled_from([0.2, 0.5, 1.0]),
    world=st.integers(0, 2**31 - 1),
)
def test_the_random_share_is_uniform_among_eligible_customers_whatever_their_priority(
    n: int, places_share: float, share: float, world: int
) -> None:
    frame = _eligible(n, world)
    places = max(1, int(n * places_share))
    draws = 400
    counts = np.zeros(n, dtype=np.int64)
    for seed in range(draws):
        out, offered = select_places(frame, _capacity(places), random_share=share, seed=seed)
        assert offered == places
        k = int(np.floor(share * places + 0.5))
        chosen = (out["selected_by"] == "random").fill_null(False)
        assert int(chosen.sum()) == k
        counts += chosen.to_numpy().astype(np.int64)
    total = int(counts.sum())
    expected = total / n
    if 0 < total < draws * n:
        # Each customer's inclusion count against the uniform expectation (draws without
        # replacement make the statistic smaller than chi-square: the test is conservative).
        statistic = float(((counts - expected) ** 2 / expected).sum())
        assert chi2.sf(statistic, n - 1) > ALPHA
        # And independent of priority: the better half gets no more than its half.
        top = frame["priority_rank"].to_numpy() <= n // 2
        result = binomtest(int(counts[top].sum()), total, float(top.sum()) / n)
        assert result.pvalue > ALPHA


def _margin_config(p: Params, **overrides: object) -> RoundConfig:
    return config_for(
        p,
        gross_margin=0.35,
        contact_cost=18.0,
        offer_depth_by_tier={1: 0.2, 2: 0.15, 3: 0.12, 4: 0.08, 5: 0.05},
        **overrides,
    )


@settings(max_examples=30, deadline=None)
@given(params_strategy, st.sampled_from([0.0, 0.2, 0.5]))
def test_random_members_are_eligible_and_number_round_share_x_places(
    p: Params, share: float
) -> None:
    inputs = random_inputs(p)
    plan = plan_round(inputs, _margin_config(p, random_share=share), as_of=AS_OF, seed=p.seed)
    s = plan.summary
    members = plan.members
    random = members.filter(pl.col("selected_by") == "random")
    assert set(random["customer_pk"].to_list()).isdisjoint(plan.excluded["customer_pk"].to_list())
    assert random.height == int(np.floor(share * s["places"] + 0.5))
    assert s["selected"] <= s["places"]
    if s["not_worth_a_call"] == 0:
        assert s["selected"] == s["places"]
        assert random.height == int(np.floor(share * s["selected"] + 0.5))
    counts = s["targeting"]["counts"]["selected_by"]
    assert counts == {
        "priority": members.height - random.height,
        "random": random.height,
    }
    assert s["eligible"] == s["selected"] + s["waitlisted"] + s["not_worth_a_call"]


@settings(max_examples=12, deadline=None)
@given(params_strategy)
def test_customers_not_worth_a_call_are_never_chosen_by_priority(p: Params) -> None:
    inputs = random_inputs(p)
    plan = plan_round(inputs, _margin_config(p, random_share=0.3), as_of=AS_OF, seed=p.seed)
    by_priority = plan.members.filter(pl.col("selected_by") == "priority")
    assert (by_priority["expected_value"] >= 0.0).all()
    assert (plan.waitlist["expected_value"] >= 0.0).all()
    no_random = plan_round(inputs, _margin_config(p), as_of=AS_OF, seed=p.seed)
    assert (no_random.members["expected_value"] >= 0.0).all()
    assert (no_random.members["selected_by"] == "priority").all()


def _equal_customers(uplifts: list[float]) -> RoundInputs:
    n = len(uplifts)
    pks = list(range(1, n + 1))
    snapshot = pl.DataFrame(
        {
            "customer_pk": pks,
            "stage": ["lost"] * n,
            "status": ["lost"] * n,
            "tier": [3] * n,
            "clv_365": [800.0] * n,
            "p_alive": [0.4] * n,
            "expected_interval_days": [30.0] * n,
            "days_since_last": [200] * n,
            "avg_ticket": [120.0] * n,
            "expected_purchases_365": [0.5] * n,
            "p_return_uplift": uplifts,
        }
    )
    customers = pl.DataFrame(
        {
            "customer_pk": pks,
            "do_not_contact": [False] * n,
            "consent_marketing": [True] * n,
            "utc_offset_minutes": [480] * n,
        }
    )
    agents = pl.DataFrame({"agent_id": [1], "seniority": [3], "daily_capacity": [50]})
    return RoundInputs(snapshot=snapshot, customers=customers, agents=agents)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-2000, 6000), min_size=2, max_size=30, unique=True))
def test_priority_is_monotone_in_uplift_at_equal_value(basis_points: list[int]) -> None:
    uplifts = [b / 10_000 for b in basis_points]
    config = RoundConfig(
        round_start=ROUND_START,
        round_end=ROUND_END,
        holdout_share=0.0,
        gross_margin=0.4,
        contact_cost=5.0,
        offer_depth_by_tier={3: 0.1},
        min_expected_value=float("-inf"),  # everyone selected: the ranks are all shown
    )
    plan = plan_round(_equal_customers(uplifts), config, as_of=AS_OF, seed=1)
    frame = plan.members.sort("priority_rank")
    assert frame.height == len(uplifts)
    ranked = frame["predicted_uplift"].to_list()
    assert ranked == sorted(ranked, reverse=True)
    margins = frame["expected_value"].to_list()
    assert margins == sorted(margins, reverse=True)


def test_uplift_classes_follow_the_predictions_and_do_not_disturb_is_not_called() -> None:
    inputs = _equal_customers([0.0] * 5)
    inputs = replace(inputs, snapshot=inputs.snapshot.drop("p_return_uplift"))
    predictions = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5],
            "uplift": [0.05, -0.03, 0.002, 0.001, 0.0],
            "p_untreated": [0.2, 0.3, 0.8, 0.03, None],
        }
    )
    config = RoundConfig(
        round_start=ROUND_START,
        round_end=ROUND_END,
        holdout_share=0.0,
        gross_margin=0.4,
        contact_cost=1.0,
    )
    targeting = Targeting(policy="uplift_model", model_version="t-1", predictions=predictions)
    plan = plan_round(inputs, config, as_of=AS_OF, seed=2, targeting=targeting)
    members = {r["customer_pk"]: r for r in plan.members.iter_rows(named=True)}
    assert members[1]["uplift_class"] == "persuadable"
    assert members[1]["predicted_uplift"] == pytest.approx(0.05)
    assert 2 not in members  # a negative uplift costs margin: not worth a call
    assert plan.summary["not_worth_a_call"] >= 1
    eligible = plan.summary["targeting"]["counts"]["eligible_uplift_class"]
    assert eligible["do_not_disturb"] == 1
    assert eligible["sure_thing"] == 1  # customer 3: comes back anyway
    # Customer 5 has no model P(return | not called): the snapshot's prediction serves
    # (0.5 purchases a year over 90 days), below the sure-thing line: a lost cause like 4.
    expected_p0 = 1.0 - np.exp(-0.5 * 90 / 365)
    assert expected_p0 < ClassThresholds().sure_thing_p_untreated
    assert eligible["lost_cause"] == 2
    assert eligible["unknown"] == 0
    no_p0 = replace(inputs, snapshot=inputs.snapshot.drop("expected_purchases_365"))
    unknown = plan_round(no_p0, config, as_of=AS_OF, seed=2, targeting=targeting)
    assert unknown.summary["targeting"]["counts"]["eligible_uplift_class"]["unknown"] == 1
    assert plan.summary["targeting"]["policy"] == "uplift_model"
    assert plan.summary["targeting"]["model_version"] == "t-1"
    # The same predictions are ignored under a fallback policy: the stage figure serves.
    fallback = plan_round(
        inputs, config, as_of=AS_OF, seed=2, targeting=Targeting(policy="stage_priors")
    )
    stage = config.uplift_by_stage["lost"]
    assert fallback.members["predicted_uplift"].to_list() == pytest.approx([stage] * 5)


def test_the_profile_sets_margin_contact_cost_and_random_share() -> None:
    profile = preset("dental", {"programme": {"random_share": 0.3, "call_minutes": 10.0}})
    config = RoundConfig.from_profile(profile, round_start=ROUND_START, round_end=ROUND_END)
    rules = profile.programme
    assert config.random_share == 0.3
    assert config.gross_margin == profile.gross_margin
    assert config.contact_cost == contact_cost(
        agent_minute_cost=rules.agent_minute_cost,
        call_minutes=10.0,
        contacts=rules.contacts_per_round,
    )
    with pytest.raises(ValueError, match="random_share"):
        preset("dental", {"programme": {"random_share": 0.6}})
    with pytest.raises(ValueError, match="random_share"):
        RoundConfig(round_start=ROUND_START, round_end=date(2024, 6, 30), random_share=1.5)
