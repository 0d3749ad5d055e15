"""BTYD timings on 1,000,000 simulated customers (prints figures; never asserts)."""

from __future__ import annotations

import time

import numpy as np

from winback.analytics.clv import BetaGeo, GammaGamma, clv

N = 1_000_000
TRUE = {"r": 0.5, "alpha": 30.0, "a": 0.8, "b": 2.5}  # per day


def simulate(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    age = rng.integers(1, 730, N).astype(float)  # days since first purchase, up to two years
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], N)
    possible = rng.poisson(rate * age)
    x = np.minimum(possible, rng.geometric(rng.beta(TRUE["a"], TRUE["b"], N)))
    recency = np.zeros(N)
    buyers = x > 0
    recency[buyers] = age[buyers] * rng.beta(x[buyers], possible[buyers] - x[buyers] + 1)
    nu = rng.gamma(3.7, 1 / 15.4, N)
    spend = np.zeros(N)
    spend[buyers] = np.round(rng.gamma(6.25 * x[buyers], 1 / (nu[buyers] * x[buyers])), 2)
    return x.astype(float), recency, age, spend


def timed(label: str, call):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<44} {wall:6.2f} s wall {used:6.2f} s cpu")
    return result


def main() -> None:
    x, recency, age, spend = simulate(np.random.default_rng(1))
    days = np.where(x > 0, np.minimum(np.ceil(recency), age), 0.0)  # whole days, as from dates
    print(f"{N:,} customers, {int((x > 0).sum()):,} repeat buyers")
    bg = timed("BetaGeo.fit, whole-day summary", lambda: BetaGeo().fit(x, days, age))
    timed("BetaGeo.fit, continuous recency (no ties)", lambda: BetaGeo().fit(x, recency, age))
    gg = timed("GammaGamma.fit", lambda: GammaGamma().fit(x, spend))
    timed("p_alive", lambda: bg.p_alive(x, days, age))
    timed("expected_purchases(365)", lambda: bg.expected_purchases(365, x, days, age))
    timed(
        "clv, 365 days in 30-day steps",
        lambda: clv(
            bg, gg, x, days, age, spend, horizon=365, discount_rate_per_period=0.0003, step=30
        ),
    )
    print("fitted", {k: round(v, 4) for k, v in bg.params_.items()}, "true", TRUE)


if __name__ == "__main__":
    main()
