"""Time the agent's queue with win-back calls and care tasks together, and count its queries.

    python benchmarks/queue_bench.py --calls 2000 --care 2000
    WINBACK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/winback_bench_queue \\
        python benchmarks/queue_bench.py --calls 2000 --care 2000

Makes one agent holding ``--calls`` open win-back calls (one round) and ``--care`` open care
tasks, a third of each due today, a third overdue, a third later (not timed; a fresh SQLite
file unless WINBACK_DATABASE_URL is set, whose database is flushed first). Then prints, for
each tab and for a search, the median of five calls of ``agent_queue`` (which asks the contact
gate for every open task of the agent) and its number of queries, and the same for
``next_task`` ("save and next").
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--care", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="winback-queue-"))
    os.environ["WINBACK_DATA_DIR"] = str(folder / "data")
    from winback.store.bootstrap import setup

    setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from winback.app.customers.queue import CARE, QueueQuery, agent_queue, next_task
    from winback.store.accounts.models import Role, User
    from winback.store.customers.models import Customer
    from winback.store.programme.models import CallTask, CareTask, Round, RoundMember

    call_command("flush", interactive=False, verbosity=0)
    today = date.today()
    agent = User.objects.create(username="bench-agent", role=Role.AGENT, daily_capacity=40)
    rnd = Round.objects.create(
        month=today.replace(day=1),
        seed=1,
        holdout_share=0.1,
        as_of=today,
        round_start=today - timedelta(days=5),
        round_end=today + timedelta(days=25),
    )
    n = args.calls + args.care
    Customer.objects.bulk_create(
        [Customer(external_id=f"Q{i:06d}", name=f"N{i}", phone=f"138{i:08d}") for i in range(n)],
        batch_size=2000,
    )
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    shift = (-2, 0, 3)
    RoundMember.objects.bulk_create(
        [
            RoundMember(round=rnd, customer_id=c, arm="treated", stage="sleeping", priority_rank=i)
            for i, c in enumerate(ids[: args.calls])
        ],
        batch_size=2000,
    )
    CallTask.objects.bulk_create(
        [
            CallTask(
                round=rnd,
                customer_id=c,
                agent=agent,
                next_due=today + timedelta(days=shift[i % 3]),
                planned_date=today,
            )
            for i, c in enumerate(ids[: args.calls])
        ],
        batch_size=2000,
    )
    CareTask.objects.bulk_create(
        [
            CareTask(
                customer_id=c,
                agent=agent,
                kind="call",
                due_date=today + timedelta(days=shift[i % 3]),
                planned_date=today + timedelta(days=shift[i % 3]),
            )
            for i, c in enumerate(ids[args.calls :])
        ],
        batch_size=2000,
    )
    print(f"{connection.vendor}: {args.calls} open calls and {args.care} open care tasks")

    def timed(label: str, run: object) -> None:
        seconds = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                run()  # type: ignore[operator]
                seconds.append(time.perf_counter() - t)
        print(f"{label}: {statistics.median(seconds) * 1000:.0f} ms, {len(queries)} queries")

    for tab in ("today", "overdue", "scheduled", "done"):
        query = QueueQuery(tab=tab)
        timed(f"queue tab {tab}", lambda q=query: agent_queue(agent, q, today=today, lang="en"))
    query = QueueQuery(tab="today", q="Q0001")
    timed("queue search", lambda: agent_queue(agent, query, today=today, lang="en"))
    first = CareTask.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    timed(
        "save and next",
        lambda: next_task(
            agent, QueueQuery(tab="today"), after=first, today=today, after_kind=CARE
        ),
    )


if __name__ == "__main__":
    main()
