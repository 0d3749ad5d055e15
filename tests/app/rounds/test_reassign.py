"""Issue 15: supervisors reassign open calls: one, many or all of an agent's, to one agent or
spread evenly over the active agents senior enough, with due dates within capacity."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Count

from tests.factories.workbench import build_world, customer, user
from winback.app.actors import Actor
from winback.store.accounts.models import AuditLog, Role
from winback.store.programme.models import CallTask, RoundMember, TaskStatus

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 16)  # a Monday


def _world_with_load(n: int = 30):  # type: ignore[no-untyped-def]
    world = build_world(extra_customers=n)  # agent1 holds n + 1 open tasks
    return world


def test_distribute_spreads_evenly_and_respects_seniority() -> None:
    from winback.app.rounds.reassign import distribute

    tasks = pl.DataFrame(
        {"task_id": list(range(12)), "required_seniority": [3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1]}
    )
    agents = pl.DataFrame(
        {"agent_id": [10, 11, 12], "seniority": [3, 1, 2], "open_tasks": [0, 0, 0]}
    )
    out = distribute(tasks, agents, to_agent=None)
    got = dict(out.select("task_id", "new_agent").iter_rows())
    assert got[0] == got[1] == 10  # only the senior agent may take level 3
    assert {got[6], got[7]} <= {10, 12}
    counts = Counter(got.values())
    assert max(counts.values()) - min(counts.values()) <= 1
    one = distribute(tasks, agents, to_agent=11)
    assert one.filter(pl.col("new_agent").is_null())["task_id"].to_list() == [0, 1, 6, 7]


def test_all_of_a_deactivated_agents_tasks_move_in_one_action() -> None:
    from winback.app.rounds.reassign import reassign_tasks

    world = _world_with_load(30)
    extra = user("agent3", Role.AGENT)
    world.agent1.is_active = False
    world.agent1.save(update_fields=["is_active"])
    held = CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN).count()
    assert held == 31
    done = reassign_tasks(Actor.of(world.supervisor), on=TODAY, from_agent=world.agent1.pk)
    assert done.moved == 31
    assert done.skipped == 0
    assert not CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN).exists()
    per_agent = dict(
        CallTask.objects.filter(status=TaskStatus.OPEN)
        .values_list("agent_id")
        .order_by()
        .annotate(n=Count("pk"))
    )
    # agent2 held one already: the 31 are dealt so the loads end even.
    assert abs(per_agent[world.agent2.pk] - per_agent[extra.pk]) <= 1
    # New due dates: working days from today, never more than capacity due a day.
    moved = (
        CallTask.objects.filter(status=TaskStatus.OPEN)
        .exclude(pk=world.task_theirs.pk)
        .values_list("agent_id", "next_due")
    )
    load = Counter(moved)
    for (_agent_id, due), n in load.items():
        assert due >= TODAY
        assert due.weekday() < 5
        assert n <= 40
    row = AuditLog.objects.get(action="reassign_tasks")
    assert row.detail["moved"] == 31
    assert row.detail["spread"] is True
    assert len(row.detail["tasks"]) == 31


def test_ticked_tasks_go_to_one_agent_within_capacity_and_seniority() -> None:
    from winback.app.rounds.reassign import NoAgentToTake, reassign_tasks

    world = _world_with_load(12)
    junior = user("junior", Role.AGENT)
    junior.seniority, junior.daily_capacity = 1, 5
    junior.save(update_fields=["seniority", "daily_capacity"])
    ids = list(
        CallTask.objects.filter(agent=world.agent1).order_by("pk").values_list("pk", flat=True)
    )[:8]
    # One of them needs a senior agent: it stays.
    RoundMember.objects.filter(
        round=world.round, customer_id=CallTask.objects.get(pk=ids[0]).customer_id
    ).update(required_seniority=3)
    done = reassign_tasks(Actor.of(world.supervisor), on=TODAY, task_ids=ids, to_agent=junior.pk)
    assert done.moved == 7
    assert done.skipped == 1
    assert CallTask.objects.get(pk=ids[0]).agent_id == world.agent1.pk
    dues = Counter(CallTask.objects.filter(agent=junior).values_list("next_due", flat=True))
    assert dues == {TODAY: 5, TODAY + timedelta(days=1): 2}  # 5 a day
    with pytest.raises(NoAgentToTake):
        reassign_tasks(Actor.of(world.supervisor), on=TODAY, task_ids=ids, to_agent=999)
    with pytest.raises(PermissionDenied):
        reassign_tasks(Actor.of(world.agent2), on=TODAY, task_ids=ids, to_agent=junior.pk)


def test_a_callback_date_still_ahead_is_kept_and_closed_tasks_never_move() -> None:
    from winback.app.rounds.reassign import reassign_tasks

    world = build_world()
    later = TODAY + timedelta(days=10)
    CallTask.objects.filter(pk=world.task_mine.pk).update(next_due=later)
    c = customer("C-DONE", "13800000000")
    done_task = CallTask.objects.create(
        round=world.round, customer=c, agent=world.agent1, status=TaskStatus.DONE
    )
    result = reassign_tasks(
        Actor.of(world.supervisor),
        on=TODAY,
        task_ids=[world.task_mine.pk, done_task.pk],
        to_agent=world.agent2.pk,
    )
    assert result.moved == 1
    moved = CallTask.objects.get(pk=world.task_mine.pk)
    assert (moved.agent_id, moved.next_due) == (world.agent2.pk, later)
    assert moved.version == world.task_mine.version + 1
    assert CallTask.objects.get(pk=done_task.pk).agent_id == world.agent1.pk


def test_a_reassigned_task_keeps_its_channel_and_menu_which_do_not_depend_on_the_agent() -> None:
    """The planner derives the channel from the reason's or the stage's playbook and the menu
    before any agent is chosen (winback.programme.rounds.plan_round): neither changes hands."""
    from winback.app.rounds.reassign import reassign_tasks

    world = _world_with_load(2)
    menu = [{"offer_code": "V20", "kind": "voucher", "cost": 20.0, "menu_rank": 1}]
    CallTask.objects.filter(pk=world.task_mine.pk).update(offer_menu=menu)
    RoundMember.objects.filter(round=world.round, customer=world.mine).update(channel="wechat")
    reassign_tasks(
        Actor.of(world.supervisor),
        on=TODAY,
        task_ids=[world.task_mine.pk],
        to_agent=world.agent2.pk,
    )
    task = CallTask.objects.get(pk=world.task_mine.pk)
    assert task.agent_id == world.agent2.pk
    assert task.menu.codes == ("V20",)
    member = RoundMember.objects.get(round=world.round, customer=world.mine)
    assert member.channel == "wechat"


def test_care_tasks_move_within_capacity_and_a_greeting_never_after_its_occasion() -> None:
    from winback.app.rounds.reassign import reassign_care_tasks
    from winback.store.programme.models import CareTask

    world = build_world()
    junior = user("junior", Role.AGENT)
    junior.daily_capacity = 2
    junior.save(update_fields=["daily_capacity"])
    made = [
        CareTask.objects.create(
            customer=customer(f"K{i:02d}", f"1360000{i:04d}"),
            agent=world.agent1,
            kind="call",
            due_date=TODAY - timedelta(days=3),
            planned_date=TODAY - timedelta(days=3),
        )
        for i in range(4)
    ]
    greeting = CareTask.objects.create(
        customer=customer("KG", "13600009999"),
        agent=world.agent1,
        kind="greeting",
        occasion="birthday",
        due_date=TODAY,
        planned_date=TODAY,
    )
    done = reassign_care_tasks(
        Actor.of(world.supervisor), on=TODAY, from_agent=world.agent1.pk, to_agent=junior.pk
    )
    assert done.moved == 5
    days = Counter(CareTask.objects.filter(agent=junior).values_list("planned_date", flat=True))
    assert all(n <= 2 for n in days.values())  # the junior's two a day
    assert min(days) == TODAY
    assert CareTask.objects.get(pk=greeting.pk).planned_date <= TODAY
    assert {t.pk for t in CareTask.objects.filter(agent=junior)} == {
        *(t.pk for t in made),
        greeting.pk,
    }
    row = AuditLog.objects.get(action="reassign_care_tasks")
    assert row.detail["moved"] == 5
    with pytest.raises(PermissionDenied):
        reassign_care_tasks(Actor.of(world.agent2), on=TODAY, from_agent=junior.pk)
