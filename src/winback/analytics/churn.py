"""The churn score (R2): sign-constrained logistic regression on standardised indicators,
recalibrated on a later time split (:mod:`winback.analytics.calibration`).

Model. P(no purchase within the horizon) = sigmoid(b + sum_j w_j z_j), where z_j is indicator
j oriented so that higher means riskier (see :mod:`winback.analytics.indicators`) and
standardised on the training customers, and every w_j >= 0. The weights are fitted by
L2-regularised maximum likelihood (Hoerl & Kennard 1970 for the ridge penalty; bounded
L-BFGS-B, Byrd, Lu, Nocedal & Zhu 1995). The sign constraint keeps each weight readable
("how many log-odds one standard deviation of this warning sign adds") and lets a business
set its own weights without breaking the meaning of the score. The churn score is
100 x that probability; a customer's contribution from indicator j is w_j z_j (log-odds).

Training (a time-split backtest on the business's own history): indicators as of
``as_of - horizon`` (and, stacked, 30 and 60 days before that), label = no purchase in the
following horizon. Small histories: the weights are pulled toward an industry prior
(:mod:`winback.analytics.priors`) by a ridge penalty centred at the prior whose strength
falls with the number of training rows, (tau / n) x |w - w_prior|^2 / 2 on the mean
log-loss; the prior's share of the information about a weight is tau / (tau + n p (1 - p))
(:func:`prior_share`, p the base rate). The audit reports
each indicator's single-variable ROC-AUC on that set, the Spearman correlations, redundant
pairs (|rho| > 0.8) and which indicators could be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import rankdata

from winback.analytics.calibration import Calibration
from winback.analytics.indicators import CODES, INDICATORS
from winback.analytics.metrics import roc_auc_of_ranks
from winback.config import BusinessProfile

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

L2_PENALTY = 0.01  # on the mean log-loss; about C = 100 / n in scikit-learn terms
MIN_TRAINING_CUSTOMERS = 30  # below this (or MIN_PER_CLASS), the prior weights as they are
MIN_PER_CLASS = 5
VARIANCE_FLOOR = 1e-9
REDUNDANT_RHO = 0.8
WEAK_AUC = 0.52
SCORE_AT_RISK = 50.0  # more likely than not to stay away for the whole horizon
SCORE_WARNING = 35.0  # the early warning's looser cut-off (R9)
# Used only when the history is too short to learn from and the industry has no prior;
# documented in docs/analytics.md.
DEFAULT_WEIGHTS: dict[str, float] = {
    "long_silence": 0.5,
    "late_vs_rhythm": 1.0,
    "low_p_alive": 0.5,
    "few_repeats": 0.25,
    "long_tenure": 0.0,
    "btyd_no_return": 0.5,
    "frequency_down": 0.25,
    "spend_down": 0.25,
    "category_narrowing": 0.25,
    "engagement_down": 0.25,
    "engagement_silence": 0.25,
    "unanswered_contacts": 0.25,
    "open_complaint": 0.5,
    "low_satisfaction": 0.25,
}


@dataclass(frozen=True, eq=False)
class ChurnModel:
    weights: dict[str, float]  # every declared indicator; 0 for the dropped ones
    intercept: float
    center: FloatArray  # per indicator, in CODES order
    scale: FloatArray
    reference: FloatArray  # the typical customer who stayed: the zero of the contributions
    source: str  # "learned" | "prior" | "default", "+caller" when the caller set weights
    dropped: dict[str, str]  # code -> why it is not used
    prior_share: float = 0.0  # tau / (tau + n): how much the prior weighs against the data
    calibration: Calibration | None = None  # maps raw to calibrated probabilities

    @property
    def weight_vector(self) -> FloatArray:
        return np.array([self.weights[c] for c in CODES], dtype=np.float64)

    def contributions(self, inputs: FloatArray) -> FloatArray:
        """w_j (x_j - reference_j) / scale_j per customer and indicator (log-odds).

        Measured from the typical customer who stayed (not the population mean, which in an
        old base is dominated by the long gone), so a positive contribution reads "this sign
        is worse than for customers who keep buying".
        """
        result: FloatArray = ((inputs - self.reference) / self.scale) * self.weight_vector
        return result

    def raw_probability(self, inputs: FloatArray) -> FloatArray:
        """The logistic model's own probability (before recalibration)."""
        linear = self.intercept + (((inputs - self.center) / self.scale) @ self.weight_vector)
        result: FloatArray = expit(linear)
        return result

    def probability(self, inputs: FloatArray) -> FloatArray:
        """The calibrated probability of no purchase within the horizon."""
        raw = self.raw_probability(inputs)
        return raw if self.calibration is None else self.calibration.apply(raw)


