"""A round's pre-registered design: what it measures, and what it can detect (R7).

Each round is a two-arm comparison of proportions with **unequal arms** (the control share is
small, e.g. 10%): did treated customers come back within the primary horizon more often than
control customers? Before a round starts the planner records its design:

* the primary outcome (``came_back_within_90_days``) and the primary metric
  (``incremental_margin_net_of_cost``), fixed before any result is seen;
* the arm sizes and the control share;
* the business's own base rate (the control arms' came-back rate of past matured rounds when
  known, else the candidates' predicted return probability, else a configured default) and
  where it came from;
* the hoped-for effect (a difference in percentage points), the two-sided alpha, and
* the minimum detectable effect at the target power and the power the round has for the
  hoped-for effect.

Sample sizes use the normal approximation with unpooled variances for two independent
proportions and allocation ratio ``k = n_treated / n_control`` (Chow, Shao & Wang, *Sample Size
Calculations in Clinical Research*, 2nd ed. 2008, sec. 4.2, unequal allocation; Fleiss, Levin &
Paik, *Statistical Methods for Rates and Proportions*, 3rd ed. 2003, ch. 4)::

    n_control = (z_{1-a/2} + z_{1-b})^2 * (p0 (1 - p0) + p1 (1 - p1) / k) / (p1 - p0)^2
    n_treated = k * n_control

For a base rate of 8%, a hoped-for 12%, a 90/10 split, alpha 5% and power 80% this gives
419 control and 3,771 treated customers; with equal arms it is the textbook 880 per group.
The power of given arms for a difference ``d`` is ``Phi(|d| / se - z_{1-a/2})`` with
``se = sqrt(p0 q0 / n_control + p1 q1 / n_treated)`` (the other tail is negligible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from statistics import NormalDist
from typing import Any

PRIMARY_OUTCOME = "came_back_within_90_days"
PRIMARY_METRIC = "incremental_margin_net_of_cost"
BASE_RATE_SOURCES = ("past_controls", "predicted", "default")

_N = NormalDist()


def _z(p: float) -> float:
    return _N.inv_cdf(p)


def _check(p0: float, alpha: float, power: float | None = None) -> None:
    if not 0.0 < p0 < 1.0:
        raise ValueError("the base rate must be in (0, 1)")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if power is not None and not 0.0 < power < 1.0:
        raise ValueError("power must be in (0, 1)")


def sample_sizes(
    base_rate: float,
    effect: float,
    *,
    control_share: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[int, int]:
    """``(n_control, n_treated)`` needed to detect ``base_rate -> base_rate + effect`` with the
    given two-sided ``alpha`` and ``power`` when a ``control_share`` of the round is held out
    (module doc). ``n_control`` is rounded up and ``n_treated = k * n_control``, rounded up."""
    _check(base_rate, alpha, power)
    p1 = base_rate + effect
    if effect == 0 or not 0.0 < p1 < 1.0:
        raise ValueError("base_rate + effect must be in (0, 1) and differ from base_rate")
    if not 0.0 < control_share < 1.0:
        raise ValueError("control_share must be in (0, 1)")
    k = (1.0 - control_share) / control_share
    z = _z(1.0 - alpha / 2.0) + _z(power)
    n_control = z * z * (base_rate * (1 - base_rate) + p1 * (1 - p1) / k) / effect**2
    n_c = math.ceil(n_control - 1e-9)
    return n_c, math.ceil(k * n_c - 1e-9)


def detection_power(
    base_rate: float, effect: float, *, n_control: int, n_treated: int, alpha: float = 0.05
) -> float:
    """The chance that a two-sided test at ``alpha`` finds ``effect`` with these arms."""
    _check(base_rate, alpha)
    if n_control <= 0 or n_treated <= 0:
        return 0.0
    p1 = min(max(base_rate + effect, 1e-12), 1.0 - 1e-12)
    se = math.sqrt(base_rate * (1 - base_rate) / n_control + p1 * (1 - p1) / n_treated)
    return _N.cdf(abs(effect) / se - _z(1.0 - alpha / 2.0))


def minimum_detectable_effect(
    base_rate: float, *, n_control: int, n_treated: int, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest increase over ``base_rate`` these arms detect with ``power`` (bisection on
    :func:`detection_power`); None when even a return rate of 100% would not be detected."""
    _check(base_rate, alpha, power)
    if n_control <= 0 or n_treated <= 0:
        return None
    high = 1.0 - base_rate - 1e-9
    if (
        detection_power(base_rate, high, n_control=n_control, n_treated=n_treated, alpha=alpha)
        < power
    ):
        return None
    low = 0.0
    for _ in range(60):
        mid = (low + high) / 2.0
        got = detection_power(base_rate, mid, n_control=n_control, n_treated=n_treated, alpha=alpha)
        if got >= power:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class RoundDesign:
    """A round's pre-registered design (module doc); stored on the round as JSON."""

    n_treated: int
    n_control: int
    control_share: float
    base_rate: float
    base_rate_source: str  # one of BASE_RATE_SOURCES
    hoped_effect: float  # percentage points over the base rate, e.g. 0.04
    alpha: float
    target_power: float
    mde: float | None  # None: not detectable at any rate with these arms
    power_for_hoped: float
    needed_control: int | None  # for the hoped-for effect at this control share
    needed_treated: int | None
    control_floor: int
    small_control_allowed: bool = False
    horizon_days: int = 90
    primary_outcome: str = PRIMARY_OUTCOME
    primary_metric: str = PRIMARY_METRIC

    @property
    def underpowered(self) -> bool:
        """The control group is too small to detect the hoped-for effect at the target power."""
        return self.power_for_hoped < self.target_power

    @property
    def below_floor(self) -> bool:
        return self.n_control < self.control_floor

    @property
    def warnings(self) -> tuple[str, ...]:
        found = []
        if self.below_floor:
            found.append("control_below_floor")
        if self.underpowered:
            found.append("control_too_small_for_hoped_effect")
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_json(cls, value: Any) -> RoundDesign | None:
        """The stored design, or None for a round planned before designs were stored."""
        if not isinstance(value, dict) or "n_control" not in value:
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})


