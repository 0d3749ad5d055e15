"""The MBG/NBD model: BG/NBD where a customer may also drop out right after the first purchase.

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison of
models for customer base analysis. International Journal of Research in Marketing 24(3),
201-209: the likelihood, P(alive), E[X(t)] and E[Y(t) | x, t_x, T] below are theirs (as also
implemented by the lifetimes package's ModifiedBetaGeoFitter).

The story is BG/NBD's (see :mod:`beta_geo`) with one change: the coin that decides dropout
with probability p ~ Beta(a, b) is also tossed at time 0, right after the first purchase. So a
customer who never came back may have left at once, and a one-time buyer's P(alive) is below
1 and falls with T, where BG/NBD keeps it at 1 for ever.

Integrating out the dropout at time 0 reduces every expectation to BG/NBD's with b + 1: given
p the customer is alive after the first purchase with probability 1 - p, and
(1 - p) Beta(a, b) = b / (a + b) Beta(a, b + 1). That is how the predictions reuse BG/NBD's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln

from winback.analytics.btyd._common import (
    FloatArray,
    IndexArray,
    NotFittedError,
    as_float_array,
    broadcast,
    check_penalizer,
    dot,
    minimise,
    refuse,
)
from winback.analytics.btyd.beta_geo import (
    PARAM_NAMES,
    TIME_SCALE_TARGET,
    check_summary,
    fit_groups,
    future_purchases,
)

__all__ = ["ModifiedBetaGeo", "log_likelihood", "p_alive"]


def log_likelihood(
    params: dict[str, float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Each customer's MBG/NBD log-likelihood ln L(r, alpha, a, b | x, t_x, T) (BDF 2007).

    L = B(a, b+x+1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
      + B(a+1, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)),
    in log space, finite for x and T in the tens of thousands.
    """
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    x, t_x, age = check_summary(frequency, recency, T, ValueError)
    return np.atleast_1d(_log_likelihood(r, alpha, a, b, x, t_x, age))


def _log_likelihood(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    log_common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    log_common += betaln(a, b + x + 1) - betaln(a, b)
    log_alive = -(r + x) * np.log(alpha + age)
    # B(a+1, b+x) / B(a, b+x+1) = a / (b+x): the "dropped out at t_x" branch, x = 0 included.
    log_dropped = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
    result: FloatArray = log_common + np.logaddexp(log_alive, log_dropped)
    return result


def p_alive(
    params: dict[str, float], x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)) (BDF 2007)."""
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    log_odds_dead = np.log(a) - np.log(b + x) + (r + x) * np.log1p((age - t_x) / (alpha + t_x))
    result: FloatArray = expit(-log_odds_dead)
    return result


def future_purchases_if_alive(
    params: dict[str, float], t: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T + t] of a customer alive at T with x repeat purchases.

    (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))],
    which is BG/NBD's with b + 1, so it shares that function's stable evaluation.
    """
    shifted = dict(params, b=params["b"] + 1)
    return future_purchases(shifted, t, x, age)


@dataclass(frozen=True)
class _Groups:
    """Customers grouped by (x, t_x, T) on the rescaled time axis."""

    x_levels: FloatArray  # distinct x, 0 included
    x_level_weight: FloatArray
    x_index: IndexArray  # group -> its x level
    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    weight: FloatArray
    total_weight: float

    @classmethod
    def build(cls, gx: FloatArray, gt: FloatArray, gage: FloatArray, counts: FloatArray) -> _Groups:
        levels, index = np.unique(gx, return_inverse=True)
        return cls(
            x_levels=levels,
            x_level_weight=np.bincount(index, weights=counts, minlength=levels.size).astype(
                np.float64
            ),
            x_index=index,
            x=gx,
            t_x=gt,
            age=gage,
            weight=counts,
            total_weight=float(counts.sum()),
        )


