"""The BG/NBD model: who is still buying, and how much will they buy.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284: the likelihood,
E[X(t)], P(alive) and the conditional expectation E[Y(t) | x, t_x, T] below are theirs.

Each customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) while alive and,
after each repeat purchase, drops out for good with probability p ~ Beta(a, b). A customer is
summarised by (x, t_x, T): x repeat purchases (purchases after the first), t_x the customer's
age at the last purchase (0 when x = 0) and T the age at the as-of date, all in one time unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from winback.analytics.btyd._common import (
    MIN_REPEAT_BUYERS,
    FloatArray,
    IndexArray,
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

PARAM_NAMES = ("r", "alpha", "a", "b")
# The fit rescales time so that the longest T is this long, like the lifetimes package, so
# the penalizer means the same whatever the time unit and the search starts well scaled.
TIME_SCALE_TARGET = 10.0
# E[X(t)] and E[Y(t) | ...] divide by a - 1 and use 2F1(...; a + b - 1; .): closer than this
# to a = 1 or a + b = 1 they are averaged over parameters 2 gaps either side, where regular.
_SINGULAR_GAP = 1e-6
_INTEGER_GAP = 1e-6


def check_summary(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, error: type[ValueError]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The (x, t_x, T) summary as float arrays of one shape, refusing what the model cannot mean.

    As in Fader, Hardie & Lee (2005) §3: 0 <= t_x <= T; t_x = 0 when x = 0; and t_x > 0 when
    x > 0, because repeat purchases come after the first one (count purchases on distinct
    days, or periods, so that a same-day repeat does not give x > 0 with t_x = 0).
    """
    x, t_x, age = broadcast(
        [
            as_float_array(frequency, "frequency", error),
            as_float_array(recency, "recency", error),
            as_float_array(T, "T", error),
        ],
        "frequency, recency and T",
        error,
    )
    check_frequency(x, error)
    refuse(t_x < 0, "recency is negative", error)
    refuse(age < 0, "T (age at the as-of date) is negative", error)
    refuse(t_x > age, "recency (age at last purchase) is greater than T (age at as-of)", error)
    refuse((x == 0) & (t_x != 0), "frequency is 0 but recency is not 0", error)
    refuse(
        (x > 0) & (t_x == 0),
        "frequency > 0 but recency is 0: repeat purchases must come after the first one "
        "(count purchases on distinct days or periods)",
        error,
    )
    return x, t_x, age


