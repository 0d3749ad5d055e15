"""The BG/BB model: buy-till-you-die with discrete purchase opportunities.

Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-Base Analysis in a
Discrete-Time Noncontractual Setting. Marketing Science 29(6), 1086-1108: the likelihood,
P(alive), E[X(n)] and the conditional expectation E[X(n, n + n*) | x, t_x, n] below are
theirs.

Some businesses offer a purchase chance at fixed moments only: a yearly fund-raising drive, a
monthly subscription box, a weekly market stall. After the first purchase (the acquisition)
a customer meets n opportunities. While alive, the customer buys at each with probability
p ~ Beta(alpha, beta); at the start of each opportunity a living customer dies for good with
probability theta ~ Beta(gamma, delta). A customer is summarised by (x, t_x, n): x purchases
in the n opportunities, t_x the opportunity of the last one (0 when x = 0), all whole numbers
with 0 <= x <= t_x <= n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, gammaln

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
    group_rows,
    group_weighted_rows,
    minimise,
    refuse,
    row_weights,
)

__all__ = ["PARAM_NAMES", "BetaGeoBetaBinom", "check_opportunities", "log_likelihood"]

PARAM_NAMES = ("alpha", "beta", "gamma", "delta")
# The likelihood sums over the opportunities between t_x and n; that sum is taken for every
# distinct x over every opportunity up to the largest n. Larger grids mean opportunities so
# fine-grained (daily over years) that continuous time, BG/NBD, is the better model.
MAX_GRID_CELLS = 4_000_000
# E[X(n, n + n*)] divides by gamma - 1; closer than this to gamma = 1 it is averaged over
# gamma 2 gaps either side, where regular (the singularity is removable).
_SINGULAR_GAP = 1e-6


def check_opportunities(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike, error: type[ValueError]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The (x, t_x, n) summary as float arrays of one shape, refusing what the model cannot mean.

    As in Fader, Hardie & Shang (2010): whole numbers with 0 <= x <= t_x <= n (t_x is the
    opportunity of the last purchase, so it is at least the number of purchases) and t_x = 0
    when x = 0.
    """
    x, t_x, n = broadcast(
        [
            as_float_array(frequency, "frequency", error),
            as_float_array(recency, "recency", error),
            as_float_array(n_periods, "n_periods", error),
        ],
        "frequency, recency and n_periods",
        error,
    )
    check_frequency(x, error)
    refuse(t_x < 0, "recency is negative", error)
    refuse(n < 0, "n_periods (opportunities since the first purchase) is negative", error)
    refuse(
        (t_x != np.floor(t_x)) | (n != np.floor(n)),
        "recency and n_periods count purchase opportunities and must be whole numbers",
        error,
    )
    refuse(t_x > n, "recency (opportunity of the last purchase) is greater than n_periods", error)
    refuse((x == 0) & (t_x != 0), "frequency is 0 but recency is not 0", error)
    refuse(
        x > t_x,
        "frequency is greater than recency: at most one purchase per opportunity",
        error,
    )
    return x, t_x, n


