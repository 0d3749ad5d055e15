"""Plan one win-back round for 1,000,000 synthetic customers and 50 agents; print wall times.

Target: the whole plan (pool, exclusions, priority, holdout, offer menus, assignment) in at
most 30 s on a 2-core machine; the pure rules should need a few seconds.

    .venv/bin/python benchmarks/round_plan_bench.py [--customers N] [--agents N]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import polars as pl

from winback.programme.offers import OfferCatalogue, offer_menus
from winback.programme.playbooks import Playbooks
from winback.programme.rounds import RoundConfig, RoundInputs, plan_round
from winback.programme.synthetic import synthetic_round
from winback.programme.taxonomy import Taxonomy

AS_OF = date(2024, 5, 31)
START, END = date(2024, 6, 1), date(2024, 6, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    s = synthetic_round(args.customers, as_of=AS_OF, seed=1, n_agents=args.agents)
    t_gen = time.perf_counter() - t0
    inputs = RoundInputs(
        snapshot=s.snapshot,
        customers=s.customers,
        agents=s.agents,
        contacts=s.contacts,
        complaints=s.complaints,
        memberships=s.memberships,
        favourites=s.favourites,
    )
    config = RoundConfig(round_start=START, round_end=END, offer_budget=1_000_000.0)

    t0 = time.perf_counter()
    plan = plan_round(inputs, config, as_of=AS_OF, seed=args.seed)
    t_plan = time.perf_counter() - t0

    # Stress the offer cross join: a menu for every eligible candidate, not only those the
    # agents can call this month.
    eligible = s.snapshot.join(
        plan.excluded.select("customer_pk"), on="customer_pk", how="anti"
    ).filter(pl.col("status").is_in(["lost", "at_risk"]))
    customers = eligible.select(
        "customer_pk",
        "tier",
        "stage",
        expected_spend="avg_ticket",
        expected_interval_days="expected_interval_days",
        days_since_last="days_since_last",
    )
    t0 = time.perf_counter()
    menus = offer_menus(
        customers,
        s.favourites,
        OfferCatalogue.default(),
        Playbooks.default(),
        Taxonomy.default(),
        as_of=AS_OF,
        round_start=START,
        round_end=END,
    )
    t_offers = time.perf_counter() - t0

    sm = plan.summary
    print(f"customers                 {args.customers:>12,}")
    print(f"agents                    {args.agents:>12,}")
    print(f"synthetic frames (s)      {t_gen:>12.2f}   (not part of the plan)")
    print(f"contact history rows      {s.contacts.height:>12,}")
    print(f"candidates                {sm['candidates']:>12,}")
    for cause, n in sm["excluded_by_cause"].items():
        print(f"  excluded {cause:<22}{n:>10,}")
    print(f"eligible                  {sm['eligible']:>12,}")
    print(f"selected (capacity)       {sm['selected']:>12,}")
    print(f"treated / control         {sm['treated']:>12,} / {sm['control']:,}")
    print(f"assigned                  {sm['assigned']:>12,}")
    budget = sm["offers"]
    print(f"offer budget              {budget['budget']:>12,.0f}")
    print(f"  customers funded        {budget['funded_customers']:>12,}")
    print(f"  customers past budget   {budget['unfunded_customers']:>12,}")
    print(f"offer menus (treated)     {plan.offers['customer_pk'].n_unique():>12,}")
    print(f"plan_round wall time (s)  {t_plan:>12.2f}   target <= 30")
    print(
        f"offer menus for all {customers.height:,} eligible candidates: {t_offers:.2f} s "
        f"({menus.menu.height:,} menu rows)"
    )


if __name__ == "__main__":
    main()
