"""BTYD timings on simulated customers (prints figures; never asserts).

.venv/bin/python benchmarks/clv_bench.py
    Winback alone on 1,000,000 customers: BG/NBD and Gamma-Gamma fits, predictions, CLV.
nice -n 10 .venv/bin/python benchmarks/clv_bench.py --versus-lifetimes [--sizes 100000,1000000]
    Winback against the ``lifetimes`` package (0.11.3) on the same data: BG/NBD, Pareto/NBD
    and Gamma-Gamma fit seconds, parameters and log-likelihoods. ``lifetimes`` is never a
    project dependency: it is installed into a throwaway virtual environment under /tmp
    (``--lifetimes-venv``), with the older pandas / NumPy / SciPy it needs, and fitted in a
    child process from the same arrays. The data follow the models' own stories at the
    published CDNOW parameters (weeks; 39-week calibration; first purchases in the first 12
    weeks; recency and T in whole days, as a summary from dates gives), and every customer
    is passed as its own row, as a user would pass them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from winback.analytics.btyd import beta_geo, gamma_gamma, pareto_nbd
from winback.analytics.clv import BetaGeo, GammaGamma, ParetoNBD, clv

N = 1_000_000
TRUE = {"r": 0.5, "alpha": 30.0, "a": 0.8, "b": 2.5}  # per day


def simulate(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    age = rng.integers(1, 730, N).astype(float)  # days since first purchase, up to two years
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], N)
    possible = rng.poisson(rate * age)
    x = np.minimum(possible, rng.geometric(rng.beta(TRUE["a"], TRUE["b"], N)))
    recency = np.zeros(N)
    buyers = x > 0
    recency[buyers] = age[buyers] * rng.beta(x[buyers], possible[buyers] - x[buyers] + 1)
    nu = rng.gamma(3.7, 1 / 15.4, N)
    spend = np.zeros(N)
    spend[buyers] = np.round(rng.gamma(6.25 * x[buyers], 1 / (nu[buyers] * x[buyers])), 2)
    return x.astype(float), recency, age, spend


def timed(label: str, call):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<44} {wall:6.2f} s wall {used:6.2f} s cpu")
    return result


def winback_only() -> None:
    x, recency, age, spend = simulate(np.random.default_rng(1))
    days = np.where(x > 0, np.minimum(np.ceil(recency), age), 0.0)  # whole days, as from dates
    print(f"{N:,} customers, {int((x > 0).sum()):,} repeat buyers")
    bg = timed("BetaGeo.fit, whole-day summary", lambda: BetaGeo().fit(x, days, age))
    timed("BetaGeo.fit, continuous recency (no ties)", lambda: BetaGeo().fit(x, recency, age))
    gg = timed("GammaGamma.fit", lambda: GammaGamma().fit(x, spend))
    timed("p_alive", lambda: bg.p_alive(x, days, age))
    timed("expected_purchases(365)", lambda: bg.expected_purchases(365, x, days, age))
    timed(
        "clv, 365 days in 30-day steps",
        lambda: clv(
            bg, gg, x, days, age, spend, horizon=365, discount_rate_per_period=0.0003, step=30
        ),
    )
    print("fitted", {k: round(v, 4) for k, v in bg.params_.items()}, "true", TRUE)


# --- Winback against lifetimes ---------------------------------------------------------------

LIFETIMES_REQUIREMENTS = [
    "lifetimes==0.11.3",
    "pandas<2.1",
    "numpy<1.27",
    "scipy<1.12",
    "autograd",
    "dill",
]
# Published CDNOW fits (weeks): BG/NBD (FHL 2005), Pareto/NBD (the same paper's table),
# Gamma-Gamma (FHL 2005, JMR).
CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
CALIBRATION_DAYS = 272  # 1997-01-01 to 1997-09-30
FIRST_PURCHASE_DAYS = 84  # first purchases in the first 12 weeks

LIFETIMES_CHILD = r"""
import json, sys, time
import numpy as np
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

