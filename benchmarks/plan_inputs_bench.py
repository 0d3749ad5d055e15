"""Time the round planner's candidate reads: from the database and on Spark, and print figures.

    python benchmarks/plan_inputs_bench.py --customers 20000
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench \\
        python benchmarks/plan_inputs_bench.py --customers 20000 --master local[2]

Builds a store through the production path (generated import files, the importer, the
embedded analysis; not timed), then times :func:`winback.app.rounds.planning.read_inputs`
(SQL through the store) against :func:`winback.app.rounds.spark_inputs.read_inputs_on_spark`:
staging the database as a lake, the first Spark read (session start included) and a second one
on the warm session. CPU seconds are this process's and its children's (the Spark JVM) as
psutil sees them; the load average is printed beside each figure. Without WINBACK_DATABASE_URL
a fresh SQLite file is used.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

END = date(2024, 12, 31)
AS_OF = date(2024, 10, 31)
MONTH = date(2024, 11, 1)
STATUSES = ("lost", "at_risk")


def cpu_seconds() -> float:
    """CPU seconds of this process and every live or reaped descendant (the JVM included)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:4])  # user, system, children_user, children_system
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def timed(label: str, work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = work()
    row = {
        "step": label,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": cpu_seconds() - cpu,
        "load": os.getloadavg()[0],
    }
    return result, row


def build(customers: int, folder: Path) -> None:
    from winback.app.analysis.service import analyze
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.simulate.generator import generate_dataset

    set_profile("retail", {"programme": {"control_floor": 0}})
    manifest = generate_dataset("retail", customers, 18, 7, folder, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], folder / entry["path"])
    analyze(AS_OF)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", default="8")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="plan-inputs-bench-"))
    os.environ.setdefault("WINBACK_DATA_DIR", str(work / "data"))
    if "WINBACK_DATABASE_URL" not in os.environ:
        os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    from winback.store.bootstrap import setup

    setup()  # migrates the database
    from winback.app.analysis.spark import SparkOptions
    from winback.app.rounds.planning import HISTORY_DAYS, agent_frame, read_inputs
    from winback.app.rounds.service import demo_team
    from winback.app.rounds.spark_inputs import CandidateReader, read_inputs_on_spark, with_lake
    from winback.app.settings.profile import current_profile

    started = time.perf_counter()
    build(args.customers, work / "files")
    print(f"built {args.customers:,} customers in {time.perf_counter() - started:.0f} s (untimed)")
    zone = current_profile().time_zone
    agents = agent_frame(demo_team())
    options = SparkOptions(args.master, {"spark.sql.shuffle.partitions": args.shuffle_partitions})
    rows = []
    want, row = timed(
        "database read", lambda: read_inputs(AS_OF, MONTH, STATUSES, agents, time_zone=zone)
    )
    rows.append(row)
    reader, row = timed(
        "stage database as lake",
        lambda: with_lake(CandidateReader("spark", spark=options), MONTH, zone),
    )
    rows.append(row)

    def on_spark() -> Any:
        return read_inputs_on_spark(
            AS_OF,
            MONTH,
            STATUSES,
            agents,
            time_zone=zone,
            reader=reader,
            history_days=HISTORY_DAYS,
        )

    _got, row = timed("spark read, cold (session start)", on_spark)
    rows.append(row)
    got, row = timed("spark read, warm session", on_spark)
    rows.append(row)
    same = all(
        getattr(got, name)
        .sort(getattr(got, name).columns, nulls_last=True)
        .equals(getattr(want, name).sort(getattr(want, name).columns, nulls_last=True))
        for name in ("snapshot", "customers", "contacts", "complaints", "favourites")
    )
    engine = os.environ["WINBACK_DATABASE_URL"].split(":", 1)[0]
    print(
        f"\n{args.customers:,} customers ({engine}), {want.snapshot.height:,} candidates, "
        f"master {args.master}; frames equal: {same}\n"
    )
    print("| step | wall s | CPU s | load avg (1 min) |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['step']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['load']:.1f} |")


if __name__ == "__main__":
    main()
