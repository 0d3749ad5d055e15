"""Backtest (R12): what would the score have said on a past date, and what happened next.

``backtest(frames, profile, as_of)`` scores every customer with the data up to ``as_of``
(weights learned strictly before it, exactly as :func:`analyze` would have on that day), then
labels each customer who had bought by ``as_of``: True when they made no purchase in
(as_of, as_of + horizon]. The horizon defaults to the one the shipped score uses
(:func:`winback.analytics.pipeline.churn_horizon`), so the backtest checks the score people see.

The churn score is compared with two baselines, days since the last purchase (recency only) and
1 - P(alive) from the BTYD model, by ROC-AUC, PR-AUC (average precision), lift in the top 10%,
and for the probabilities the Brier score and a calibration table by deciles of the prediction.

Every figure is given twice: over all buyers, and over the *actionable* ones (stage active,
silent or sleeping on ``as_of``). Long-gone customers (stage lost) are easy to call and
nobody works them from this list, so they inflate the overall AUC. ROC-AUC, PR-AUC and Brier
carry percentile bootstrap intervals (seeded). The probability (``churn_probability`` when the
scores have it, else churn score / 100) is checked for calibration: ECE over 10 equal-count
bins and the calibration slope (logistic regression of the label on logit(p)).

Too few outcomes make all of this noise: with fewer than ``min_outcomes`` customers in either
class among the actionable ones, :class:`TooFewOutcomes` is raised instead of figures.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from winback.analytics.frames import AnalyticsFrames
from winback.analytics.metrics import (
    bootstrap_intervals,
    calibration_slope,
    compare_scores,
    expected_calibration_error,
)
from winback.analytics.pipeline import churn_horizon, purchasers, run_analysis
from winback.config import BusinessProfile

ACTIONABLE_STAGES = ("active", "silent", "sleeping")
MIN_OUTCOMES = 30
RESAMPLES = 500
SEED = 20_260_613


class TooFewOutcomes(ValueError):
    """Fewer than the minimum customers in a class: the figures would be noise."""

    def __init__(self, positives: int, negatives: int, minimum: int) -> None:
        self.positives, self.negatives, self.minimum = positives, negatives, minimum
        super().__init__(
            f"too few outcomes to judge the score: {positives} actionable customers did not "
            f"buy again and {negatives} did; at least {minimum} of each are needed"
        )


def backtest(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    horizon_days: int | None = None,
    *,
    weights: dict[str, float] | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    min_outcomes: int = MIN_OUTCOMES,
) -> dict[str, Any]:
    """JSON-ready metrics of the churn score and the baselines on (as_of, as_of + horizon]."""
    horizon = horizon_days if horizon_days is not None else churn_horizon(profile)
    if horizon < 1:
        raise ValueError("the horizon must be at least one day")
    result = run_analysis(frames, profile, as_of, weights=weights, horizon_days=horizon)
    scored = result.scores.filter(pl.col("days_since_last").is_not_null())
    end = as_of + timedelta(days=horizon)
    returned = purchasers(frames.orders, as_of, end)
    label = (~scored["customer_pk"].is_in(returned.implode())).to_numpy().astype(bool)
    actionable = scored["stage"].is_in(ACTIONABLE_STAGES).to_numpy().astype(bool)
    positives = int(label[actionable].sum())
    negatives = int(actionable.sum()) - positives
    if min(positives, negatives) < min_outcomes:
        raise TooFewOutcomes(positives, negatives, min_outcomes)
    if "churn_probability" in scored.columns and scored["churn_probability"].null_count() == 0:
        probability = scored["churn_probability"].to_numpy().astype(np.float64)
        probability_source = "churn_probability"
    else:
        probability = scored["churn_score"].to_numpy().astype(np.float64) / 100
        probability_source = "churn_score / 100"
    recency = scored["days_since_last"].to_numpy().astype(np.float64)
    alive_series = scored["p_alive"]
    alive = (
        alive_series.to_numpy().astype(np.float64)
        if alive_series.null_count() == 0 and len(alive_series)
        else None
    )
    everyone = np.ones(label.size, dtype=bool)
    groups = {
        name: _judged(label, probability, recency, alive, mask, resamples, seed)
        for name, mask in (("overall", everyone), ("actionable", actionable))
    }
    btyd = result.model.get("btyd")
    return {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "horizon_source": "given" if horizon_days is not None else "score",
        "label": "no purchase in (as_of, as_of + horizon]",
        "probability": probability_source,
        "actionable_stages": list(ACTIONABLE_STAGES),
        **groups["overall"],
        "actionable": groups["actionable"],
        "resamples": resamples,
        "seed": seed,
        "weights": result.weights,
        "weights_source": result.model.get("weights_source"),
        "training_as_of": result.model.get("training_as_of"),
        "btyd_model": _btyd_name(btyd),
        "priors_used": list(result.model.get("priors_used") or []),
        "status_rule": result.model.get("status_rule"),
    }


def _btyd_name(described: Any) -> str | None:
    if isinstance(described, dict):
        for key in ("count_model", "model", "name", "kind"):
            if described.get(key):
                return str(described[key])
        return "bg_nbd" if described.get("bg_nbd") else None
    return str(described) if described else None


def _judged(
    label: NDArray[np.bool_],
    probability: NDArray[np.float64],
    recency: NDArray[np.float64],
    alive: NDArray[np.float64] | None,
    mask: NDArray[np.bool_],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    y, p = label[mask], probability[mask]
    report = compare_scores(y, p, recency[mask], alive[mask] if alive is not None else None)
    slope = calibration_slope(p, y)
    ece = expected_calibration_error(p, y)
    report["intervals"] = bootstrap_intervals(p, y, p, resamples=resamples, seed=seed)
    report["ece"] = None if ece is None else round(ece, 6)
    report["calibration_slope"] = None if slope is None else round(slope["slope"], 6)
    report["calibration_intercept"] = None if slope is None else round(slope["intercept"], 6)
    return report
