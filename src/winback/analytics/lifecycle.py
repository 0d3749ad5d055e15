"""Lifecycle stages and the six customer types (R2; seeds 001 and 004).

Stage by days since the last purchase against the profile's thresholds (active < silent_from
<= silent < sleeping_from <= sleeping < lost_from <= lost; never bought: prospect). With
``lifecycle_rule = "rhythm"`` the thresholds are multiplied by the customer's own expected
interval over the business prior (``expected_interval_days / expected_return_days``), bounded
to [0.5, 3]: a weekly buyer reaches "silent" sooner than a twice-a-year one, but no customer's
thresholds shrink below half or grow beyond three times the business's.

Customer types, first rule that applies:
prospect (never bought) -> lost (status lost) -> new (one purchase, within the last expected
interval) -> alert (early warning) -> evergreen (>= 3 purchases, on rhythm: lateness below
lateness_at_risk, engaged in the last 365 days when the business records engagement at all)
-> vulnerable (everyone else who bought: a thin bond, one or two purchases or no engagement).
A new customer stays "new" even when flagged; the flag and its action still show.
"""

from __future__ import annotations

import polars as pl

from winback import vocabulary
from winback.config import BusinessProfile

RHYTHM_SCALE_BOUNDS = (0.5, 3.0)
STAGES = vocabulary.STAGES
CUSTOMER_TYPES = vocabulary.CUSTOMER_TYPES
EVERGREEN_MIN_PURCHASES = 3


def rhythm_factor(profile: BusinessProfile) -> pl.Expr:
    """How much this customer's thresholds stretch under the rhythm rule (1 under "fixed")."""
    if profile.lifecycle_rule != "rhythm":
        return pl.lit(1.0)
    low, high = RHYTHM_SCALE_BOUNDS
    ratio = pl.col("expected_interval_days") / profile.expected_return_days
    return ratio.clip(low, high).fill_null(1.0)


def stage_expr(profile: BusinessProfile) -> pl.Expr:
    """Needs ``days_since_last`` (null for prospects) and ``expected_interval_days``."""
    days, factor, lc = pl.col("days_since_last"), rhythm_factor(profile), profile.lifecycle
    return (
        pl.when(days.is_null())
        .then(pl.lit("prospect"))
        .when(days < lc.silent_from * factor)
        .then(pl.lit("active"))
        .when(days < lc.sleeping_from * factor)
        .then(pl.lit("silent"))
        .when(days < lc.lost_from * factor)
        .then(pl.lit("sleeping"))
        .otherwise(pl.lit("lost"))
    )


def customer_type_expr(profile: BusinessProfile, *, records_engagement: bool) -> pl.Expr:
    """Needs stage, status, early_warning, n_purchases, days_since_last, lateness,
    expected_interval_days and engagement_n_365."""
    purchases = pl.col("n_purchases")
    engaged = pl.col("engagement_n_365") > 0 if records_engagement else pl.lit(value=True)
    on_rhythm = pl.col("lateness") < profile.lateness_at_risk
    new = (purchases == 1) & (pl.col("days_since_last") <= pl.col("expected_interval_days"))
    evergreen = (purchases >= EVERGREEN_MIN_PURCHASES) & on_rhythm & engaged
    return (
        pl.when(pl.col("stage") == "prospect")
        .then(pl.lit("prospect"))
        .when(pl.col("status") == "lost")
        .then(pl.lit("lost"))
        .when(new)
        .then(pl.lit("new"))
        .when(pl.col("early_warning"))
        .then(pl.lit("alert"))
        .when(evergreen)
        .then(pl.lit("evergreen"))
        .otherwise(pl.lit("vulnerable"))
    )
