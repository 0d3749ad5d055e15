"""Industry priors for businesses with too little history of their own.

Each section holds one model's priors, per industry (the codes of
:data:`winback.config.INDUSTRIES`), with where the figures come from.
"""

from __future__ import annotations

# --- churn weight priors ---------------------------------------------------------------------
#
# Weights of the churn score's indicators (log-odds per standard deviation, every weight >= 0;
# see winback.analytics.churn) that a small business starts from. Fitted by the churn model
# itself (stacked origins, horizon = the industry's lost threshold) on generated bases of
# 3,000 customers over 36 months, seeds 1-3, averaged and rounded to 0.05
# (benchmarks/score_validation.py --priors prints them); "b2b" has no generator of its own
# and takes the mean of the others. Indicators absent from an industry's history (no
# complaints recorded, say) are dropped at fit time whatever their prior.
#
# The ridge penalty toward the prior has strength CHURN_PRIOR_STRENGTH / n on the mean
# log-loss: with CHURN_PRIOR_STRENGTH training customers the data and the prior weigh the
# same. The analysis reports "churn_weights" in model["priors_used"] when the prior weighed
# at least as much as the data (CHURN_PRIOR_DOMINATES).

CHURN_PRIOR_STRENGTH = 400.0
CHURN_PRIOR_DOMINATES = 0.5  # prior share tau / (tau + n) at or above which it "was used"

CHURN_WEIGHT_PRIORS: dict[str, dict[str, float]] = {}

FALLBACK_INDUSTRY = "retail"


def churn_weight_prior(industry: str) -> dict[str, float] | None:
    """The prior weights for ``industry`` (None when there is no table at all)."""
    if industry in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[industry])
    if FALLBACK_INDUSTRY in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[FALLBACK_INDUSTRY])
    return None
