"""Targeting a round by expected incremental margin with a random share; print figures.

1. Wall time of ``plan_round`` on N synthetic customers with the pure defaults (uplift x value,
   no random share) and with a business's figures (retail preset: gross margin, contact cost,
   the catalogue's depth caps, random share 0.2); who is chosen how, and the uplift classes.
2. Uniformity of the random share: over many seeds, each eligible customer's count of random
   inclusions against the uniform expectation (chi-square), and the share of random
   inclusions that falls on the better half by priority (should be about one half).

    .venv/bin/python benchmarks/targeting_bench.py [--customers N] [--seeds N]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import polars as pl
from scipy.stats import binomtest, chi2

from winback.config import preset
from winback.programme.defaults.offers import DEPTH_CAP_BY_TIER
from winback.programme.priority import select_places
from winback.programme.rounds import RoundConfig, RoundInputs, plan_round
from winback.programme.synthetic import synthetic_round

AS_OF = date(2024, 5, 31)
START, END = date(2024, 6, 1), date(2024, 6, 30)


def _plan_figures(n: int) -> None:
    s = synthetic_round(n, as_of=AS_OF, seed=1, n_agents=50)
    inputs = RoundInputs(
        snapshot=s.snapshot,
        customers=s.customers,
        agents=s.agents,
        contacts=s.contacts,
        complaints=s.complaints,
        memberships=s.memberships,
        favourites=s.favourites,
    )
    plain = RoundConfig(round_start=START, round_end=END)
    business = RoundConfig.from_profile(
        preset("retail"),
        round_start=START,
        round_end=END,
        offer_depth_by_tier=DEPTH_CAP_BY_TIER,
    )
    for name, config in (("uplift x value, no random share", plain), ("retail margin", business)):
        t0 = time.perf_counter()
        plan = plan_round(inputs, config, as_of=AS_OF, seed=7)
        wall = time.perf_counter() - t0
        sm = plan.summary
        t = sm["targeting"]
        print(f"[{name}] customers {n:,}: plan_round {wall:.2f} s")
        print(
            f"  eligible {sm['eligible']:,}  places {sm['places']:,}  selected {sm['selected']:,}"
            f"  waitlisted {sm['waitlisted']:,}  not worth a call {sm['not_worth_a_call']:,}"
        )
        print(
            f"  contact cost per customer {config.contact_cost:.2f}"
            f"  random share {config.random_share}"
        )
        print(f"  selected by {t['counts']['selected_by']}")
        print(f"  uplift classes (eligible) {t['counts']['eligible_uplift_class']}")


def _uniformity(n: int, seeds: int) -> None:
    rng = np.random.default_rng(3)
    frame = pl.DataFrame(
        {
            "customer_pk": rng.choice(np.arange(1, 10 * n), size=n, replace=False),
            "priority_rank": rng.permutation(n) + 1,
            "required_seniority": np.ones(n, dtype=np.int64),
            "worth": rng.random(n) < 0.6,
        }
    )
    places = n // 4
    capacity = pl.DataFrame(
        {"agent_id": [1], "seniority": [1], "daily_capacity": [1], "capacity": [places]}
    )
    counts = np.zeros(n)
    t0 = time.perf_counter()
    for seed in range(seeds):
        out, _ = select_places(frame, capacity, random_share=0.2, seed=seed)
        counts += (out["selected_by"] == "random").fill_null(False).to_numpy()
    wall = time.perf_counter() - t0
    expected = counts.sum() / n
    stat = float(((counts - expected) ** 2 / expected).sum())
    top = frame["priority_rank"].to_numpy() <= n // 2
    share_top = counts[top].sum() / counts.sum()
    p_top = binomtest(int(counts[top].sum()), int(counts.sum()), 0.5).pvalue
    print(
        f"uniformity: {n:,} eligible, {places:,} places, share 0.2, {seeds} seeds "
        f"({wall / seeds * 1000:.1f} ms a draw)"
    )
    print(f"  chi-square {stat:,.1f} on {n - 1} df: p = {chi2.sf(stat, n - 1):.3f}")
    print(f"  random inclusions on the better half by priority: {share_top:.4f} (p = {p_top:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=1000)
    args = parser.parse_args()
    _plan_figures(args.customers)
    _uniformity(2000, args.seeds)


if __name__ == "__main__":
    main()
