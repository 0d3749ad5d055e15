"""Value: the index formula, tiers (<= 5, monotone), the 80/20 table, BTYD fallbacks."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.analytics.btyd._common import group_rows
from winback.analytics.btyd.pareto_nbd import ParetoNBD
from winback.analytics.btyd_choice import with_params
from winback.analytics.clv import BetaGeo
from winback.analytics.features import customer_features
from winback.analytics.frames import AnalyticsFrames
from winback.analytics.pipeline import AnalysisResult, analyze
from winback.analytics.value import (
    ACT_WEIGHTS,
    GENERIC_STEP_WEEKS,
    Summary,
    discounted_purchases,
    expected_purchases,
    fit_btyd,
    predict_value,
    tier_bounds,
    tier_expr,
    value_index_expr,
    value_table,
)
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import hand_built, synth_history


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
            "spend_necessary_cents": [10_000, 0],
            "spend_discretionary_cents": [5_000, 0],
            "spend_unclassified_cents": [0, 0],
            "days_since_last": [0, None],
            "p_alive": [None, None],
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
    # Chosen on the holdout; spend fades before dropout, so not Gamma-Gamma.
    assert analysis.model["btyd"]["count_model"] in {"bg_nbd", "mbg_nbd", "pareto_nbd"}
    candidates = analysis.model["btyd"]["model_choice"]["candidates"]
    assert {row["model"] for row in candidates} == {"bg_nbd", "mbg_nbd", "pareto_nbd"}
    assert all("holdout_mae" in row for row in candidates)
    assert analysis.model["value_model"] == f"{analysis.model['btyd']['count_model']}+group_spend"
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


def _tiny_frames() -> AnalyticsFrames:
    day = AS_OF
    orders = [(1, day - timedelta(days=10), 5000), (1, day - timedelta(days=40), 3000)]
    orders += [(2, day - timedelta(days=300), 8000), (3, day - timedelta(days=5), 2000)]
    return hand_built([1, 2, 3, 4], orders)


def test_too_few_repeat_buyers_take_the_industry_prior_and_say_so() -> None:
    result = analyze(_tiny_frames(), preset("retail"), AS_OF)
    assert result.model["value_model"].startswith("bg_nbd+")
    assert result.model["btyd"]["priors_used"] == ["btyd"]
    assert any("bg_nbd_not_fitted" in note for note in result.model["value_notes"])
    assert any("small_base" in note for note in result.model["value_notes"])
    scores = result.scores.filter(pl.col("days_since_last").is_not_null())
    assert scores["p_alive"].is_between(0, 1).all()
    assert (scores["clv_365"] >= 0).all()
    # Too little history to learn from: the retail industry prior's weights.
    assert result.model["weights_source"] == "prior"
    assert result.model["priors_used"] == ["churn_weights", "btyd"]


def test_without_a_prior_too_few_repeat_buyers_fall_back_to_the_rhythm() -> None:
    frames = _tiny_frames()
    profile = preset("retail")
    buyers = customer_features(frames, profile, AS_OF).filter(
        pl.col("first_purchase").is_not_null()
    )
    fit = fit_btyd(buyers, AS_OF, industry=None)
    assert fit.bg is None
    assert fit.describe()["priors_used"] == []
    prediction = predict_value(fit, buyers, profile, AS_OF)
    assert prediction.value_model == "simple_rate"
    assert any("bg_nbd_not_fitted" in note for note in prediction.notes)
    values = prediction.values
    assert values["p_alive"].is_null().all()
    assert (values["clv_365"] >= 0).all()
    # Customer 2 is long past lateness_lost: no purchases expected; customer 3 is not.
    expected = dict(zip(values["customer_pk"], values["expected_purchases_365"], strict=True))
    assert expected[2] == 0.0
    assert expected[3] > 0


def _index_frame(**columns: list[Any]) -> pl.DataFrame:
    """Customers with only the value-index columns given set; the rest zero or unknown."""
    n = len(next(iter(columns.values())))
    base: dict[str, list[Any]] = {
        "clv_365": [0.0] * n,
        "referred_spend_365_cents": [0] * n,
        "spend_necessary_cents": [0] * n,
        "spend_discretionary_cents": [0] * n,
        "spend_unclassified_cents": [0] * n,
        "days_since_last": [0] * n,
        "p_alive": [None] * n,
        "engagement_last": [None] * n,
    }
    base.update({column: [0] * n for _, column in ACT_WEIGHTS})
    base.update(columns)
    return pl.DataFrame(base, schema_overrides={"p_alive": pl.Float64, "engagement_last": pl.Date})


def test_necessary_and_discretionary_spend_weigh_as_set() -> None:
    frame = _index_frame(
        clv_365=[100.0, 100.0, 100.0, 100.0],
        spend_necessary_cents=[10_000, 0, 5_000, 0],
        spend_discretionary_cents=[0, 10_000, 5_000, 0],
        spend_unclassified_cents=[0, 0, 0, 10_000],
    )
    neutral = preset("retail")
    margin = neutral.gross_margin
    same = frame.select(value_index_expr(neutral)).to_series().to_list()
    assert same == pytest.approx([100.0 * margin] * 4)
    tilted = neutral.with_overrides(
        {"value_weights": {"necessary_spend_weight": 0.5, "discretionary_spend_weight": 1.5}}
    )
    got = frame.select(value_index_expr(tilted)).to_series().to_list()
    assert got == pytest.approx([50 * margin, 150 * margin, 100 * margin, 100 * margin])
    tiers = frame.with_columns(v=value_index_expr(tilted)).select(tier_expr(5, 4, "v"))
    assert tiers.to_series().to_list()[1] == 1  # the discretionary spender now leads
    with pytest.raises(ValueError, match="negative"):
        neutral.with_overrides({"value_weights": {"necessary_spend_weight": -1.0}})


def test_non_money_credit_decays_with_inactivity_and_p_alive() -> None:
    profile = preset("retail")
    half_life = profile.value_weights.credit_half_life_days
    referral = 1_000_000  # cents of referred spend: credit = 0.30 x 10,000
    frame = _index_frame(
        referred_spend_365_cents=[referral, referral, referral, referral],
        days_since_last=[0, int(half_life), 400, 400],
        engagement_last=[None, None, None, AS_OF - timedelta(days=int(half_life))],
    )
    credit = profile.value_weights.referral_converted * profile.gross_margin * referral / 100
    got = frame.select(value_index_expr(profile, AS_OF)).to_series().to_list()
    # Engagement counts as activity: the last customer is as idle as the second.
    assert got == pytest.approx([credit, credit / 2, credit * 0.5 ** (400 / half_life), credit / 2])
    gone = frame.with_columns(p_alive=pl.Series([0.0, 0.5, 1.0, 1.0]))
    got = gone.select(value_index_expr(profile, AS_OF)).to_series().to_list()
    assert got[0] == 0.0
    assert got[1] == pytest.approx(credit / 4)


def test_a_long_silent_referrer_with_p_alive_zero_is_not_in_a_top_tier() -> None:
    profile = preset("retail")
    n = 20
    # Customer 0 referred big spenders long ago and has not bought for 818 days; P(alive) 0.
    # The others are ordinary active customers with a modest predicted value.
    frame = _index_frame(
        clv_365=[0.0] + [50.0 + i for i in range(n - 1)],
        referred_spend_365_cents=[5_000_000] + [0] * (n - 1),
        days_since_last=[818] + [10] * (n - 1),
        p_alive=[0.0] + [0.9] * (n - 1),
    )
    tiers = frame.with_columns(v=value_index_expr(profile, AS_OF)).select(
        tier_expr(profile.tiers, n, "v")
    )
    assert tiers.to_series()[0] == profile.tiers
    # Without decay and P(alive) the same customer would have led (the old index).
    undecayed = frame.with_columns(days_since_last=pl.lit(0), p_alive=pl.lit(None))
    tiers = undecayed.with_columns(v=value_index_expr(profile, AS_OF)).select(
        tier_expr(profile.tiers, n, "v")
    )
    assert tiers.to_series()[0] == 1


def test_value_settings_are_on_the_settings_page_with_labels() -> None:
    from winback.app.settings.service import PROFILE_GROUPS, PROFILE_LABELS

    shown = {path for _, _, paths in PROFILE_GROUPS for path in paths}
    for name in ("necessary_spend_weight", "discretionary_spend_weight", "credit_half_life_days"):
        assert f"value_weights.{name}" in shown
        assert str(PROFILE_LABELS[f"value_weights.{name}"])


def _reference_discounted(model: Any, s: Summary, horizon: float, rate: float) -> np.ndarray:
    """The discounting of the non-BG/NBD count models as first written: the model's own
    E[Y(t) | x, t_x, T] (P(alive) included) at every step, on distinct (x, t_x, T)."""
    (gx, gt, gage), _, inverse = group_rows(s.frequency, s.recency, s.age)
    count = int(np.ceil(horizon / GENERIC_STEP_WEEKS - 1e-9))
    times = np.minimum(np.arange(1, count + 1) * GENERIC_STEP_WEEKS, horizon)
    total, previous = np.zeros_like(gx), np.zeros_like(gx)
    for time, discount in zip(times, (1 + rate) ** -times, strict=True):
        current = model.expected_purchases(float(time), gx, gt, gage)
        total += (current - previous) * discount
        previous = current
    return np.asarray(total[inverse])


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (BetaGeo(), {"r": 0.9, "alpha": 3.4, "a": 1.5, "b": 24.0}),
        (BetaGeo(), {"r": 0.5, "alpha": 8.0, "a": 0.3, "b": 2.0}),
        (ParetoNBD(), {"r": 0.9, "alpha": 3.4, "s": 0.6, "beta": 12.0}),
        (ParetoNBD(), {"r": 2.5, "alpha": 20.0, "s": 1.0, "beta": 4.0}),
    ],
)
def test_predictions_reusing_p_alive_are_identical_to_the_models_own(
    model: Any, params: dict[str, float]
) -> None:
    model = with_params(model, params)
    features = customer_features(synth_history(600, seed=5).frames, preset("retail"), AS_OF)
    s = Summary.of(features.filter(pl.col("first_purchase").is_not_null()), AS_OF)
    horizon, rate = 365 / 7, 0.002
    alive = model.p_alive(s.frequency, s.recency, s.age)
    assert np.array_equal(
        expected_purchases(model, s, horizon, alive),
        model.expected_purchases(horizon, s.frequency, s.recency, s.age),
    )
    reference = (
        discounted_purchases(model, s, horizon, rate)  # computes P(alive) itself
        if isinstance(model, BetaGeo)
        else _reference_discounted(model, s, horizon, rate)
    )
    assert np.array_equal(discounted_purchases(model, s, horizon, rate, alive), reference)
    assert reference.min() >= 0
    assert reference.max() > 0
