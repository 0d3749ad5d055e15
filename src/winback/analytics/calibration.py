"""Recalibration of the churn probability on a later time split (R2, R12).

A model fitted on one origin and applied a horizon later is rarely calibrated as it stands:
the base rate drifts (an ageing base lapses more), and a model that ranks well can still be
over-confident. The pipeline therefore fits the same model one horizon earlier, applies it to
the next origin whose outcome is already known, and learns there how its raw probabilities
map to observed rates. That map is then applied to today's raw probabilities.

Two maps, both monotone so the ranking is kept:

- **Platt** (Platt 1999): p = sigmoid(a + b logit(raw)), two parameters, for small sets.
- **Isotonic** (Zadrozny & Elkan 2002), pool-adjacent-violators on the raw probability,
  then linear interpolation between the centres of the pooled blocks (a strictly increasing
  map inside the range, so ties are not created where the raw score had none); flat beyond
  the first and last centre. Used from ``ISOTONIC_MIN`` customers and ``ISOTONIC_MIN_CLASS``
  of each outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

ISOTONIC_MIN = 1000
ISOTONIC_MIN_CLASS = 50
MIN_CUSTOMERS = 50
MIN_CLASS = 5
PROBABILITY_FLOOR = 1e-4


def logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    result: FloatArray = np.log(clipped) - np.log1p(-clipped)
    return result


@dataclass(frozen=True, eq=False)
class Calibration:
    method: str  # "platt" | "isotonic"
    customers: int
    origin: str  # ISO date of the origin it was learned on
    a: float = 0.0
    b: float = 1.0
    knots: FloatArray = field(default_factory=lambda: np.zeros(0))  # raw probabilities
    values: FloatArray = field(default_factory=lambda: np.zeros(0))  # calibrated

    def apply(self, raw: FloatArray) -> FloatArray:
        if self.method == "isotonic":
            result: FloatArray = np.interp(raw, self.knots, self.values)
            return np.clip(result, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
        platt: FloatArray = expit(self.a + self.b * logit(raw))
        return platt

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "method": self.method,
            "customers": self.customers,
            "origin": self.origin,
        }
        if self.method == "platt":
            described.update(a=round(self.a, 6), b=round(self.b, 6))
        else:
            described["knots"] = int(self.knots.size)
        return described


def fit_calibration(raw: FloatArray, label: BoolArray, origin: str) -> Calibration | None:
    """Isotonic when the set is large enough, else Platt; None when it is too small."""
    positives = int(label.sum())
    smaller_class = min(positives, label.size - positives)
    if label.size < MIN_CUSTOMERS or smaller_class < MIN_CLASS:
        return None
    if label.size >= ISOTONIC_MIN and smaller_class >= ISOTONIC_MIN_CLASS:
        knots, values = _centred_isotonic(raw, label)
        return Calibration("isotonic", int(label.size), origin, knots=knots, values=values)
    a, b = _platt(raw, label)
    return Calibration("platt", int(label.size), origin, a=a, b=b)


def _platt(raw: FloatArray, label: BoolArray, *, monotone: bool = True) -> tuple[float, float]:
    """Logistic regression of the label on logit(raw): (a, b): the slope as
    fitted (a metric) unless ``monotone``, which keeps it above zero (an increasing map)."""
    x = logit(raw)
    y = label.astype(np.float64)
    n = y.size

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        eta = theta[0] + theta[1] * x
        loss = float(np.mean(np.logaddexp(0.0, eta) - y * eta))
        residual = (expit(eta) - y) / n
        return loss, np.array([residual.sum(), residual @ x])

    result = minimize(objective, np.array([0.0, 1.0]), jac=True, method="L-BFGS-B")
    a, b = float(result.x[0]), float(result.x[1])
    if monotone:
        b = max(b, 1e-3)  # a negative slope would reverse the ranking
    return a, b


def _centred_isotonic(raw: FloatArray, label: BoolArray) -> tuple[FloatArray, FloatArray]:
    """Pool-adjacent-violators, vectorised by repeated merging of decreasing neighbours;
    returns the blocks' mean raw probability (knots) and observed rate (values)."""
    order = np.argsort(raw, kind="stable")
    x, y = raw[order], label[order].astype(np.float64)
    # Start from blocks of equal raw values.
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    sums = np.add.reduceat(y, starts)
    xsums = np.add.reduceat(x, starts)
    counts = np.diff(np.r_[starts, x.size]).astype(np.float64)
    while True:
        means = sums / counts
        violating = np.flatnonzero(means[1:] <= means[:-1])
        if violating.size == 0:
            break
        # Merge each violating block into its left neighbour (one pass, non-overlapping runs).
        merge = np.zeros(means.size, dtype=bool)
        merge[violating + 1] = True
        group = np.cumsum(~merge) - 1
        sums = np.bincount(group, sums)
        xsums = np.bincount(group, xsums)
        counts = np.bincount(group, counts)
    knots: FloatArray = xsums / counts
    values: FloatArray = sums / counts
    return knots, values


def calibration_error(probability: FloatArray, label: BoolArray, bins: int = 10) -> float | None:
    """ECE: the count-weighted mean |mean predicted - observed rate| over equal-count bins of
    the prediction (Naeini, Cooper & Hauskrecht 2015, equal-mass variant)."""
    if label.size == 0:
        return None
    order = np.argsort(probability, kind="stable")
    chunks = np.array_split(order, min(bins, label.size))
    gaps = np.array(
        [chunk.size * abs(probability[chunk].mean() - label[chunk].mean()) for chunk in chunks]
    )
    return float(gaps.sum()) / label.size


def recalibration_slope(probability: FloatArray, label: BoolArray) -> float | None:
    """Slope b of y ~ sigmoid(a + b logit(p)) (Cox 1958): 1 for a calibrated prediction, below
    1 when it is over-confident (too extreme), above 1 when too timid."""
    positives = int(label.sum())
    if positives == 0 or positives == label.size:
        return None
    _, b = _platt(probability, label, monotone=False)
    return b
