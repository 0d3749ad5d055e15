"""Buy-till-you-die models and customer lifetime value (R2: P(alive), expected purchases, CLV).

Inputs follow the usual BTYD summary, in one time unit throughout: ``frequency`` = number of
repeat purchases (purchases on distinct days or periods, minus the first), ``recency`` = the
customer's age at the last purchase (0 without repeats), ``T`` = the customer's age at the
as-of date, ``monetary_value`` = average value of the repeat purchases. Any array-like works
(NumPy arrays, Polars Series, lists, scalars).

- :class:`BetaGeo` - BG/NBD (Fader, Hardie & Lee 2005, Marketing Science 24(2)).
- :class:`ModifiedBetaGeo` - MBG/NBD (Batislam, Denizel & Filiztekin 2007, IJRM 24(3)): BG/NBD
  where a customer may also leave right after the first purchase.
- :class:`BetaGeoBetaBinom` - BG/BB (Fader, Hardie & Shang 2010, Marketing Science 29(6)) for
  discrete purchase opportunities; takes ``n_periods`` (whole opportunities) instead of ``T``.
- :class:`GammaGamma` - spend (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, JMR 42(4)).
- :func:`clv` - discounted expected spend over a horizon.

Documented failures raise :class:`ModelFitError` (a ``ValueError``) with a plain message;
predictions on invalid inputs raise ``ValueError``; nothing returns NaN silently.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from winback.analytics.btyd._common import (
    FloatArray,
    ModelFitError,
    NotFittedError,
    as_float_array,
    broadcast,
    group_rows,
)
from winback.analytics.btyd.beta_geo import BetaGeo, check_summary, future_purchases, p_alive
from winback.analytics.btyd.beta_geo_beta_binom import BetaGeoBetaBinom
from winback.analytics.btyd.gamma_gamma import GammaGamma
from winback.analytics.btyd.modified_beta_geo import ModifiedBetaGeo

__all__ = [
    "MAX_CLV_STEPS",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "GammaGamma",
    "ModelFitError",
    "ModifiedBetaGeo",
    "NotFittedError",
    "clv",
]

# More steps than this is a unit mistake (e.g. a horizon in days with a step of one hour).
MAX_CLV_STEPS = 10_000


def clv(
    bg: BetaGeo,
    gg: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon: float,
    discount_rate_per_period: float,
    step: float = 1,
) -> FloatArray:
    """Each customer's discounted expected spend over the next ``horizon`` periods.

    Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
    Analysis", JMR 42(4): CLV = E[M] x DET, expected spend per transaction (Gamma-Gamma) times
    discounted expected transactions. DET is taken in discrete steps t_k = k * step (the last
    one cut at ``horizon``):

        sum_k (E[Y(t_k) | x, t_x, T] - E[Y(t_{k-1}) | x, t_x, T]) / (1 + d)^(t_k)

    with d = ``discount_rate_per_period`` per period of the models' time unit, so with
    ``step=1`` the k-th step is discounted by (1 + d)^k. E[Y(t) | ...] is the BG/NBD
    conditional expectation: P(alive) times a factor that depends on (x, T) only, so that
    factor is computed once per distinct (x, T) and step. The result is in the currency of
    ``monetary_value``; apply a margin to it for profit.
    """
    params = _fitted_params(bg)
    times = _step_times(horizon, step)
    rate = float(discount_rate_per_period)
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"discount_rate_per_period must be a finite number >= 0, got {rate!r}")
    x, t_x, age = check_summary(frequency, recency, T, ValueError)
    spend_per_purchase, x, t_x, age = broadcast(
        [gg.expected_spend(frequency, monetary_value), x, t_x, age],
        "frequency, recency, T and monetary_value",
        ValueError,
    )
    (group_x, group_age), _, inverse = group_rows(x.ravel(), age.ravel())
    discounted = np.zeros_like(group_x)
    previous = np.zeros_like(group_x)
    for time, discount in zip(times, (1 + rate) ** -times, strict=True):
        current = future_purchases(params, np.asarray(time), group_x, group_age)
        discounted += (current - previous) * discount
        previous = current
    transactions = discounted[inverse].reshape(x.shape) * p_alive(params, x, t_x, age)
    result: FloatArray = np.atleast_1d(spend_per_purchase * transactions)
    return result


def _fitted_params(bg: BetaGeo) -> dict[str, float]:
    params: Any = getattr(bg, "params_", None)
    if params is None:
        raise NotFittedError("the BetaGeo model is not fitted yet; call fit() first")
    return dict(params)


def _step_times(horizon: float, step: float) -> FloatArray:
    """t_1 < ... < t_K = horizon, spaced ``step`` apart (the last step may be shorter)."""
    length = float(as_float_array(horizon, "horizon", ValueError))
    width = float(as_float_array(step, "step", ValueError))
    if length <= 0 or width <= 0:
        raise ValueError(f"horizon and step must be positive, got {length!r} and {width!r}")
    count = math.ceil(length / width - 1e-9)
    if count > MAX_CLV_STEPS:
        raise ValueError(
            f"horizon / step gives {count} steps (at most {MAX_CLV_STEPS}); use a larger step"
        )
    times: FloatArray = np.minimum(np.arange(1, count + 1) * width, length)
    return times
