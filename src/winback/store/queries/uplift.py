"""What the uplift model learns from: past rounds' members with the snapshot they were planned
on (R6)."""

from __future__ import annotations

from datetime import date

import polars as pl

from winback.store.frames import query_frame
from winback.store.tables import tables

MEMBER_FEATURES_SCHEMA: dict[str, pl.DataType] = {
    "round_id": pl.Int64(),
    "customer_pk": pl.Int64(),
    "days_since_last": pl.Int64(),
    "expected_interval_days": pl.Float64(),
    "p_alive": pl.Float64(),
    "churn_probability": pl.Float64(),
    "churn_score": pl.Float64(),
    "clv_365": pl.Float64(),
}


def member_features(*, started_by: date) -> pl.DataFrame:
    """Every member of the rounds that started by ``started_by``, with the scores of the
    customer's latest snapshot on or before the round's start (the one the round was planned
    on); null scores when the customer has no such snapshot. One statement."""
    t = tables()
    return query_frame(
        "SELECT m.round_id, m.customer_id, s.days_since_last, s.expected_interval_days, "
        "s.p_alive, s.churn_probability, s.churn_score, s.clv_365 "
        f"FROM {t.round_member} m JOIN {t.round} r ON r.id = m.round_id "
        f"LEFT JOIN {t.snapshot} s ON s.customer_id = m.customer_id AND s.as_of = ("
        f"SELECT MAX(p.as_of) FROM {t.snapshot} p "
        "WHERE p.customer_id = m.customer_id AND p.as_of <= r.round_start) "
        "WHERE r.round_start <= %s",
        [started_by],
        MEMBER_FEATURES_SCHEMA,
    )
