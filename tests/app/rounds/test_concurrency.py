"""Many agents logging outcomes on the same tasks at once (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor
from winback.config import PROFILE_BOUNDS

THREADS = 50
WRITES_PER_THREAD = 3
TASKS = 8


@pytest.mark.slow
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_contacts_lose_no_update_and_assign_nobody_twice() -> None:
    from django.db import connection

    from winback.app.rounds.service import StaleWrite, log_contact, plan_round
    from winback.app.settings.profile import set_profile
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import CallTask, ContactAttempt

    # every writer's attempt must fit under the per-round cap, which the profile bounds at 20
    most_per_task = max(
        sum(1 for k in range(THREADS) for i in range(WRITES_PER_THREAD) if (k + i) % TASKS == t)
        for t in range(TASKS)
    )
    cap = int(PROFILE_BOUNDS["programme.contacts_per_round"].high)
    assert most_per_task <= cap
    set_profile(None, {"programme": {"contacts_per_round": cap}})
    build_world(n=120)
    rnd = plan_round(Actor.system(), month=MONTH, seed=1, agents=team()).round
    tasks = list(rnd.tasks.order_by("pk")[:TASKS])
    agents_before = {t.pk: t.agent_id for t in tasks}
    returned: dict[int, list[int]] = defaultdict(list)
    conflicts = [0]
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(k: int) -> None:
        try:
            start.wait()
            for i in range(WRITES_PER_THREAD):
                task = tasks[(k + i) % TASKS]  # overlapping: ~19 writers per task
                while True:
                    version = CallTask.objects.get(pk=task.pk).version
                    try:
                        done = log_contact(
                            task.pk,
                            agent=task.agent,
                            outcome="not_reached",
                            expected_version=version,
                        )
                    except StaleWrite:
                        with lock:
                            conflicts[0] += 1
                        continue
                    with lock:
                        returned[task.pk].append(done.version)
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    expected = defaultdict(int)
    for k in range(THREADS):
        for i in range(WRITES_PER_THREAD):
            expected[tasks[(k + i) % TASKS].pk] += 1
    for task in tasks:
        task.refresh_from_db()
        n = expected[task.pk]
        assert task.attempts == n  # no lost update
        assert task.version == 1 + n
        assert sorted(returned[task.pk]) == list(range(2, n + 2))  # each version once
        assert ContactAttempt.objects.filter(task=task).count() == n
        logged = ContactLog.objects.filter(
            customer_id=task.customer_id, source_key__startswith="programme:"
        )
        assert logged.count() == n
        assert task.agent_id == agents_before[task.pk]
    assert CallTask.objects.filter(round=rnd).count() == rnd.summary["assigned"]
    assert (
        CallTask.objects.filter(round=rnd).values("customer").distinct().count()
        == rnd.summary["assigned"]
    )
    print(f"\n{sum(expected.values())} writes, {conflicts[0]} stale-version retries")
