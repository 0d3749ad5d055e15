"""The offer learning (Thompson sampling per reason x tier) against fixed policies, in simulation.

Six monthly rounds of ``--customers`` reached treated customers each (drawn afresh every month:
tier, lapsed stage, basket, rhythm, favourite category, leave reason). Menus come from the
default catalogue through the real rules (eligibility, depth and fairness caps, fit, the
round's budget: :func:`winback.programme.offers.offer_menus`). The truth: a customer presented
offer ``o`` comes back with probability ``base x offer_multiplier(o, is_price, true
preference)`` (:mod:`winback.simulate.response`), the true preference being the playbook's for
the customer's true reason (customers whose reason is not known have a true reason all the
same; the planner sees ``unknown``). Policies, each on the same customers and menus:

* ``bandit``: the menu's first option drawn by :func:`winback.programme.offer_bandit.learn`
  from the policy's own past months (floor 0.05);
* ``uniform``: an option drawn uniformly from the menu;
* ``fixed_first``: today's menu order (best fit first);
* ``oracle``: per segment (reason x tier) the offer with the best true mean, the best-ranked one
  each customer's menu holds (known only in simulation).

Printed per policy, mean and 95% interval over ``--seeds`` seeds: cumulative expected regret
against the oracle (sum of true probabilities missed, per 1,000 presentations and in total),
and the share of the offer budget spent (redeemed costs) on **dominated** offers in the sixth
month: an offer is dominated for a customer when another option on their menu has a higher
true success probability at no higher cost. The null case (every offer equal,
``--null``): how often the bandit would declare an offer best (posterior probability of being
the best arm >= 0.95 in a segment with at least two offers presented) after six months.

    .venv/bin/python benchmarks/offer_bandit.py [--customers 3000] [--seeds 10] [--null]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from winback.programme.offer_bandit import learn, order_menus
from winback.programme.offers import OfferCatalogue, offer_menus
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy
from winback.simulate.response import offer_multiplier

AS_OF = date(2024, 5, 31)
START, END = date(2024, 6, 1), date(2024, 6, 30)
MONTHS = 6
REASONS = ["price", "attitude", "quality", "speed", "habit_lapsed", "competitor"]
KNOWN_SHARE = 0.6  # the rest: reason not known to the planner ("unknown")
BASE_BY_TIER = {1: 0.14, 2: 0.12, 3: 0.10, 4: 0.08, 5: 0.07}
BUDGET_PER_CUSTOMER = 50.0
FLOOR = 0.05
DECLARE = 0.95
POLICIES = ("bandit", "uniform", "fixed_first", "oracle")


@dataclass(frozen=True)
class World:
    catalogue: OfferCatalogue
    playbooks: Playbooks
    taxonomy: Taxonomy
    preference: dict[str, str | None]
    is_price: dict[str, bool]


def world() -> World:
    playbooks, taxonomy = Playbooks.default(), Taxonomy.default()
    catalogue = OfferCatalogue.default()
    prefs = playbooks.reason_frame(taxonomy).select("reason_code", "offer_preference")
    return World(
        catalogue,
        playbooks,
        taxonomy,
        dict(prefs.iter_rows()),
        {o.code: o.is_price for o in catalogue.offers},
    )


def customers(n: int, rng: np.random.Generator, month: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    true_reason = rng.choice(REASONS, n)
    known = rng.random(n) < KNOWN_SHARE
    frame = pl.DataFrame(
        {
            "customer_pk": np.arange(n) + month * 10_000_000,
            "tier": rng.choice([1, 2, 3, 4, 5], n, p=[0.1, 0.15, 0.25, 0.25, 0.25]),
            "stage": rng.choice(["silent", "sleeping", "lost"], n),
            "expected_spend": np.where(rng.random(n) < 0.1, 0.0, rng.gamma(2.0, 90.0, n)),
            "expected_interval_days": rng.uniform(10, 120, n),
            "days_since_last": rng.integers(40, 400, n),
            "reason_code": [r if k else None for r, k in zip(true_reason, known, strict=True)],
            "true_reason": true_reason,
            "expected_value": rng.gamma(2.0, 40.0, n),
        },
        schema_overrides={"reason_code": pl.String()},
    )
    favourites = pl.DataFrame(
        {
            "customer_pk": frame["customer_pk"],
            "category_code": rng.choice(["skin", "hair", "body"], n),
            "spend_share": rng.uniform(0.2, 0.9, n),
            "replenishment_days": rng.choice([21, 30, 45], n),
        }
    )
    return frame, favourites


def truth(menu: pl.DataFrame, cust: pl.DataFrame, w: World, null: bool) -> pl.DataFrame:
    """Each menu option's true success probability for its customer."""
    rows = menu.join(cust.select("customer_pk", "tier", "true_reason"), on="customer_pk")
    codes = rows["offer_code"].to_numpy()
    pref = np.array([w.preference.get(r) for r in rows["true_reason"].to_list()], dtype=object)
    is_price = np.array([w.is_price[c] for c in codes], dtype=bool)
    mult = np.ones(rows.height) if null else offer_multiplier(codes, is_price, pref)
    base = rows["tier"].replace_strict(BASE_BY_TIER, return_dtype=pl.Float64).to_numpy()
    return rows.with_columns(p=pl.Series(np.clip(base * mult, 0.0, 1.0)))


