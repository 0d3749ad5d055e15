"""Industry priors for businesses with too little history of their own.

Each section holds one model's priors, per industry (the codes of
:data:`winback.config.INDUSTRIES`), with where the figures come from.
"""

from __future__ import annotations

import math

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
}

FITTED_CHURN_PRIORS = ("retail", "restaurant", "dental", "aesthetics")
# Industries without a fitted row: the mean of the fitted ones, rounded to 0.05.
for _industry in ("b2b", "accounting"):
    CHURN_WEIGHT_PRIORS[_industry] = {
        code: round(
            round(
                sum(CHURN_WEIGHT_PRIORS[i][code] for i in FITTED_CHURN_PRIORS)
                / len(FITTED_CHURN_PRIORS)
                / 0.05
            )
            * 0.05,
            2,
        )
        for code in CHURN_WEIGHT_PRIORS["retail"]
    }

FALLBACK_INDUSTRY = "retail"


def churn_weight_prior(industry: str) -> dict[str, float] | None:
    """The prior weights for ``industry`` (None when there is no table at all)."""
    if industry in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[industry])
    if FALLBACK_INDUSTRY in CHURN_WEIGHT_PRIORS:
        return dict(CHURN_WEIGHT_PRIORS[FALLBACK_INDUSTRY])
    return None


# --- BTYD priors (BG/NBD and Gamma-Gamma) ------------------------------------------------------
#
# Derived by scripts/derive-btyd-priors.py: for each industry preset, 40,000 customers over 36
# months simulated by winback.simulate (seed 2026, history ending 2025-12-31), summarised in
# weeks on purchase days like winback.analytics.value, BG/NBD fitted on every buyer (the
# smallest penalizer of 0, 0.001, 0.01, 0.1 whose parameters pass btyd_choice.runaway:
# accounting needs 0.001, unpenalised its a and b run past 1e5 and 1e6) and Gamma-Gamma on
# the repeat buyers. Gamma-Gamma's v is kept relative to the mean repeat spend (v / mean), so
# the prior fits any currency; dental has no Gamma-Gamma prior (its simulated spend is so
# heavy-tailed that q <= 1, an infinite mean spend).
#
# A business with fewer than SMALL_BASE_REPEAT_BUYERS repeat buyers (in the fit sample) gets
# its fitted log-parameters pulled toward the prior with weight 1 - n / 200 (n repeat buyers;
# 0.95 at 10, 0.5 at 100, 0 from 200 on, so the estimate does not jump at the threshold), or
# the prior itself when its own fit fails.

SMALL_BASE_REPEAT_BUYERS = 200

BTYD_PRIORS: dict[str, dict[str, dict[str, float] | None]] = {
    "retail": {
        "bg_nbd": {"r": 0.5664, "alpha": 1.942, "a": 0.8507, "b": 8.427},
        "gamma_gamma": {"p": 0.879, "q": 1.961, "v_relative": 1.318},
    },
    "restaurant": {
        "bg_nbd": {"r": 0.7143, "alpha": 1.641, "a": 0.5881, "b": 8.691},
        "gamma_gamma": {"p": 1.088, "q": 1.237, "v_relative": 0.3412},
    },
    "dental": {
        "bg_nbd": {"r": 1.07, "alpha": 32.23, "a": 2.675, "b": 25.27},
        "gamma_gamma": None,
    },
    "aesthetics": {
        "bg_nbd": {"r": 0.7071, "alpha": 4.565, "a": 0.854, "b": 8.885},
        "gamma_gamma": {"p": 0.9444, "q": 1.595, "v_relative": 0.8085},
    },
    "b2b": {
        "bg_nbd": {"r": 1.103, "alpha": 4.93, "a": 0.4624, "b": 10.04},
        "gamma_gamma": {"p": 0.6286, "q": 1.557, "v_relative": 1.251},
    },
    "accounting": {
        "bg_nbd": {"r": 0.8577, "alpha": 48.15, "a": 0.2153, "b": 1.178},
        "gamma_gamma": {"p": 0.6895, "q": 4.838, "v_relative": 5.733},
    },
}


def btyd_prior_weight(repeat_buyers: int) -> float:
    """Weight of the prior in the log-parameters: 1 - n / SMALL_BASE_REPEAT_BUYERS, >= 0."""
    return max(0.0, 1.0 - repeat_buyers / SMALL_BASE_REPEAT_BUYERS)


def bg_nbd_prior(industry: str | None) -> dict[str, float] | None:
    if industry is None or industry not in BTYD_PRIORS:
        return None
    prior = BTYD_PRIORS[industry]["bg_nbd"]
    return dict(prior) if prior is not None else None


def gamma_gamma_prior(industry: str | None, mean_repeat_spend: float) -> dict[str, float] | None:
    """p, q and v = v_relative x the business's own mean repeat spend."""
    if industry is None or industry not in BTYD_PRIORS or not mean_repeat_spend > 0:
        return None
    prior = BTYD_PRIORS[industry]["gamma_gamma"]
    if prior is None:
        return None
    return {"p": prior["p"], "q": prior["q"], "v": prior["v_relative"] * mean_repeat_spend}


def shrink(fitted: dict[str, float], prior: dict[str, float], weight: float) -> dict[str, float]:
    """exp((1 - w) ln fitted + w ln prior), parameter by parameter."""
    return {
        name: math.exp((1 - weight) * math.log(value) + weight * math.log(prior[name]))
        for name, value in fitted.items()
    }
