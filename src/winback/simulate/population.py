"""The simulated customers and their hidden traits (the ground truth behind the exports).

Traits are correlated through two latent factors, *loyalty* and *affluence*, so that value,
purchase rate, engagement, satisfaction and the tendency to leave move together the way they do
in real customer bases. Each trait is then mapped to its own marginal distribution:

* purchase rate: gamma across customers, as in the NBD / Pareto-NBD family
  (Ehrenberg 1959; Schmittlein, Morrison & Colombo 1987),
* dropout probability per purchase: beta across customers, as in BG/NBD
  (Fader, Hardie & Lee 2005, "Counting your customers the easy way"),
* spend level: log-normal, a common stand-in for the gamma-gamma spend model
  (Fader, Hardie & Lee 2005, "RFM and CLV").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from winback.simulate.industries import IndustrySpec
from winback.vocabulary import Channel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PHONE, SMS, WECHAT = 0, 1, 2
# Indexed by PHONE, SMS, WECHAT above.
PREFERRED_CHANNELS: tuple[str, ...] = (Channel.PHONE.value, Channel.SMS.value, Channel.WECHAT.value)


@dataclass(frozen=True)
class Population:
    """One entry per simulated customer, indexed in join order."""

    join_day: IntArray
    rate: FloatArray  # repeat purchases per day at average seasonality (BG/NBD lambda)
    dropout_p: FloatArray  # probability of leaving after each purchase (BG/NBD p)
    value: FloatArray  # spend multiplier, median about 1
    value_pct: FloatArray  # value as a percentile in [0, 1)
    engagement: FloatArray  # propensity to join the community, mean about 1
    satisfaction: FloatArray  # [0, 1]
    price_sensitivity: FloatArray  # [0, 1]
    responsiveness: FloatArray  # base response to offers in [0, 1], before the leave reason
    reachability: FloatArray  # probability of answering a phone call
    emotional: BoolArray  # decision style: emotional (else rational)
    female: BoolArray
    birth_day: IntArray  # absolute day (since 1970-01-01)
    home_store: IntArray
    preferred_category: IntArray
    secondary_category: IntArray
    preferred_channel: IntArray  # PHONE, SMS, WECHAT
    referred: BoolArray  # joined through a friend's referral
    prospect: BoolArray  # registered but never bought
    walk_in: BoolArray  # bought, but is missing from the customer export

    @property
    def size(self) -> int:
        return int(self.join_day.size)


def _factor_mix(
    loyalty: FloatArray,
    affluence: FloatArray,
    noise: FloatArray,
    loading_loyalty: float,
    loading_affluence: float,
) -> FloatArray:
    """A standard-normal trait with the given loadings on the two latent factors."""
    rest = np.sqrt(1.0 - loading_loyalty**2 - loading_affluence**2)
    trait: FloatArray = loading_loyalty * loyalty + loading_affluence * affluence + rest * noise
    return trait


def _join_days(rng: np.random.Generator, n: int, days: int) -> IntArray:
    """Join days over the whole window; the business grows, so later days see more joins.

    Density proportional to ``1 + g * t / days`` (g = 1.5), drawn by inverting its CDF.
    """
    growth = 1.5
    u = rng.random(n)
    t = (days / growth) * (np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0)) - 1.0)
    return np.sort(np.minimum(t.astype(np.int64), days - 1))


def _distinct_second_choice(
    rng: np.random.Generator, first: IntArray, weights: FloatArray
) -> IntArray:
    count = weights.size
    second = rng.choice(count, size=first.size, p=weights)
    clash = second == first
    second[clash] = (first[clash] + 1 + rng.integers(0, count - 1, clash.sum())) % count
    return second


def _walk_ins(rng: np.random.Generator, eligible: BoolArray) -> BoolArray:
    """A handful of buyers the customer export does not know (walk-in, cash customers)."""
    n = eligible.size
    wanted = min(int(np.clip(n // 2000, 2, 50)), n // 10)
    candidates = np.flatnonzero(eligible)
    chosen = rng.choice(candidates, size=min(wanted, candidates.size), replace=False)
    walk_in = np.zeros(n, dtype=bool)
    walk_in[chosen] = True
    return walk_in


def simulate_population(
    rng: np.random.Generator, spec: IndustrySpec, n: int, days: int, end_epoch_day: int
) -> Population:
    join_day = _join_days(rng, n, days)
    loyalty = rng.standard_normal(n)
    affluence = rng.standard_normal(n)

    def trait(loading_loyalty: float, loading_affluence: float) -> FloatArray:
        return _factor_mix(
            loyalty, affluence, rng.standard_normal(n), loading_loyalty, loading_affluence
        )

    z_rate = trait(0.4, 0.2)
    z_value = trait(0.1, 0.7)
    z_engagement = trait(0.5, 0.3)
    z_satisfaction = trait(0.6, 0.0)
    z_dropout = trait(-0.6, 0.0)
    z_price = trait(0.0, -0.5)
    z_response = trait(0.3, -0.3)
    z_reach = trait(0.3, 0.0)

    shape = spec.rate_shape
    rate = special.gammaincinv(shape, special.ndtr(z_rate)) / (shape * spec.expected_return_days)
    a = spec.dropout_mean * spec.dropout_concentration
    b = (1.0 - spec.dropout_mean) * spec.dropout_concentration
    dropout_p = np.clip(special.betaincinv(a, b, special.ndtr(z_dropout)), 0.002, 0.95)
    sigma = 0.6
    value = np.exp(sigma * z_value - sigma**2 / 2)

    age_low, age_high = spec.age_bounds
    age_years = np.clip(rng.normal(spec.age_mean, spec.age_sd, n), age_low, age_high)
    birth_day = end_epoch_day - (age_years * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    young = age_years < 45
    channel_weights = np.where(young[:, None], [0.25, 0.15, 0.60], [0.50, 0.20, 0.30])
    preferred_channel = (rng.random(n)[:, None] > np.cumsum(channel_weights, axis=1)).sum(axis=1)

    store_weights = 1.0 / np.arange(1, spec.store_count + 1) ** 0.7
    popularity = np.array([c.popularity for c in spec.categories])
    popularity = popularity / popularity.sum()
    preferred = rng.choice(popularity.size, size=n, p=popularity)

    referral_share = 0.12 if spec.company_customers else 0.07
    referred = rng.random(n) < referral_share
    referred[0] = False  # the first customer had nobody to be referred by
    prospect = rng.random(n) < np.where(referred, 0.30, 0.02)
    emotional_share = 0.6 if spec.industry == "aesthetics" else 0.45

    return Population(
        join_day=join_day,
        rate=rate,
        dropout_p=dropout_p,
        value=value,
        value_pct=special.ndtr(z_value),
        engagement=np.exp(z_engagement - 0.5),
        satisfaction=special.ndtr(z_satisfaction),
        price_sensitivity=special.ndtr(z_price),
        responsiveness=special.ndtr(0.2 + z_response),
        reachability=special.ndtr(0.3 + 0.6 * z_reach),
        emotional=rng.random(n) < emotional_share,
        female=rng.random(n) < spec.female_share,
        birth_day=birth_day,
        home_store=rng.choice(spec.store_count, size=n, p=store_weights / store_weights.sum()),
        preferred_category=preferred,
        secondary_category=_distinct_second_choice(rng, preferred, popularity),
        preferred_channel=preferred_channel.astype(np.int64),
        referred=referred,
        prospect=prospect,
        walk_in=_walk_ins(rng, ~prospect & ~referred),
    )
