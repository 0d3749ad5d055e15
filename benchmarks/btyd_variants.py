"""MBG/NBD against BG/NBD on CDNOW's holdout, and MBG/NBD and BG/BB timings (prints; never asserts).

1. CDNOW sample (tests/data/cdnow_sample.txt): both models fitted on weeks 1-39, asked for the
   repeat purchases (distinct days) of weeks 40-78; totals and mean absolute error per
   customer, by calibration frequency, and how P(alive) of the one-time buyers (1 under
   BG/NBD) compares with whether they came back.
2. Timings on simulated populations: MBG/NBD on 1,000,000 customers (continuous time, days),
   BG/BB on 1,000,000 customers with 12 and with 104 opportunities.

Run: PYTHONPATH=src python benchmarks/btyd_variants.py
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from winback.analytics.clv import BetaGeo, BetaGeoBetaBinom, ModifiedBetaGeo

CDNOW = Path(__file__).resolve().parent.parent / "tests" / "data" / "cdnow_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)
N = 1_000_000


def cdnow_summary() -> pl.DataFrame:
    """(x, t_x, T) in weeks for weeks 1-39 and the repeat purchase days of weeks 40-78."""
    raw = np.loadtxt(CDNOW, usecols=(1, 2))
    days = (
        pl.DataFrame({"customer": raw[:, 0].astype(np.int64), "day": raw[:, 1].astype(np.int64)})
        .with_columns(pl.col("day").cast(pl.String).str.to_date("%Y%m%d"))
        .unique()
    )
    calibration = days.filter(pl.col("day") <= CALIBRATION_END)
    holdout = (
        days.filter((pl.col("day") > CALIBRATION_END) & (pl.col("day") <= HOLDOUT_END))
        .group_by("customer")
        .agg(holdout=pl.len())
    )
    return (
        calibration.group_by("customer")
        .agg(frequency=pl.len() - 1, first=pl.col("day").min(), last=pl.col("day").max())
        .with_columns(
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / 7.0,
            T=(pl.lit(CALIBRATION_END) - pl.col("first")).dt.total_days() / 7.0,
        )
        .join(holdout, on="customer", how="left")
        .with_columns(pl.col("holdout").fill_null(0))
        .sort("customer")
    )


def cdnow_holdout() -> None:
    data = cdnow_summary()
    x, t_x, age = (data[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    actual = data["holdout"].to_numpy().astype(float)
    horizon = 39.0
    print(f"CDNOW sample: {data.height:,} customers, {int((x == 0).sum()):,} one-time buyers")
    predicted = {}
    for name, model in (("BG/NBD", BetaGeo()), ("MBG/NBD", ModifiedBetaGeo())):
        model.fit(x, t_x, age)
        params = ", ".join(f"{k} {v:.4f}" for k, v in model.params_.items())
        print(f"  {name:<8} {params}; log-likelihood {model.log_likelihood_:.2f}")
        predicted[name] = model.expected_purchases(horizon, x, t_x, age)
        alive = model.p_alive(x, t_x, age)
        print(
            f"  {name:<8} weeks 40-78: predicted {predicted[name].sum():.0f} repeat purchase "
            f"days, actual {actual.sum():.0f}; mean abs error per customer "
            f"{np.abs(predicted[name] - actual).mean():.4f}; mean P(alive) of one-time buyers "
            f"{alive[x == 0].mean():.3f}"
        )
        if name == "MBG/NBD":
            once = x == 0
            edges = np.quantile(alive[once], [0, 0.25, 0.5, 0.75, 1])
            bins = np.clip(np.searchsorted(edges, alive[once], side="right") - 1, 0, 3)
            for b in range(4):
                chosen = bins == b
                print(
                    f"    one-time buyers, P(alive) quartile {b + 1} "
                    f"({alive[once][chosen].min():.2f}-{alive[once][chosen].max():.2f}): "
                    f"{chosen.sum():4d} customers, came back in weeks 40-78: "
                    f"{(actual[once][chosen] > 0).mean():.3f}, predicted purchases "
                    f"{predicted[name][once][chosen].mean():.3f}, actual "
                    f"{actual[once][chosen].mean():.3f}"
                )
    print("  by calibration frequency: customers, actual mean, BG/NBD mean, MBG/NBD mean")
    for level in range(8):
        chosen = (x == level) if level < 7 else (x >= 7)
        label = f"{level}" if level < 7 else "7+"
        print(
            f"    x={label:<3} {chosen.sum():5d}  {actual[chosen].mean():6.3f}  "
            f"{predicted['BG/NBD'][chosen].mean():6.3f}  {predicted['MBG/NBD'][chosen].mean():6.3f}"
        )


def timed(label: str, call):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"  {label:<52} {wall:6.2f} s wall {used:6.2f} s cpu")
    return result


def simulated_mbg(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    truth = {"r": 0.5, "alpha": 30.0, "a": 0.8, "b": 2.5}  # per day
    age = rng.integers(1, 730, N).astype(float)
    rate = rng.gamma(truth["r"], 1 / truth["alpha"], N)
    possible = rng.poisson(rate * age)
    x = np.minimum(possible, rng.geometric(rng.beta(truth["a"], truth["b"], N)) - 1)
    recency = np.zeros(N)
    buyers = x > 0
    recency[buyers] = age[buyers] * rng.beta(x[buyers], possible[buyers] - x[buyers] + 1)
    days = np.where(buyers, np.maximum(np.ceil(recency), 1.0), 0.0)  # whole days, as from dates
    return x.astype(float), np.minimum(days, age), age


def simulated_bgbb(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """(x, t_x, n) from the BG/BB story, drawn opportunity by opportunity in chunks."""
    xs, lasts = [], []
    for start in range(0, N, 100_000):
        size = min(100_000, N - start)
        p = rng.beta(1.2, 0.75, size)[:, None]
        theta = rng.beta(0.66, 2.8, size)[:, None]
        alive = np.cumprod(rng.random((size, n)) >= theta, axis=1).astype(bool)
        bought = alive & (rng.random((size, n)) < p)
        x = bought.sum(axis=1)
        xs.append(x)
        lasts.append(np.where(x > 0, n - np.argmax(bought[:, ::-1], axis=1), 0))
    return np.concatenate(xs).astype(float), np.concatenate(lasts).astype(float), np.full(N, n)


def timings() -> None:
    rng = np.random.default_rng(1)
    x, t_x, age = simulated_mbg(rng)
    print(f"MBG/NBD, {N:,} simulated customers, {int((x > 0).sum()):,} repeat buyers:")
    model = timed("fit", lambda: ModifiedBetaGeo().fit(x, t_x, age))
    print("   ", {k: round(v, 4) for k, v in model.params_.items()})
    timed("p_alive", lambda: model.p_alive(x, t_x, age))
    timed("expected_purchases(365)", lambda: model.expected_purchases(365, x, t_x, age))
    for n in (12, 104):
        bgbb_timings(rng, n)


def bgbb_timings(rng: np.random.Generator, n: int) -> None:
    x, t_x, periods = simulated_bgbb(rng, n)
    print(f"BG/BB, {N:,} simulated customers, {n} opportunities:")
    model = timed("fit", lambda: BetaGeoBetaBinom().fit(x, t_x, periods))
    print("   ", {k: round(v, 4) for k, v in model.params_.items()})
    timed("p_alive", lambda: model.p_alive(x, t_x, periods))
    timed("expected_purchases(12)", lambda: model.expected_purchases(12, x, t_x, periods))


if __name__ == "__main__":
    cdnow_holdout()
    timings()