def design_round(
    *,
    n_treated: int,
    n_control: int,
    base_rate: float,
    base_rate_source: str,
    hoped_effect: float,
    alpha: float,
    target_power: float,
    control_floor: int,
    small_control_allowed: bool = False,
    horizon_days: int = 90,
) -> RoundDesign:
    """The design of a round with these arms (module doc)."""
    if base_rate_source not in BASE_RATE_SOURCES:
        raise ValueError(f"base_rate_source must be one of {BASE_RATE_SOURCES}")
    p0 = min(max(base_rate, 1e-6), 1.0 - 1e-6)
    total = n_treated + n_control
    share = n_control / total if total else 0.0
    needed: tuple[int | None, int | None] = (None, None)
    if 0.0 < share < 1.0 and 0.0 < p0 + hoped_effect < 1.0 and hoped_effect != 0:
        needed = sample_sizes(
            p0, hoped_effect, control_share=share, alpha=alpha, power=target_power
        )
    return RoundDesign(
        n_treated=int(n_treated),
        n_control=int(n_control),
        control_share=round(share, 6),
        base_rate=float(base_rate),
        base_rate_source=base_rate_source,
        hoped_effect=float(hoped_effect),
        alpha=float(alpha),
        target_power=float(target_power),
        mde=minimum_detectable_effect(
            p0, n_control=n_control, n_treated=n_treated, alpha=alpha, power=target_power
        ),
        power_for_hoped=detection_power(
            p0, hoped_effect, n_control=n_control, n_treated=n_treated, alpha=alpha
        ),
        needed_control=needed[0],
        needed_treated=needed[1],
        control_floor=int(control_floor),
        small_control_allowed=bool(small_control_allowed),
        horizon_days=int(horizon_days),
    )
