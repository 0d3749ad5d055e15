"""Does the programme verdict hold up? A grid of simulated programmes, 12 monthly looks each.

Grid: true effect {0, small, large} x control size {30, 100, 1,000} per round (treated = 9 x
control, the 90/10 split) x spend distribution {normal-ish, heavy-tailed}. One simulated
programme is a year: 12 monthly rounds; after month ``m`` the verdict
(``winback.programme.inference.programme_verdict``) is re-read on the ``m`` rounds matured so
far, each read once at its horizon (``round_estimate`` with CUPED on pre-period spend and
visits).

Customers: a return propensity ``p_i ~ Beta(1, 9)`` (mean 10%) plus the true uplift when
treated, and a spend level ``s_i`` with mean 300, gamma with CV 0.3 ("normal") or log-normal
with sigma 1.5 ("heavy"); a returner spends ``s_i`` times a gamma(4) basket factor. The pre-period
(before the round) draws purchases from the same customer with probability ``min(1, 3 p_i)``,
so pre-period spend and visits correlate with the outcome as in real data. True revenue uplift
per treated customer = uplift x 300; net margin per treated customer = gross margin (0.35) x
that - cost per treated customer. Null cells have cost 0 (the worst case for a false
``continue``); effect cells use ``--cost`` per treated customer.

Per cell it prints: coverage of the per-round return-rate (Newcombe), revenue (chosen interval,
CUPED) intervals and of the always-valid net-margin interval at all 12 looks at once; the share
of years with any ``continue`` (null cells: target <= 5%) or reaching ``continue`` (power, effect
cells); any ``stop``; for comparison, the share of years in which the fixed-sample 95%
interval of the pooled net margin, re-read every month, lay above zero at least once; the median
month of the first decision; the mean per-round revenue interval width without and with CUPED.

    .venv/bin/python benchmarks/lift_validation.py [--sims 200] [--looks 12] [--cost 1.0]
        [--level 0.95] [--controls 30 100 1000] [--effects none small large]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from scipy.stats import norm

from winback.programme.inference import (
    DEFAULT_INTERVAL,
    MIN_CONTROLS,
    RoundEstimate,
    pool_rounds,
    programme_verdict,
    round_estimate,
)

MEAN_SPEND = 300.0
GROSS_MARGIN = 0.35
EFFECTS = {"none": 0.0, "small": 0.02, "large": 0.06}
CONTROLS = (30, 100, 1000)
SPENDS = {"normal": ("gamma", 0.3), "heavy": ("lognormal", 1.5)}
BASKET_SHAPE = 4.0


def spend_level(rng: np.random.Generator, dist: str, n: int) -> np.ndarray:
    kind, param = SPENDS[dist]
    if kind == "gamma":
        k = 1.0 / param**2
        return rng.gamma(k, MEAN_SPEND / k, n)
    return rng.lognormal(np.log(MEAN_SPEND) - param**2 / 2, param, n)


def simulate_round(
    rng: np.random.Generator, n_control: int, uplift: float, dist: str
) -> pl.DataFrame:
    n = 10 * n_control
    treated = np.arange(n) >= n_control
    p = rng.beta(1.0, 9.0, n)
    level = spend_level(rng, dist, n)
    came = rng.random(n) < np.clip(p + uplift * treated, 0.0, 1.0)
    basket = rng.gamma(BASKET_SHAPE, 1.0 / BASKET_SHAPE, n)
    pre_p = np.minimum(1.0, 3.0 * p)
    pre_visits = rng.poisson(pre_p * 2.0)
    pre_basket = rng.gamma(BASKET_SHAPE, 1.0 / BASKET_SHAPE, n)
    return pl.DataFrame(
        {
            "arm": np.where(treated, "treated", "control"),
            "came_back": came,
            "spend": np.where(came, level * basket, 0.0),
            "pre_spend": pre_visits * level * pre_basket,
            "pre_visits": pre_visits.astype(np.float64),
        }
    )


def run_cell(
    effect: str,
    n_control: int,
    dist: str,
    sims: int,
    looks: int,
    cost_per_treated: float,
    level: float = 0.95,
) -> dict[str, float]:
    uplift = EFFECTS[effect]
    cost_pt = cost_per_treated if uplift > 0 else 0.0
    true_rev = uplift * MEAN_SPEND
    true_net_pt = GROSS_MARGIN * true_rev - cost_pt
    seed = 10_000 * CONTROLS.index(n_control) + 100 * list(SPENDS).index(dist)
    rng = np.random.default_rng(seed + list(EFFECTS).index(effect))
    z = float(norm.ppf(0.5 + level / 2))
    cover_ret = cover_rev = cover_raw = 0
    n_rounds = 0
    width_raw: list[float] = []
    width_cuped: list[float] = []
    any_continue = any_stop = cs_cover = naive_continue = 0
    first_decision: list[int] = []
    for sim in range(sims):
        estimates: list[RoundEstimate] = []
        decided = None
        naive = False
        covered_all = True
        for month in range(1, looks + 1):
            frame = simulate_round(rng, n_control, uplift, dist)
            n_t = int((frame["arm"] == "treated").sum())
            est = round_estimate(
                frame,
                cost=cost_pt * n_t,
                gross_margin=GROSS_MARGIN,
                seed=sim * 100 + month,
                level=level,
            )
            estimates.append(est)
            n_rounds += 1
            cover_ret += est.return_low <= uplift <= est.return_high
            cover_rev += est.revenue_low <= true_rev <= est.revenue_high
            cover_raw += est.revenue_low_unadjusted <= true_rev <= est.revenue_high_unadjusted
            width_raw.append(est.revenue_width_unadjusted)
            width_cuped.append(est.revenue_width)
            verdict = programme_verdict(estimates, level=level)
            total_t = verdict.n_treated
            if verdict.net_low is not None and verdict.net_high is not None:
                covered_all &= verdict.net_low <= true_net_pt * total_t <= verdict.net_high
            pooled = pool_rounds(estimates)
            naive |= pooled.n_control >= MIN_CONTROLS and pooled.net - z * pooled.net_var**0.5 > 0
            if decided is None and verdict.decision != "not_yet_known":
                decided = (month, verdict.decision)
        cs_cover += covered_all
        naive_continue += naive
        if decided is not None:
            first_decision.append(decided[0])
            any_continue += decided[1] == "continue"
            any_stop += decided[1] == "stop"
    return {
        "cover_return": cover_ret / n_rounds,
        "cover_revenue": cover_rev / n_rounds,
        "cover_revenue_raw": cover_raw / n_rounds,
        "cover_net_cs": cs_cover / sims,
        "any_continue": any_continue / sims,
        "any_stop": any_stop / sims,
        "naive_continue": naive_continue / sims,
        "median_months": float(np.median(first_decision)) if first_decision else float("nan"),
        "width_raw": float(np.mean(width_raw)),
        "width_cuped": float(np.mean(width_cuped)),
        "true_net_pt": true_net_pt,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--looks", type=int, default=12)
    parser.add_argument("--cost", type=float, default=1.0, help="cost per treated, effect cells")
    parser.add_argument("--controls", type=int, nargs="*", default=list(CONTROLS))
    parser.add_argument("--effects", nargs="*", default=list(EFFECTS), choices=list(EFFECTS))
    parser.add_argument("--level", type=float, default=0.95)
    args = parser.parse_args()

    t0 = time.perf_counter()
    print(
        f"programmes per cell {args.sims}, {args.looks} monthly looks, interval "
        f"{DEFAULT_INTERVAL}, gross margin {GROSS_MARGIN}, effect-cell cost {args.cost}/treated, "
        f"level {args.level}"
    )
    header = (
        "| effect | controls/round | spend | net/treated | cover rate | cover rev "
        "(raw) | cover net CS (12 looks) | any continue | any stop | fixed-level above 0 "
        "| median months to decision | rev width raw | rev width CUPED |"
    )
    print(header)
    print("|" + "---|" * 13)
    for effect in args.effects:
        for n_c in args.controls:
            for dist in SPENDS:
                r = run_cell(effect, n_c, dist, args.sims, args.looks, args.cost, args.level)
                print(
                    f"| {effect} {EFFECTS[effect]:.2f} | {n_c} | {dist} | "
                    f"{r['true_net_pt']:.2f} | {r['cover_return']:.1%} | "
                    f"{r['cover_revenue']:.1%} ({r['cover_revenue_raw']:.1%}) | "
                    f"{r['cover_net_cs']:.1%} | {r['any_continue']:.1%} | {r['any_stop']:.1%} | "
                    f"{r['naive_continue']:.1%} | {r['median_months']:.0f} | "
                    f"{r['width_raw']:.1f} | {r['width_cuped']:.1f} |",
                    flush=True,
                )
    print(f"wall time (s) {time.perf_counter() - t0:.0f}")


if __name__ == "__main__":
    main()
