"""How a simulated customer responds to a win-back call: the true individual effect.

The generator gives every customer a hidden trait (``offer_responsiveness``: willingness to be
persuaded, lowered for leave reasons no offer fixes). Whether a call actually changes what the
customer does also depends on things the analysis *can* see at the time of the round:

* **lateness** - days since the last purchase over the customer's own expected interval. A
  customer still inside the usual rhythm (lateness < 1) mostly comes back anyway ("sure
  thing"): the call adds little; a customer many intervals late has moved on ("lost cause").
  The effect peaks in between, around :data:`PEAK_LATENESS` intervals, on a log-normal hump.
* **P(alive)** - a customer the purchase model believes still active is easier to move than
  one it believes gone.

So the probability that a *reached* customer who would not have returned is won back is::

    lift = scale * trait * hump(lateness) * (ALIVE_FLOOR + (1 - ALIVE_FLOOR) * p_alive)

clipped to [0, :data:`MAX_LIFT`]. ``scale`` is :data:`RESPONSE_SCALES` ``"realistic"`` by
default: with the default traits and reach, a round's treated customers come back a few points
more often than its control group, as real win-back campaigns see. ``"large"`` keeps a much
stronger response (a third to a half of treated customers back) for demonstrations.

The scales are set by measurement on the demo path (``benchmarks/response_bench.py``: the
default demo business, six rounds, each read at +90 days; decision 0035). The treated
customers' mean of ``trait x hump x alive factor`` is about 0.2 there (trait about 0.46, hump
0.45-0.85, alive factor 0.55-0.85), and a reached customer is about 0.36 of a treated one
after reach, do-not-contact answers, the wrong-reason penalty and the customers who return
anyway. ``realistic`` 0.6 then adds about three points of returns among the treated; ``large``
5.0 adds about fifteen (the lift saturates at :data:`MAX_LIFT` near the peak, and customers
far from it stay hard to move even then), which with the natural returns brings a third or
more of the treated back.

The presented offer multiplies the lift by :func:`offer_multiplier`: offers that suit the true
leave reason (a price offer for a price reason, a service perk for a service reason) work
better, and each offer of the default catalogue has a fixed hidden quality. The best fixed offer
of a segment is therefore known in simulation, which is what a learning offer policy is scored
against.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]

RESPONSE_SCALES: Final[dict[str, float]] = {"realistic": 0.6, "large": 5.0}
DEFAULT_RESPONSE: Final = "realistic"
PEAK_LATENESS: Final = 2.5
HUMP_WIDTH: Final = 0.7  # standard deviation of log(lateness) around the peak
ALIVE_FLOOR: Final = 0.25
MAX_LIFT: Final = 0.95
MIN_LATENESS: Final = 0.05

# Hidden quality of each default offer (multiplies the lift); unknown codes read as 1.0.
OFFER_QUALITY: Final[dict[str, float]] = {
    "member_day_15": 1.25,
    "member_day_12": 1.1,
    "member_day_10": 1.0,
    "member_day_5": 0.75,
    "double_points": 0.8,
    "multi_visit_pack": 1.15,
    "priority_service": 1.1,
    "expert_advice": 0.9,
    "free_delivery": 0.85,
    "favourite_category_10": 1.2,
    "refill_combo": 1.05,
    "welcome_back_50": 1.3,
    "welcome_back_20": 0.9,
    "price_relief_12": 1.2,
    "free_follow_up": 1.1,
}
# An offer of the kind the true reason calls for (price offer for a price reason, perk for a
# service reason) works this much better; the other kind this much worse.
MATCH_BONUS: Final = 1.3
MISMATCH_PENALTY: Final = 0.6


def response_scale(name: str) -> float:
    """The lift multiplier of a named response level (``realistic`` or ``large``)."""
    try:
        return RESPONSE_SCALES[name]
    except KeyError:
        raise ValueError(f"response must be one of {sorted(RESPONSE_SCALES)}") from None


def lateness_hump(lateness: npt.ArrayLike) -> FloatArray:
    """1 at :data:`PEAK_LATENESS`, falling off on a log scale both ways (0 when unknown)."""
    late = np.asarray(lateness, dtype=np.float64)
    safe = np.where(np.isfinite(late), np.maximum(late, MIN_LATENESS), np.nan)
    z = (np.log(safe) - np.log(PEAK_LATENESS)) / HUMP_WIDTH
    out: FloatArray = np.nan_to_num(np.exp(-0.5 * z * z), nan=0.0)
    return out


def call_lift(
    trait: npt.ArrayLike,
    lateness: npt.ArrayLike,
    p_alive: npt.ArrayLike,
    *,
    response: str = DEFAULT_RESPONSE,
) -> FloatArray:
    """Probability that a reached customer who would not have come back is won back by the
    call (before the offer's multiplier); see the module docstring."""
    t = np.clip(np.nan_to_num(np.asarray(trait, dtype=np.float64), nan=0.0), 0.0, 1.0)
    alive = np.clip(np.nan_to_num(np.asarray(p_alive, dtype=np.float64), nan=0.5), 0.0, 1.0)
    lift = response_scale(response) * t * lateness_hump(lateness)
    lift = lift * (ALIVE_FLOOR + (1.0 - ALIVE_FLOOR) * alive)
    return np.clip(lift, 0.0, MAX_LIFT)


def offer_multiplier(
    offer_code: npt.ArrayLike, is_price: npt.ArrayLike, preference: npt.ArrayLike
) -> FloatArray:
    """How much the presented offer changes the lift: hidden quality x reason match.

    ``offer_code`` may hold None/"" (no offer: 1.0); ``is_price`` says whether the offer is a
    price offer; ``preference`` is the true reason's playbook preference (``"price"``,
    ``"perk"`` or None: no match effect)."""
    codes = (
        offer_code.cast(pl.String)
        if isinstance(offer_code, pl.Series)
        else pl.Series(np.asarray(offer_code, dtype=object).ravel().tolist(), dtype=pl.String)
    )
    quality = codes.replace_strict(OFFER_QUALITY, default=1.0, return_dtype=pl.Float64)
    has_offer = (codes.fill_null("") != "").to_numpy()
    price = np.asarray(is_price, dtype=bool).ravel()
    pref = np.asarray(preference, dtype=object).ravel()
    wants_price = pref == "price"
    wants_perk = pref == "perk"
    match = (wants_price & price) | (wants_perk & ~price)
    mismatch = (wants_price & ~price) | (wants_perk & price)
    factor = np.where(match, MATCH_BONUS, np.where(mismatch, MISMATCH_PENALTY, 1.0))
    out = np.where(has_offer, quality.fill_null(1.0).to_numpy() * factor, 1.0)
    return out.astype(np.float64)