def learnable(label: BoolArray) -> bool:
    """Enough training customers of both outcomes to fit weights (toward the prior)."""
    positives = int(label.sum())
    return (
        label.size >= MIN_TRAINING_CUSTOMERS
        and positives >= MIN_PER_CLASS
        and label.size - positives >= MIN_PER_CLASS
    )


def _standardisation(inputs: FloatArray) -> tuple[FloatArray, FloatArray, dict[str, str]]:
    if inputs.shape[0] == 0:
        return np.zeros(len(CODES)), np.ones(len(CODES)), dict.fromkeys(CODES, "no_data")
    center = inputs.mean(axis=0)
    spread = inputs.std(axis=0)
    flat = spread <= VARIANCE_FLOOR
    dropped = {code: "no_variance" for code, f in zip(CODES, flat, strict=True) if f}
    return center, np.where(flat, 1.0, spread), dropped


def fit_churn_model(
    inputs: FloatArray,
    label: BoolArray,
    prior: dict[str, float] | None = None,
    prior_strength: float = 0.0,
) -> ChurnModel:
    """Learn weights from training inputs (``model_inputs`` rows) and labels; with a
    ``prior``, the ridge penalty is centred at it with strength ``prior_strength / n``."""
    center, scale, dropped = _standardisation(inputs)
    active = np.array([c not in dropped for c in CODES])
    if not learnable(label) or not active.any():
        return default_model(inputs, prior, label)
    z = (inputs[:, active] - center[active]) / scale[active]
    toward = None
    strength = 0.0
    if prior is not None and prior_strength > 0:
        toward = np.array([prior.get(c, 0.0) for c in CODES])[active]
        strength = prior_strength / label.size
    intercept, fitted = _fit_logistic(z, label, fixed=None, prior=toward, strength=strength)
    weights = dict.fromkeys(CODES, 0.0)
    for code, value in zip(np.array(CODES)[active], fitted, strict=True):
        weights[str(code)] = round(float(value), 6)
    stayed = inputs[~label].mean(axis=0)
    share = prior_share(prior_strength, label) if toward is not None else 0.0
    return ChurnModel(weights, intercept, center, scale, stayed, "learned", dropped, share)


def prior_share(prior_strength: float, label: BoolArray) -> float:
    """tau / (tau + n ybar (1 - ybar)): the prior's share of the information about a weight.
    A standardised indicator's weight gets about n p (1 - p) of Fisher information from n
    training rows (at the base rate p) and tau from the prior's penalty."""
    rate = float(label.mean()) if label.size else 0.0
    information = label.size * rate * (1.0 - rate)
    return prior_strength / (prior_strength + information) if prior_strength > 0 else 0.0


def default_model(
    reference: FloatArray,
    prior: dict[str, float] | None = None,
    label: BoolArray | None = None,
) -> ChurnModel:
    """The industry ``prior`` weights (else the documented defaults), standardised on
    ``reference``; used when the history is too short (or too one-sided) to learn from. The
    intercept is the log-odds of the lapse rate in ``label`` when there is one, so the score
    is centred on what the business has seen; it is a ranking more than a probability."""
    center, scale, dropped = _standardisation(reference)
    table = DEFAULT_WEIGHTS if prior is None else prior
    weights = {c: (0.0 if c in dropped else float(table.get(c, 0.0))) for c in CODES}
    intercept = 0.0
    if label is not None and label.size:
        rate = (float(label.sum()) + 0.5) / (label.size + 1.0)
        intercept = float(logit(rate))
    source = "default" if prior is None else "prior"
    return ChurnModel(weights, intercept, center, scale, center, source, dropped, 1.0)


def with_calibration(model: ChurnModel, calibration: Calibration | None) -> ChurnModel:
    return replace(model, calibration=calibration)


