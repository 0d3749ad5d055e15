"""Backtest (R12): what would the score have said on a past date, and what happened next.

``backtest(frames, profile, as_of, horizon_days)`` scores every customer with the data up to
``as_of`` (weights learned strictly before it, exactly as :func:`analyze` would have on that
day), then labels each customer who had bought by ``as_of``: True when they made no purchase
in (as_of, as_of + horizon]. The churn score is compared with two baselines, days since the
last purchase (recency only) and 1 - P(alive) from BG/NBD, by ROC-AUC, PR-AUC (average
precision), lift in the top 10%, and for the probabilities (churn score / 100, 1 - P(alive))
the Brier score and a calibration table by deciles of the prediction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from winback.analytics.frames import AnalyticsFrames
from winback.analytics.metrics import compare_scores
from winback.analytics.pipeline import purchasers, run_analysis
from winback.config import BusinessProfile


def backtest(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    horizon_days: int,
    *,
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """JSON-ready metrics of the churn score and the baselines on (as_of, as_of + horizon]."""
    if horizon_days < 1:
        raise ValueError("the horizon must be at least one day")
    result = run_analysis(frames, profile, as_of, weights=weights, horizon_days=horizon_days)
    scored = result.scores.filter(pl.col("days_since_last").is_not_null())
    end = as_of + timedelta(days=horizon_days)
    returned = purchasers(frames.orders, as_of, end)
    label = (~scored["customer_pk"].is_in(returned.implode())).to_numpy().astype(bool)
    alive = scored["p_alive"]
    report = compare_scores(
        label,
        scored["churn_score"].to_numpy().astype(np.float64) / 100,
        scored["days_since_last"].to_numpy().astype(np.float64),
        alive.to_numpy().astype(np.float64) if alive.null_count() == 0 and len(alive) else None,
    )
    return {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "label": "no purchase in (as_of, as_of + horizon]",
        **report,
        "weights": result.weights,
        "weights_source": result.model.get("weights_source"),
        "training_as_of": result.model.get("training_as_of"),
    }
