"""Derive the per-industry BTYD prior parameters in winback.analytics.priors.

    PYTHONPATH=src python scripts/derive-btyd-priors.py [--customers 40000] [--months 36]

For each industry preset, simulates a large base with ``winback.simulate`` (seed 2026, the
history ending 2025-12-31), summarises every buyer the way winback.analytics.value does
(purchase days, weeks; Gamma-Gamma on the mean net spend of repeat purchase days, in
currency units) and fits BG/NBD and Gamma-Gamma on all of them. Prints the table to paste
into BTYD_PRIORS. Gamma-Gamma's scale v depends on the currency and the business, so the
table keeps p and q and the *relative* scale v / (mean repeat spend); the prior v of a
business is rebuilt from its own mean repeat spend.
"""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np
import polars as pl

from winback.analytics.btyd_choice import runaway
from winback.analytics.clv import BetaGeo, GammaGamma, ModelFitError
from winback.config import INDUSTRIES
from winback.simulate.calendar import window_for
from winback.simulate.generator import STREAMS, simulate
from winback.simulate.industries import spec_for

END = date(2025, 12, 31)
SEED = 2026


def summary(industry: str, customers: int, months: int) -> pl.DataFrame:
    window = window_for(END, months)
    seeds = dict(zip(STREAMS, np.random.SeedSequence(SEED).spawn(len(STREAMS)), strict=True))
    sim = simulate(
        spec_for(industry), window, customers, SEED, lambda n: np.random.default_rng(seeds[n])
    )
    orders = sim.world.orders
    frame = pl.DataFrame(
        {
            "customer": orders.customer.astype(np.int64),
            "day": orders.day.astype(np.int64),
            "cents": sim.world.order_amount.astype(np.int64),
        }
    )
    days = frame.group_by("customer", "day").agg(pl.col("cents").sum()).filter(pl.col("cents") > 0)
    last = window.days - 1
    return (
        days.sort("customer", "day")
        .group_by("customer")
        .agg(
            (pl.len() - 1).cast(pl.Float64).alias("x"),
            ((pl.col("day").max() - pl.col("day").min()) / 7).alias("t_x"),
            ((last - pl.col("day").min()) / 7).alias("T"),
            (pl.col("cents").slice(1).mean() / 100).alias("m"),
        )
        .with_columns(pl.col("m").fill_null(0.0))
    )


def fit_count(x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> tuple[BetaGeo, str]:
    """BG/NBD with the smallest penalizer of a short ladder whose parameters do not run away
    (the same refusal rule as the analysis: winback.analytics.btyd_choice.runaway)."""
    for penalizer in (0.0, 0.001, 0.01, 0.1):
        try:
            bg = BetaGeo(penalizer).fit(x, t_x, age)
        except ModelFitError:
            continue
        if runaway(bg.params_) is None:
            return bg, f"BG/NBD penalizer {penalizer}"
    raise ModelFitError("no penalizer gave a usable BG/NBD fit")


def fit_spend(x: np.ndarray, spend: np.ndarray) -> tuple[GammaGamma | None, str]:
    """Gamma-Gamma on the repeat buyers, or None with the reason when it cannot be fitted."""
    try:
        return GammaGamma().fit(x, spend), "fitted"
    except ModelFitError as error:
        return None, f"not fitted: {error}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    print("BTYD_PRIORS = {")
    for industry in INDUSTRIES:
        s = summary(industry, args.customers, args.months)
        x, t_x, age, m = (s[c].to_numpy().astype(np.float64) for c in ("x", "t_x", "T", "m"))
        bg, count_note = fit_count(x, t_x, age)
        repeat = x > 0
        spend = np.maximum(m[repeat], 0.01)
        gg, spend_note = fit_spend(x[repeat], spend)
        mean_spend = float(spend.mean())
        row = {
            "bg_nbd": {k: float(f"{v:.4g}") for k, v in bg.params_.items()},
            "gamma_gamma": None
            if gg is None
            else {
                "p": float(f"{gg.params_['p']:.4g}"),
                "q": float(f"{gg.params_['q']:.4g}"),
                "v_relative": float(f"{gg.params_['v'] / mean_spend:.4g}"),
            },
        }
        print(
            f"    # {industry}: {s.height} buyers, {int(repeat.sum())} repeat buyers, "
            f"{count_note}, Gamma-Gamma {spend_note}"
        )
        print(f"    {industry!r}: {row},")
    print("}")


if __name__ == "__main__":
    main()
