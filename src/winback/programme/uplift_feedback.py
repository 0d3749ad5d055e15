"""Measured uplift per segment, shrunk toward the programme average (R6, R7).

Past matured rounds measure, per segment (stage and tier), the incremental came-back rate at
the primary horizon: ``d_i = p_treated - p_control`` with sampling variance
``v_i = p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c``. A segment with few control customers
gives a noisy ``d_i``; ranking customers on it would chase noise. So each segment's estimate
is shrunk toward the programme average with a normal-normal empirical Bayes model
(Morris 1983, *JASA* 78:47-55): ``d_i ~ N(theta_i, v_i)``, ``theta_i ~ N(mu, tau^2)``, with the
between-segment variance ``tau^2`` by the method of moments (DerSimonian & Laird 1986,
*Controlled Clinical Trials* 7:177-188)::

    w_i   = 1 / v_i,   Q = sum w_i (d_i - d_w)^2,   d_w = sum w_i d_i / sum w_i
    tau^2 = max(0, (Q - (k - 1)) / (sum w_i - sum w_i^2 / sum w_i))
    mu    = sum d_i / (v_i + tau^2) / sum 1 / (v_i + tau^2)
    B_i   = v_i / (v_i + tau^2)
    theta_i = B_i mu + (1 - B_i) d_i

When the segments do not really differ, ``Q`` is about ``k - 1``, ``tau^2`` is (near) zero and
every estimate is (near) the average; a segment with few customers (large ``v_i``) is pulled
toward the average more than a large one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Rates of exactly 0 or 1 give a zero variance; they are read with half a customer added
# each way (the usual continuity correction) so one segment cannot take all the weight.
_HALF = 0.5


def shrunk_uplift(counts: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per segment ``by``: ``n_treated, returned_treated, n_control, returned_control`` in,
    and ``measured`` (d_i), ``variance`` (v_i), ``shrinkage`` (B_i), ``uplift`` (theta_i),
    ``average`` (mu) and ``tau2`` out. Segments without both arms are left out."""
    c = counts.filter((pl.col("n_treated") > 0) & (pl.col("n_control") > 0))
    empty = {
        by: counts.schema.get(by, pl.String()),
        "n_treated": pl.Int64(),
        "n_control": pl.Int64(),
        "measured": pl.Float64(),
        "variance": pl.Float64(),
        "shrinkage": pl.Float64(),
        "uplift": pl.Float64(),
        "average": pl.Float64(),
        "tau2": pl.Float64(),
    }
    if c.is_empty():
        return pl.DataFrame(schema=empty)
    nt = c["n_treated"].to_numpy().astype(np.float64)
    nc = c["n_control"].to_numpy().astype(np.float64)
    xt = c["returned_treated"].to_numpy().astype(np.float64)
    xc = c["returned_control"].to_numpy().astype(np.float64)
    d = xt / nt - xc / nc
    pt = (xt + _HALF) / (nt + 2 * _HALF)
    pc = (xc + _HALF) / (nc + 2 * _HALF)
    v = pt * (1 - pt) / nt + pc * (1 - pc) / nc
    theta, mu, tau2, b = eb_normal(d, v)
    return pl.DataFrame(
        {
            by: c[by],
            "n_treated": c["n_treated"].cast(pl.Int64),
            "n_control": c["n_control"].cast(pl.Int64),
            "measured": d,
            "variance": v,
            "shrinkage": b,
            "uplift": theta,
            "average": np.full(d.size, mu),
            "tau2": np.full(d.size, tau2),
        }
    )


def eb_normal(d: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray]:
    """``(theta, mu, tau2, B)`` of the normal-normal model (module doc) for estimates ``d``
    with sampling variances ``v`` (all positive)."""
    d = np.asarray(d, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if d.size == 0:
        return d, float("nan"), 0.0, d
    w = 1.0 / v
    k = d.size
    d_w = float(np.sum(w * d) / np.sum(w))
    q = float(np.sum(w * (d - d_w) ** 2))
    denom = float(np.sum(w) - np.sum(w * w) / np.sum(w))
    tau2 = max(0.0, (q - (k - 1)) / denom) if k > 1 and denom > 0 else 0.0
    w_star = 1.0 / (v + tau2)
    mu = float(np.sum(w_star * d) / np.sum(w_star))
    b = v / (v + tau2)
    return b * mu + (1.0 - b) * d, mu, tau2, b
