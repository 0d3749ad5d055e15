"""Count-model choice, Gamma-Gamma's independence check and the spend fallback, out of sample.

    PYTHONPATH=src python benchmarks/value_choice_bench.py [--customers 20000]

For CDNOW (tests/data/cdnow_sample.txt: 39-week calibration to 1997-09-30, 39-week holdout
to 1998-06-30, as in Fader, Hardie & Lee 2005) and for simulated industries
(winback.simulate, 36 months ending 2025-12-31, the last 52 weeks held out), prints:

- the count-model choice made on the calibration period (its own 26-week inner holdout, as
  fit_btyd does), with each candidate's scores;
- the frequency / mean-repeat-spend correlation among calibration repeat buyers;
- out of sample, among customers who buy in the holdout: the error of the predicted spend
  per purchase day (Gamma-Gamma vs the frequency-group spend vs the customer's own mean),
  and of the predicted holdout spend (expected purchases x spend per purchase) per customer.

Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from winback.analytics import clv as clv_module
from winback.analytics.btyd_choice import (
    COUNT_MODELS,
    CountFactory,
    choose_count_model,
    holdout_split,
)
from winback.analytics.clv import BetaGeo, GammaGamma, ModelFitError
from winback.analytics.value import TIME_UNIT_DAYS, GroupSpend, spend_frequency_correlation

ROOT = Path(__file__).resolve().parents[1]
END = date(2025, 12, 31)
SEED = 2026


def candidates() -> tuple[CountFactory, ...]:
    """The production candidates, plus the other count models once they are available."""
    extra = tuple(
        getattr(clv_module, name)
        for name in ("ModifiedBetaGeo", "ParetoNBD")
        if hasattr(clv_module, name) and getattr(clv_module, name) not in COUNT_MODELS
    )
    return (*COUNT_MODELS, *extra)


def cdnow() -> tuple[pl.DataFrame, date, date]:
    rows = [line.split() for line in (ROOT / "tests/data/cdnow_sample.txt").read_text().split("\n")]
    frame = pl.DataFrame(
        {
            "customer_pk": [int(r[0]) for r in rows if r],
            "day": [date(int(r[2][:4]), int(r[2][4:6]), int(r[2][6:])) for r in rows if r],
            "amount": [float(r[4]) for r in rows if r],
        }
    )
    return frame, date(1997, 9, 30), date(1998, 6, 30)


def simulated(industry: str, customers: int) -> tuple[pl.DataFrame, date, date]:
    from winback.simulate.calendar import window_for
    from winback.simulate.generator import STREAMS, simulate
    from winback.simulate.industries import spec_for

    window = window_for(END, 36)
    seeds = dict(zip(STREAMS, np.random.SeedSequence(SEED).spawn(len(STREAMS)), strict=True))
    sim = simulate(
        spec_for(industry), window, customers, SEED, lambda n: np.random.default_rng(seeds[n])
    )
    orders = sim.world.orders
    frame = pl.DataFrame(
        {
            "customer_pk": orders.customer.astype(np.int64),
            "day": (orders.day.astype(np.int64) + window.epoch).astype(np.int32),
            "amount": sim.world.order_amount.astype(np.float64) / 100,
        }
    ).with_columns(pl.col("day").cast(pl.Date))
    return frame, END - timedelta(days=364), END


def evaluate(label: str, orders: pl.DataFrame, cut: date, end: date) -> dict[str, Any]:
    days = (
        orders.group_by("customer_pk", "day")
        .agg(pl.col("amount").sum())
        .filter(pl.col("amount") > 0)
        .sort("customer_pk", "day")
    )
    before = pl.col("day") <= cut
    table = (
        days.group_by("customer_pk")
        .agg(
            first=pl.col("day").filter(before).min(),
            last=pl.col("day").filter(before).max(),
            n=before.sum(),
            repeat_spend=pl.col("amount").filter(before).slice(1).sum(),
            later=(~before).sum(),
            later_spend=pl.col("amount").filter(~before).sum(),
        )
        .filter(pl.col("n") > 0)
        .sort("customer_pk")
    )
    x = (table["n"] - 1).cast(pl.Float64).to_numpy()
    t_x = (table["last"] - table["first"]).dt.total_days().to_numpy() / TIME_UNIT_DAYS
    age = (cut - table["first"]).dt.total_days().to_numpy() / TIME_UNIT_DAYS
    m = np.where(x > 0, table["repeat_spend"].to_numpy() / np.maximum(x, 1), 0.0)
    m = np.where(x > 0, np.maximum(m, 0.01), 0.0)
    later = table["later"].to_numpy().astype(np.float64)
    later_spend = table["later_spend"].to_numpy().astype(np.float64)
    weeks = (end - cut).days / TIME_UNIT_DAYS

    inner = holdout_split(days.filter(before).select("customer_pk", "day"), cut, TIME_UNIT_DAYS)
    choice = choose_count_model(candidates(), x, t_x, age, inner)
    print(f"\n== {label}: {x.size} buyers at the cut {cut}, {int((x > 0).sum())} repeat buyers")
    print(f"count model chosen: {choice.name} ({choice.reason})")
    for row in choice.candidates:
        print("  ", {k: v for k, v in row.items() if k != "fitted_on"})
    check = spend_frequency_correlation(x, m)
    print(
        f"frequency vs mean repeat spend: Pearson {check['pearson']}, Spearman {check['spearman']}"
    )

    model = choice.model or BetaGeo().fit(x, t_x, age)
    purchases = model.expected_purchases(weeks, x, t_x, age)
    try:
        gg: GammaGamma | None = GammaGamma().fit(x, m)
    except ModelFitError as error:
        print(f"Gamma-Gamma not fitted: {error}")
        gg = None
    pseudo = (gg.params_["q"] - 1) / gg.params_["p"] if gg is not None else 1.0
    group = GroupSpend.of(x, m, pseudo)
    assert group is not None
    spends: dict[str, np.ndarray] = {"group_spend": group.expected_spend(x, m)}
    if gg is not None:
        spends["gamma_gamma"] = gg.expected_spend(x, m)
    spends["own_mean (x=0: overall)"] = np.where(x > 0, m, group.overall)
    buying = later > 0
    actual_spend = later_spend[buying] / later[buying]
    print(
        f"holdout: {int(buying.sum())} buyers; purchases predicted {purchases.sum():.0f} "
        f"vs actual {later.sum():.0f}; spend actual {later_spend.sum():.0f}"
    )
    results: dict[str, Any] = {"label": label, "chosen": choice.name, "check": check}
    for name, spend in spends.items():
        per_purchase = float(np.mean(np.abs(spend[buying] - actual_spend)))
        repeat = buying & (x > 0)
        per_purchase_repeat = float(
            np.mean(np.abs(spend[repeat] - later_spend[repeat] / later[repeat]))
        )
        value = purchases * spend
        value_mae = float(np.mean(np.abs(value - later_spend)))
        print(
            f"  {name:<24} spend/purchase MAE {per_purchase:9.2f} (repeat buyers "
            f"{per_purchase_repeat:9.2f}); holdout value MAE per customer {value_mae:9.2f}, "
            f"total predicted {value.sum():12.0f}"
        )
        results[name] = (per_purchase, per_purchase_repeat, value_mae, float(value.sum()))
    return results


def model_true(customers: int = 20_000) -> None:
    """Spend drawn from Gamma-Gamma itself (CDNOW's published p, q, v): the group spend
    should then match Gamma-Gamma."""
    rng = np.random.default_rng(5)
    x = np.minimum(rng.geometric(0.3, customers), 40).astype(np.float64)
    nu = rng.gamma(3.74, 1 / 15.44, customers)
    p = 6.25
    z = rng.gamma(p * x, 1 / (nu * x))  # the mean of x Gamma(p, nu) draws
    truth = p / nu
    gg = GammaGamma().fit(x, z)
    group = GroupSpend.of(x, z, (gg.params_["q"] - 1) / gg.params_["p"])
    assert group is not None
    check = spend_frequency_correlation(x, z)
    print(f"\n== Gamma-Gamma true, {customers} repeat buyers: Spearman {check['spearman']}")
    for name, spend in (
        ("gamma_gamma", gg.expected_spend(x, z)),
        ("group_spend", group.expected_spend(x, z)),
        ("own_mean", z),
    ):
        print(f"  {name:<24} MAE vs the true mean spend {np.mean(np.abs(spend - truth)):.3f}")


def buyers_of(orders: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Purchase days and the buyer columns fit_btyd reads (as the features compute them)."""
    days = (
        orders.group_by("customer_pk", "day")
        .agg(pl.col("amount").sum())
        .filter(pl.col("amount") > 0)
        .sort("customer_pk", "day")
    )
    buyers = (
        days.group_by("customer_pk")
        .agg(
            n_purchases=pl.len(),
            first_purchase=pl.col("day").min(),
            last_purchase=pl.col("day").max(),
            spend_cents=pl.col("amount").sum() * 100,
            repeat_spend_mean_cents=pl.col("amount").slice(1).mean() * 100,
        )
        .sort("customer_pk")
    )
    return days, buyers


def as_analysed(label: str, orders: pl.DataFrame, end: date) -> None:
    """fit_btyd as the analysis runs it on the whole history up to ``end``."""
    from winback.analytics.value import fit_btyd

    days, buyers = buyers_of(orders)
    fit = fit_btyd(buyers, end, days=days.select("customer_pk", "day"))
    described = fit.describe()
    choice = described["model_choice"]
    print(f"\n== {label} as analysed at {end}: {choice['chosen']} ({choice['rule']})")
    for row in choice["candidates"]:
        print("  ", row)
    print("   spend model:", described["spend_model"], described["spend_frequency_check"])
    print("   notes:", described["notes"])


def timing(customers: int) -> None:
    """fit_btyd with and without the holdout choice on a simulated retail base."""
    import time

    from winback.analytics.value import fit_btyd

    orders, _, end = simulated("retail", customers)
    days, buyers = buyers_of(orders)
    print(f"\n== timing: {buyers.height} buyers, {days.height} purchase days")
    runs = (
        ("fit_btyd, AIC only (no purchase days)", {}),
        ("fit_btyd, holdout choice", {"days": days.select("customer_pk", "day")}),
    )
    for label, kwargs in runs + runs:  # twice each: the first run warms caches up
        started = time.perf_counter()
        fit = fit_btyd(buyers.sort("customer_pk"), end, **kwargs)  # type: ignore[arg-type]
        print(f"  {label:<40} {time.perf_counter() - started:6.2f} s ({fit.count_model})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--timing", type=int, default=0, help="customers for the timing")
    parser.add_argument(
        "--industries", default="retail,restaurant,dental,aesthetics,b2b,accounting"
    )
    args = parser.parse_args()
    print("candidates:", [getattr(c, "__name__", repr(c)) for c in candidates()])
    if args.timing:
        timing(args.timing)
        return
    model_true()
    evaluate("CDNOW sample", *cdnow())
    orders, _, end = cdnow()
    as_analysed("CDNOW sample", orders, end)
    for industry in args.industries.split(","):
        orders, cut, end = simulated(industry, args.customers)
        evaluate(f"simulated {industry}", orders, cut, end)
        as_analysed(f"simulated {industry}", orders, end)


if __name__ == "__main__":
    main()
