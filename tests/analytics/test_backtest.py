"""Backtest (R12) and its metrics: checked against scikit-learn and by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from winback.analytics.backtest import backtest
from winback.analytics.metrics import brier, calibration_table, lift_at, pr_auc, roc_auc
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


def test_backtest_uses_only_the_past_to_score(synth: Synthetic, retail: BusinessProfile) -> None:
    # The training window ends at as_of: the score cannot have seen the labels it is judged on.
    result = backtest(synth.frames, retail, BACKTEST_AS_OF, 90)
    assert result["training_as_of"] < BACKTEST_AS_OF.isoformat()
    assert result["as_of"] == BACKTEST_AS_OF.isoformat()
    with pytest.raises(ValueError, match="at least one day"):
        backtest(synth.frames, retail, BACKTEST_AS_OF, 0)


def test_backtest_runs_on_purchase_only_history(retail: BusinessProfile) -> None:
    frames = synth_history(1500, seed=3, engagement=False).frames
    result = backtest(frames, retail, BACKTEST_AS_OF, 90)
    assert result["scores"]["churn_score"]["roc_auc"] > 0.7
