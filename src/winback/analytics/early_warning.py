"""Early warning (R9): looser rules that catch customers before they are lost.

A customer who bought and is not (yet) lost is flagged when their status is at_risk or
any of these looser rules holds:
- late_vs_rhythm: lateness >= profile.lateness_at_risk;
- churn score >= 35 (the looser cut-off; at-risk starts at 50);
- open_complaint: a complaint not resolved by the as-of date;
- spend_down: spend in the last 365 days below half of the 365 before;
- engagement_down: at least two non-purchase acts in the prior 365 days and none in the
  last 365 ("engagement stopped"; a single act a year ago is no habit that stopped);
- unanswered_contacts: two or more of our contacts in 90 days went unanswered.
The triggering signals lead the customer's top signals.

Retention actions follow the stage's contact policy (seed 004): active -> care_call (answer
and care, little selling), silent -> light_touch_incentive (regular light touches, small
incentives), sleeping -> targeted_offer (few contacts, targeted offers), lost ->
winback_team (minimal contact, the dedicated win-back team). An open complaint comes first:
resolve_complaint. Status lost -> winback_team. Everyone else: "" (no action).
"""

from __future__ import annotations

import polars as pl

from winback.analytics.churn import SCORE_WARNING
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


def early_warning_expr(profile: BusinessProfile) -> pl.Expr:
    """Needs the features plus churn_score, status and stage."""
    fired = pl.any_horizontal(list(triggers(profile).values())).fill_null(value=False)
    candidate = (pl.col("stage") != "prospect") & (pl.col("status") != "lost")
    looser = fired | (pl.col("churn_score") >= SCORE_WARNING) | (pl.col("status") == "at_risk")
    return candidate & looser


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
