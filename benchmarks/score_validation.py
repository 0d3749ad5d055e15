"""Does the churn score hold on real data? Time-split validation against the simple baselines.

    .venv/bin/python benchmarks/score_validation.py [--real master,sample] [--generated]
        [--resamples 200] [--out /tmp/wb/out/score-bench.md]

(a) **Real data**, CDNOW (Fader & Hardie; customers who first bought in 1997 Q1, purchases
until June 1998): the master (23,570 customers, from the ``lifetimes`` wheel, downloaded and
never installed, as in benchmarks/aa_real_data.py) and tests/data/cdnow_sample.txt (2,357).
The orders go through the user path: written as an orders CSV, imported into a fresh SQLite
database by the import use case (``winback import orders``), extracted by the analysis use
case's extraction (what ``winback analyze`` reads), then analysed as of each date with each
horizon. Label: no purchase in (as_of, as_of + horizon] among the customers who had bought.
Compared by ROC-AUC: the churn probability, recency alone (days since the last purchase) and
the BG/NBD expected purchases (365 days, as the snapshot holds them), with 95% paired
bootstrap intervals of the differences; and 1 - P(alive) (one-time buyers included, whose
P(alive) is 1 under BG/NBD). Each dataset runs in its own process and database.

(b) **Generated data**, 4 industries x 2 seeds (winback.simulate, imported the same way):
AUC of the score and the baselines as of one horizon before the end, and on the untreated
actionable customers (stage active, silent or sleeping, no outbound contact in the horizon)
the expected calibration error (ECE, 10 equal-count bins; target <= 0.03) and the
calibration slope (target 0.9-1.1). Also the month-to-month weight change (mean |delta w| over
three consecutive monthly as-of dates) with the stacked training origins and with a single
origin.

(c) With ``--recalibration``: on the CDNOW sample, the probability as it stands against a
Platt or isotonic map learned one horizon earlier (decision 0026).

Prints tables and writes them (Markdown) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from aa_real_data import SAMPLE, master_text, read_cdnow  # noqa: E402
from winback.analytics.calibration import calibration_error, recalibration_slope  # noqa: E402
from winback.analytics.frames import AnalyticsFrames  # noqa: E402
from winback.analytics.metrics import roc_auc  # noqa: E402

SPLITS: tuple[tuple[date, int], ...] = (
    (date(1997, 9, 30), 90),
    (date(1997, 12, 31), 90),
    (date(1997, 12, 31), 180),
    (date(1998, 3, 31), 90),
)
GENERATED_END = date(2024, 12, 31)
INDUSTRIES = ("retail", "restaurant", "dental", "aesthetics")
SEEDS = (1, 2)
ACTIONABLE = ("active", "silent", "sleeping")


# --- the user path ---------------------------------------------------------------------------


def _setup(database: Path) -> None:
    os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{database}"
    from winback.store.bootstrap import setup

    setup()


def _extract(profile_industry: str) -> AnalyticsFrames:
    from winback.app.analysis.service import extract
    from winback.app.settings.profile import current_profile

    return extract(date(2100, 1, 1), current_profile().time_zone)


def _import_cdnow(orders: pl.DataFrame, folder: Path) -> None:
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile

    set_profile("retail")
    path = folder / "orders.csv"
    orders.select(
        pl.col("order_pk").cast(pl.String).alias("order_id"),
        pl.col("customer_pk").cast(pl.String).alias("customer_id"),
        pl.col("order_date").dt.to_string("%Y-%m-%d").alias("order_date"),
        (pl.col("amount_cents") / 100).alias("amount"),
    ).write_csv(path)
    import_file("orders", path)


def _import_generated(industry: str, seed: int, customers: int, months: int, folder: Path) -> None:
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.simulate.generator import generate_dataset

    set_profile(industry)
    manifest = generate_dataset(industry, customers, months, seed, folder, end_date=GENERATED_END)
    for entry in manifest["files"]:
        import_file(entry["kind"], folder / entry["path"])


# --- metrics ---------------------------------------------------------------------------------


def _outcome(frames: AnalyticsFrames, scores: pl.DataFrame, as_of: date, horizon: int) -> Any:
    from winback.analytics.pipeline import purchasers

    came_back = purchasers(frames.orders, as_of, as_of + timedelta(days=horizon))
    return (~scores["customer_pk"].is_in(came_back.implode())).to_numpy().astype(bool)


def _paired_difference(
    score: np.ndarray, baseline: np.ndarray, label: np.ndarray, resamples: int
) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    point = float(roc_auc(score, label) or 0.0) - float(roc_auc(baseline, label) or 0.0)
    draws = []
    for _ in range(resamples):  # resamples, each vectorised over customers
        pick = rng.integers(0, label.size, label.size)
        a, b = roc_auc(score[pick], label[pick]), roc_auc(baseline[pick], label[pick])
        if a is not None and b is not None:
            draws.append(a - b)
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, float(low), float(high)


def real_rows(data: str, resamples: int) -> list[dict[str, Any]]:
    """Runs in a fresh process: import, extract, analyse each split."""
    from winback.analytics.pipeline import run_analysis
    from winback.config import preset

    text = master_text() if data == "master" else SAMPLE.read_text(encoding="ascii")
    orders = read_cdnow(text)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        _setup(Path(folder) / "winback.sqlite3")
        began = time.perf_counter()
        _import_cdnow(orders, Path(folder))
        frames = _extract("retail")
        loaded = time.perf_counter() - began
        for as_of, horizon in SPLITS:
            began = time.perf_counter()
            result = run_analysis(frames, preset("retail"), as_of, horizon_days=horizon)
            seconds = time.perf_counter() - began
            scores = result.scores.filter(pl.col("days_since_last").is_not_null())
            label = _outcome(frames, scores, as_of, horizon)
            score = scores["churn_probability"].to_numpy().astype(np.float64)
            recency = scores["days_since_last"].to_numpy().astype(np.float64)
            expected = -scores["expected_purchases_365"].to_numpy().astype(np.float64)
            alive = scores["p_alive"].fill_null(1.0).to_numpy().astype(np.float64)
            d_rec = _paired_difference(score, recency, label, resamples)
            d_exp = _paired_difference(score, expected, label, resamples)
            rows.append(
                {
                    "data": data,
                    "as_of": as_of.isoformat(),
                    "horizon": horizon,
                    "buyers": int(label.size),
                    "base_rate": float(label.mean()),
                    "auc_score": roc_auc(score, label),
                    "auc_recency": roc_auc(recency, label),
                    "auc_expected": roc_auc(expected, label),
                    "auc_p_alive": roc_auc(1 - alive, label),
                    "diff_recency": d_rec,
                    "diff_expected": d_exp,
                    "ece": calibration_error(score, label),
                    "slope": recalibration_slope(score, label),
                    "seconds": seconds,
                    "load_seconds": loaded,
                }
            )
    return rows


def generated_rows(industry: str, seed: int, customers: int, months: int) -> list[dict[str, Any]]:
    """Runs in a fresh process: generate, import, extract; score as of one horizon before the
    end; weight change month to month with stacked and single training origins."""
    from winback.analytics import pipeline
    from winback.config import preset

    profile = preset(industry)
    horizon = pipeline.churn_horizon(profile)
    with tempfile.TemporaryDirectory() as folder:
        _setup(Path(folder) / "winback.sqlite3")
        _import_generated(industry, seed, customers, months, Path(folder) / "files")
        frames = _extract(industry)
    as_of = GENERATED_END - timedelta(days=horizon)
    result = pipeline.run_analysis(frames, profile, as_of, horizon_days=horizon)
    scores = result.scores.filter(pl.col("days_since_last").is_not_null())
    label = _outcome(frames, scores, as_of, horizon)
    window = (pl.col("occurred_date") > as_of) & (
        pl.col("occurred_date") <= as_of + timedelta(days=horizon)
    )
    touched = frames.contacts.filter(window & (pl.col("direction") == "outbound"))["customer_pk"]
    untreated = ~scores["customer_pk"].is_in(touched.unique().implode()).to_numpy()
    actionable = scores["stage"].is_in(list(ACTIONABLE)).to_numpy() & untreated
    score = scores["churn_probability"].to_numpy().astype(np.float64)
    changes = {}
    for name, offsets in (("stacked", pipeline.STACK_OFFSETS), ("single", (0,))):
        saved = pipeline.STACK_OFFSETS
        pipeline.STACK_OFFSETS = offsets
        try:
            weights = [
                pipeline.run_analysis(
                    frames, profile, as_of - timedelta(days=30 * k), horizon_days=horizon
                ).weights
                for k in range(3)
            ]
        finally:
            pipeline.STACK_OFFSETS = saved
        codes = list(weights[0])
        matrix = np.array([[w[c] for c in codes] for w in weights])
        changes[name] = float(np.abs(np.diff(matrix, axis=0)).mean())
    return [
        {
            "industry": industry,
            "seed": seed,
            "as_of": as_of.isoformat(),
            "horizon": horizon,
            "buyers": int(label.size),
            "auc_score": roc_auc(score, label),
            "auc_recency": roc_auc(scores["days_since_last"].to_numpy().astype(np.float64), label),
            "auc_expected": roc_auc(-scores["expected_purchases_365"].to_numpy(), label),
            "actionable": int(actionable.sum()),
            "actionable_rate": float(label[actionable].mean()) if actionable.any() else None,
            "ece": calibration_error(score[actionable], label[actionable]),
            "slope": recalibration_slope(score[actionable], label[actionable]),
            "ece_all": calibration_error(score, label),
            "weight_change_stacked": changes["stacked"],
            "weight_change_single": changes["single"],
            "probabilities": score[actionable].tolist(),
            "labels": label[actionable].tolist(),
        }
    ]


def recalibration_lines() -> list[str]:
    """CDNOW sample, in memory: the probability as it stands against the Platt and isotonic
    maps learned one horizon earlier (``run_analysis(..., recalibrate=True)``)."""
    from aa_real_data import frames_for
    from winback.analytics import calibration
    from winback.analytics.pipeline import run_analysis
    from winback.config import preset

    frames = frames_for(read_cdnow(SAMPLE.read_text(encoding="ascii")))
    lines = [
        "| as of | horizon | map | AUC | ECE | slope |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    saved = calibration.ISOTONIC_MIN
    for as_of, horizon in SPLITS:
        for name, recalibrate, isotonic_min in (
            ("none", False, saved),
            ("Platt", True, 10**12),
            ("isotonic", True, saved),
        ):
            calibration.ISOTONIC_MIN = isotonic_min
            try:
                result = run_analysis(
                    frames, preset("retail"), as_of, horizon_days=horizon, recalibrate=recalibrate
                )
            finally:
                calibration.ISOTONIC_MIN = saved
            scores = result.scores.filter(pl.col("days_since_last").is_not_null())
            label = _outcome(frames, scores, as_of, horizon)
            p = scores["churn_probability"].to_numpy().astype(np.float64)
            lines.append(
                f"| {as_of} | {horizon} | {name} | {_f(roc_auc(p, label))} | "
                f"{_f(calibration_error(p, label))} | {_f(recalibration_slope(p, label), 2)} |"
            )
    return lines


# --- driver ----------------------------------------------------------------------------------


def _child(args: list[str]) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(triple: list[float]) -> str:
    point, low, high = triple
    return f"{point:+.3f} [{low:+.3f}, {high:+.3f}]"


def real_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| data | as of | horizon | buyers | base rate | AUC score | AUC recency | AUC BG/NBD "
        "exp. purchases | AUC 1 - P(alive) | score - recency [95%] | score - exp. purchases "
        "[95%] | ECE | slope | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['as_of']} | {r['horizon']} | {r['buyers']:,} | "
            f"{_f(r['base_rate'])} | {_f(r['auc_score'])} | {_f(r['auc_recency'])} | "
            f"{_f(r['auc_expected'])} | {_f(r['auc_p_alive'])} | "
            f"{_interval(r['diff_recency'])} | {_interval(r['diff_expected'])} | "
            f"{_f(r['ece'])} | {_f(r['slope'], 2)} | {r['seconds']:.1f} |"
        )
    return lines


def noise_floor(probability: np.ndarray, draws: int = 200) -> float:
    """The ECE a perfectly calibrated prediction shows on this many customers by chance: the
    mean ECE of ``probability`` against outcomes drawn from it."""
    rng = np.random.default_rng(0)
    values = [
        calibration_error(probability, rng.random(probability.size) < probability) or 0.0
        for _ in range(draws)
    ]
    return float(np.mean(values))


def generated_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| industry | seed | as of | horizon | buyers | AUC score | AUC recency | AUC exp. "
        "purchases | untreated actionable | their rate | ECE | ECE of a calibrated score at "
        "this n | slope | ECE all buyers | mean abs weight change per month, stacked / single "
        "origin |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- |",
    ]
    for r in rows:
        floor = noise_floor(np.array(r["probabilities"], dtype=np.float64))
        lines.append(
            f"| {r['industry']} | {r['seed']} | {r['as_of']} | {r['horizon']} | {r['buyers']:,} | "
            f"{_f(r['auc_score'])} | {_f(r['auc_recency'])} | {_f(r['auc_expected'])} | "
            f"{r['actionable']:,} | {_f(r['actionable_rate'])} | {_f(r['ece'])} | "
            f"{_f(floor)} | {_f(r['slope'], 2)} | {_f(r['ece_all'])} | "
            f"{r['weight_change_stacked']:.3f} / {r['weight_change_single']:.3f} |"
        )
    if rows:
        p = np.concatenate([np.array(r["probabilities"], dtype=np.float64) for r in rows])
        y = np.concatenate([np.array(r["labels"], dtype=bool) for r in rows])
        lines.append("")
        lines.append(
            f"Pooled untreated actionable customers ({y.size:,}): ECE "
            f"{_f(calibration_error(p, y))} (a calibrated score: {_f(noise_floor(p))}), "
            f"calibration slope {_f(recalibration_slope(p, y), 2)}."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default="sample,master", help="comma list: sample, master")
    parser.add_argument("--generated", action="store_true", help="also the generated bases")
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument(
        "--recalibration", action="store_true", help="also compare recalibration maps"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/wb/out/score-bench.md"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "real":
            rows = real_rows(rest[0], int(rest[1]))
        else:
            rows = generated_rows(rest[0], int(rest[1]), int(rest[2]), int(rest[3]))
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    report = ["# Churn score validation", ""]
    real = [d for d in args.real.split(",") if d]
    if real:
        rows = [row for d in real for row in _child(["real", d, str(args.resamples)])]
        report += [
            "## CDNOW (real), through import and extraction",
            "",
            *real_table(rows),
            "",
        ]
        print("\n".join(report), flush=True)
    if args.generated:
        rows = [
            row
            for industry in INDUSTRIES
            for seed in SEEDS
            for row in _child(
                ["generated", industry, str(seed), str(args.customers), str(args.months)]
            )
        ]
        table = [
            f"## Generated ({args.customers:,} customers, {args.months} months to "
            f"{GENERATED_END}), horizon = the industry's lost threshold",
            "",
            *generated_table(rows),
            "",
        ]
        print("\n".join(table), flush=True)
        report += table
    if args.recalibration:
        table = [
            "## Recalibration learned one horizon earlier (CDNOW sample)",
            "",
            *recalibration_lines(),
            "",
        ]
        print("\n".join(table), flush=True)
        report += table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