def log_likelihood(
    params: dict[str, float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Each customer's BG/NBD log-likelihood ln L(r, alpha, a, b | x, t_x, T) (FHL 2005).

    Evaluated in log space (gammaln, betaln, logaddexp), so it stays finite for x and T in
    the tens of thousands.
    """
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    x, t_x, age = check_summary(frequency, recency, T, ValueError)
    return np.atleast_1d(_log_likelihood(r, alpha, a, b, x, t_x, age))


def _log_likelihood(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    repeat = x > 0
    log_common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    log_common += betaln(a, b + x) - betaln(a, b)
    log_alive = -(r + x) * np.log(alpha + age)
    # B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1): the "dropped out after t_x" branch.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dropped = np.where(
            repeat, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf
        )
    result: FloatArray = log_common + np.logaddexp(log_alive, log_dropped)
    return result


def p_alive(
    params: dict[str, float], x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) (FHL 2005), as a logistic of a log-odds for stability."""
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = (
            np.log(a) - np.log(b + x - 1) + (r + x) * np.log1p((age - t_x) / (alpha + t_x))
        )
    result: FloatArray = np.where(repeat, expit(-log_odds_dead), 1.0)
    return result


def future_purchases(
    params: dict[str, float], t: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T + t] of a customer known to be alive at T with x repeats.

    This is FHL's E[Y(t) | x, t_x, T] without its P(alive) factor, and E[X(t)] when x = T = 0:
    (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
    z = t / (alpha+T+t). Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z)
    turns the bracket into 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose first two
    arguments stay small however large x is, so the series stays well conditioned for
    x and T in the tens of thousands (checked against mpmath at 60 digits).
    """
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    if abs(a - 1) >= _SINGULAR_GAP and abs(a + b - 1) >= _SINGULAR_GAP:
        return _future_purchases(r, alpha, a, b, t, x, age)
    # Both expectations are smooth in a; step over the removable singularity symmetrically.
    step = 2 * _SINGULAR_GAP
    if abs(a - 1) >= _SINGULAR_GAP and b > a:
        low = _future_purchases(r, alpha, a, b - step, t, x, age)
        high = _future_purchases(r, alpha, a, b + step, t, x, age)
    else:
        low = _future_purchases(r, alpha, a - step, b, t, x, age)
        high = _future_purchases(r, alpha, a + step, b, t, x, age)
    result: FloatArray = (low + high) / 2
    return result


def _future_purchases(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    age: FloatArray,
) -> FloatArray:
    c = a + b + x - 1
    z = t / (alpha + age + t)
    log_one_minus_z = np.log(alpha + age) - np.log(alpha + age + t)
    series = _hyp2f1(a + b - 1 - r, a - 1, c, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # 1 - G via expm1 keeps precision for short horizons, where G is close to 1.
        one_minus_g = np.where(
            series > 0,
            -np.expm1((a - 1) * log_one_minus_z + np.log(series)),
            1 - np.exp((a - 1) * log_one_minus_z) * series,
        )
        # Clipped at 0: for t near 0 rounding can leave -1e-16 where the value is +1e-16.
        result: FloatArray = np.maximum(c / (a - 1) * one_minus_g, 0.0)
    bad = ~np.isfinite(result)
    if bad.any():
        raise ValueError(
            f"expected purchases could not be computed for {int(np.count_nonzero(bad))} "
            f"customer(s) with parameters r={r:.4g}, alpha={alpha:.4g}, a={a:.4g}, b={b:.4g}"
        )
    return result


def _hyp2f1(first: float, second: float, third: FloatArray, z: FloatArray) -> FloatArray:
    """Gauss 2F1(first, second; third; z) for 0 <= z < 1, by SciPy, guarded.

    SciPy returns NaN where third - first - second is a whole number and z is near 1 (its
    z -> 1 - z transformation meets a removable pole there). The function is analytic in its
    first argument, so those entries take the mean at first +/- 1e-6 (relative), within
    about 1e-10 of mpmath.
    """
    values: FloatArray = np.array(hyp2f1(first, second, third, z), dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        third_bad, z_bad = (np.broadcast_to(v, values.shape)[bad] for v in (third, z))
        step = _INTEGER_GAP * max(1.0, abs(first))
        values[bad] = (
            hyp2f1(first - step, second, third_bad, z_bad)
            + hyp2f1(first + step, second, third_bad, z_bad)
        ) / 2
    return values


@dataclass(frozen=True)
class _Groups:
    """Customers grouped by (x, t_x, T) on the rescaled time axis, split by x = 0 or not."""

    zero_age: FloatArray  # T of the groups with x = 0
    zero_weight: FloatArray
    x_levels: FloatArray  # distinct x > 0
    x_level_weight: FloatArray
    x_index: IndexArray  # repeat group -> its x level
    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    weight: FloatArray
    total_weight: float

    @classmethod
    def build(cls, gx: FloatArray, gt: FloatArray, gage: FloatArray, counts: FloatArray) -> _Groups:
        """From distinct (x, t_x, T) rows and how many customers share each."""
        repeat = gx > 0
        levels, index = np.unique(gx[repeat], return_inverse=True)
        weight = counts[repeat]
        return cls(
            zero_age=gage[~repeat],
            zero_weight=counts[~repeat],
            x_levels=levels,
            x_level_weight=np.bincount(index, weights=weight, minlength=levels.size).astype(
                np.float64
            ),
            x_index=index,
            x=gx[repeat],
            t_x=gt[repeat],
            age=gage[repeat],
            weight=weight,
            total_weight=float(counts.sum()),
        )


def _negative_mean_log_likelihood(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (FHL 2005) plus penalty, and its gradient in log-parameters.

    Terms that depend on x only are computed once per distinct x; the rest once per group.
    """
    r, alpha, a, b = np.exp(theta)
    g = groups
    log_alpha = np.log(alpha)
    # x = 0 groups: ln L = r ln alpha - r ln(alpha + T).
    log_zero = np.log(alpha + g.zero_age)
    ll = dot(g.zero_weight, r * (log_alpha - log_zero))
    d_r = dot(g.zero_weight, log_alpha - log_zero)
    d_alpha = dot(g.zero_weight, r / alpha - r / (alpha + g.zero_age))
    d_a = d_b = 0.0

    # x > 0 groups: per-level terms first.
    lv, lw = g.x_levels, g.x_level_weight
    psi_ab = digamma(a + b)
    level_ll = gammaln(r + lv) - gammaln(r) + betaln(a, b + lv) - betaln(a, b)
    level_log_ratio = np.log(a) - np.log(b + lv - 1)
    ll += dot(lw, level_ll) + r * log_alpha * float(lw.sum())
    d_r += dot(lw, digamma(r + lv) - digamma(r)) + log_alpha * float(lw.sum())
    d_alpha += r / alpha * float(lw.sum())
    d_a += dot(lw, psi_ab - digamma(a + b + lv))
    d_b += dot(lw, digamma(b + lv) - digamma(a + b + lv) - digamma(b) + psi_ab)

    # Per group: ln(alive term + dropped term) = ln(alive) + softplus(gap), where gap is
    # ln(dropped / alive); its logistic is the dropped term's share, which weighs the
    # gradient. One exp and one log1p per group (this loop dominates fitting time).
    rx = r + g.x
    age_alpha = alpha + g.age
    tx_alpha = alpha + g.t_x
    log_age = np.log(age_alpha)
    log_tx = np.log(tx_alpha)
    gap = level_log_ratio[g.x_index] - rx * (log_tx - log_age)
    # Clipped so exp never returns subnormals (ten times slower); e^-50 is below rounding.
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
    d_b -= dot(dropped_per_level, 1 / (b + lv - 1))

    params = np.array([r, alpha, a, b])
    gradient = np.array([d_r, d_alpha, d_a, d_b])
    value = -ll / g.total_weight + penalizer * dot(params, params)
    # Chain rule to log-parameters: d/d(ln p) = p d/dp.
    grad_theta = params * (-gradient / g.total_weight + 2 * penalizer * params)
    return value, grad_theta


class BetaGeo:
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, Marketing Science).

    ``penalizer`` adds ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` to the mean negative
    log-likelihood, with alpha measured on a time axis rescaled so the longest T is 10 (as in
    the lifetimes package), which keeps parameters finite on data with little heterogeneity.

    After :meth:`fit`: ``params_`` (r, alpha in the caller's time unit, a, b) and
    ``log_likelihood_`` (total over customers, unpenalised). No training data are kept.

    ``fit`` raises :class:`ModelFitError` on: no customers; missing, negative or non-integer
    frequency; negative recency or T; recency > T; frequency 0 with recency > 0; frequency > 0
    with recency 0; weights missing, negative or not one per row; fewer than 10 repeat buyers
    (weighted); an optimiser that does not converge;
    parameters that are non-finite or run off to 0 or infinity.
    """

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __repr__(self) -> str:
        return f"BetaGeo(penalizer={self.penalizer!r})"

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeo:
        """Maximum-likelihood fit of (r, alpha, a, b) to repeat purchases (x, t_x, T).

        ``weights`` (optional) says how many customers each row stands for, so a summary
        table of distinct (x, t_x, T) rows with their counts fits as the customers would.
        """
        penalizer = check_penalizer(self.penalizer)
        (gx, gt, gage), counts = fit_groups(frequency, recency, T, weights, "BG/NBD")
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
        """Probability each customer is still alive at T (FHL 2005)."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        return np.atleast_1d(p_alive(params, x, t_x, age))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (FHL 2005)."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        horizon, x, t_x, age = broadcast(
            [_check_horizon(t), x, t_x, age], "t, frequency, recency and T", ValueError
        )
        expected = future_purchases(params, horizon, x, age) * p_alive(params, x, t_x, age)
        return np.atleast_1d(expected)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: repeat purchases of a new customer in ``t`` periods (FHL 2005)."""
        params = self._fitted_params()
        horizon = np.atleast_1d(_check_horizon(t))
        zeros = np.zeros_like(horizon)
        return future_purchases(params, horizon, zeros, zeros)

    def _fitted_params(self) -> dict[str, float]:
        params: Any = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("this BetaGeo model is not fitted yet; call fit() first")
        return dict(params)


def fit_groups(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None,
    model: str,
) -> tuple[list[FloatArray], FloatArray]:
    """Distinct (x, t_x, T) rows to fit on and how many customers each stands for.

    Raises :class:`ModelFitError` on invalid summaries or weights, no customers, or fewer
    than ``MIN_REPEAT_BUYERS`` repeat buyers (counted with their weights).
    """
    x, t_x, age = check_summary(frequency, recency, T, ModelFitError)
    x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
    weight = row_weights(weights, x.size, ModelFitError)
    if not weight.sum() > 0:
        raise ModelFitError("no customers to fit")
    repeaters = dot(weight, (x > 0).astype(np.float64))
    if repeaters < MIN_REPEAT_BUYERS:
        raise ModelFitError(
            f"only {repeaters:g} customer(s) made a repeat purchase; the {model} model "
            f"needs at least {MIN_REPEAT_BUYERS}"
        )
    return group_weighted_rows(weight, x, t_x, age)


def _check_horizon(t: ArrayLike) -> FloatArray:
    horizon = as_float_array(t, "t", ValueError)
    refuse(horizon < 0, "t (the forecast horizon) is negative", ValueError)
    return horizon


def _starting_point(groups: _Groups) -> FloatArray:
    """ln(r, alpha, a, b) to start from: r = 1 and alpha matching the mean purchase rate."""
    purchases = dot(groups.weight, groups.x)
    exposure = dot(groups.weight, groups.age) + dot(groups.zero_weight, groups.zero_age)
    rate = purchases / max(exposure, 1e-12)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
