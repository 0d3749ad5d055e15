"""Early-warning precision on generated businesses (prints figures; asserts nothing).

For each industry and seed: generate a business (winback.simulate), import it into a
throwaway SQLite database, extract the frames once, then analyse at several month ends. At
each month end T the flags of the analyses at T - 1 month and T - 3 months are judged with
:func:`winback.analytics.early_warning.warning_precision` (the definition the stored figures
use, docs/analytics.md §8): flag rate, precision at one and three months, the base rate among
buyers not flagged, and the lift.

    nice -n 10 .venv/bin/python benchmarks/early_warning_precision.py [--customers 1500]
        [--months 36] [--dates 7] [--industries retail,restaurant,dental,aesthetics] [--seeds 1,2]

Each (industry, seed) runs in its own process (one database per process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

END = date(2025, 12, 31)


def one(industry: str, seed: int, customers: int, months: int, dates: int) -> dict[str, Any]:
    """Generate, import, analyse at ``dates`` month ends; the figures per month end."""
    folder = Path(tempfile.mkdtemp(prefix="winback-ew-"))
    os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ.setdefault("WINBACK_DATA_DIR", str(folder / "data"))
    from winback.store.bootstrap import setup

    setup()
    import polars as pl

    from winback.analytics.early_warning import warning_precision
    from winback.analytics.pipeline import analyze
    from winback.app.analysis.service import extract
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.periods import add_months, month_end
    from winback.simulate.generator import generate_dataset

    manifest = generate_dataset(industry, customers, months, seed, folder / "sample", END)
    for entry in manifest["files"]:
        import_file(entry["kind"], folder / "sample" / entry["path"])
    profile = set_profile(industry, {})
    frames = extract(END, profile.time_zone)
    days = [month_end(add_months(END, -k)) for k in range(dates - 1, -1, -1)]
    scores: dict[date, pl.DataFrame] = {}
    rows = []
    for day in days:
        result = analyze(frames, profile, day).scores
        scores[day] = result
        candidates = result.filter((pl.col("stage") != "prospect") & (pl.col("status") != "lost"))
        row: dict[str, Any] = {
            "as_of": day.isoformat(),
            "candidates": candidates.height,
            "flagged": int(candidates["early_warning"].sum()),
        }
        now = result.select("customer_pk", "status", "days_since_last", "expected_interval_days")
        for key, back in (("1m", 1), ("3m", 3)):
            earlier = month_end(add_months(day, -back))
            if earlier in scores:
                flags = scores[earlier].select("customer_pk", "stage", "status", "early_warning")
                row[key] = warning_precision(flags, now, earlier, day, profile)
        rows.append(row)
    return {"industry": industry, "seed": seed, "customers": customers, "rows": rows}


def fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:5.1f}%" if pct else f"{value:5.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--dates", type=int, default=7)
    parser.add_argument("--industries", default="retail,restaurant,dental,aesthetics")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--one", nargs=2, metavar=("INDUSTRY", "SEED"))
    args = parser.parse_args(argv)
    if args.one:
        found = one(args.one[0], int(args.one[1]), args.customers, args.months, args.dates)
        sys.stdout.write(json.dumps(found) + "\n")
        return
    print(
        f"{'industry':<11}{'seed':>4} {'as_of':<11}{'cand.':>6}{'flag%':>7} "
        f"{'prec1m':>7}{'base1m':>7}{'lift1m':>7} {'prec3m':>7}{'base3m':>7}{'lift3m':>7}"
    )
    summary: dict[str, list[float]] = {"p1": [], "b1": [], "p3": [], "b3": []}
    for industry in args.industries.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            command = [sys.executable, __file__, "--one", industry, str(seed)]
            command += ["--customers", str(args.customers), "--months", str(args.months)]
            command += ["--dates", str(args.dates)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            found = json.loads(done.stdout.strip().splitlines()[-1])
            for row in found["rows"]:
                one_m, three_m = row.get("1m") or {}, row.get("3m") or {}
                share = row["flagged"] / row["candidates"] if row["candidates"] else None
                print(
                    f"{industry:<11}{seed:>4} {row['as_of']:<11}{row['candidates']:>6}"
                    f"{fmt(share, True):>7} {fmt(one_m.get('precision'), True):>7}"
                    f"{fmt(one_m.get('base_rate'), True):>7}{fmt(one_m.get('lift')):>7} "
                    f"{fmt(three_m.get('precision'), True):>7}"
                    f"{fmt(three_m.get('base_rate'), True):>7}{fmt(three_m.get('lift')):>7}"
                )
                for key, got in (("1", one_m), ("3", three_m)):
                    if got.get("precision") is not None and got.get("base_rate") is not None:
                        summary[f"p{key}"].append(got["precision"])
                        summary[f"b{key}"].append(got["base_rate"])
    for key, label in (("1", "1 month"), ("3", "3 months")):
        p, b = summary[f"p{key}"], summary[f"b{key}"]
        if p:
            mean_p, mean_b = sum(p) / len(p), sum(b) / len(b)
            print(
                f"mean at {label}: precision {100 * mean_p:.1f}%, base rate {100 * mean_b:.1f}%, "
                f"lift {mean_p / mean_b if mean_b else float('nan'):.2f} over {len(p)} month ends"
            )


if __name__ == "__main__":
    main()