def log_likelihood(
    params: dict[str, float], frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> FloatArray:
    """Each customer's BG/BB log-likelihood ln L(alpha, beta, gamma, delta | x, t_x, n) (FHS 2010).

    L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
      + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                           B(gamma+1, delta+t_x+i)/B(gamma, delta),
    in log space.
    """
    alpha, beta, gamma, delta = (params[name] for name in PARAM_NAMES)
    x, t_x, n = check_opportunities(frequency, recency, n_periods, ValueError)
    x, t_x, n = (np.atleast_1d(v) for v in (x, t_x, n))
    return _Terms.build(alpha, beta, gamma, delta, x, t_x, n, gradient=False).log_likelihood


@dataclass(frozen=True)
class _Terms:
    """ln L per customer and, for the fit, the pieces of its gradient.

    The sum over i depends on (x, s = t_x + i) only: g(x, s) = B(alpha+x, beta+s-x)
    B(gamma+1, delta+s). For each distinct x, reverse cumulative log-sums R(x, s) of g over
    s' >= s give every customer's sum as R(x, t_x) - R(x, n) in one step, without a loop
    over customers or opportunities. g falls with s, so the difference loses at most a factor
    of the number of opportunities in relative precision.
    """

    log_likelihood: FloatArray
    alive_share: FloatArray  # A / L
    log_alive: FloatArray  # ln A
    # d ln L / d(alpha, beta, gamma, delta) per customer, when asked for.
    d_params: tuple[FloatArray, ...]

    @classmethod
    def build(
        cls,
        alpha: float,
        beta: float,
        gamma: float,
        delta: float,
        x: FloatArray,
        t_x: FloatArray,
        n: FloatArray,
        *,
        gradient: bool,
    ) -> _Terms:
        levels, level_index = np.unique(x, return_inverse=True)
        level_index = level_index.reshape(x.shape)
        columns = int(n.max()) + 1 if n.size else 1
        check_grid(x, n, ValueError)
        s = np.arange(columns, dtype=np.float64)[None, :]
        xs = levels[:, None]
        inside = (s >= xs) & (s < columns - 1)  # column n_max stays empty: the tail from there
        safe_gap = np.where(inside, s - xs, 0.0)
        log_g = np.where(
            inside,
            betaln(alpha + xs, beta + safe_gap) + betaln(gamma + 1, delta + s),
            -np.inf,
        )
        log_ab = betaln(alpha, beta)
        log_gd = betaln(gamma, delta)
        log_alive = betaln(alpha + x, beta + n - x) - log_ab + betaln(gamma, delta + n) - log_gd
        start = t_x.astype(np.intp)
        stop = n.astype(np.intp)
        has_sum = t_x < n
        log_sum = _segment_log_sums(log_g, level_index, start, stop, has_sum)
        log_dropped = log_sum - log_ab - log_gd
        ll: FloatArray = np.logaddexp(log_alive, log_dropped)
        alive_share = np.exp(log_alive - ll)
        d_params: tuple[FloatArray, ...] = ()
        if gradient:
            psi = digamma
            d_norm = (
                psi(alpha + beta) - psi(alpha),
                psi(alpha + beta) - psi(beta),
                psi(gamma + delta) - psi(gamma),
                psi(gamma + delta) - psi(delta),
            )
            d_alive = (
                psi(alpha + x) - psi(alpha + beta + n) + d_norm[0],
                psi(beta + n - x) - psi(alpha + beta + n) + d_norm[1],
                psi(gamma) - psi(gamma + delta + n) + d_norm[2],
                psi(delta + n) - psi(gamma + delta + n) + d_norm[3],
            )
            # -d ln g / d(param) > 0 on the grid (g falls in every parameter).
            slopes = (
                psi(alpha + beta + s) - psi(alpha + xs),
                psi(alpha + beta + s) - psi(beta + safe_gap),
                psi(gamma + delta + s + 1) - psi(gamma + 1),
                psi(gamma + delta + s + 1) - psi(delta + s),
            )
            dropped_share = 1 - alive_share
            derivatives = []
            for k in range(4):
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_slope = np.where(inside, log_g + np.log(slopes[k]), -np.inf)
                log_weighted = _segment_log_sums(log_slope, level_index, start, stop, has_sum)
                with np.errstate(invalid="ignore"):
                    ratio = np.where(has_sum, np.exp(log_weighted - log_sum), 0.0)
                derivatives.append(alive_share * d_alive[k] + dropped_share * (d_norm[k] - ratio))
            d_params = tuple(derivatives)
        return cls(ll, alive_share, log_alive, d_params)


def check_grid(x: FloatArray, n: FloatArray, error: type[ValueError]) -> None:
    """Refuse summaries whose sums over opportunities would need more than MAX_GRID_CELLS."""
    levels = np.unique(x).size
    columns = int(n.max()) + 1 if n.size else 1
    if levels * columns > MAX_GRID_CELLS:
        raise error(
            f"{levels} distinct frequencies over {columns - 1} opportunities are too many "
            "for the BG/BB sums; with opportunities this fine-grained use the "
            "continuous-time BG/NBD model"
        )


def _segment_log_sums(
    log_terms: FloatArray,
    level_index: IndexArray,
    start: IndexArray,
    stop: IndexArray,
    has_sum: NDArray[np.bool_],
) -> FloatArray:
    """ln sum_{s=start}^{stop-1} exp(log_terms[level, s]) per customer (-inf when empty)."""
    tails = np.logaddexp.accumulate(log_terms[:, ::-1], axis=1)[:, ::-1]
    upper = tails[level_index, start]
    lower = tails[level_index, stop]
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(
            has_sum, upper + np.log1p(-np.exp(np.minimum(lower - upper, 0.0))), -np.inf
        )
    return result


@dataclass(frozen=True)
class _Groups:
    x: FloatArray
    t_x: FloatArray
    n: FloatArray
    weight: FloatArray
    total_weight: float


def _negative_mean_log_likelihood(
    theta: FloatArray, groups: _Groups, penalizer: float
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (FHS 2010) plus penalty, and its gradient in log-parameters."""
    params = np.exp(theta)
    alpha, beta, gamma, delta = (float(v) for v in params)
    g = groups
    terms = _Terms.build(alpha, beta, gamma, delta, g.x, g.t_x, g.n, gradient=True)
    ll = dot(g.weight, terms.log_likelihood)
    gradient = np.array([dot(g.weight, d) for d in terms.d_params])
    value = -ll / g.total_weight + penalizer * dot(params, params)
    grad_theta = params * (-gradient / g.total_weight + 2 * penalizer * params)
    return value, grad_theta


def surviving_opportunities(gamma: float, delta: float, n: FloatArray, t: FloatArray) -> FloatArray:
    """sum_{k=n+1}^{n+t} B(gamma, delta+k) / B(gamma, delta): expected opportunities alive for.

    Closed form (FHS 2010): delta/(gamma-1) G(gamma+delta)/G(1+delta)
    [G(1+delta+n)/G(gamma+delta+n) - G(1+delta+n+t)/G(gamma+delta+n+t)], in log space; at
    gamma = 1 (a removable singularity) the mean of gamma 2 gaps either side.
    """
    if abs(gamma - 1) >= _SINGULAR_GAP:
        return _surviving_opportunities(gamma, delta, n, t)
    step = 2 * _SINGULAR_GAP
    low = _surviving_opportunities(gamma - step, delta, n, t)
    high = _surviving_opportunities(gamma + step, delta, n, t)
    result: FloatArray = (low + high) / 2
    return result


def _surviving_opportunities(
    gamma: float, delta: float, n: FloatArray, t: FloatArray
) -> FloatArray:
    now = gammaln(1 + delta + n) - gammaln(gamma + delta + n)
    later = gammaln(1 + delta + n + t) - gammaln(gamma + delta + n + t)
    log_front = np.log(delta) + gammaln(gamma + delta) - gammaln(1 + delta)
    # e^now - e^later = -e^now expm1(later - now): no cancellation for short horizons.
    result: FloatArray = np.maximum(
        np.exp(log_front + now) * -np.expm1(later - now) / (gamma - 1), 0.0
    )
    return result


class BetaGeoBetaBinom:
    """BG/BB model of discrete-opportunity purchasing (Fader, Hardie & Shang 2010, Mkt Sci).

    ``penalizer`` adds ``penalizer * (alpha^2 + beta^2 + gamma^2 + delta^2)`` to the mean
    negative log-likelihood. After :meth:`fit`: ``params_`` (alpha, beta, gamma, delta) and
    ``log_likelihood_`` (total over customers, weighted, unpenalised). No training data are
    kept.

    ``fit`` raises :class:`ModelFitError` on: no customers; missing, negative or non-integer
    frequency, recency or n_periods; recency > n_periods; frequency > recency; frequency 0
    with recency > 0; bad weights; fewer than 10 repeat buyers (weighted); an optimiser that
    does not converge; parameters that are non-finite or run off to 0 or infinity.
    """

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __repr__(self) -> str:
        return f"BetaGeoBetaBinom(penalizer={self.penalizer!r})"

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoBetaBinom:
        """Maximum-likelihood fit of (alpha, beta, gamma, delta) to summaries (x, t_x, n).

        ``weights`` (optional) says how many customers each row stands for; the usual input
        is the table of distinct (x, t_x, n) with their counts.
        """
        penalizer = check_penalizer(self.penalizer)
        x, t_x, n = check_opportunities(frequency, recency, n_periods, ModelFitError)
        x, t_x, n = x.ravel(), t_x.ravel(), n.ravel()
        weight = row_weights(weights, x.size, ModelFitError)
        if not weight.sum() > 0:
            raise ModelFitError("no customers to fit")
        repeaters = dot(weight, (x > 0).astype(np.float64))
        if repeaters < MIN_REPEAT_BUYERS:
            raise ModelFitError(
                f"only {repeaters:g} customer(s) made a repeat purchase; the BG/BB model "
                f"needs at least {MIN_REPEAT_BUYERS}"
            )
        (gx, gt, gn), counts = group_weighted_rows(weight, x, t_x, n)
        check_grid(gx, gn, ModelFitError)
        groups = _Groups(gx, gt, gn, counts, float(counts.sum()))
        theta = minimise(
            lambda th: _negative_mean_log_likelihood(th, groups, penalizer),
            np.zeros(4),  # alpha = beta = gamma = delta = 1: uniform p and theta
            PARAM_NAMES,
        )
        alpha, beta, gamma, delta = (float(v) for v in np.exp(theta))
        self.params_ = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
        terms = _Terms.build(alpha, beta, gamma, delta, gx, gt, gn, gradient=False)
        self.log_likelihood_ = dot(counts, terms.log_likelihood)
        return self

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> FloatArray:
        """P(alive at opportunity n + 1 | x, t_x, n) (FHS 2010).

        B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+1)/B(gamma, delta) / L: the
        chance the customer is still there for the next opportunity.
        """
        alpha, beta, gamma, delta = self._fitted_params()
        x, t_x, n = check_opportunities(frequency, recency, n_periods, ValueError)
        # Computed once per distinct (x, t_x, n): discrete summaries repeat a lot.
        (gx, gt, gn), _, inverse = group_rows(*(np.ravel(v) for v in (x, t_x, n)))
        terms = _Terms.build(alpha, beta, gamma, delta, gx, gt, gn, gradient=False)
        # One more survival draw: B(gamma, delta+n+1) / B(gamma, delta+n).
        next_survival = np.log(delta + gn) - np.log(gamma + delta + gn)
        alive = np.exp(terms.log_alive + next_survival - terms.log_likelihood)
        return np.atleast_1d(alive[inverse].reshape(np.shape(x)))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> FloatArray:
        """E[X(n, n + t) | x, t_x, n]: expected purchases in the next ``t`` opportunities.

        FHS (2010): B(alpha+x+1, beta+n-x)/B(alpha, beta) / L times the expected number of
        the next t opportunities the customer is alive for, B(gamma, delta+k)/B(gamma, delta)
        summed over k = n+1 .. n+t.
        """
        alpha, beta, gamma, delta = self._fitted_params()
        horizon, x, t_x, n = broadcast(
            [_check_horizon(t), *check_opportunities(frequency, recency, n_periods, ValueError)],
            "t, frequency, recency and n_periods",
            ValueError,
        )
        (gh, gx, gt, gn), _, inverse = group_rows(*(np.ravel(v) for v in (horizon, x, t_x, n)))
        terms = _Terms.build(alpha, beta, gamma, delta, gx, gt, gn, gradient=False)
        log_buying = betaln(alpha + gx + 1, beta + gn - gx) - betaln(alpha, beta)
        expected = np.exp(log_buying - terms.log_likelihood) * (
            surviving_opportunities(gamma, delta, gn, gh)
        )
        return np.atleast_1d(expected[inverse].reshape(np.shape(x)))

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: purchases of a new customer in its first ``t`` opportunities (FHS 2010).

        alpha/(alpha+beta) delta/(gamma-1) [1 - G(gamma+delta) G(1+delta+t) /
        (G(1+delta) G(gamma+delta+t))].
        """
        alpha, beta, gamma, delta = self._fitted_params()
        horizon = np.atleast_1d(_check_horizon(t))
        result: FloatArray = (
            alpha / (alpha + beta) * surviving_opportunities(gamma, delta, 0 * horizon, horizon)
        )
        return result

    def _fitted_params(self) -> tuple[float, float, float, float]:
        params: Any = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError("this BetaGeoBetaBinom model is not fitted yet; call fit() first")
        alpha, beta, gamma, delta = (float(params[name]) for name in PARAM_NAMES)
        return alpha, beta, gamma, delta


def _check_horizon(t: ArrayLike) -> FloatArray:
    horizon = as_float_array(t, "t", ValueError)
    refuse(horizon < 0, "t (the forecast horizon) is negative", ValueError)
    refuse(
        horizon != np.floor(horizon),
        "t counts purchase opportunities and must be a whole number",
        ValueError,
    )
    return horizon
