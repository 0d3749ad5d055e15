"""How many treated vs control customers come back in the demo's simulated rounds, by response.

    python benchmarks/response_bench.py [--customers 5000] [--months 36] [--rounds 6]
        [--industry aesthetics] [--response realistic large] [--gap 3]

For each response level: generates the world (``winback generate --response``), imports it
into a fresh data folder (a fresh SQLite file unless WINBACK_DATABASE_URL is set), runs the
programme demo's monthly rounds (plan, simulated agents, simulated return purchases) and reads
every round at +90 days with the monitoring's own estimator: treated and control came-back
rates, the uplift with its 95% interval. ``--gap`` leaves the last months of the history
without a round so every round has matured at +90 days (``--gap 0`` is the demo's own
placement: the last rounds are then read on a shorter window). Also printed per round: the
mean true win probability of the treated (the call's lift x offer, before reach and the
wrong-reason penalty), the share of treated who come back anyway, and the share of treated
the calls actually added (won back and not coming back anyway).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

END = date(2026, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--gap", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--industry", default="aesthetics")
    parser.add_argument("--response", nargs="+", default=["realistic", "large"])
    args = parser.parse_args()
    for level in args.response:
        run_level(args, level)


def run_level(args: argparse.Namespace, level: str) -> None:
    import subprocess
    import sys

    # Each level in its own process: a fresh database and Django set-up per data folder.
    if os.environ.get("WINBACK_RESPONSE_BENCH_CHILD") != level:
        env = {**os.environ, "WINBACK_RESPONSE_BENCH_CHILD": level}
        cmd = [sys.executable, __file__, *child_args(args), "--response", level]
        subprocess.run(cmd, env=env, check=True)
        return
    folder = Path(tempfile.mkdtemp(prefix=f"winback-response-{level}-"))
    os.environ["WINBACK_DATA_DIR"] = str(folder / "data")
    measure(args, level, folder)


def child_args(args: argparse.Namespace) -> list[str]:
    return [
        f"--customers={args.customers}",
        f"--months={args.months}",
        f"--rounds={args.rounds}",
        f"--gap={args.gap}",
        f"--seed={args.seed}",
        f"--industry={args.industry}",
    ]


def measure(args: argparse.Namespace, level: str, folder: Path) -> None:
    from winback.store.bootstrap import setup

    setup()
    import numpy as np
    import polars as pl
    from rich.console import Console

    import winback.app.rounds.simulation as simulation
    from winback.app.imports.service import import_file
    from winback.app.rounds.service import round_status
    from winback.app.settings.profile import set_profile
    from winback.cli.programme_demo import run_programme_demo
    from winback.periods import months_ending
    from winback.simulate.agents import truth_response, win_probability
    from winback.simulate.generator import generate_dataset
    from winback.simulate.response import ALIVE_FLOOR, lateness_hump
    from winback.store.customers.models import Order
    from winback.store.programme.models import Round

    started = time.perf_counter()
    set_profile(args.industry)
    sample = folder / "sample"
    manifest = generate_dataset(
        args.industry, args.customers, args.months, args.seed, sample, end_date=END, response=level
    )
    for entry in manifest["files"]:
        import_file(entry["kind"], sample / entry["path"])
    last_round_month = months_ending(END, args.gap + 1)[0]
    months = months_ending(last_round_month, args.rounds)

    truths: dict[int, dict[str, float]] = {}
    original = simulation.simulate_contacts

    def recording(tasks: pl.DataFrame, truth: pl.DataFrame, **kw: Any) -> pl.DataFrame:
        from winback.simulate.agents import _with_truth

        treated = _with_truth(tasks.filter(pl.col("arm") == "treated"), truth)
        p = win_probability(treated, truth_response(truth, kw.get("response")))
        anyway = treated["returns_anyway"].fill_null(False).to_numpy()
        late = (treated["days_since_last"] / treated["expected_interval_days"]).to_numpy()
        alive = treated["p_alive"].fill_null(0.5).to_numpy()
        key = int(tasks["task_id"].min()) if tasks.height else 0
        truths[key] = {
            "p_win": float(np.mean(p)) if p.size else float("nan"),
            "anyway": float(np.mean(anyway)) if anyway.size else float("nan"),
            "trait": float(treated["responsiveness"].mean() or 0.0),
            "hump": float(np.mean(lateness_hump(late))) if p.size else float("nan"),
            "alive": float(np.mean(ALIVE_FLOOR + (1 - ALIVE_FLOOR) * alive)) if p.size else 0.0,
            "late": float(np.nanmedian(np.asarray(late, dtype=float))) if p.size else 0.0,
        }
        return original(tasks, truth, **kw)

    simulation.simulate_contacts = recording  # type: ignore[assignment]
    records = run_programme_demo(
        ground_truth=sample / manifest["ground_truth"],
        months=months,
        console=Console(file=io.StringIO()),
    )
    seconds = time.perf_counter() - started
    print(
        f"\n== response {level}: {args.industry}, {args.customers:,} customers, "
        f"{args.months} months to {END}, rounds {months[0]:%Y-%m}..{months[-1]:%Y-%m} "
        f"({seconds:.0f} s)"
    )
    print(
        f"{'round':>8} {'treated':>8} {'control':>8} {'p_win':>6} {'anyway':>7} "
        f"{'added':>6} {'treated back':>13} {'control back':>13} {'uplift [95% CI]':>24}"
    )
    keys = sorted(truths)
    pooled = {"nt": 0, "nc": 0, "bt": 0.0, "bc": 0.0, "added": 0}
    for record, key in zip(records, keys, strict=True):
        rnd = Round.objects.get(pk=record["round_id"])
        status = round_status(rnd, END, n_boot=200)
        h90 = next(h for h in status["horizons"] if h["horizon"] == 90)
        n_t, n_c = record["plan"]["treated"], record["plan"]["control"]
        added = (
            Order.objects.filter(order_key__startswith=f"SIM-{rnd.pk}-")
            .values("customer_id")
            .distinct()
            .count()
        )
        truth = truths[key]
        pooled["nt"] += n_t
        pooled["nc"] += n_c
        pooled["bt"] += (h90["p_treated"] or 0.0) * n_t
        pooled["bc"] += (h90["p_control"] or 0.0) * n_c
        pooled["added"] += added
        print(
            f"{rnd.month:%Y-%m} {n_t:>8} {n_c:>8} {truth['p_win']:>6.3f} {truth['anyway']:>7.1%} "
            f"{added / max(n_t, 1):>6.1%} {pct(h90['p_treated']):>13} {pct(h90['p_control']):>13} "
            f"{pct(h90['uplift']):>7} [{pct(h90['uplift_low'])}, {pct(h90['uplift_high'])}]"
        )
    if pooled["nt"] and pooled["nc"]:
        bt, bc = pooled["bt"] / pooled["nt"], pooled["bc"] / pooled["nc"]
        print(
            f"{'pooled':>8} {pooled['nt']:>8} {pooled['nc']:>8} {'':>6} {'':>7} "
            f"{pooled['added'] / pooled['nt']:>6.1%} {bt:>13.1%} {bc:>13.1%} {bt - bc:>7.1%}"
        )
    print("true response inputs of the treated (means; lateness: median):")
    for record, key in zip(records, keys, strict=True):
        t = truths[key]
        print(
            f"  {record['month'][:7]}: trait {t['trait']:.3f}, lateness {t['late']:.2f}, "
            f"hump {t['hump']:.3f}, alive factor {t['alive']:.3f}"
        )


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


if __name__ == "__main__":
    main()
