"""The spend bootstrap of a round's looks: the plain resampling (every draw of every resample)
against drawing only the non-zero spends (``attribution._boot_means``), at round sizes.

    PYTHONPATH=src .venv/bin/python benchmarks/bootstrap_bench.py

Prints seconds per call (best of 3) and the load average beside them.
"""

from __future__ import annotations

import os
import time

import numpy as np

from winback.programme.attribution import _boot_means, bootstrap_mean_diffs

N_BOOT = 500  # the dashboard's and the board's draws (REPORT_BOOTSTRAP)
CHUNK = 4_000_000


def plain(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """The resampling as it was: every index of every resample drawn."""
    n = values.size
    rows = max(1, CHUNK // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        out[start : start + b] = values[rng.integers(0, n, size=(b, n))].mean(axis=1)
    return out


def best(fn, *args) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def looks_plain(t: np.ndarray, c: np.ndarray) -> None:
    for j in range(t.shape[1]):
        plain(t[:, j], N_BOOT, np.random.default_rng(j))
        plain(c[:, j], N_BOOT, np.random.default_rng(j))


def looks_at_once(t: np.ndarray, c: np.ndarray) -> None:
    bootstrap_mean_diffs(t, c, seed=1, n_boot=N_BOOT)


def main() -> None:
    print(f"load average: {os.getloadavg()}")
    print(f"{'members':>8} {'returned':>9} {'plain s':>8} {'sparse s':>9} {'x':>6}")
    for n, share in ((5_000, 0.08), (50_000, 0.08), (50_000, 0.3), (200_000, 0.05)):
        rng = np.random.default_rng(1)
        spend = np.where(rng.random(n) < share, rng.lognormal(5.0, 0.8, n), 0.0)
        a = best(plain, spend, N_BOOT, np.random.default_rng(2))
        b = best(_boot_means, spend, N_BOOT, np.random.default_rng(2), CHUNK)
        print(f"{n:>8} {share:>9.0%} {a:>8.3f} {b:>9.3f} {a / b:>6.1f}")
    # a round's four looks (+30/+60/+90 days and a primary horizon), treated and control:
    # before, one plain resampling per look and arm; now one sparse resampling for all looks
    print()
    print(f"{'treated':>8} {'control':>8} {'4 looks, plain s':>17} {'one draw s':>11} {'x':>6}")
    for n_t, n_c in ((20_000, 2_000), (100_000, 10_000)):
        rng = np.random.default_rng(3)
        base_t = np.where(rng.random(n_t) < 0.08, rng.lognormal(5.0, 0.8, n_t), 0.0)
        base_c = np.where(rng.random(n_c) < 0.06, rng.lognormal(5.0, 0.8, n_c), 0.0)
        scale = np.array([0.35, 0.6, 1.0, 0.9])
        t, c = base_t[:, None] * scale, base_c[:, None] * scale

        a = best(looks_plain, t, c)
        b = best(looks_at_once, t, c)
        print(f"{n_t:>8} {n_c:>8} {a:>17.3f} {b:>11.3f} {a / b:>6.1f}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