def _negative_mean_log_likelihood(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (BDF 2007) plus penalty, and its gradient in log-parameters.

    Terms that depend on x only are computed once per distinct x; the rest once per group.
    """
    r, alpha, a, b = np.exp(theta)
    g = groups
    lv, lw = g.x_levels, g.x_level_weight
    log_alpha = np.log(alpha)
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + lv + 1)
    level_ll = gammaln(r + lv) - gammaln(r) + betaln(a, b + lv + 1) - betaln(a, b)
    level_log_ratio = np.log(a) - np.log(b + lv)
    ll = dot(lw, level_ll) + r * log_alpha * g.total_weight
    d_r = dot(lw, digamma(r + lv) - digamma(r)) + log_alpha * g.total_weight
    d_alpha = r / alpha * g.total_weight
    d_a = dot(lw, psi_ab - psi_abx)
    d_b = dot(lw, digamma(b + lv + 1) - psi_abx - digamma(b) + psi_ab)

    # ln(alive + dropped) = ln(alive) + softplus(gap), gap = ln(dropped / alive), as in BG/NBD.
    rx = r + g.x
    age_alpha = alpha + g.age
    tx_alpha = alpha + g.t_x
    log_age = np.log(age_alpha)
    log_tx = np.log(tx_alpha)
    gap = level_log_ratio[g.x_index] - rx * (log_tx - log_age)
    small = np.exp(-np.minimum(np.abs(gap), 50.0))
    w_dropped = g.weight * np.where(gap >= 0, 1.0, small) / (1 + small)
    w_alive = g.weight - w_dropped
    ll += dot(g.weight, np.maximum(gap, 0) + np.log1p(small) - rx * log_age)
    d_r -= dot(w_alive, log_age) + dot(w_dropped, log_tx)
    d_alpha -= dot(w_alive, rx / age_alpha) + dot(w_dropped, rx / tx_alpha)
    d_a += float(w_dropped.sum()) / a
    dropped_per_level = np.bincount(g.x_index, weights=w_dropped, minlength=lv.size).astype(
        np.float64
    )
    d_b -= dot(dropped_per_level, 1 / (b + lv))

    params = np.array([r, alpha, a, b])
    gradient = np.array([d_r, d_alpha, d_a, d_b])
    value = -ll / g.total_weight + penalizer * dot(params, params)
    grad_theta = params * (-gradient / g.total_weight + 2 * penalizer * params)
    return value, grad_theta


class ModifiedBetaGeo:
    """MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007, IJRM 24(3)).

    Same inputs, options and outputs as :class:`~winback.analytics.btyd.beta_geo.BetaGeo`:
    ``penalizer`` adds ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` to the mean negative
    log-likelihood on a time axis rescaled so the longest T is 10; after :meth:`fit`,
    ``params_`` (r, alpha in the caller's time unit, a, b) and ``log_likelihood_`` (total,
    weighted, unpenalised). No training data are kept.

    ``fit`` raises :class:`ModelFitError` on the same inputs as BetaGeo's: no customers;
    missing, negative or non-integer frequency; negative recency or T; recency > T;
    frequency 0 with recency > 0; frequency > 0 with recency 0; bad weights; fewer than 10
    repeat buyers; an optimiser that does not converge; parameters that are non-finite or run
    off to 0 or infinity.
    """

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __repr__(self) -> str:
        return f"ModifiedBetaGeo(penalizer={self.penalizer!r})"

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ModifiedBetaGeo:
        """Maximum-likelihood fit of (r, alpha, a, b) to repeat purchases (x, t_x, T).

        ``weights`` (optional) says how many customers each row stands for.
        """
        penalizer = check_penalizer(self.penalizer)
        (gx, gt, gage), counts = fit_groups(frequency, recency, T, weights, "MBG/NBD")
        scale = TIME_SCALE_TARGET / float(gage.max())
        groups = _Groups.build(gx, gt * scale, gage * scale, counts)
        theta = minimise(
            lambda th: _negative_mean_log_likelihood(th, groups, penalizer),
            _starting_point(groups),
            PARAM_NAMES,
        )
        r, alpha, a, b = (float(v) for v in np.exp(theta))
        self.params_ = {"r": r, "alpha": alpha / scale, "a": a, "b": b}
        self.log_likelihood_ = dot(counts, _log_likelihood(r, alpha / scale, a, b, gx, gt, gage))
        return self

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Probability each customer is still alive at T (BDF 2007); below 1 even for x = 0."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        return np.atleast_1d(p_alive(params, x, t_x, age))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (BDF 2007)."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        horizon, x, t_x, age = broadcast(
            [_check_horizon(t), x, t_x, age], "t, frequency, recency and T", ValueError
        )
        expected = future_purchases_if_alive(params, horizon, x, age) * p_alive(params, x, t_x, age)
        return np.atleast_1d(expected)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))] (BDF 2007).

        Repeat purchases of a new customer in ``t`` periods after the first purchase.
        """
        params = self._fitted_params()
        horizon = np.atleast_1d(_check_horizon(t))
        zeros = np.zeros_like(horizon)
        alive_after_first = params["b"] / (params["a"] + params["b"])
        result: FloatArray = alive_after_first * future_purchases_if_alive(
            params, horizon, zeros, zeros
        )
        return result

    def _fitted_params(self) -> dict[str, float]:
        params: Any = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("this ModifiedBetaGeo model is not fitted yet; call fit() first")
        return dict(params)


def _check_horizon(t: ArrayLike) -> FloatArray:
    horizon = as_float_array(t, "t", ValueError)
    refuse(horizon < 0, "t (the forecast horizon) is negative", ValueError)
    return horizon


def _starting_point(groups: _Groups) -> FloatArray:
    """ln(r, alpha, a, b) to start from: r = 1 and alpha matching the mean purchase rate."""
    purchases = dot(groups.weight, groups.x)
    exposure = dot(groups.weight, groups.age)
    rate = max(purchases, 1e-12) / max(exposure, 1e-12)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
