"""The analytics core's input and output column contracts.

The store extracts these frames from the database (as Arrow, via ADBC) and hands them to
:func:`winback.analytics.pipeline.analyze`; tests and benchmarks may build them directly.
Every frame is a Polars DataFrame with exactly the columns below (extra columns are ignored).
``customer_pk`` is the database key of the customer; ``external_id`` is the business's own id.
Money is integer cents; dates are business-local calendar dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

CUSTOMERS: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "external_id": pl.String(),
    "join_date": pl.Date(),  # may be null
    "birthday": pl.Date(),  # may be null
    "store_code": pl.String(),  # may be null
    "is_stub": pl.Boolean(),
    "consent_marketing": pl.Boolean(),
    "do_not_contact": pl.Boolean(),
}
ORDERS: dict[str, pl.DataType] = {
    "order_pk": pl.Int64(),
    "customer_pk": pl.Int64(),
    "order_date": pl.Date(),
    "amount_cents": pl.Int64(),  # refunds negative
    "coupon_code": pl.String(),  # may be null
}
ORDER_LINES: dict[str, pl.DataType] = {
    "order_pk": pl.Int64(),
    "customer_pk": pl.Int64(),
    "order_date": pl.Date(),
    "category_code": pl.String(),  # may be null
    "necessity": pl.String(),  # "necessary" | "discretionary" | null (unknown)
    "replenishment_days": pl.Int64(),  # may be null
    "quantity": pl.Float64(),
    "amount_cents": pl.Int64(),
}
EVENTS: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "event_type": pl.String(),  # the type's role: vocabulary.EventRole codes, or "unknown"
    "occurred_date": pl.Date(),
    "referred_customer_pk": pl.Int64(),  # may be null
    "referred_bought": pl.Boolean(),  # may be null
    "score": pl.Int64(),  # may be null
    "adopted": pl.Boolean(),  # may be null
    "resolved": pl.Boolean(),  # may be null
    "resolved_date": pl.Date(),  # may be null
}
CONTACTS: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "occurred_date": pl.Date(),
    "channel": pl.String(),
    "direction": pl.String(),  # "outbound" | "inbound"
    "outcome": pl.String(),  # winback.schema.CONTACT_OUTCOMES codes
}
# One row per customer per win-back round they were drawn into (R5, R6): the programme's own
# touch on the history, so the churn score can learn from customers it did not treat. Only
# rounds that started on or before the as-of date; "contacted": an agent's attempt on or
# before that date (only treated customers are called).
TREATMENTS: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "round_pk": pl.Int64(),
    "planned_date": pl.Date(),  # the day the round was planned as of
    "round_start": pl.Date(),
    "round_end": pl.Date(),
    "arm": pl.String(),  # "treated" | "control"
    "contacted": pl.Boolean(),
}

# One row per customer per as-of date: what the store writes to CustomerSnapshot and what
# `winback export scores` prints (with external_id in place of customer_pk).
SNAPSHOT: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "as_of": pl.Date(),
    "stage": pl.String(),  # active | silent | sleeping | lost | prospect (never bought)
    "customer_type": pl.String(),  # prospect | new | vulnerable | alert | evergreen | lost
    "status": pl.String(),  # active | at_risk | lost
    "churn_score": pl.Float64(),  # 0-100
    "churn_probability": pl.Float64(),  # calibrated P(no purchase within the horizon)
    "p_alive": pl.Float64(),
    "expected_purchases_365": pl.Float64(),
    "clv_365": pl.Float64(),  # currency units, not cents
    "value_index": pl.Float64(),
    "tier": pl.Int64(),  # 1 = most valuable
    "rfm_octant": pl.String(),  # code, e.g. "important_value"
    "abc_class": pl.String(),  # A-E
    "early_warning": pl.Boolean(),
    "retention_action": pl.String(),  # code
    "days_since_last": pl.Int64(),  # null for prospects
    "expected_interval_days": pl.Float64(),
    "top_signals": pl.String(),  # JSON list of {"code": ..., <named values>}, deterministic
}


@dataclass(frozen=True)
class AnalyticsFrames:
    customers: pl.DataFrame
    orders: pl.DataFrame
    order_lines: pl.DataFrame
    events: pl.DataFrame
    contacts: pl.DataFrame
    # Round membership; empty when the business has no programme history (or the caller, a
    # test or a benchmark, has none to give).
    treatments: pl.DataFrame = field(default_factory=lambda: empty(TREATMENTS))


def empty(contract: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=contract)


def conform(frame: pl.DataFrame, contract: dict[str, pl.DataType], name: str) -> pl.DataFrame:
    """Check a frame holds the contract's columns and cast them; raise a clear error if not."""
    missing = [c for c in contract if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks columns {missing}")
    return frame.select([pl.col(c).cast(t) for c, t in contract.items()])
