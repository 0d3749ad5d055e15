"""Industry priors for businesses with too little history of their own.

Each section holds one model's priors, per industry (the codes of
:data:`winback.config.INDUSTRIES`), with where the figures come from.
"""

from __future__ import annotations

# --- churn weight priors ---------------------------------------------------------------------
#
# Weights of the churn score's indicators (log-odds per standard deviation, every weight >= 0;
# see winback.analytics.churn) that a small business starts from. Fitted by the churn model
# itself (stacked origins, horizon = the industry's lost threshold, as of one horizon before
# the end) on generated bases (winback.simulate) of 1,500 customers over 36 months ending
# 2024-12-31, seeds 1 and 2, averaged and rounded to 0.05. Industries without a fitted row
# (b2b, accounting) take the mean of the fitted ones. Indicators absent from an industry's
# history (no complaints recorded, say) are dropped at fit time whatever their prior.
#
# The ridge penalty toward the prior has strength CHURN_PRIOR_STRENGTH / n on the mean
# log-loss of n training rows; the prior's share of the information about a weight is then
# tau / (tau + n p (1 - p)) at base rate p (winback.analytics.churn.prior_share): the data
# and the prior weigh the same at n p (1 - p) = tau, about 500 rows at a 30% lapse rate. The
# analysis reports "churn_weights" in model["priors_used"] when the prior weighed at least as
# much as the data (CHURN_PRIOR_DOMINATES).

CHURN_PRIOR_STRENGTH = 100.0
CHURN_PRIOR_DOMINATES = 0.5  # prior share tau / (tau + n) at or above which it "was used"

CHURN_WEIGHT_PRIORS: dict[str, dict[str, float]] = {
    "retail": {
        "long_silence": 0.25,
        "late_vs_rhythm": 0.55,
        "low_p_alive": 0.35,
        "few_repeats": 0.5,
        "long_tenure": 0.3,
        "btyd_no_return": 1.1,
        "frequency_down": 0.0,
        "spend_down": 0.05,
        "category_narrowing": 0.15,
        "engagement_down": 0.05,
        "engagement_silence": 0.2,
        "unanswered_contacts": 0.05,
        "open_complaint": 0.5,
        "low_satisfaction": 0.1,
    },
    "restaurant": {
        "long_silence": 0.45,
        "late_vs_rhythm": 0.45,
        "low_p_alive": 0.5,
        "few_repeats": 0.55,
        "long_tenure": 0.3,
        "btyd_no_return": 1.1,
        "frequency_down": 0.05,
        "spend_down": 0.15,
        "category_narrowing": 0.05,
        "engagement_down": 0.05,
        "engagement_silence": 0.15,
        "unanswered_contacts": 0.1,
        "open_complaint": 0.45,
        "low_satisfaction": 0.15,
    },
    "dental": {
        "long_silence": 0.05,
        "late_vs_rhythm": 0.2,
        "low_p_alive": 0.0,
        "few_repeats": 0.15,
        "long_tenure": 0.1,
        "btyd_no_return": 0.0,
        "frequency_down": 0.0,
        "spend_down": 0.0,
        "category_narrowing": 0.0,
        "engagement_down": 0.0,
        "engagement_silence": 0.25,
        "unanswered_contacts": 0.1,
        "open_complaint": 0.7,
        "low_satisfaction": 0.25,
    },
    "aesthetics": {
        "long_silence": 0.1,
        "late_vs_rhythm": 0.4,
        "low_p_alive": 0.2,
        "few_repeats": 0.25,
        "long_tenure": 0.15,
        "btyd_no_return": 0.85,
        "frequency_down": 0.1,
        "spend_down": 0.1,
        "category_narrowing": 0.0,
        "engagement_down": 0.15,
        "engagement_silence": 0.35,
        "unanswered_contacts": 0.1,
        "open_complaint": 0.55,
        "low_satisfaction": 0.15,
    },
    "b2b": {
        "long_silence": 0.2,
        "late_vs_rhythm": 0.4,
        "low_p_alive": 0.25,
        "few_repeats": 0.35,
        "long_tenure": 0.2,
        "btyd_no_return": 0.75,
        "frequency_down": 0.05,
        "spend_down": 0.1,
        "category_narrowing": 0.05,
        "engagement_down": 0.05,
        "engagement_silence": 0.25,
        "unanswered_contacts": 0.1,
        "open_complaint": 0.55,
        "low_satisfaction": 0.15,
    },
    "accounting": {
        "long_silence": 0.2,
        "late_vs_rhythm": 0.4,
        "low_p_alive": 0.25,
        "few_repeats": 0.35,
        "long_tenure": 0.2,
        "btyd_no_return": 0.75,
        "frequency_down": 0.05,
        "spend_down": 0.1,
        "category_narrowing": 0.05,
        "engagement_down": 0.05,
        "engagement_silence": 0.25,
        "unanswered_contacts": 0.1,
        "open_complaint": 0.55,
        "low_satisfaction": 0.15,
    },
}

FALLBACK_INDUSTRY = "retail"


def churn_weight_prior(industry: str) -> dict[str, float] | None:
    """The prior weights for ``industry`` (None when there is no table at all)."""
    if industry in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[industry])
    if FALLBACK_INDUSTRY in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[FALLBACK_INDUSTRY])
    return None
