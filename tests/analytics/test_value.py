"""Value: the index formula, tiers (<= 5, monotone), the 80/20 table, BTYD fallbacks."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.analytics.pipeline import AnalysisResult, analyze
from winback.analytics.value import tier_bounds, tier_expr, value_index_expr, value_table
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import hand_built


def test_tier_bounds_keep_top_and_bottom_fifths() -> None:
    assert tier_bounds(1) == [1.0]
    assert tier_bounds(2) == [0.2, 1.0]
    assert tier_bounds(3) == [0.2, 0.8, 1.0]
    assert np.allclose(tier_bounds(4), [0.2, 0.5, 0.8, 1.0])
    assert np.allclose(tier_bounds(5), [0.2, 0.4, 0.6, 0.8, 1.0])


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1),
    tiers=st.integers(min_value=1, max_value=5),
)
def test_tiers_are_bounded_and_monotone_in_value(values: list[float], tiers: int) -> None:
    frame = pl.DataFrame({"value_index": values})
    tier = frame.select(tier_expr(tiers, len(values))).to_series().to_numpy()
    value = np.array(values)
    assert tier.min() >= 1
    assert tier.max() <= tiers
    higher = value[:, None] > value[None, :]
    assert not (higher & (tier[:, None] > tier[None, :])).any()  # more value, never worse tier
    same = value[:, None] == value[None, :]
    assert not (same & (tier[:, None] != tier[None, :])).any()
    if len(set(values)) == len(values) and tiers > 1:
        assert (tier == 1).sum() == math.ceil(0.2 * len(values) - 1e-9)


def test_value_index_adds_margin_referrals_and_acts() -> None:
    profile = preset("retail")  # margin 0.30
    w = profile.value_weights
    frame = pl.DataFrame(
        {
            "clv_365": [200.0, None],
            "referred_spend_365_cents": [50_000, 0],
            "forum_post_n_365": [2, 1],
            "forum_reply_n_365": [3, 0],
            "qa_answer_n_365": [1, 0],
            "event_attendance_n_365": [1, 0],
            "survey_response_n_365": [1, 0],
            "suggestion_n_365": [2, 0],
            "suggestion_adopted_n_365": [1, 0],
        }
    )
    got = frame.select(value_index_expr(profile)).to_series().to_list()
    acts = (
        2 * w.forum_post
        + 3 * w.forum_reply
        + w.qa_answer
        + w.event_attendance
        + w.survey_response
        + 2 * w.suggestion
        + w.suggestion_adopted
    )
    assert got[0] == 200.0 * 0.30 + w.referral_converted * 0.30 * 500.0 + acts
    assert got[1] == w.forum_post  # a prospect: no money value, one forum post


def test_value_table_shares_and_cost_flags() -> None:
    values = pl.DataFrame(
        {"customer_pk": range(1, 101), "value_index": [float(v) for v in range(100, 0, -1)]}
    )
    table = value_table(values, cost_per_customer=20.0)
    assert [row["decile"] for row in table] == list(range(1, 11))
    assert all(row["customers"] == 10 for row in table)
    assert table[0]["value"] == sum(range(91, 101))
    assert abs(sum(row["share"] for row in table) - 1.0) < 1e-5
    assert table[-1]["cumulative_share"] == 1.0
    # Deciles averaging under 20 per customer cost more than they bring: the bottom two.
    assert [row["below_cost"] for row in table] == [False] * 8 + [True] * 2


def test_analysis_values_are_sane(analysis: AnalysisResult, retail: BusinessProfile) -> None:
    scores = analysis.scores
    buyers = scores.filter(pl.col("days_since_last").is_not_null())
    assert analysis.model["value_model"] == "bg_nbd+gamma_gamma"
    assert buyers["p_alive"].is_between(0, 1).all()
    assert (buyers["expected_purchases_365"] >= 0).all()
    assert (buyers["clv_365"] >= 0).all()
    assert buyers["tier"].is_between(1, retail.tiers).all()
    by_tier = buyers.group_by("tier").agg(
        pl.col("value_index").min().alias("low"), pl.col("value_index").max().alias("high")
    )
    ordered = by_tier.sort("tier")
    assert (ordered["low"][:-1] >= ordered["high"][1:]).all()
    assert scores.filter(pl.col("days_since_last").is_null())["tier"].is_null().all()


def test_too_few_repeat_buyers_fall_back_and_say_so() -> None:
    day = AS_OF
    orders = [(1, day - timedelta(days=10), 5000), (1, day - timedelta(days=40), 3000)]
    orders += [(2, day - timedelta(days=300), 8000), (3, day - timedelta(days=5), 2000)]
    frames = hand_built([1, 2, 3, 4], orders)
    result = analyze(frames, preset("retail"), AS_OF)
    assert result.model["value_model"] == "simple_rate"
    assert any("bg_nbd_not_fitted" in note for note in result.model["value_notes"])
    scores = result.scores.filter(pl.col("days_since_last").is_not_null())
    assert scores["p_alive"].is_null().all()
    assert (scores["clv_365"] >= 0).all()
    # Customer 2 is long past lateness_lost: no purchases expected; customer 3 is not.
    expected = dict(zip(scores["customer_pk"], scores["expected_purchases_365"], strict=True))
    assert expected[2] == 0.0
    assert expected[3] > 0
    # Too little history to learn from: the retail industry prior's weights.
    assert result.model["weights_source"] == "prior"
    assert result.model["priors_used"] == ["churn_weights"]
