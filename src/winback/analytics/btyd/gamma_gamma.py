"""The Gamma-Gamma model of average spend per transaction.

Colombo, R. & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive Marketing
13(3), 2-12. Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430 (the
section adding monetary value to the model).

Each transaction's value is Gamma(p, nu) around the customer's own mean p / nu, and nu varies
across customers as Gamma(q, gamma); the fitted gamma is reported as ``v``. The model uses a
customer's x repeat purchases and their average value z-bar (the first purchase excluded),
and assumes spend is independent of purchase frequency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from winback.analytics.btyd._common import (
    MIN_REPEAT_BUYERS,
    FloatArray,
    ModelFitError,
    NotFittedError,
    as_float_array,
    broadcast,
    check_frequency,
    check_penalizer,
    dot,
    group_weighted_rows,
    minimise,
    refuse,
    row_weights,
)

PARAM_NAMES = ("p", "q", "v")


def check_spend(
    frequency: ArrayLike, monetary_value: ArrayLike, error: type[ValueError]
) -> tuple[FloatArray, FloatArray]:
    """(x, z-bar) as float arrays of one shape; repeat buyers must have a positive average.

    The spend of customers without repeat purchases is not used and may be anything, missing
    included (a mean over no repeat purchases is often null); it comes back as 0.
    """
    x, spend = broadcast(
        [
            as_float_array(frequency, "frequency", error),
            as_float_array(monetary_value, "monetary_value", error, finite=False),
        ],
        "frequency and monetary_value",
        error,
    )
    check_frequency(x, error)
    repeat = x > 0
    refuse(
        repeat & ~np.isfinite(spend),
        "frequency > 0 but monetary_value is missing or non-finite",
        error,
    )
    refuse(
        repeat & (spend <= 0),
        "frequency > 0 but the average repeat spend is not positive "
        "(the Gamma-Gamma model needs positive transaction values)",
        error,
    )
    return x, np.where(repeat, spend, 0.0)


def log_likelihood(
    params: dict[str, float], frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Each repeat buyer's log density of z-bar given x (Colombo & Jiang 1999; FHL 2005).

    ln f = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln z + px ln x - (px+q) ln(v + x z).
    Customers with x = 0 carry no spend information and get 0.
    """
    x, spend = check_spend(frequency, monetary_value, ValueError)
    x, spend = np.atleast_1d(x), np.atleast_1d(spend)
    p, q, v = (params[name] for name in PARAM_NAMES)
    result: FloatArray = np.zeros_like(x)
    repeat = x > 0
    result[repeat] = _log_likelihood(p, q, v, x[repeat], spend[repeat])
    return result


def _log_likelihood(p: float, q: float, v: float, x: FloatArray, z: FloatArray) -> FloatArray:
    px = p * x
    result: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(z)
        + px * np.log(x)
        - (px + q) * np.log(v + x * z)
    )
    return result


@dataclass(frozen=True)
class _Groups:
    x: FloatArray
    z: FloatArray
    weight: FloatArray
    total_weight: float


def _negative_mean_log_likelihood(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood plus penalty, and its gradient in log-parameters."""
    p, q, v = np.exp(theta)
    x, z, w = groups.x, groups.z, groups.weight
    px = p * x
    log_v_xz = np.log(v + x * z)
    psi_pxq = digamma(px + q)
    ll = dot(w, _log_likelihood(p, q, v, x, z))
    d_p = dot(w, x * (psi_pxq - digamma(px) + np.log(z) + np.log(x) - log_v_xz))
    d_q = dot(w, psi_pxq - log_v_xz) + (np.log(v) - digamma(q)) * groups.total_weight
    d_v = q / v * groups.total_weight - dot(w, (px + q) / (v + x * z))
    params = np.array([p, q, v])
    gradient = np.array([d_p, d_q, d_v])
    value = -ll / groups.total_weight + penalizer * dot(params, params)
    grad_theta = params * (-gradient / groups.total_weight + 2 * penalizer * params)
    return value, grad_theta


class GammaGamma:
    """Gamma-Gamma spend model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, JMR).

    ``fit`` takes every customer and keeps only the repeat buyers (frequency > 0): their
    ``monetary_value`` must be the average value of their repeat purchases. ``penalizer`` adds
    ``penalizer * (p^2 + q^2 + v^2)`` to the mean negative log-likelihood, with v measured on
    spend rescaled to a mean of 1, so its meaning does not depend on the currency.

    After :meth:`fit`: ``params_`` (p, q, v in the caller's currency unit) and
    ``log_likelihood_`` (total over repeat buyers, unpenalised). No training data are kept.

    ``fit`` raises :class:`ModelFitError` on: missing, negative or non-integer frequency;
    missing monetary values; a repeat buyer with a non-positive average; weights missing,
    negative or not one per row; fewer than 10 repeat buyers (weighted); an optimiser that
    does not converge; parameters that are non-finite or run off to 0 or infinity; and a
    fitted q <= 1, where the mean spend would be infinite.
    """

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __repr__(self) -> str:
        return f"GammaGamma(penalizer={self.penalizer!r})"

    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> GammaGamma:
        """Maximum-likelihood fit of (p, q, v) on the repeat buyers among the customers given.

        ``weights`` (optional) says how many customers each row stands for.
        """
        penalizer = check_penalizer(self.penalizer)
        x, spend = check_spend(frequency, monetary_value, ModelFitError)
        weight = row_weights(weights, x.size, ModelFitError)
        repeat = x.ravel() > 0
        x, spend, weight = x.ravel()[repeat], spend.ravel()[repeat], weight[repeat]
        repeaters = float(weight.sum())
        if repeaters < MIN_REPEAT_BUYERS:
            raise ModelFitError(
                f"only {repeaters:g} customer(s) made a repeat purchase; the Gamma-Gamma model "
                f"needs at least {MIN_REPEAT_BUYERS}"
            )
        (gx, gz), counts = group_weighted_rows(weight, x, spend)
        scale = dot(counts, gz) / float(counts.sum())  # mean repeat spend
        groups = _Groups(gx, gz / scale, counts, float(counts.sum()))
        theta = minimise(
            lambda th: _negative_mean_log_likelihood(th, groups, penalizer),
            np.log(np.array([1.0, 2.0, 1.0])),  # mean spend p v / (q - 1) = 1 on the scaled data
            PARAM_NAMES,
        )
        p, q, v = (float(value) for value in np.exp(theta))
        if q <= 1:
            raise ModelFitError(
                f"fitted q = {q:.3g} <= 1: spend is so heavy-tailed that the model's mean "
                "spend is infinite; check for outliers or try a penalizer > 0"
            )
        self.params_ = {"p": p, "q": q, "v": v * scale}
        self.log_likelihood_ = dot(counts, _log_likelihood(p, q, v * scale, gx, gz))
        return self

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[M | p, q, v, x, z-bar], the conditional expected spend of FHL (2005, JMR).

        A weighted mean of the population mean p v / (q - 1) and the customer's own z-bar,
        p (v + x z-bar) / (p x + q - 1); customers with x = 0 get the population mean.
        """
        params: Any = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("this GammaGamma model is not fitted yet; call fit() first")
        x, spend = check_spend(frequency, monetary_value, ValueError)
        p, q, v = (float(params[name]) for name in PARAM_NAMES)
        result: FloatArray = np.atleast_1d(p * (v + x * spend) / (p * x + q - 1))
        return result
