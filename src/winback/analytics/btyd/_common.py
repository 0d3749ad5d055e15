"""Pieces shared by the buy-till-you-die models: input checks, row grouping, the optimiser."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]
# The objective's value alone (the same number, without the work of the gradient).
ValueOnly = Callable[[FloatArray], float]

# Fewer repeat buyers than this cannot pin down the dropout / spend heterogeneity.
MIN_REPEAT_BUYERS = 10
# Log-parameters are searched in [-B, B] (data rescaled to O(1) first); a fit that ends on
# the bound has a parameter running off to 0 or infinity.
LOG_PARAM_BOUND = 18.0
# Parameters beyond [1e-6, 1e6] are read as running off (see _refuse_runaway_parameters).
RUNAWAY_LOG = float(np.log(1e6))
# A fit that L-BFGS-B flags as unfinished is still accepted when the gradient of the mean
# negative log-likelihood is this flat (it often stops on line-search precision at the optimum).
GRADIENT_TOLERANCE = 1e-5


def row_weights(weights: ArrayLike | None, size: int, error: type[ValueError]) -> FloatArray:
    """How many customers each of ``size`` rows stands for: 1 each when ``weights`` is None.

    Weights must be finite and >= 0 (they need not be whole numbers); a row of weight 0 is
    as if it were not there.
    """
    if weights is None:
        return np.ones(size, dtype=np.float64)
    values = as_float_array(weights, "weights", error).ravel()
    if values.size != size:
        raise error(f"weights must have one value per customer row ({values.size} for {size})")
    refuse(values < 0, "weight is negative", error)
    return values


def group_weighted_rows(
    weights: FloatArray, *columns: FloatArray
) -> tuple[list[FloatArray], FloatArray]:
    """Distinct rows among those of positive weight, and the total weight of each.

    A row of weight w counts as w identical rows, so fitting with weights equals fitting on
    the rows repeated.
    """
    keep = weights > 0
    groups, _, inverse = group_rows(*(column[keep] for column in columns))
    totals = np.bincount(inverse, weights=weights[keep], minlength=groups[0].size)
    return groups, totals.astype(np.float64)


class ModelFitError(ValueError):
    """A model cannot be fitted to (or applied to) the data given; the message says why."""


class NotFittedError(ValueError, AttributeError):
    """A prediction was asked of a model that has not been fitted yet."""


def as_float_array(
    values: ArrayLike, name: str, error: type[ValueError], *, finite: bool = True
) -> FloatArray:
    """``values`` (NumPy, Polars Series, list, scalar) as float64; nulls become NaN.

    With ``finite`` (the default) missing and infinite values are refused.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be numbers") from exc
    bad = int(np.count_nonzero(~np.isfinite(array))) if finite else 0
    if bad:
        raise error(f"{name} has {bad} missing or non-finite value(s)")
    return array


def broadcast(
    arrays: Sequence[FloatArray], names: str, error: type[ValueError]
) -> list[FloatArray]:
    """Arrays of one common shape (scalars repeat), or an error naming them.

    Only 0-d values repeat: arrays of different lengths are refused even where NumPy would
    stretch a length-1 array, because that is a caller's mistake in a per-customer table.
    """
    shapes = {a.shape for a in arrays if a.ndim > 0}
    if len(shapes) > 1:
        raise error(f"{names} must have the same length")
    try:
        return [np.array(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays)]
    except ValueError as exc:
        raise error(f"{names} must have the same length") from exc


def refuse(mask: NDArray[np.bool_], message: str, error: type[ValueError]) -> None:
    """Raise ``error`` counting the customers ``mask`` selects, when there are any."""
    count = int(np.count_nonzero(mask))
    if count:
        raise error(f"{count} customer(s): {message}")


def check_frequency(frequency: FloatArray, error: type[ValueError]) -> None:
    refuse(frequency < 0, "frequency (repeat purchases) is negative", error)
    refuse(
        frequency != np.floor(frequency),
        "frequency counts repeat purchases and must be a whole number",
        error,
    )


def check_penalizer(penalizer: float) -> float:
    value = float(penalizer)
    if not np.isfinite(value) or value < 0:
        raise ModelFitError(f"penalizer must be a finite number >= 0, got {penalizer!r}")
    return value


def dot(left: FloatArray, right: FloatArray) -> float:
    """Inner product of two 1-D arrays, without BLAS.

    BLAS ddot wakes its worker threads on each call; between other NumPy operations on a
    busy machine that costs milliseconds per call, far more than the single-threaded sum.
    """
    return float(np.einsum("i,i->", left, right))


def group_rows(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray, IndexArray]:
    """Unique rows of equal-length columns, their counts, and each input row's group.

    The likelihoods depend on a customer only through these columns, so fitting and
    predicting on the groups (weighted by counts) is exact and far faster on real data,
    where dates make many customers share one summary.
    """
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    starts_group = np.ones(n, dtype=bool)
    if n > 1:
        starts_group[1:] = np.logical_or.reduce([c[1:] != c[:-1] for c in ordered])
    starts = np.flatnonzero(starts_group)
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(starts_group) - 1
    return [c[starts] for c in ordered], counts, inverse


