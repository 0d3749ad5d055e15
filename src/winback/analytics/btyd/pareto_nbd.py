"""The Pareto/NBD model: who is still buying, and how much will they buy.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers: Who Are
They and What Will They Do Next? Management Science 33(1), 1-24. Fader, P. S. & Hardie, B. G. S.
(2005). A Note on Deriving the Pareto/NBD Model and Related Expressions: the likelihood,
P(alive), E[X(t)] and E[Y(t) | x, t_x, T] below are theirs.

Each customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) while alive and
dies at an exponential time with rate mu ~ Gamma(s, beta), independent of lambda. A customer
is summarised by (x, t_x, T) as for the BG/NBD model: x repeat purchases, t_x the age at the
last purchase (0 when x = 0) and T the age at the as-of date, all in one time unit.

The likelihood is evaluated in its integral form (docs/decisions/0023-pareto-nbd-likelihood.md):

    L = C * [(alpha+T)^-(r+x) (beta+T)^-s + s * I],
    I = integral over t_x < tau < T of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau,
    C = Gamma(r+x) / Gamma(r) * alpha^r * beta^s,

the second term being "died at tau, after the last purchase". I is computed by Gauss-Legendre
quadrature in nu = ln(1 + (tau - t_x) / m), m the smaller of alpha + t_x and beta + t_x, on
which the log-integrand is concave and smooth, over the range where the integrand is within
e^-40 of its value at t_x (found by Newton steps on the concave log-integrand). Everything is in
log space, so the likelihood stays finite for x and T in the tens of thousands, and the
gradient is the same quadrature of the integrand's derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln

from winback.analytics.btyd._common import (
    FloatArray,
    ModelFitError,
    NotFittedError,
    as_float_array,
    broadcast,
    check_penalizer,
    dot,
    minimise,
    refuse,
)
from winback.analytics.btyd.beta_geo import check_summary, fit_groups

PARAM_NAMES = ("r", "alpha", "s", "beta")
# As for BG/NBD: the fit rescales time so that the longest T is this long.
TIME_SCALE_TARGET = 10.0
# Gauss-Legendre rules for the death-time integral: the short one where the range in nu is
# at most _EASY_RANGE and the log-integrand falls by at most _EASY_FALL over it, the full one
# elsewhere (relative error below 1e-12 against mpmath, see the tests).
_EASY_RANGE = 4.0
_EASY_FALL = 12.0


def _gauss_legendre(nodes: int) -> tuple[FloatArray, FloatArray]:
    points, weights = np.polynomial.legendre.leggauss(nodes)
    return np.asarray(points, dtype=np.float64), np.asarray(weights, dtype=np.float64)


_EASY_RULE = _gauss_legendre(16)
_FULL_RULE = _gauss_legendre(40)
# The integral is cut where the log-integrand has fallen this far below its start: the
# neglected tail is below e^-(CUT - 1) of the integral (the log-integrand is concave).
_LOG_CUT = 40.0
_NEWTON_STEPS = 4
# Fitted parameters (time rescaled) outside this range are not identified by the data.
_IDENTIFIED = (1e-6, 1e6)


@dataclass(frozen=True)
class _Terms:
    """Per-customer pieces of ln L: ln(alive term) and ln(s * I), with derivative sums."""

    log_alive: FloatArray  # ln[(alpha+T)^-(r+x) (beta+T)^-s]
    log_dead: FloatArray  # ln(s * I); -inf when t_x = T
    # Expectations over the normalised death-time integrand, for the gradient:
    mean_log_alpha_tau: FloatArray  # E[ln(alpha + tau)]
    mean_inv_alpha_tau: FloatArray  # E[1 / (alpha + tau)]
    mean_log_beta_tau: FloatArray  # E[ln(beta + tau)]
    mean_inv_beta_tau: FloatArray  # E[1 / (beta + tau)]


def _terms(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    t_x: FloatArray,
    age: FloatArray,
    *,
    gradient: bool,
) -> _Terms:
    """The alive and dead terms of each customer's likelihood (see the module docstring).

    Works on flat arrays; the results have the inputs' common shape.
    """
    shape = np.broadcast(x, t_x, age).shape
    x, t_x, age = (np.broadcast_to(a, shape).ravel() for a in (x, t_x, age))
    p = r + x  # exponent on alpha + tau
    q = s + 1.0  # exponent on beta + tau
    start_a = alpha + t_x
    start_b = beta + t_x
    log_start_a = np.log(start_a)
    log_start_b = np.log(start_b)
    span = age - t_x
    log_alive = -p * np.log(alpha + age) - s * np.log(beta + age)

    # nu = ln(1 + u / m), u = tau - t_x, m = min(start_a, start_b): on the smaller side
    # ln((m + u) / m) = nu exactly; on the other, ln(1 + c (e^nu - 1)) with c = m / other <= 1.
    a_smaller = start_a <= start_b
    m = np.minimum(start_a, start_b)
    c = m / np.maximum(start_a, start_b)
    small_exp = np.where(a_smaller, p, q)
    big_exp = np.where(a_smaller, q, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        end = np.log1p(span / m)
    end, psi_end = _cut(end, c, small_exp, big_exp)
    # Short ranges over which the integrand falls little take the short rule.
    easy = (end <= _EASY_RANGE) & (psi_end >= -_EASY_FALL)
    sums = np.empty((5, end.size))
    for rule, chosen in ((_EASY_RULE, easy), (_FULL_RULE, ~easy)):
        if chosen.all():
            sums = _quadrature(rule, end, c, small_exp, big_exp, gradient=gradient)
        elif chosen.any():
            sums[:, chosen] = _quadrature(
                rule, end[chosen], c[chosen], small_exp[chosen], big_exp[chosen], gradient=gradient
            )
    total, sum_nu, sum_log_big, sum_inv_small, sum_inv_big = sums
    half = end / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dead = np.log(s) - p * log_start_a - q * log_start_b + np.log(m * half * total)
        if gradient:
            mean_nu = sum_nu / total
            mean_log_big = sum_log_big / total
            mean_inv_small = sum_inv_small / (total * m)
            mean_inv_big = sum_inv_big / (total * np.maximum(start_a, start_b))
            mean_log_a = log_start_a + np.where(a_smaller, mean_nu, mean_log_big)
            mean_log_b = log_start_b + np.where(a_smaller, mean_log_big, mean_nu)
            mean_inv_a = np.where(a_smaller, mean_inv_small, mean_inv_big)
            mean_inv_b = np.where(a_smaller, mean_inv_big, mean_inv_small)
        else:  # not asked for
            mean_log_a = mean_log_b = mean_inv_a = mean_inv_b = np.empty(0)
    pieces = (log_alive, log_dead, mean_log_a, mean_inv_a, mean_log_b, mean_inv_b)
    return _Terms(*(a.reshape(shape) if a.size == x.size else a for a in pieces))


def _quadrature(
    rule: tuple[FloatArray, FloatArray],
    end: FloatArray,
    c: FloatArray,
    small_exp: FloatArray,
    big_exp: FloatArray,
    *,
    gradient: bool,
) -> FloatArray:
    """Gauss-Legendre sums over [0, end] of e^psi(nu) and, with ``gradient``, of e^psi times
    nu, ln(1 + c (e^nu - 1)), e^-nu and 1 / (1 + c (e^nu - 1)); rows in that order, each sum
    still to be multiplied by end / 2."""
    half = end / 2
    sums = np.zeros((5, end.size))
    total, sum_nu, sum_log_big, sum_inv_small, sum_inv_big = sums
    slope = 1.0 - small_exp
    # A loop over the quadrature nodes; each step is vectorised over all customers, into
    # buffers allocated once (the same operations, in the same order, as plain expressions:
    # the same sums bit for bit, about a fifth less time per likelihood evaluation).
    nu, grow, big_ratio, log_big, value, work = np.empty((6, end.size))
    for node, weight in zip(*rule, strict=True):
        np.multiply(half, node + 1.0, out=nu)
        np.expm1(nu, out=grow)
        np.multiply(c, grow, out=big_ratio)
        np.log1p(big_ratio, out=log_big)
        np.multiply(slope, nu, out=value)
        np.multiply(big_exp, log_big, out=work)
        np.subtract(value, work, out=value)
        np.exp(value, out=value)
        value *= weight
        total += value
        if gradient:
            # On the smaller side ln((m + u) / m) = nu and (m + u) = m e^nu; on the other,
            # ln(1 + c (e^nu - 1)) and (other + u) = other * (1 + c (e^nu - 1)).
            sum_nu += np.multiply(value, nu, out=work)
            sum_log_big += np.multiply(value, log_big, out=work)
            grow += 1.0
            sum_inv_small += np.divide(value, grow, out=work)
            big_ratio += 1.0
            sum_inv_big += np.divide(value, big_ratio, out=work)
    return sums


def _cut(
    end: FloatArray, c: FloatArray, small_exp: FloatArray, big_exp: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Where the log-integrand psi(nu) falls to -CUT, or ``end`` if it does not get there;
    and psi there.

    psi(nu) = nu - small_exp * nu - big_exp * ln(1 + c (e^nu - 1)) is concave with psi(0) = 0,
    so Newton's method started where psi < -CUT stays on that side and moves towards the
    crossing: every iterate is a safe place to cut.

    Only the rows that fall below -CUT are stepped (about a tenth of them); every other row
    keeps ``end`` and psi there. Each row's numbers are those of the same steps taken over
    all rows at once: the operations are elementwise.
    """

    def psi(
        nu: FloatArray, c: FloatArray, small_exp: FloatArray, big_exp: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        grow = np.expm1(nu)
        value = nu - small_exp * nu - big_exp * np.log1p(c * grow)
        slope = 1.0 - small_exp - big_exp * c * (grow + 1.0) / (1.0 + c * grow)
        return value, slope

    with np.errstate(over="ignore", invalid="ignore"):
        at_end, slope = psi(end, c, small_exp, big_exp)
        rows = np.flatnonzero(at_end < -_LOG_CUT)
        if not rows.size:
            return end, at_end
        # The rows beyond the cut, on their own.
        last, value, slope = end[rows], at_end[rows], slope[rows]
        pieces = c[rows], small_exp[rows], big_exp[rows]
        beyond = np.ones(rows.size, dtype=bool)
        cut = last.copy()
        for _ in range(_NEWTON_STEPS):
            step = (value + _LOG_CUT) / slope
            cut = np.where(beyond, np.clip(cut - step, 0.0, last), cut)
            value, slope = psi(cut, *pieces)
            # Rows that reached the crossing (to rounding) stop there.
            beyond &= value < -_LOG_CUT
        cut = np.where(np.isfinite(cut), cut, last)
        result: FloatArray = end.copy()
        result[rows] = cut
        at_end[rows] = psi(cut, *pieces)[0]
    return result, at_end


def log_likelihood(
    params: dict[str, float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Each customer's Pareto/NBD log-likelihood ln L(r, alpha, s, beta | x, t_x, T)."""
    r, alpha, s, beta = (params[name] for name in PARAM_NAMES)
    x, t_x, age = check_summary(frequency, recency, T, ValueError)
    return np.atleast_1d(_log_likelihood(r, alpha, s, beta, x, t_x, age))


def _log_likelihood(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    terms = _terms(r, alpha, s, beta, x, t_x, age, gradient=False)
    log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    result: FloatArray = log_c + np.logaddexp(terms.log_alive, terms.log_dead)
    return result


def p_alive(
    params: dict[str, float], x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T): the alive term's share of the likelihood, as a logistic."""
    r, alpha, s, beta = (params[name] for name in PARAM_NAMES)
    terms = _terms(r, alpha, s, beta, x, t_x, age, gradient=False)
    result: FloatArray = expit(terms.log_alive - terms.log_dead)
    return result


def future_purchases(
    params: dict[str, float], t: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T + t] of a customer known to be alive at T with x repeats.

    Fader & Hardie (2005), the conditional expectation without its P(alive) factor:
    (r+x)(beta+T) / ((alpha+T)(s-1)) * [1 - ((beta+T)/(beta+T+t))^(s-1)], and E[X(t)] when
    x = T = 0. The bracket over s - 1 is -expm1(-(s-1) y) / (s-1), y = ln(1 + t/(beta+T)),
    which tends to y as s -> 1.
    """
    r, alpha, s, beta = (params[name] for name in PARAM_NAMES)
    y = np.log1p(t / (beta + age))
    k = s - 1.0
    ky = k * y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(np.abs(ky) > 1e-8, -np.expm1(-ky) / k, y * (1.0 - ky / 2.0))
        result: FloatArray = (r + x) * (beta + age) / (alpha + age) * ratio
    bad = ~np.isfinite(result)
    if bad.any():
        raise ValueError(
            f"expected purchases could not be computed for {int(np.count_nonzero(bad))} "
            f"customer(s) with parameters r={r:.4g}, alpha={alpha:.4g}, s={s:.4g}, "
            f"beta={beta:.4g}"
        )
    return result


@dataclass(frozen=True)
class _Groups:
    """Customers grouped by (x, t_x, T) on the rescaled time axis, with their weights."""

    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    weight: FloatArray
    total_weight: float


def _negative_mean_log_likelihood(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood plus penalty, and its gradient in log-parameters."""
    r, alpha, s, beta = np.exp(theta)
    g = groups
    terms = _terms(r, alpha, s, beta, g.x, g.t_x, g.age, gradient=True)
    p = r + g.x
    gap, softplus, small = _softplus(terms)
    with np.errstate(invalid="ignore"):
        dead_share = np.where(gap >= 0, 1.0, small) / (1.0 + small)
    dead_share = np.where(np.isneginf(gap), 0.0, dead_share)
    w_dead = g.weight * dead_share
    w_alive = g.weight - w_dead
    # The dead term's expectations are -inf/NaN where t_x = T; its weight there is 0.
    safe = w_dead > 0
    mean_log_a = np.where(safe, terms.mean_log_alpha_tau, 0.0)
    mean_inv_a = np.where(safe, terms.mean_inv_alpha_tau, 0.0)
    mean_log_b = np.where(safe, terms.mean_log_beta_tau, 0.0)
    mean_inv_b = np.where(safe, terms.mean_inv_beta_tau, 0.0)

    log_alpha, log_beta = np.log(alpha), np.log(beta)
    log_alpha_age = np.log(alpha + g.age)
    log_beta_age = np.log(beta + g.age)
    d_r = dot(g.weight, digamma(p)) + g.total_weight * (log_alpha - float(digamma(r)))
    d_r -= dot(w_alive, log_alpha_age) + dot(w_dead, mean_log_a)
    d_alpha = g.total_weight * r / alpha
    d_alpha -= dot(w_alive, p / (alpha + g.age)) + dot(w_dead, p * mean_inv_a)
    d_s = g.total_weight * log_beta + float(w_dead.sum()) / s
    d_s -= dot(w_alive, log_beta_age) + dot(w_dead, mean_log_b)
    d_beta = g.total_weight * s / beta
    d_beta -= dot(w_alive, s / (beta + g.age)) + (s + 1.0) * dot(w_dead, mean_inv_b)

    params = np.array([r, alpha, s, beta])
    gradient = np.array([d_r, d_alpha, d_s, d_beta])
    value = _value(params, g, p, terms.log_alive, softplus, penalizer)
    grad_theta = params * (-gradient / g.total_weight + 2 * penalizer * params)
    return value, grad_theta


def _negative_mean_log_likelihood_value(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> float:
    """The value of :func:`_negative_mean_log_likelihood` alone: the same operations on the
    same numbers (the quadrature's total is summed as with the gradient), without the
    gradient's sums."""
    r, alpha, s, beta = np.exp(theta)
    g = groups
    terms = _terms(r, alpha, s, beta, g.x, g.t_x, g.age, gradient=False)
    p = r + g.x
    params = np.array([r, alpha, s, beta])
    return _value(params, g, p, terms.log_alive, _softplus(terms)[1], penalizer)


def _value(
    params: FloatArray,
    g: _Groups,
    p: FloatArray,
    log_alive: FloatArray,
    softplus: FloatArray,
    penalizer: float,
) -> float:
    """Mean negative log-likelihood plus penalty, from the per-row pieces."""
    r, alpha, s, beta = params
    ll = dot(g.weight, gammaln(p) + log_alive + softplus)
    ll += g.total_weight * (-float(gammaln(r)) + r * np.log(alpha) + s * np.log(beta))
    value: float = -ll / g.total_weight + penalizer * dot(params, params)
    return value


def _softplus(terms: _Terms) -> tuple[FloatArray, FloatArray, FloatArray]:
    """gap = ln(dead) - ln(alive), softplus(gap) (ln(alive + dead) = ln(alive) + softplus(gap)),
    and e^-|gap| (capped at 50), from which the dead term's share expit(gap) follows."""
    gap = terms.log_dead - terms.log_alive
    with np.errstate(invalid="ignore"):
        small = np.exp(-np.minimum(np.abs(gap), 50.0))
        softplus = np.maximum(gap, 0.0) + np.log1p(small)
    softplus = np.where(np.isneginf(gap), 0.0, softplus)
    return gap, softplus, small


class ParetoNBD:
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    ``penalizer`` adds ``penalizer * (r^2 + alpha^2 + s^2 + beta^2)`` to the mean negative
    log-likelihood, with alpha and beta measured on a time axis rescaled so the longest T is
    10 (as for :class:`BetaGeo` and the lifetimes package).

    After :meth:`fit`: ``params_`` (r, alpha and beta in the caller's time unit, s) and
    ``log_likelihood_`` (total over customers, unpenalised). No training data are kept.

    ``fit`` raises :class:`ModelFitError` on: no customers; missing, negative or non-integer
    frequency; negative recency or T; recency > T; frequency 0 with recency > 0; frequency > 0
    with recency 0; missing or negative weights; fewer than 10 repeat buyers; an optimiser
    that does not converge; parameters that are non-finite or run off to 0 or infinity.
    """

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __repr__(self) -> str:
        return f"ParetoNBD(penalizer={self.penalizer!r})"

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBD:
        """Maximum-likelihood fit of (r, alpha, s, beta) to repeat purchases (x, t_x, T).

        ``weights`` (optional) says how many customers each row stands for, so a table of
        distinct (x, t_x, T) rows with their counts fits the same model as the customers.
        """
        penalizer = check_penalizer(self.penalizer)
        (gx, gt, gage), counts = fit_groups(frequency, recency, T, weights, "Pareto/NBD")
        scale = TIME_SCALE_TARGET / float(gage.max())
        groups = _Groups(gx, gt * scale, gage * scale, counts, float(counts.sum()))
        theta = minimise(
            lambda th: _negative_mean_log_likelihood(th, groups, penalizer),
            _starting_point(groups),
            PARAM_NAMES,
            value_only=lambda th: _negative_mean_log_likelihood_value(th, groups, penalizer),
        )
        _refuse_unidentified(theta)
        r, alpha, s, beta = (float(v) for v in np.exp(theta))
        self.params_ = {"r": r, "alpha": alpha / scale, "s": s, "beta": beta / scale}
        per_group = _log_likelihood(r, alpha / scale, s, beta / scale, gx, gt, gage)
        self.log_likelihood_ = dot(counts, per_group)
        return self

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Probability each customer is still alive at T (Fader & Hardie 2005)."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        return np.atleast_1d(p_alive(params, x, t_x, age))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods."""
        params = self._fitted_params()
        x, t_x, age = check_summary(frequency, recency, T, ValueError)
        horizon, x, t_x, age = broadcast(
            [_check_horizon(t), x, t_x, age], "t, frequency, recency and T", ValueError
        )
        expected = future_purchases(params, horizon, x, age) * p_alive(params, x, t_x, age)
        return np.atleast_1d(expected)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: repeat purchases of a new customer in ``t`` periods."""
        params = self._fitted_params()
        horizon = np.atleast_1d(_check_horizon(t))
        zeros = np.zeros_like(horizon)
        return future_purchases(params, horizon, zeros, zeros)

    def _fitted_params(self) -> dict[str, float]:
        params: Any = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("this ParetoNBD model is not fitted yet; call fit() first")
        return dict(params)


def _refuse_unidentified(theta: FloatArray) -> None:
    """Refuse parameters beyond [1e-6, 1e6] on the rescaled time axis.

    Along some directions the likelihood goes flat before the optimiser's bounds: identical
    purchase rates, for one, send r and alpha to infinity together at a fixed r / alpha, and
    the optimiser stops on the plateau. Such values mean the data cannot pin them down.
    """
    for name, value in zip(PARAM_NAMES, np.exp(theta), strict=True):
        if not _IDENTIFIED[0] <= value <= _IDENTIFIED[1]:
            where = "infinity" if value > 1 else "zero"
            raise ModelFitError(
                f"parameter {name} runs off to {where} ({value:.3g} with time rescaled so the "
                "longest T is 10): the data cannot pin it down (too little variation between "
                "customers); try a penalizer > 0"
            )


def _check_horizon(t: ArrayLike) -> FloatArray:
    horizon = as_float_array(t, "t", ValueError)
    refuse(horizon < 0, "t (the forecast horizon) is negative", ValueError)
    return horizon


def _starting_point(groups: _Groups) -> FloatArray:
    """ln(r, alpha, s, beta) to start from: r = s = 1, alpha from the mean purchase rate and
    beta from the longest age (a mean lifetime of the order of the observation window)."""
    purchases = dot(groups.weight, groups.x)
    exposure = dot(groups.weight, groups.age)
    rate = purchases / max(exposure, 1e-12)
    return np.log(np.array([1.0, 1.0 / rate, 1.0, TIME_SCALE_TARGET]))
