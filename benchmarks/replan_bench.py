"""What the re-plan after a reason costs a logged contact, and print the figures.

    python benchmarks/replan_bench.py --customers 20000 --contacts 200
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench \\
        python benchmarks/replan_bench.py --customers 100000

Builds the store of ``round_plan_db_bench.py`` (N customers, snapshot, contact history, 50
agents; not timed), plans the round, then logs ``--contacts`` contacts through ``log_contact``
on distinct tasks: half reach the customer without a reason (nothing to re-plan), half record
``attitude`` (the task is re-planned: snapshot row, favourites, the menu rules for one
customer, the writes and the audit row). Prints the median and 95th percentile per contact of
both, and of the re-plan's own computation (``propose``, read-only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from round_plan_db_bench import MONTH, load


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"


def measure(contacts: int, seed: int) -> dict[str, list[float]]:
    from winback.app.contacts.replan import propose
    from winback.app.contacts.service import log_contact
    from winback.app.rounds import planning
    from winback.store.accounts.models import AuditLog
    from winback.store.programme.models import CallTask, RoundMember

    with_time = time.perf_counter()
    rnd = planning.plan_and_store(MONTH, seed=seed)
    print(f"plan and store the round {time.perf_counter() - with_time:.1f} s")
    tasks = list(
        CallTask.objects.filter(round=rnd).select_related("round", "customer").order_by("pk")
    )[: 2 * contacts]
    figures: dict[str, list[float]] = {"no reason": [], "attitude (re-plan)": [], "propose": []}
    for i, task in enumerate(tasks):
        member = RoundMember.objects.get(round=rnd, customer_id=task.customer_id)
        if i % 2:
            t0 = time.perf_counter()
            propose(task, member, "attitude")
            figures["propose"].append(time.perf_counter() - t0)
        reason = "attitude" if i % 2 else ""
        t0 = time.perf_counter()
        log_contact(
            task.pk,
            agent=None,
            outcome="reached",
            reason_code=reason,
            expected_version=task.version,
        )
        figures["attitude (re-plan)" if reason else "no reason"].append(time.perf_counter() - t0)
    replans = AuditLog.objects.filter(action="replan_task").count()
    print(f"tasks {len(tasks)}, re-plans that changed the task {replans}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="winback-replan-bench-"))
    os.environ.setdefault("WINBACK_DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ["WINBACK_DATA_DIR"] = str(folder)
    from winback.store.bootstrap import setup

    setup()
    print(f"database {os.environ['WINBACK_DATABASE_URL']}, {args.customers:,} customers")
    load(args.customers, args.seed)
    for name, values in measure(args.contacts, args.seed).items():
        print(f"{name:<20}{_ms(values)}  ({len(values)} contacts)")


if __name__ == "__main__":
    main()