def oracle_first(options: pl.DataFrame) -> pl.DataFrame:
    """Per segment the offers ranked by their true mean over the segment's menus; each
    customer's first option is the best-ranked offer their menu holds."""
    seg = options.with_columns(reason_key=pl.col("reason_code").fill_null("unknown"))
    ranking = seg.group_by("reason_key", "tier", "offer_code").agg(seg_p=pl.col("p").mean())
    return (
        seg.join(ranking, on=["reason_key", "tier", "offer_code"])
        .sort(["customer_pk", "seg_p", "offer_code"], descending=[False, True, False])
        .group_by("customer_pk", maintain_order=True)
        .first()
        .select("customer_pk", "offer_code")
    )


def dominated(options: pl.DataFrame) -> pl.DataFrame:
    """customer_pk, offer_code, dominated: another option of the menu is better and no dearer."""
    other = options.select("customer_pk", o_p="p", o_cost="cost", o_code="offer_code")
    pairs = options.join(other, on="customer_pk").filter(pl.col("o_code") != pl.col("offer_code"))
    beaten = (
        pairs.filter((pl.col("o_p") > pl.col("p") + 1e-12) & (pl.col("o_cost") <= pl.col("cost")))
        .select("customer_pk", "offer_code")
        .unique()
        .with_columns(dominated=pl.lit(True))
    )
    return (
        options.select("customer_pk", "offer_code")
        .join(beaten, on=["customer_pk", "offer_code"], how="left")
        .with_columns(pl.col("dominated").fill_null(False))
    )


def prob_best(posteriors: pl.DataFrame, rng: np.random.Generator, draws: int = 4000) -> float:
    """Share of segments (>= 2 offers presented) where one offer is the best arm with posterior
    probability >= DECLARE."""
    declared, segments = 0, 0
    for _, cell in posteriors.group_by("reason_key", "tier"):
        if cell.height < 2:
            continue
        segments += 1
        theta = rng.beta(cell["alpha"].to_numpy(), cell["beta"].to_numpy(), (draws, cell.height))
        best = np.bincount(theta.argmax(axis=1), minlength=cell.height) / draws
        declared += int(best.max() >= DECLARE)
    return declared / segments if segments else 0.0