data = np.load(sys.argv[1])
out = {}

def timed(name, make, *columns):
    np.random.seed(0)  # ParetoNBDFitter starts from random parameters
    start, cpu = time.perf_counter(), time.process_time()
    try:
        model = make().fit(*columns)
        params = {k: float(v) for k, v in model.params_.items()}
        error = None
    except Exception as exc:  # reported, not hidden
        params, error = None, f"{type(exc).__name__}: {exc}"
    out[name] = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                 "params": params, "error": error}
    print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)

timed("bg", BetaGeoFitter, data["bg_x"], data["bg_tx"], data["bg_T"])
timed("pareto", ParetoNBDFitter, data["pn_x"], data["pn_tx"], data["pn_T"])
repeat = data["gg_x"] > 0
timed("gg", GammaGammaFitter, data["gg_x"][repeat], data["gg_m"][repeat])
print(json.dumps(out))
"""


def lifetimes_python(venv: Path) -> Path:
    """The throwaway environment's interpreter, creating the environment on first use."""
    python = venv / "bin" / "python"
    if not python.exists():
        base = Path(getattr(sys, "_base_executable", sys.executable))
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *LIFETIMES_REQUIREMENTS], check=True
        )
    return python


def whole_days(age_days: np.ndarray, x: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Recency in weeks from whole days, at least one day after the first purchase."""
    return np.where(x > 0, np.clip(np.ceil(last * 7), 1, age_days), 0) / 7


def simulate_cdnow_like(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """BG/NBD, Pareto/NBD and Gamma-Gamma customers at the published CDNOW parameters."""
    data: dict[str, np.ndarray] = {}
    age_days = CALIBRATION_DAYS - rng.integers(0, FIRST_PURCHASE_DAYS, n)
    age = age_days / 7
    # BG/NBD: Poisson purchases, dropout after each repeat purchase with probability p.
    rate = rng.gamma(CDNOW_BG["r"], 1 / CDNOW_BG["alpha"], n)
    possible = rng.poisson(rate * age)
    x = np.minimum(possible, rng.geometric(rng.beta(CDNOW_BG["a"], CDNOW_BG["b"], n)))
    last = np.zeros(n)
    buyers = x > 0
    last[buyers] = age[buyers] * rng.beta(x[buyers], possible[buyers] - x[buyers] + 1)
    data |= {"bg_x": x.astype(float), "bg_tx": whole_days(age_days, x, last), "bg_T": age}
    # Pareto/NBD: Poisson purchases until an exponential lifetime ends.
    rate = rng.gamma(CDNOW_PARETO["r"], 1 / CDNOW_PARETO["alpha"], n)
    death = rng.gamma(CDNOW_PARETO["s"], 1 / CDNOW_PARETO["beta"], n)
    window = np.minimum(rng.exponential(1 / death), age)
    x = rng.poisson(rate * window)
    last = np.zeros(n)
    buyers = x > 0
    last[buyers] = window[buyers] * rng.beta(x[buyers], 1)
    data |= {"pn_x": x.astype(float), "pn_tx": whole_days(age_days, x, last), "pn_T": age}
    # Gamma-Gamma: the BG/NBD customers' repeat purchases, in cents.
    x = data["bg_x"]
    nu = rng.gamma(CDNOW_GG["q"], 1 / CDNOW_GG["v"], n)
    spend = np.zeros(n)
    buyers = x > 0
    shape = CDNOW_GG["p"] * x[buyers]
    spend[buyers] = np.round(rng.gamma(shape, 1 / (nu[buyers] * x[buyers])), 2)
    data |= {"gg_x": x, "gg_m": spend}
    return data


def fit_winback(data: dict[str, np.ndarray]) -> dict[str, dict[str, object]]:
    fits: dict[str, tuple[object, tuple[np.ndarray, ...]]] = {
        "bg": (BetaGeo, (data["bg_x"], data["bg_tx"], data["bg_T"])),
        "pareto": (ParetoNBD, (data["pn_x"], data["pn_tx"], data["pn_T"])),
        "gg": (GammaGamma, (data["gg_x"], data["gg_m"])),
    }
    out: dict[str, dict[str, object]] = {}
    for name, (model, columns) in fits.items():
        start, cpu = time.perf_counter(), time.process_time()
        fitted = model().fit(*columns)  # type: ignore[operator]
        out[name] = {
            "wall": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "params": dict(fitted.params_),
        }
    return out


def total_log_likelihood(name: str, params: dict[str, float], data: dict[str, np.ndarray]) -> float:
    """Both packages' parameters scored by one (Winback's) log-likelihood, in weeks."""
    if name == "bg":
        return float(
            beta_geo.log_likelihood(params, data["bg_x"], data["bg_tx"], data["bg_T"]).sum()
        )
    if name == "pareto":
        per_customer = pareto_nbd.log_likelihood(params, data["pn_x"], data["pn_tx"], data["pn_T"])
        return float(per_customer.sum())
    return float(gamma_gamma.log_likelihood(params, data["gg_x"], data["gg_m"]).sum())


def versus_lifetimes(sizes: list[int], venv: Path) -> None:
    python = lifetimes_python(venv)
    labels = {"bg": "BG/NBD", "pareto": "Pareto/NBD", "gg": "Gamma-Gamma"}
    for n in sizes:
        data = simulate_cdnow_like(n, np.random.default_rng(n))
        print(
            f"\n{n:,} customers ({int((data['bg_x'] > 0).sum()):,} BG/NBD and "
            f"{int((data['pn_x'] > 0).sum()):,} Pareto/NBD repeat buyers)",
            flush=True,
        )
        ours = fit_winback(data)
        for name, result in ours.items():
            print(
                f"  winback {labels[name]:<12} {result['wall']:8.2f} s wall "
                f"{result['cpu']:8.2f} s cpu",
                flush=True,
            )
        with tempfile.TemporaryDirectory(prefix="clv-bench-") as folder:
            arrays = Path(folder) / "data.npz"
            np.savez(arrays, **data)
            child = subprocess.run(
                [str(python), "-c", LIFETIMES_CHILD, str(arrays)],
                check=True,
                capture_output=True,
                text=True,
            )
        theirs = json.loads(child.stdout.strip().splitlines()[-1])
        for name in ("bg", "pareto", "gg"):
            mine, other = ours[name], theirs[name]
            print(f"  {labels[name]}")
            params: dict[str, float] = mine["params"]  # type: ignore[assignment]
            print(
                f"    winback   {mine['wall']:9.2f} s wall {mine['cpu']:9.2f} s cpu  "
                f"LL {total_log_likelihood(name, params, data):.3f}  {_rounded(params)}"
            )
            if other["error"]:
                print(f"    lifetimes {other['wall']:9.2f} s wall  failed: {other['error']}")
                continue
            print(
                f"    lifetimes {other['wall']:9.2f} s wall {other['cpu']:9.2f} s cpu  "
                f"LL {total_log_likelihood(name, other['params'], data):.3f}  "
                f"{_rounded(other['params'])}"
            )
            gap = max(abs(params[k] / other["params"][k] - 1) for k in params)
            print(
                f"    speed-up {other['wall'] / mine['wall']:.1f}x wall, "  # type: ignore[operator]
                f"{other['cpu'] / mine['cpu']:.1f}x cpu; largest parameter gap "  # type: ignore[operator]
                f"{100 * gap:.3f}%",
                flush=True,
            )


def _rounded(params: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in params.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versus-lifetimes", action="store_true")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--lifetimes-venv", type=Path, default=Path("/tmp/winback-lifetimes-venv"))
    args = parser.parse_args()
    if args.versus_lifetimes:
        versus_lifetimes([int(v) for v in args.sizes.split(",")], args.lifetimes_venv)
    else:
        winback_only()


if __name__ == "__main__":
    main()
