"""Why each leaver left, and how each customer would respond to a win-back offer.

The reason mix starts from the industry's weights and bends with the customer's traits:
dissatisfied customers leave over what the business did (attitude, quality, speed, ...),
price-sensitive ones over price, valuable and engaged ones rarely just drift away. The reason
then shapes the signals before leaving (complaints, survey scores, contact pressure; see
:mod:`winback.simulate.engagement` and :mod:`winback.simulate.contacts`) and how responsive the
customer is to an offer (someone who moved away rarely comes back for a coupon).
"""

from __future__ import annotations

import numpy as np

from winback.programme.reasons import REASON_CODES
from winback.simulate.industries import IndustrySpec
from winback.simulate.population import BoolArray, FloatArray, IntArray, Population

# "not_found" is what an interviewer records; every simulated leaver has a true reason.
TRUE_REASONS: tuple[str, ...] = tuple(code for code in REASON_CODES if code != "not_found")
NO_REASON = -1

OUR_FAULT_SERVICE = frozenset(
    {
        "attitude",
        "timing",
        "quality",
        "speed",
        "transparency",
        "reputation",
        "values",
        "canned_scripts",
        "broken_promise",
        "poor_results",
    }
)
CONTACT_PRESSURE = frozenset({"too_many_calls", "only_calls_when_selling"})

# Probability that a leaver with this reason complained shortly before leaving.
COMPLAINT_BEFORE_LEAVING: dict[str, float] = {
    "attitude": 0.7,
    "broken_promise": 0.7,
    "quality": 0.6,
    "speed": 0.5,
    "poor_results": 0.5,
    "transparency": 0.5,
    "timing": 0.2,
    "price": 0.15,
    "too_many_calls": 0.2,
}

# How much a leaver with this reason responds to a win-back offer, relative to the base.
RESPONSE_BY_REASON: dict[str, float] = {
    "attitude": 0.6,
    "timing": 1.0,
    "quality": 0.6,
    "speed": 0.9,
    "price": 1.3,
    "transparency": 0.8,
    "reputation": 0.5,
    "values": 0.3,
    "only_calls_when_selling": 0.6,
    "canned_scripts": 0.8,
    "broken_promise": 0.5,
    "too_many_calls": 0.3,
    "poor_results": 0.6,
    "moved_away": 0.1,
    "competitor": 0.8,
    "budget_cut": 0.5,
    "contact_changed": 0.7,
    "off_season": 1.1,
    "restructured": 0.3,
    "need_changed": 0.3,
    "life_change": 0.2,
    "habit_lapsed": 1.2,
}


def reason_index(code: str) -> int:
    return TRUE_REASONS.index(code)


def assign_reasons(
    rng: np.random.Generator, spec: IndustrySpec, people: Population, left: BoolArray
) -> IntArray:
    """Index into :data:`TRUE_REASONS` for each leaver, ``NO_REASON`` for the others."""
    leavers = np.flatnonzero(left)
    base = np.array([spec.reason_weights.get(code, 0.0) for code in TRUE_REASONS], dtype=float)
    weights = np.tile(base, (leavers.size, 1))
    unhappy = 0.4 + 1.6 * (1.0 - people.satisfaction[leavers])
    for j, code in enumerate(TRUE_REASONS):
        if code in OUR_FAULT_SERVICE:
            weights[:, j] *= unhappy
        elif code == "price":
            weights[:, j] *= 0.2 + 2.0 * people.price_sensitivity[leavers]
        elif code in CONTACT_PRESSURE:
            weights[:, j] *= 0.5 + people.value_pct[leavers]  # valuable customers get called
        elif code == "habit_lapsed":
            weights[:, j] *= 1.5 - people.value_pct[leavers]
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(leavers.size) * cumulative[:, -1]
    chosen = (cumulative < draw[:, None]).sum(axis=1)
    reason = np.full(people.size, NO_REASON, dtype=np.int64)
    reason[leavers] = np.minimum(chosen, len(TRUE_REASONS) - 1)
    return reason


def offer_responsiveness(people: Population, reason: IntArray) -> FloatArray:
    factor = np.array([RESPONSE_BY_REASON.get(code, 1.0) for code in TRUE_REASONS])
    scaled = people.responsiveness * np.where(reason >= 0, factor[np.maximum(reason, 0)], 1.0)
    return np.clip(scaled, 0.0, 1.0)


def reason_flags(reason: IntArray, codes: frozenset[str] | set[str]) -> BoolArray:
    wanted = np.array([code in codes for code in TRUE_REASONS] + [False])
    return wanted[np.where(reason >= 0, reason, len(TRUE_REASONS))]


def complaint_probability(reason: IntArray) -> FloatArray:
    table = np.array([COMPLAINT_BEFORE_LEAVING.get(c, 0.0) for c in TRUE_REASONS] + [0.0])
    return table[np.where(reason >= 0, reason, len(TRUE_REASONS))]
