"""The churn score on real purchase-only history (CDNOW sample, 1997-98), beside the baselines.

As of 1998-03-31, horizon 90 days (label: no purchase in the following 90 days, among the
2,349 buyers), the score must not rank worse than days since the last purchase nor than the
BG/NBD expected purchases: the lower bound of the 95% paired-bootstrap interval of the AUC
difference must be above -0.01 (measured: +0.010 [+0.002, +0.019] against recency and
+0.003 [-0.005, +0.013] against expected purchases when the test was written; a score that
loses to a baseline by a point or more fails).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    AnalyticsFrames,
    empty,
)
from winback.analytics.metrics import roc_auc
from winback.analytics.pipeline import purchasers, run_analysis
from winback.config import preset

pytestmark = pytest.mark.slow  # one analysis of 2,357 customers and a bootstrap

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_sample.txt"
AS_OF = date(1998, 3, 31)
HORIZON = 90
TOLERANCE = -0.01
RESAMPLES = 300


def _frames() -> AnalyticsFrames:
    raw = np.loadtxt(CDNOW, usecols=(0, 2, 4))
    orders = pl.DataFrame(
        {
            "order_pk": np.arange(1, raw.shape[0] + 1),
            "customer_pk": raw[:, 0].astype(np.int64),
            "order_date": raw[:, 1].astype(np.int64).astype(str),
            "amount_cents": np.round(raw[:, 2] * 100).astype(np.int64),
            "coupon_code": None,
        }
    ).with_columns(pl.col("order_date").str.to_date("%Y%m%d"))
    customers = pl.DataFrame({"customer_pk": orders["customer_pk"].unique().sort()}).with_columns(
        external_id=pl.col("customer_pk").cast(pl.String),
        join_date=None,
        birthday=None,
        store_code=None,
        is_stub=False,
        consent_marketing=True,
        do_not_contact=False,
    )
    return AnalyticsFrames(
        customers.select([pl.col(c).cast(t) for c, t in CUSTOMERS.items()]),
        orders.select([pl.col(c).cast(t) for c, t in ORDERS.items()]),
        empty(ORDER_LINES),
        empty(EVENTS),
        empty(CONTACTS),
    )


def _difference_interval(
    score: np.ndarray, baseline: np.ndarray, label: np.ndarray
) -> tuple[float, float, float]:
    """AUC(score) - AUC(baseline) and its 95% percentile interval over paired resamples."""
    rng = np.random.default_rng(0)
    point = float(roc_auc(score, label) or 0.0) - float(roc_auc(baseline, label) or 0.0)
    draws = []
    for _ in range(RESAMPLES):  # resamples, each vectorised over customers
        pick = rng.integers(0, label.size, label.size)
        a, b = roc_auc(score[pick], label[pick]), roc_auc(baseline[pick], label[pick])
        if a is not None and b is not None:
            draws.append(a - b)
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, float(low), float(high)


def test_churn_score_is_not_worse_than_recency_or_btyd_on_cdnow() -> None:
    frames = _frames()
    result = run_analysis(frames, preset("retail"), AS_OF, horizon_days=HORIZON)
    scored = result.scores.filter(pl.col("days_since_last").is_not_null())
    came_back = purchasers(frames.orders, AS_OF, AS_OF + timedelta(days=HORIZON))
    label = (~scored["customer_pk"].is_in(came_back.implode())).to_numpy().astype(bool)
    score = scored["churn_probability"].to_numpy().astype(np.float64)
    baselines = {
        "recency": scored["days_since_last"].to_numpy().astype(np.float64),
        "btyd_expected_purchases": -scored["expected_purchases_365"].to_numpy(),
    }
    for name, baseline in baselines.items():
        point, low, high = _difference_interval(score, baseline, label)
        print(f"\n{name}: AUC difference {point:+.4f} [{low:+.4f}, {high:+.4f}]")
        assert low > TOLERANCE, (name, point, low, high)
