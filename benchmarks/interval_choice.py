"""Which interval for the difference of mean spend? Coverage and width by simulation.

Spend per customer is zero unless the customer came back (base return rate 10%, +3 points
when treated in the "effect" rows) and then follows one of three shapes with mean 300:
gamma with CV 0.3 ("normal-ish"), log-normal with sigma 1.0 and log-normal with sigma 1.5
(heavy-tailed). Control sizes 30, 100 and 1,000 with 9 treated per control (the 90/10 split).
For every candidate of ``winback.programme.inference.mean_diff_summary`` the script prints the
share of simulated rounds whose 95% interval covers the true difference (target >= 93%), the
share missing on each side, and the mean width.

    .venv/bin/python benchmarks/interval_choice.py [--sims 400] [--sims-large 200] [--boot 999]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from winback.programme.inference import INTERVAL_METHODS, mean_diff_summary

BASE_RATE = 0.10
MEAN_SPEND = 300.0
SHAPES = {"gamma cv0.3": ("gamma", 0.3), "lognormal s1.0": ("lognormal", 1.0)}
SHAPES["lognormal s1.5"] = ("lognormal", 1.5)


def draw_spend(rng: np.random.Generator, shape: str, n: int) -> np.ndarray:
    kind, param = SHAPES[shape]
    if kind == "gamma":
        k = 1.0 / param**2
        return rng.gamma(k, MEAN_SPEND / k, n)
    mu = np.log(MEAN_SPEND) - param**2 / 2
    return rng.lognormal(mu, param, n)


def arm(rng: np.random.Generator, shape: str, n: int, rate: float) -> np.ndarray:
    came = rng.random(n) < rate
    return np.where(came, draw_spend(rng, shape, n), 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sims", type=int, default=400)
    parser.add_argument("--sims-large", type=int, default=200, help="sims for 1,000 controls")
    parser.add_argument("--boot", type=int, default=999)
    parser.add_argument("--level", type=float, default=0.95)
    args = parser.parse_args()
    t0 = time.perf_counter()
    print(
        f"{'controls':>8} {'shape':<15} {'effect':>6} {'method':<12} "
        f"{'coverage':>8} {'miss_lo':>7} {'miss_hi':>7} {'width':>8}"
    )
    for n_c in (30, 100, 1000):
        sims = args.sims if n_c < 1000 else args.sims_large
        for shape in SHAPES:
            for uplift in (0.0, 0.03):
                truth = uplift * MEAN_SPEND
                rng = np.random.default_rng(n_c * 7 + len(shape) + int(uplift * 100))
                res = {m: np.empty((sims, 3)) for m in INTERVAL_METHODS}
                for s in range(sims):
                    t = arm(rng, shape, 9 * n_c, BASE_RATE + uplift)
                    c = arm(rng, shape, n_c, BASE_RATE)
                    for m in INTERVAL_METHODS:
                        est, lo, hi, _ = mean_diff_summary(
                            t,
                            c,
                            seed=s,
                            level=args.level,
                            n_boot=args.boot,
                            method=m,  # type: ignore[arg-type]
                        )
                        res[m][s] = (est, lo, hi)
                for m, r in res.items():
                    cover = np.mean((r[:, 1] <= truth) & (truth <= r[:, 2]))
                    miss_lo = np.mean(r[:, 2] < truth)  # interval entirely below the truth
                    miss_hi = np.mean(r[:, 1] > truth)
                    width = np.mean(r[:, 2] - r[:, 1])
                    print(
                        f"{n_c:>8} {shape:<15} {uplift:>6.2f} {m:<12} {cover:>8.1%} "
                        f"{miss_lo:>7.1%} {miss_hi:>7.1%} {width:>8.1f}",
                        flush=True,
                    )
    print(f"wall time (s) {time.perf_counter() - t0:.0f}")


if __name__ == "__main__":
    main()