def minimise(
    objective: Objective,
    start: FloatArray,
    names: Sequence[str],
    value_only: ValueOnly | None = None,
) -> FloatArray:
    """Minimise ``objective`` (value and gradient) over log-parameters; return the optimum.

    L-BFGS-B with the analytic gradient does the work; when it stops short inside the
    search box, Nelder-Mead moves on from where it stopped and L-BFGS-B polishes again.
    Nelder-Mead reads values only: ``value_only``, when given, must return exactly
    ``objective``'s value (bit for bit) and spares the gradient's work there. Failure,
    non-finite values and parameters running to 0 or infinity are reported as
    :class:`ModelFitError`; a parameter L-BFGS-B left on the box's wall, unconverged, is
    refused as running off at once (decision 0062).
    """
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(start)
    objective = remembered(objective)
    result = _lbfgsb(objective, start, bounds)
    if not _converged(result):
        _refuse_stopped_on_the_wall(np.asarray(result.x, dtype=np.float64), names)
        value = value_only or (lambda theta: objective(theta)[0])
        simplex = optimize.minimize(
            lambda theta: value(np.asarray(theta, dtype=np.float64)),
            np.clip(result.x, -LOG_PARAM_BOUND, LOG_PARAM_BOUND),
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 4000, "xatol": 1e-10, "fatol": 1e-13},
        )
        result = _lbfgsb(objective, np.asarray(simplex.x, dtype=np.float64), bounds)
    theta = np.asarray(result.x, dtype=np.float64)
    if not (np.all(np.isfinite(theta)) and np.isfinite(result.fun)):
        raise ModelFitError("the fit produced non-finite parameters; the data cannot be modelled")
    # Before the convergence check: a parameter on its bound is the reason the others cannot
    # settle (e.g. r and alpha both drifting to infinity with their ratio fixed).
    _refuse_runaway_parameters(theta, names)
    if not _converged(result):
        raise ModelFitError(
            f"the optimiser did not converge ({result.message}); check the data for "
            "extreme values or try a penalizer > 0"
        )
    return theta


def remembered(objective: Objective) -> Objective:
    """``objective`` computed once per distinct point: a point asked for again gets the
    values already computed (a copy of the gradient).

    L-BFGS-B asks for the same point again when a line search fails and it restarts from
    where it was (in 15-20% of a Pareto/NBD fit's evaluations that end on a flat ridge). The
    objective is a pure function of the point (no BLAS threads in its sums, see :func:`dot`),
    so the optimiser receives the numbers it would have computed and takes the same path.
    """
    seen: dict[bytes, tuple[float, FloatArray]] = {}

    def recall(theta: FloatArray) -> tuple[float, FloatArray]:
        point = np.asarray(theta, dtype=np.float64)
        key = point.tobytes()
        known = seen.get(key)
        if known is None:
            value, gradient = objective(point)
            known = seen[key] = (value, np.array(gradient, dtype=np.float64))
        return known[0], known[1].copy()

    return recall


def _lbfgsb(
    objective: Objective, start: FloatArray, bounds: list[tuple[float, float]]
) -> optimize.OptimizeResult:
    return optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )


def _converged(result: optimize.OptimizeResult) -> bool:
    if not np.isfinite(result.fun):
        return False
    gradient = np.asarray(result.jac, dtype=np.float64)
    # The gradient on a bound points outwards; only its inward part must vanish there.
    free = np.abs(np.asarray(result.x)) < LOG_PARAM_BOUND - 1e-9
    flat = bool(np.all(np.abs(gradient[free]) < GRADIENT_TOLERANCE))
    return bool(result.success) or flat


def _refuse_stopped_on_the_wall(theta: FloatArray, names: Sequence[str]) -> None:
    """Refuse a fit that L-BFGS-B left unconverged with a parameter on the search box's wall
    (``LOG_PARAM_BOUND``, far beyond :data:`RUNAWAY_LOG`): its path ran outwards until the
    wall stopped it, so the likelihood still improves towards 0 or infinity there. Nelder-Mead
    would search around that point, and the final check refuses what it finds as long as it
    stays beyond the bound: on every fit looked at it did (decision 0062), after 2.4 s on the
    generated runaway data."""
    if theta.size and float(np.max(np.abs(theta))) >= LOG_PARAM_BOUND - 1e-9:
        _refuse_runaway_parameters(theta, names)


def _refuse_runaway_parameters(theta: FloatArray, names: Sequence[str]) -> None:
    """Refuse a fit with a parameter beyond [1e-6, 1e6] (:data:`RUNAWAY_LOG`), naming the one
    furthest out. Where the likelihood goes flat (identical customers send r and alpha to
    infinity together) the optimiser may stop anywhere on the plateau, at the bounds or well
    before them, depending on its version; either way the data cannot pin the value down."""
    if theta.size == 0:
        return
    order = np.argsort(-np.abs(theta), kind="stable")
    worst = int(order[0])
    value = float(theta[worst])
    if abs(value) >= RUNAWAY_LOG:
        where = "infinity" if value > 0 else "zero"
        # Which one is furthest out depends on where the optimiser stops on the plateau (and
        # so on the machine's rounding); the others beyond the bound are named too.
        others = [names[int(i)] for i in order[1:] if abs(float(theta[i])) >= RUNAWAY_LOG]
        also = f"; {', '.join(others)} also leave [1e-6, 1e6]" if others else ""
        raise ModelFitError(
            f"parameter {names[worst]} runs off to {where}{also}: the data cannot pin "
            f"{'them' if others else 'it'} down (too little variation between customers); "
            "try a penalizer > 0"
        )