def with_weights(
    model: ChurnModel, overrides: dict[str, float], inputs: FloatArray, label: BoolArray
) -> ChurnModel:
    """The caller's weights replace the model's (codes not given keep theirs); the intercept is
    refitted on the training data so the score stays a probability when it can be."""
    unknown = sorted(set(overrides) - set(CODES))
    if unknown:
        raise ValueError(f"unknown indicator(s) {unknown}; known: {list(CODES)}")
    negative = sorted(c for c, w in overrides.items() if w < 0)
    if negative:
        raise ValueError(f"indicator weights must be >= 0 (direction is built in): {negative}")
    weights = dict(model.weights)
    for code, value in overrides.items():
        weights[code] = 0.0 if code in model.dropped else float(value)
    intercept = model.intercept
    if learnable(label) and inputs.shape[0]:
        z = (inputs - model.center) / model.scale
        vector = np.array([weights[c] for c in CODES])
        intercept, _ = _fit_logistic(z, label, fixed=vector)
    # The recalibration was learned for the model's own weights: it does not carry over.
    return replace(
        model,
        weights=weights,
        intercept=intercept,
        source=model.source + "+caller",
        calibration=None,
    )


def _fit_logistic(
    z: FloatArray,
    label: BoolArray,
    fixed: FloatArray | None,
    prior: FloatArray | None = None,
    strength: float = 0.0,
) -> tuple[float, FloatArray]:
    """Penalised logistic regression with w >= 0; ``fixed`` pins the weights (intercept only).

    Penalty on the mean log-loss: L2_PENALTY |w|^2 / 2, plus strength |w - prior|^2 / 2."""
    n, k = z.shape
    y = label.astype(np.float64)
    centre = np.zeros(k) if prior is None else prior

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        b, w = theta[0], theta[1:]
        eta = b + z @ w
        gap = w - centre
        loss = float(
            np.mean(np.logaddexp(0.0, eta) - y * eta)
            + 0.5 * L2_PENALTY * (w @ w)
            + 0.5 * strength * (gap @ gap)
        )
        residual = (expit(eta) - y) / n
        gradient = np.concatenate(
            [[residual.sum()], z.T @ residual + L2_PENALTY * w + strength * gap]
        )
        return loss, gradient

    start = np.zeros(k + 1)
    start[0] = float(logit(np.clip(y.mean(), 1e-6, 1 - 1e-6)))
    if fixed is None:
        bounds: list[tuple[float | None, float | None]] = [(None, None)] + [(0.0, None)] * k
    else:
        start[1:] = fixed
        bounds = [(None, None)] + [(float(v), float(v)) for v in fixed]
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = np.asarray(result.x, dtype=np.float64)
    return float(theta[0]), theta[1:]


def indicator_audit(
    inputs: FloatArray, label: BoolArray, model: ChurnModel, *, ranks: FloatArray | None = None
) -> dict[str, Any]:
    """Predictive power, correlations, redundancy and drop advice, JSON-ready (seed 000).

    ``ranks``: :func:`indicator_ranks` of ``inputs``, when already computed."""
    active = [j for j, c in enumerate(CODES) if c not in model.dropped]
    aucs: dict[str, float | None] = {c: None for c in CODES}
    # Each indicator is ranked once: its AUC and the Spearman matrix both read the ranks.
    ranks = indicator_ranks(inputs[:, active]) if ranks is None else ranks[:, active]
    for at, j in enumerate(active):
        value = roc_auc_of_ranks(ranks[:, at], label)
        aucs[CODES[j]] = None if value is None else round(value, 4)
    rho = _rank_correlation(ranks) if len(active) > 1 else np.ones((len(active),) * 2)
    codes_active = [CODES[j] for j in active]
    pairs = [
        {"a": codes_active[i], "b": codes_active[j], "rho": round(float(rho[i, j]), 4)}
        for i in range(len(active))
        for j in range(i + 1, len(active))
        if abs(rho[i, j]) > REDUNDANT_RHO
    ]
    reasons: dict[str, list[str]] = {c: [] for c in CODES}
    for code, why in model.dropped.items():
        reasons[code].append(why)
    for code in codes_active:
        auc = aucs[code]
        if auc is not None and auc < WEAK_AUC:
            reasons[code].append("weak")
    for pair in pairs:
        a, b = str(pair["a"]), str(pair["b"])
        weaker = a if (aucs[a] or 0.0) < (aucs[b] or 0.0) else b
        stronger = b if weaker == a else a
        reasons[weaker].append(f"redundant_with:{stronger}")
    return {
        "customers": int(label.size),
        "positives": int(label.sum()),
        "indicators": [
            {
                "code": ind.code,
                "direction": ind.direction,
                "auc": aucs[ind.code],
                "weight": model.weights[ind.code],
                "used": ind.code not in model.dropped,
                "recommendation": "drop" if reasons[ind.code] else "keep",
                "reasons": reasons[ind.code],
                "en": ind.en,
                "zh": ind.zh,
            }
            for ind in INDICATORS
        ],
        "spearman": {
            "codes": codes_active,
            "matrix": [[round(float(v), 4) for v in row] for row in rho],
        },
        "redundant_pairs": pairs,
        "thresholds": {"redundant_abs_rho": REDUNDANT_RHO, "weak_auc_below": WEAK_AUC},
    }


