"""Does the monitoring maths find a known effect? 50 seeded simulated rounds.

Each round: 20,000 customers in (tier, stage) strata, a 10% stratified random control group
(the planner's own holdout), return rates that differ by stratum and average 8% without a
contact, and a true uplift of 4 points for every treated customer. Returners spend a
lognormal amount (mean 300), so the true incremental revenue per customer is 0.04 x 300 = 12.
The full monitoring path runs: round_outcomes -> round_effects (Newcombe interval for the
win-back rate, bootstrap interval for revenue).

Prints the share of rounds whose 95% interval covers the truth (target >= 90%) and the mean
absolute error of the point estimates.

    .venv/bin/python benchmarks/lift_validation.py [--sims 50] [--customers 20000]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from winback.programme.attribution import round_effects, round_outcomes
from winback.programme.holdout import assign_holdout

START = date(2024, 6, 1)
BASE_RATE = 0.08
UPLIFT = 0.04
MEAN_SPEND = 300.0
SPEND_SIGMA = 0.8


def simulate(seed: int, n: int, share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pl.DataFrame(
        {
            "customer_pk": np.arange(1, n + 1),
            "tier": rng.integers(1, 6, n),
            "stage": rng.choice(["silent", "sleeping", "lost"], n, p=[0.3, 0.3, 0.4]),
        },
        schema_overrides={"stage": pl.String()},
    )
    arms = assign_holdout(customers, share=share, seed=seed)
    # Return rates differ by stratum (silent customers come back more often, lost ones less),
    # scaled so the population average is BASE_RATE.
    stage_factor = {"silent": 1.6, "sleeping": 1.0, "lost": 0.55}
    raw = arms["stage"].replace_strict(stage_factor).to_numpy() * (
        1.15 - 0.05 * arms["tier"].to_numpy()
    )
    base = BASE_RATE * raw / raw.mean()
    treated = (arms["arm"] == "treated").to_numpy()
    came_back = rng.random(n) < base + UPLIFT * treated
    k = int(came_back.sum())
    mu = np.log(MEAN_SPEND) - SPEND_SIGMA**2 / 2
    orders = pl.DataFrame(
        {
            "customer_pk": arms["customer_pk"].to_numpy()[came_back],
            "order_date": [START + timedelta(days=int(d)) for d in rng.integers(0, 30, k)],
            "amount_cents": np.round(rng.lognormal(mu, SPEND_SIGMA, k) * 100).astype(np.int64),
        },
        schema_overrides={"order_date": pl.Date()},
    )
    return arms.select("customer_pk", "arm", "stratum"), orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sims", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--control", type=float, default=0.10)
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    rows = []
    for sim in range(args.sims):
        arms, orders = simulate(1000 + sim, args.customers, args.control)
        outcomes = round_outcomes(arms, round_start=START, orders=orders, horizons=(30,))
        eff = round_effects(outcomes, seed=sim, n_boot=args.boot).row(0, named=True)
        rows.append(eff)
    elapsed = time.perf_counter() - t0

    est = np.array([r["uplift"] for r in rows])
    lo = np.array([r["uplift_low"] for r in rows])
    hi = np.array([r["uplift_high"] for r in rows])
    rev = np.array([r["revenue_uplift"] for r in rows])
    rev_lo = np.array([r["revenue_uplift_low"] for r in rows])
    rev_hi = np.array([r["revenue_uplift_high"] for r in rows])
    true_rev = UPLIFT * MEAN_SPEND
    cover = np.mean((lo <= UPLIFT) & (hi >= UPLIFT))
    rev_cover = np.mean((rev_lo <= true_rev) & (rev_hi >= true_rev))

    mae = np.mean(np.abs(est - UPLIFT)) * 100
    width = np.mean(hi - lo) * 100
    print(f"simulated rounds                    {args.sims}")
    print(f"customers per round / control share {args.customers:,} / {args.control:.0%}")
    print(f"base return rate / true uplift      {BASE_RATE:.1%} / {UPLIFT * 100:.1f} points")
    print(f"win-back rate: 95% Newcombe coverage  {cover:.1%}   (target >= 90%)")
    print(f"win-back rate: mean absolute error    {mae:.2f} points")
    print(f"win-back rate: mean estimate          {est.mean() * 100:.2f} points")
    print(f"win-back rate: mean interval width    {width:.2f} points")
    print(f"revenue per customer: true uplift     {true_rev:.2f}")
    print(f"revenue per customer: 95% coverage    {rev_cover:.1%}   (bootstrap)")
    print(f"revenue per customer: mean abs error  {np.mean(np.abs(rev - true_rev)):.2f}")
    print(f"wall time (s)                         {elapsed:.1f}")


if __name__ == "__main__":
    main()