def run(seed: int, n: int, null: bool, w: World) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    log: list[pl.DataFrame] = []
    regret = dict.fromkeys(POLICIES, 0.0)
    regret_last = dict.fromkeys(POLICIES, 0.0)
    presented = 0
    spend_dominated = dict.fromkeys(POLICIES, 0.0)
    spend_total = dict.fromkeys(POLICIES, 0.0)
    declared = 0.0
    for month in range(MONTHS):
        cust, favs = customers(n, rng, month)
        built = offer_menus(
            cust,
            favs,
            w.catalogue,
            w.playbooks,
            w.taxonomy,
            as_of=AS_OF,
            round_start=START,
            round_end=END,
            budget=BUDGET_PER_CUSTOMER * n,
        )
        menu = built.menu
        options = truth(menu, cust, w, null).with_columns(
            reason_code=pl.col("customer_pk").replace_strict(
                dict(zip(cust["customer_pk"], cust["reason_code"], strict=True)),
                return_dtype=pl.String,
            )
        )
        counts = pl.concat(log) if log else pl.DataFrame({"tier": [], "offer_code": []})
        learning = learn(counts, floor=FLOOR, seed=seed * 100 + month)
        segments = cust.select("customer_pk", "tier", "reason_code")
        firsts = {
            "bandit": order_menus(menu, segments, learning),
            "fixed_first": menu,
        }
        chosen = {
            name: frame.filter(pl.col("menu_rank") == 1).select("customer_pk", "offer_code")
            for name, frame in firsts.items()
        }
        pick = rng.random(options.height)
        chosen["uniform"] = (
            options.with_columns(_u=pl.Series(pick))
            .sort(["customer_pk", "_u"])
            .group_by("customer_pk", maintain_order=True)
            .first()
            .select("customer_pk", "offer_code")
        )
        chosen["oracle"] = oracle_first(options)
        dom = dominated(options)
        best = chosen["oracle"].join(options, on=["customer_pk", "offer_code"])
        presented += best.height
        last = month == MONTHS - 1
        for name in POLICIES:
            got = chosen[name].join(options, on=["customer_pk", "offer_code"])
            regret[name] += float(best["p"].sum() - got["p"].sum())
            if month == MONTHS - 1:
                regret_last[name] = 1000.0 * float(best["p"].sum() - got["p"].sum()) / best.height
            came = rng.random(got.height) < got["p"].to_numpy()
            if name == "bandit":
                log.append(
                    got.select("reason_code", "tier", "offer_code").with_columns(
                        presented=pl.lit(1), came_back=pl.Series(came.astype(np.int64))
                    )
                )
            if last:
                spent = got.with_columns(came=pl.Series(came)).filter("came")
                spent = spent.join(dom, on=["customer_pk", "offer_code"])
                spend_total[name] += float(spent["cost"].sum())
                spend_dominated[name] += float(spent.filter("dominated")["cost"].sum())
        if last:
            final = learn(pl.concat(log), floor=FLOOR)
            declared = prob_best(final.posteriors, rng)
    return {
        name: {
            "regret": regret[name],
            "regret_per_1000": 1000.0 * regret[name] / presented,
            "regret_month6_per_1000": regret_last[name],
            "dominated_share": spend_dominated[name] / spend_total[name]
            if spend_total[name]
            else 0.0,
            "declared": declared,
        }
        for name in POLICIES
    }


def interval(values: list[float]) -> str:
    a = np.asarray(values, dtype=np.float64)
    half = 1.96 * a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else 0.0
    return f"{a.mean():8.2f} [{a.mean() - half:7.2f}, {a.mean() + half:7.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=3000, help="reached treated per month")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--null", action="store_true", help="every offer equally good")
    args = parser.parse_args()
    w = world()
    t0 = time.perf_counter()
    results = [run(seed, args.customers, args.null, w) for seed in range(args.seeds)]
    took = time.perf_counter() - t0
    case = "null (all offers equal)" if args.null else "offers differ (simulate.response)"
    print(
        f"offer learning: {MONTHS} months x {args.customers} presentations, {args.seeds} seeds, "
        f"{case}; {took:.1f} s"
    )
    print(
        f"{'policy':12} {'cumulative regret':>30} {'regret per 1,000, 6 months':>30} "
        f"{'regret per 1,000, month 6':>30} {'dominated share of offer spend, month 6':>40}"
    )
    for name in POLICIES:
        tot = [r[name]["regret"] for r in results]
        per = [r[name]["regret_per_1000"] for r in results]
        last = [r[name]["regret_month6_per_1000"] for r in results]
        dom = [100.0 * r[name]["dominated_share"] for r in results]
        print(
            f"{name:12} {interval(tot):>30} {interval(per):>30} {interval(last):>30} "
            f"{interval(dom):>38} %"
        )
    print("(mean [95% interval over seeds]; regret: expected returns lost against the oracle)")
    declared = [r["bandit"]["declared"] for r in results]
    print(
        f"segments where the bandit declares one offer best (P(best) >= {DECLARE}) after "
        f"{MONTHS} months: {100.0 * float(np.mean(declared)):.1f}% (per seed: "
        + ", ".join(f"{100 * d:.0f}%" for d in declared)
        + ")"
    )


if __name__ == "__main__":
    main()