def indicator_ranks(values: FloatArray) -> FloatArray:
    """Average ranks (ties share the mean rank) of each column, as :func:`indicator_audit`
    reads them."""
    if values.shape[1] == 0:
        return np.zeros(values.shape)
    return np.column_stack([rankdata(values[:, j]) for j in range(values.shape[1])])


def _rank_correlation(ranks: FloatArray) -> FloatArray:
    """Spearman's rho of every pair of columns, from their average ranks."""
    result: FloatArray = np.atleast_2d(np.corrcoef(ranks, rowvar=False))
    return result


def base_rate_cutoff(scores: FloatArray, lapse_rate: float) -> float:
    """The score above which the top ``lapse_rate`` share of buyers lie (ties included)."""
    if scores.size == 0 or lapse_rate <= 0.0:
        return float("inf")
    flagged = round(min(lapse_rate, 1.0) * scores.size)
    if flagged == 0:
        return float("inf")
    return float(np.sort(scores)[::-1][flagged - 1])


def base_rate_status_expr(profile: BusinessProfile, cutoff: float) -> pl.Expr:
    """Statuses from the business's own lapse rate, when its probabilities cannot be trusted
    as such (too little history): the top share of buyers by score equal to the share that
    lapsed in its history (``cutoff`` from :func:`base_rate_cutoff`) is at risk; of them, those
    past ``lateness_lost`` or in the lost stage are lost. The rest are active."""
    score, lateness, stage = pl.col("churn_score"), pl.col("lateness"), pl.col("stage")
    flagged = score >= cutoff
    lost = flagged & ((lateness >= profile.lateness_lost) | (stage == "lost"))
    return (
        pl.when(stage == "prospect")
        .then(pl.lit("active"))
        .when(lost)
        .then(pl.lit("lost"))
        .when(flagged)
        .then(pl.lit("at_risk"))
        .otherwise(pl.lit("active"))
    )


def status_expr(profile: BusinessProfile) -> pl.Expr:
    """active / at_risk / lost from the score, the lateness and the lifecycle stage.

    lost: score >= 50 and (lateness >= lateness_lost or stage lost);
    at_risk: otherwise score >= 50, lateness >= lateness_at_risk, or stage lost (past the
    business's own lost threshold, but the evidence says not gone yet);
    active: the rest. A customer in the "sleeping" stage who is on their own slower rhythm
    stays active. Prospects (never bought) are "active": nothing to lose yet.
    """
    score, lateness, stage = pl.col("churn_score"), pl.col("lateness"), pl.col("stage")
    high = score >= SCORE_AT_RISK
    lost = high & ((lateness >= profile.lateness_lost) | (stage == "lost"))
    at_risk = high | (lateness >= profile.lateness_at_risk) | (stage == "lost")
    return (
        pl.when(stage == "prospect")
        .then(pl.lit("active"))
        .when(lost)
        .then(pl.lit("lost"))
        .when(at_risk)
        .then(pl.lit("at_risk"))
        .otherwise(pl.lit("active"))
    )
