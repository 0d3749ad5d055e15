"""How well a score ranks customers by what a call changes: Qini curve, Qini coefficient, AUUC.

On a randomised sample (treated and control customers drawn from the same candidates) the
customers are ranked by a score, best first. Targeting the top fraction ``phi`` of them would
bring, per customer of each arm (Radcliffe 2007, "Using control groups to target on predicted
lift", *DMA Analytics Council*; Radcliffe & Surry 2011, "Real-world uplift modelling with
significance-based uplift trees", sec. 6)::

    Q(phi) = R_t(phi) / N_t - R_c(phi) / N_c

where ``R_t(phi)``, ``R_c(phi)`` count the customers of the top ``phi`` who came back in the
treated and the control arm and ``N_t``, ``N_c`` are the arms' sizes. Each arm is normalised by
its own size, so a 90/10 split reads like a 50/50 one; ``Q(0) = 0`` and ``Q(1)`` is the overall
uplift ``p_t - p_c``. ``phi`` counts both arms together; customers with equal scores enter
together (one step of the curve), so a constant score is exactly the random line.

* **AUUC** (area under the uplift curve) ``= integral_0^1 Q(phi) dphi`` (trapezoids).
* **Qini coefficient** ``= AUUC - Q(1) / 2``: the area between the curve and the straight line
  of random targeting, ``phi Q(1)``. Positive: the score puts the customers a call moves first;
  0: no better than chance. Both are in units of came-back rate.

Intervals are bootstrap percentiles (Efron & Tibshirani 1993, ch. 13): customers are resampled
with replacement *within each arm* (the arms' sizes are fixed by the design), the ranking of
the original scores kept; replicates are computed together as count weights, never one
customer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BOOTSTRAP_CHUNK = 100  # replicates computed at once (memory: chunk x customers floats)


@dataclass(frozen=True)
class QiniCurve:
    phi: FloatArray  # population fraction targeted, from 0 to 1
    qini: FloatArray  # Q(phi), see the module doc


@dataclass(frozen=True)
class QiniResult:
    qini: float  # Qini coefficient
    auuc: float
    uplift: float  # Q(1): overall treated minus control came-back rate
    low: float | None  # 95% (or ``level``) bootstrap interval of the Qini coefficient
    high: float | None
    auuc_low: float | None
    auuc_high: float | None
    n_treated: int
    n_control: int
    resamples: int

    def to_json(self) -> dict[str, float | int | None]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 6)

        return {
            "qini": r(self.qini),
            "qini_low": r(self.low),
            "qini_high": r(self.high),
            "auuc": r(self.auuc),
            "auuc_low": r(self.auuc_low),
            "auuc_high": r(self.auuc_high),
            "uplift": r(self.uplift),
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "resamples": self.resamples,
        }


def _prepared(
    score: npt.ArrayLike, treated: npt.ArrayLike, returned: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """Arrays sorted best score first, and the index of the last row of each tie group."""
    s = np.asarray(score, dtype=np.float64).ravel()
    t = np.asarray(treated, dtype=bool).ravel()
    y = np.asarray(returned, dtype=bool).ravel()
    if not s.size == t.size == y.size:
        raise ValueError("score, treated and returned must have the same length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if not t.any() or t.all():
        raise ValueError("both arms need customers")
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    return s, t.astype(np.float64), y.astype(np.float64), ends


def _areas(
    weights: FloatArray, t: FloatArray, y: FloatArray, ends: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Qini coefficient, AUUC and Q(1) for each row of customer weights (replicates x n)."""
    cum_n = np.cumsum(weights, axis=1)[:, ends]
    cum_nt = np.cumsum(weights * t, axis=1)[:, ends]
    cum_rt = np.cumsum(weights * t * y, axis=1)[:, ends]
    cum_rc = np.cumsum(weights * (1.0 - t) * y, axis=1)[:, ends]
    n_t = cum_nt[:, -1:]
    n_c = cum_n[:, -1:] - n_t
    q = cum_rt / n_t - cum_rc / n_c
    phi = cum_n / cum_n[:, -1:]
    zeros = np.zeros((weights.shape[0], 1))
    q = np.hstack([zeros, q])
    phi = np.hstack([zeros, phi])
    auuc = np.sum(np.diff(phi, axis=1) * (q[:, 1:] + q[:, :-1]) / 2.0, axis=1)
    total = q[:, -1]
    return auuc - total / 2.0, auuc, total


def qini_curve(score: npt.ArrayLike, treated: npt.ArrayLike, returned: npt.ArrayLike) -> QiniCurve:
    """The curve's points (one per distinct score, plus the origin)."""
    _, t, y, ends = _prepared(score, treated, returned)
    n = t.size
    cum_rt = np.cumsum(t * y)[ends]
    cum_rc = np.cumsum((1.0 - t) * y)[ends]
    n_t, n_c = float(t.sum()), float(n - t.sum())
    q = np.concatenate([[0.0], cum_rt / n_t - cum_rc / n_c])
    phi = np.concatenate([[0.0], (ends + 1) / n])
    return QiniCurve(phi=phi.astype(np.float64), qini=q.astype(np.float64))


def qini(
    score: npt.ArrayLike,
    treated: npt.ArrayLike,
    returned: npt.ArrayLike,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> QiniResult:
    """Qini coefficient and AUUC of ``score`` with a stratified bootstrap percentile interval
    (``resamples = 0``: no interval)."""
    _, t, y, ends = _prepared(score, treated, returned)
    n = t.size
    qi, auuc, total = _areas(np.ones((1, n)), t, y, ends)
    treated_rows = np.flatnonzero(t > 0.5)
    control_rows = np.flatnonzero(t < 0.5)
    bounds: list[float | None] = [None, None, None, None]
    if resamples > 0:
        rng = np.random.default_rng(seed)
        q_draws, a_draws = [], []
        for start in range(0, resamples, BOOTSTRAP_CHUNK):
            b = min(BOOTSTRAP_CHUNK, resamples - start)
            w = np.zeros((b, n))
            w[:, treated_rows] = rng.multinomial(
                treated_rows.size, np.full(treated_rows.size, 1.0 / treated_rows.size), size=b
            )
            w[:, control_rows] = rng.multinomial(
                control_rows.size, np.full(control_rows.size, 1.0 / control_rows.size), size=b
            )
            qd, ad, _ = _areas(w, t, y, ends)
            q_draws.append(qd)
            a_draws.append(ad)
        tail = 100.0 * (1.0 - level) / 2.0
        q_lo, q_hi = np.percentile(np.concatenate(q_draws), [tail, 100.0 - tail])
        a_lo, a_hi = np.percentile(np.concatenate(a_draws), [tail, 100.0 - tail])
        bounds = [float(q_lo), float(q_hi), float(a_lo), float(a_hi)]
    return QiniResult(
        qini=float(qi[0]),
        auuc=float(auuc[0]),
        uplift=float(total[0]),
        low=bounds[0],
        high=bounds[1],
        auuc_low=bounds[2],
        auuc_high=bounds[3],
        n_treated=int(treated_rows.size),
        n_control=int(control_rows.size),
        resamples=max(resamples, 0),
    )
