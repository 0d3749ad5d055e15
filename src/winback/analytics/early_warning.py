"""Early warning (R9): a list a team can work, the riskiest buyers before they are lost.

Among the customers who bought and are not (yet) lost, the business chooses how many are
flagged each analysis: ``profile.early_warning_capacity`` customers when set, else the top
``profile.early_warning_share`` (default 10%) of them, ranked by churn probability (highest
first; ties by the smaller ``customer_pk``, so the list is deterministic). A customer with an
open complaint (a complaint not resolved by the as-of date) is always flagged.

The looser rules below no longer decide who is flagged; they explain: for a flagged customer,
the rules that hold lead the customer's top signals.
- late_vs_rhythm: lateness >= profile.lateness_at_risk;
- open_complaint: a complaint not resolved by the as-of date;
- spend_down: spend in the last 365 days below half of the 365 before;
- engagement_down: at least two non-purchase acts in the prior 365 days and none in the
  last 365 ("engagement stopped"; a single act a year ago is no habit that stopped);
- unanswered_contacts: two or more of our contacts in 90 days went unanswered.

Precision (:func:`warning_precision`): of the customers flagged on an earlier analysis, the
share who "drifted" by a later one (no purchase since the flag and, at the later date, overdue
by their own rhythm or lost), beside the same share among the buyers not flagged then.

Retention actions follow the stage's contact policy (seed 004): active -> care_call (answer
and care, little selling), silent -> light_touch_incentive (regular light touches, small
incentives), sleeping -> targeted_offer (few contacts, targeted offers), lost ->
winback_team (minimal contact, the dedicated win-back team). An open complaint comes first:
resolve_complaint. Status lost -> winback_team. Everyone else: "" (no action).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from winback.config import BusinessProfile

SPEND_DOWN_SHARE = 0.5
UNANSWERED_TRIGGER = 2
ENGAGEMENT_HABIT = 2  # acts in the prior 365 days for "engagement stopped" to mean something
STAGE_ACTIONS: dict[str, str] = {
    "active": "care_call",
    "silent": "light_touch_incentive",
    "sleeping": "targeted_offer",
    "lost": "winback_team",
}
RESOLVE_COMPLAINT = "resolve_complaint"
ACTIONS: tuple[str, ...] = (*STAGE_ACTIONS.values(), RESOLVE_COMPLAINT)


def triggers(profile: BusinessProfile) -> dict[str, pl.Expr]:
    """Indicator code -> the early-warning rule it triggers (boolean, over the feature frame)."""
    prior_spend = pl.col("spend_prev_365_cents")
    return {
        "late_vs_rhythm": pl.col("lateness") >= profile.lateness_at_risk,
        "open_complaint": pl.col("complaint_open_n") > 0,
        "spend_down": pl.col("has_prior_year")
        & (prior_spend > 0)
        & (pl.col("spend_365_cents") < SPEND_DOWN_SHARE * prior_spend),
        "engagement_down": (pl.col("engagement_n_365") == 0)
        & (pl.col("engagement_n_prev_365") >= ENGAGEMENT_HABIT),
        "unanswered_contacts": pl.col("contacts_unanswered_90") >= UNANSWERED_TRIGGER,
    }


def early_warning_expr(profile: BusinessProfile, risk: str = "churn_probability") -> pl.Expr:
    """Needs customer_pk, stage, status, complaint_open_n and the ``risk`` column (higher is
    riskier): the top of the risk ranking among buyers not lost, plus open complaints."""
    candidate = (pl.col("stage") != "prospect") & (pl.col("status") != "lost")
    candidate = candidate.fill_null(value=False)
    n = candidate.sum()
    if profile.early_warning_capacity is not None:
        limit = pl.min_horizontal(n, pl.lit(profile.early_warning_capacity))
    else:
        limit = (n.cast(pl.Float64) * profile.early_warning_share - 1e-9).ceil()
    ranked = pl.when(candidate).then(pl.col(risk).fill_nan(None))
    # Position of each row in (risk descending, customer_pk ascending); non-candidates last.
    order = pl.arg_sort_by(
        [ranked, pl.col("customer_pk")], descending=[True, False], nulls_last=True
    )
    position = order.arg_sort()
    top = candidate & ranked.is_not_null() & (position < limit)
    complaint = candidate & (pl.col("complaint_open_n") > 0).fill_null(value=False)
    return top | complaint


def retention_action_expr() -> pl.Expr:
    stage_action = pl.col("stage").replace_strict(STAGE_ACTIONS, default="")
    return (
        pl.when(pl.col("status") == "lost")
        .then(pl.lit(STAGE_ACTIONS["lost"]))
        .when(pl.col("early_warning") & (pl.col("complaint_open_n") > 0))
        .then(pl.lit(RESOLVE_COMPLAINT))
        .when(pl.col("early_warning"))
        .then(stage_action)
        .otherwise(pl.lit(""))
    )


# The earlier analysis's flags (one row per customer) and the later one's state.
FLAGS_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "stage": pl.String(),
    "status": pl.String(),
    "early_warning": pl.Boolean(),
}
NOW_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "status": pl.String(),
    "days_since_last": pl.Int64(),
    "expected_interval_days": pl.Float64(),
}


def drifted_expr(profile: BusinessProfile, days_since_flag: int) -> pl.Expr:
    """No purchase after the flag day and, now, overdue by the customer's own rhythm
    (lateness >= lateness_at_risk) or lost. Over NOW_SCHEMA columns."""
    days = pl.col("days_since_last")
    lateness = days.cast(pl.Float64) / pl.col("expected_interval_days")
    no_purchase = days >= days_since_flag
    overdue = (lateness >= profile.lateness_at_risk) | (pl.col("status") == "lost")
    return (no_purchase & overdue.fill_null(value=False)).fill_null(value=False)


def warning_precision(
    flags: pl.DataFrame,
    now: pl.DataFrame,
    flagged_on: date,
    as_of: date,
    profile: BusinessProfile,
) -> dict[str, Any]:
    """How the flags of ``flagged_on`` turned out by ``as_of`` (JSON-ready).

    The population is the buyers not lost on ``flagged_on`` who still have a row at ``as_of``.
    precision = drifted among the flagged; base_rate = drifted among the others; lift =
    precision / base_rate.
    """
    earlier = flags.filter((pl.col("stage") != "prospect") & (pl.col("status") != "lost")).select(
        "customer_pk", pl.col("early_warning").fill_null(value=False).alias("flagged")
    )
    days = (as_of - flagged_on).days
    later = now.select("customer_pk", drifted_expr(profile, days).alias("drifted"))
    joined = earlier.join(later, on="customer_pk", how="inner")
    counts = joined.select(
        flagged=pl.col("flagged").sum(),
        flagged_drifted=(pl.col("flagged") & pl.col("drifted")).sum(),
        others=(~pl.col("flagged")).sum(),
        others_drifted=(~pl.col("flagged") & pl.col("drifted")).sum(),
    ).row(0, named=True)
    flagged, hits = int(counts["flagged"] or 0), int(counts["flagged_drifted"] or 0)
    others, base_hits = int(counts["others"] or 0), int(counts["others_drifted"] or 0)
    precision = hits / flagged if flagged else None
    base = base_hits / others if others else None
    return {
        "flagged_on": flagged_on.isoformat(),
        "as_of": as_of.isoformat(),
        "days": days,
        "flagged": flagged,
        "flagged_drifted": hits,
        "precision": None if precision is None else round(precision, 6),
        "unflagged": others,
        "unflagged_drifted": base_hits,
        "base_rate": None if base is None else round(base, 6),
        "lift": round(precision / base, 4) if precision is not None and base else None,
    }
