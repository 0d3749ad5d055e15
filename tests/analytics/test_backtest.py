"""Backtest (R12) and its metrics: checked against scikit-learn and by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from winback.analytics.backtest import TooFewOutcomes, backtest
from winback.analytics.metrics import (
    bootstrap_intervals,
    bootstrap_samples,
    brier,
    calibration_slope,
    calibration_table,
    expected_calibration_error,
    lift_at,
    pr_auc,
    roc_auc,
    weighted_metrics,
)
from winback.analytics.pipeline import churn_horizon
from winback.config import BusinessProfile

from .synth import Synthetic, synth_history

BACKTEST_AS_OF = date(2025, 3, 31)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_average_precision_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    label = rng.random(500) < 0.3
    score = np.round(rng.normal(size=500) + label, 1)  # rounded: plenty of ties
    assert roc_auc(score, label) == pytest.approx(roc_auc_score(label, score))
    assert pr_auc(score, label) == pytest.approx(average_precision_score(label, score))
    probability = 1 / (1 + np.exp(-score))
    assert brier(probability, label) == pytest.approx(brier_score_loss(label, probability))


def test_lift_and_calibration_by_hand() -> None:
    label = np.array([True, True, False, False, False, False, False, False, False, False])
    score = np.arange(10, 0, -1).astype(float)  # the two positives score highest
    assert lift_at(score, label, 0.1) == pytest.approx(1.0 / 0.2)
    table = calibration_table(score / 10, label, bins=5)
    assert [row["n"] for row in table] == [2] * 5
    assert table[-1] == {"bin": 5, "n": 2, "mean_predicted": 0.95, "observed": 1.0}
    assert roc_auc(score, np.zeros(10, dtype=bool)) is None


@pytest.mark.slow
def test_churn_score_beats_recency_and_p_alive(synth: Synthetic, retail: BusinessProfile) -> None:
    result = backtest(synth.frames, retail, BACKTEST_AS_OF, 90)
    scores = result["scores"]
    churn, recency, alive = (scores[k]["roc_auc"] for k in ("churn_score", "recency", "p_alive"))
    assert churn > recency + 0.01
    assert churn > alive + 0.05
    assert scores["churn_score"]["pr_auc"] > scores["recency"]["pr_auc"]
    assert 0 < result["base_rate"] < 1
    assert sum(row["n"] for row in result["calibration"]) == result["customers"]
    assert scores["churn_score"]["brier"] < 0.25  # better than a coin
    assert scores["recency"]["brier"] is None  # days are not a probability
    observed = [row["observed"] for row in result["calibration"]]
    assert observed[-1] > observed[0]  # the top decile leaves far more often than the bottom


@pytest.mark.slow
def test_backtest_uses_only_the_past_to_score(synth: Synthetic, retail: BusinessProfile) -> None:
    # The training window ends at as_of: the score cannot have seen the labels it is judged on.
    result = backtest(synth.frames, retail, BACKTEST_AS_OF, 90)
    assert result["training_as_of"] < BACKTEST_AS_OF.isoformat()
    assert result["as_of"] == BACKTEST_AS_OF.isoformat()
    with pytest.raises(ValueError, match="at least one day"):
        backtest(synth.frames, retail, BACKTEST_AS_OF, 0)


@pytest.mark.slow
def test_backtest_runs_on_purchase_only_history(retail: BusinessProfile) -> None:
    frames = synth_history(1500, seed=3, engagement=False).frames
    result = backtest(frames, retail, BACKTEST_AS_OF, 90)
    assert result["scores"]["churn_score"]["roc_auc"] > 0.7


def test_weighted_metrics_match_the_repeated_sample() -> None:
    rng = np.random.default_rng(5)
    n = 300
    label = rng.random(n) < 0.35
    score = np.round(rng.normal(size=n) + label, 1)  # ties
    probability = 1 / (1 + np.exp(-score))
    draws = rng.integers(0, n, size=(20, n))
    weights = np.stack([np.bincount(row, minlength=n) for row in draws]).astype(np.float64)
    got = weighted_metrics(score, label, probability, weights)
    for row in range(draws.shape[0]):
        picked = draws[row]
        s, y = score[picked], label[picked]
        assert got["roc_auc"][row] == pytest.approx(roc_auc(s, y))
        assert got["pr_auc"][row] == pytest.approx(pr_auc(s, y))
        assert got["brier"][row] == pytest.approx(brier(probability[picked], y))


def test_bootstrap_centres_on_the_estimate() -> None:
    rng = np.random.default_rng(2)
    label = rng.random(2000) < 0.3
    score = np.round(1 / (1 + np.exp(-(rng.normal(size=2000) + label))), 2)
    samples = bootstrap_samples(score, label, score, resamples=400, seed=1, max_cells=5_000)
    assert samples["roc_auc"] is not None
    assert samples["brier"] is not None
    point = roc_auc(score, label) or 0.0
    assert np.mean(samples["roc_auc"]) == pytest.approx(point, abs=0.005)
    assert np.mean(samples["brier"]) == pytest.approx(brier(score, label) or 0.0, abs=0.003)
    # The spread of a bootstrap AUC on 2,000 customers: about 0.01 (Hanley & McNeil).
    assert 0.005 < np.std(samples["roc_auc"]) < 0.02


def test_bootstrap_blocks_do_not_change_the_draws() -> None:
    rng = np.random.default_rng(1)
    label = rng.random(200) < 0.4
    score = rng.normal(size=200) + label
    whole = bootstrap_intervals(score, label, None, resamples=60, seed=3)
    assert whole["brier"] is None
    low, high = whole["roc_auc"] or [0.0, 0.0]
    assert low < (roc_auc(score, label) or 0) < high
    again = bootstrap_intervals(score, label, None, resamples=60, seed=3)
    assert again == whole


def test_ece_by_hand() -> None:
    probability = np.array([0.1, 0.1, 0.9, 0.9])
    label = np.array([False, True, True, True])
    # Two bins: predicted 0.1 vs observed 0.5, predicted 0.9 vs observed 1.0.
    assert expected_calibration_error(probability, label, bins=2) == pytest.approx(
        0.5 * 0.4 + 0.5 * 0.1
    )
    assert expected_calibration_error(probability[:0], label[:0]) is None


@pytest.mark.parametrize(("true_slope", "true_intercept"), [(1.0, 0.0), (0.5, 0.3), (2.0, -0.5)])
def test_calibration_slope_recovers_the_truth(true_slope: float, true_intercept: float) -> None:
    rng = np.random.default_rng(7)
    logit = rng.normal(scale=1.5, size=40_000)
    probability = 1 / (1 + np.exp(-logit))
    truth = 1 / (1 + np.exp(-(true_intercept + true_slope * logit)))
    label = rng.random(logit.size) < truth
    fit = calibration_slope(probability, label)
    assert fit is not None
    assert fit["slope"] == pytest.approx(true_slope, abs=0.06)
    assert fit["intercept"] == pytest.approx(true_intercept, abs=0.06)
    assert calibration_slope(probability, np.zeros(logit.size, dtype=bool)) is None


@pytest.mark.slow
def test_backtest_defaults_to_the_score_horizon_and_splits_actionable(
    synth: Synthetic, retail: BusinessProfile
) -> None:
    result = backtest(synth.frames, retail, BACKTEST_AS_OF, resamples=100)
    assert result["horizon_days"] == churn_horizon(retail)
    assert result["horizon_source"] == "score"
    actionable = result["actionable"]
    assert 0 < actionable["customers"] < result["customers"]
    for group in (result, actionable):
        point = group["scores"]["churn_score"]["roc_auc"]
        low, high = group["intervals"]["roc_auc"]
        assert low <= point <= high
        assert 0 <= group["ece"] <= 1
        assert group["calibration_slope"] is not None
        assert sum(row["n"] for row in group["calibration"]) == group["customers"]
    assert result["probability"] in ("churn_probability", "churn_score / 100")
    assert result["weights_source"]
    assert set(result["weights"])
    assert result["btyd_model"]


def test_backtest_refuses_too_few_outcomes(retail: BusinessProfile) -> None:
    frames = synth_history(60, seed=4).frames
    with pytest.raises(TooFewOutcomes) as raised:
        backtest(frames, retail, BACKTEST_AS_OF, 90, resamples=10)
    assert min(raised.value.positives, raised.value.negatives) < 30
    assert "at least 30" in str(raised.value)
