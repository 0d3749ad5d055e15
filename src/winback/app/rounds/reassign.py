"""Handing open call tasks to other agents (supervisors): one, many, or all of an agent's.

* :func:`reassign_tasks` - the use case behind the round's and the agent's reassignment pages:
  the chosen open tasks go to one agent, or are spread evenly over the active agents; a task
  goes only to an agent whose seniority meets the member's ``required_seniority`` (a task no
  such agent can take stays where it is and is counted). The moved tasks get new due dates
  over working days from today within each receiving agent's daily capacity, counting what
  the agent already has due (:func:`winback.programme.assignment.spread_due_dates`); a task
  with a callback date still ahead keeps it. One audit row names the tasks and the agents.
* :func:`reassign_care_tasks` - the same for open care tasks (calls, visits, greetings): one,
  many or all of an agent's, to one agent or spread over the active agents (care asks no
  seniority); a task still planned ahead keeps its day, the others get days from today within
  the receiving agent's daily capacity, counting the calls and care tasks they already have.
  A greeting keeps at most its occasion's day. One audit row (``reassign_care_tasks``).
* :func:`open_tasks_of`, :func:`open_care_tasks_of` - the tasks a reassignment page lists.

The distribution is computed on frames (:func:`distribute`); the writes are one UPDATE per
(agent, due date) group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from winback.app.actors import Actor, Permission, audit, require
from winback.programme.assignment import LEVELS, days_off, spread_due_dates
from winback.programme.care import HolidayCalendar
from winback.store.accounts.models import Role, User
from winback.store.programme.models import (
    CallTask,
    CareKind,
    CareStatus,
    CareTask,
    RoundMember,
    TaskStatus,
)
from winback.store.queries import care as care_store

# Tasks named in the audit row (the counts are always complete).
AUDIT_TASK_IDS = 500


class NoAgentToTake(ValueError):
    """No active agent (other than the tasks' own) can take the tasks."""


@dataclass(frozen=True)
class Reassigned:
    moved: int
    skipped: int  # tasks no chosen agent was senior enough for
    per_agent: dict[int, int] = field(default_factory=dict)


def active_agents(*, exclude: int | None = None) -> list[User]:
    agents = User.objects.filter(role=Role.AGENT, is_active=True).order_by("username", "pk")
    return list(agents.exclude(pk=exclude) if exclude is not None else agents)


def open_task_count(*, agent_id: int) -> int:
    """How many open tasks the agent holds (calls and care tasks)."""
    calls = CallTask.objects.filter(agent_id=agent_id, status=TaskStatus.OPEN).count()
    return calls + CareTask.objects.filter(agent_id=agent_id, status=CareStatus.OPEN).count()


def open_care_tasks_of(*, agent_id: int) -> QuerySet[CareTask]:
    """Open care tasks of an agent, with customer and agent, by planned day."""
    return (
        CareTask.objects.filter(status=CareStatus.OPEN, agent_id=agent_id)
        .select_related("customer", "agent")
        .order_by("planned_date", "pk")
    )


def open_tasks_of(
    *, round_id: int | None = None, agent_id: int | None = None
) -> QuerySet[CallTask]:
    """Open tasks of a round and/or an agent, with customer, agent and required seniority."""
    tasks = CallTask.objects.filter(status=TaskStatus.OPEN)
    if round_id is not None:
        tasks = tasks.filter(round_id=round_id)
    if agent_id is not None:
        tasks = tasks.filter(agent_id=agent_id)
    seniority = RoundMember.objects.filter(
        round_id=OuterRef("round_id"), customer_id=OuterRef("customer_id")
    ).values("required_seniority")[:1]
    return (
        tasks.select_related("customer", "agent", "round")
        .annotate(required_seniority=Subquery(seniority))
        .order_by("next_due", "pk")
    )


def distribute(tasks: pl.DataFrame, agents: pl.DataFrame, *, to_agent: int | None) -> pl.DataFrame:
    """``tasks`` (``task_id``, ``required_seniority``, in order) plus ``new_agent`` (null: no
    chosen agent is senior enough). ``agents``: ``agent_id``, ``seniority``, ``open_tasks``
    (their load now). With ``to_agent`` every task that agent may take goes to them; else the
    most demanding tasks go first, each task of a level to the least loaded agent senior
    enough (ties: the lower id), so the loads end as even as the seniority rules allow."""
    tasks = tasks.with_columns(pl.col("required_seniority").fill_null(1).cast(pl.Int64))
    if to_agent is not None:
        target = agents.filter(pl.col("agent_id") == to_agent)
        level = int(target["seniority"][0]) if target.height else 0
        return tasks.with_columns(
            new_agent=pl.when(pl.col("required_seniority") <= level)
            .then(pl.lit(to_agent, dtype=pl.Int64))
            .otherwise(pl.lit(None, dtype=pl.Int64))
        )
    load = agents.select("agent_id", "seniority", pl.col("open_tasks").cast(pl.Int64))
    parts: list[pl.DataFrame] = []
    # Three levels at most: each step deals one level's tasks at once.
    for level in LEVELS:
        group = tasks.filter(pl.col("required_seniority") == level)
        pool = load.filter(pl.col("seniority") >= level).sort("open_tasks", "agent_id")
        if group.height == 0:
            continue
        if pool.height == 0:
            parts.append(group.with_columns(new_agent=pl.lit(None, dtype=pl.Int64)))
            continue
        # Greedy least-loaded, on frames: agent i's j-th new task is a slot keyed by the load
        # it would add to (l_i + j); the level's tasks take the smallest keys in order.
        slots = (
            pool.with_columns(_j=pl.int_ranges(0, group.height, dtype=pl.Int64))
            .explode("_j")
            .with_columns(_key=pl.col("open_tasks") + pl.col("_j"))
            .sort("_key", "agent_id")
            .head(group.height)
            .with_row_index("_slot")
            .select(pl.col("_slot").cast(pl.Int64), new_agent="agent_id")
        )
        dealt = (
            group.with_columns(_slot=pl.int_range(pl.len(), dtype=pl.Int64))
            .join(slots, on="_slot", how="left")
            .drop("_slot")
        )
        parts.append(dealt)
        got = dealt.group_by("new_agent").len().rename({"new_agent": "agent_id", "len": "_got"})
        load = (
            load.join(got, on="agent_id", how="left")
            .with_columns(open_tasks=pl.col("open_tasks") + pl.col("_got").fill_null(0))
            .drop("_got")
        )
    if not parts:
        return tasks.with_columns(new_agent=pl.lit(None, dtype=pl.Int64))
    out = pl.concat(parts, how="vertical_relaxed")
    return tasks.join(out.select("task_id", "new_agent"), on="task_id", how="left")


def reassign_tasks(
    actor: Actor,
    *,
    on: date,
    task_ids: Sequence[int] | None = None,
    from_agent: int | None = None,
    round_id: int | None = None,
    to_agent: int | None = None,
    reason: str = "",
) -> Reassigned:
    """Move open tasks to ``to_agent`` or, when None, spread them evenly over the active agents.

    The tasks: ``task_ids`` (open ones only), else every open task of ``from_agent``; both
    narrowed to ``round_id`` when given. Spreading gives no task to an agent holding any of
    the chosen tasks while another active agent can take it."""
    require(actor, Permission.PLAN_ROUND)
    if task_ids is None and from_agent is None:
        raise ValueError("name the tasks or the agent whose tasks move")
    with transaction.atomic():
        chosen = CallTask.objects.select_for_update().filter(status=TaskStatus.OPEN)
        if task_ids is not None:
            chosen = chosen.filter(pk__in=list(task_ids))
        if from_agent is not None:
            chosen = chosen.filter(agent_id=from_agent)
        if round_id is not None:
            chosen = chosen.filter(round_id=round_id)
        tasks = _task_frame(chosen)
        if tasks.height == 0:
            return Reassigned(moved=0, skipped=0)
        agents = _receiving_agents(tasks, from_agent=from_agent, to_agent=to_agent)
        dealt = distribute(tasks, agents, to_agent=to_agent)
        moved = dealt.filter(pl.col("new_agent").is_not_null())
        dated = _dated(moved, agents, on=on)
        _write(dated)
        per_agent = {int(a): int(n) for a, n in dated.group_by("new_agent").len().iter_rows()}
        result = Reassigned(
            moved=dated.height, skipped=dealt.height - dated.height, per_agent=per_agent
        )
        audit(
            actor,
            "reassign_tasks",
            object_type="round" if round_id is not None else "agent",
            object_id=round_id if round_id is not None else (from_agent or ""),
            reason=reason,
            detail={
                "moved": result.moved,
                "skipped": result.skipped,
                "from_agent": from_agent,
                "to_agent": to_agent,
                "spread": to_agent is None,
                "per_agent": {str(k): v for k, v in sorted(per_agent.items())},
                "tasks": dated["task_id"].sort().head(AUDIT_TASK_IDS).to_list(),
            },
        )
    return result


def _task_frame(chosen: QuerySet[CallTask]) -> pl.DataFrame:
    seniority = RoundMember.objects.filter(
        round_id=OuterRef("round_id"), customer_id=OuterRef("customer_id")
    ).values("required_seniority")[:1]
    rows = list(
        chosen.annotate(required_seniority=Subquery(seniority))
        .order_by("next_due", "pk")
        .values_list("pk", "agent_id", "required_seniority", "next_due")
    )
    return pl.DataFrame(
        rows,
        schema={
            "task_id": pl.Int64(),
            "agent_id": pl.Int64(),
            "required_seniority": pl.Int64(),
            "next_due": pl.Date(),
        },
        orient="row",
    )


def _agent_frame(*, exclude: int | None) -> pl.DataFrame:
    users = (
        User.objects.filter(role=Role.AGENT, is_active=True)
        .annotate(open_tasks=Count("call_tasks", filter=Q(call_tasks__status=TaskStatus.OPEN)))
        .order_by("pk")
    )
    if exclude is not None:
        users = users.exclude(pk=exclude)
    return pl.DataFrame(
        list(users.values_list("pk", "seniority", "daily_capacity", "open_tasks")),
        schema={
            "agent_id": pl.Int64(),
            "seniority": pl.Int64(),
            "daily_capacity": pl.Int64(),
            "open_tasks": pl.Int64(),
        },
        orient="row",
    )


def _dated(moved: pl.DataFrame, agents: pl.DataFrame, *, on: date) -> pl.DataFrame:
    """``task_id``, ``new_agent``, ``next_due``: a task whose due date is still ahead keeps it;
    the others are spread from ``on`` within the receiving agent's free places."""
    keep = moved.filter(pl.col("next_due").is_not_null() & (pl.col("next_due") > on))
    spread = moved.filter(pl.col("next_due").is_null() | (pl.col("next_due") <= on))
    booked = booked_due([int(a) for a in spread["new_agent"].unique().to_list()], on)
    caps = agents.select(new_agent="agent_id", daily_capacity="daily_capacity")
    holidays = days_off(HolidayCalendar.default(), on, on + timedelta(days=366))
    placed = spread_due_dates(
        spread.join(caps, on="new_agent", how="left")
        .rename({"agent_id": "old_agent"})
        .with_columns(agent_id=pl.col("new_agent")),
        start=on,
        holidays=holidays,
        booked=booked,
    ).select("task_id", "new_agent", next_due="planned_date")
    return pl.concat([keep.select("task_id", "new_agent", "next_due"), placed])


def booked_due(agent_ids: list[int], on: date) -> pl.DataFrame:
    """Open tasks already due per receiving agent and day, calls and care tasks together
    (from ``on``; overdue ones count on ``on``): the load care planning counts too."""
    load = care_store.agent_load(start=None, end=None, agent_ids=agent_ids)
    return load.select("agent_id", due_date=pl.max_horizontal("day", pl.lit(on)), n="taken")


def _write(dated: pl.DataFrame) -> None:
    """One UPDATE per (agent, due date): agent and due date set, version bumped."""
    now = timezone.now()
    groups = dated.group_by("new_agent", "next_due").agg(pl.col("task_id"))
    for agent_id, due, ids in groups.iter_rows():
        CallTask.objects.filter(pk__in=ids, status=TaskStatus.OPEN).update(
            agent_id=agent_id, next_due=due, version=F("version") + 1, updated_at=now
        )


def agents_with_open_tasks(*, round_id: int) -> list[dict[str, object]]:
    """The agents holding open tasks of the round: ``agent_id``, ``username``, ``active``,
    ``open`` (one grouped query)."""
    return [
        {"agent_id": a, "username": u or "-", "active": bool(act), "open": n}
        for a, u, act, n in CallTask.objects.filter(round_id=round_id, status=TaskStatus.OPEN)
        .values_list("agent_id", "agent__username", "agent__is_active")
        .order_by("agent__username")
        .annotate(n=Count("pk"))
    ]


def _care_order(row: tuple[int, int, date, str, date]) -> tuple[bool, date, int]:
    greeting = row[3] == CareKind.GREETING
    return (not greeting, row[4] if greeting else row[2], row[0])


def reassign_care_tasks(
    actor: Actor,
    *,
    on: date,
    task_ids: Sequence[int] | None = None,
    from_agent: int | None = None,
    to_agent: int | None = None,
    reason: str = "",
) -> Reassigned:
    """Move open care tasks to ``to_agent`` or, when None, spread them evenly over the
    active agents other than their holders (see the module doc)."""
    require(actor, Permission.PLAN_ROUND)
    if task_ids is None and from_agent is None:
        raise ValueError("name the care tasks or the agent whose care tasks move")
    with transaction.atomic():
        chosen = CareTask.objects.select_for_update().filter(status=CareStatus.OPEN)
        if task_ids is not None:
            chosen = chosen.filter(pk__in=list(task_ids))
        if from_agent is not None:
            chosen = chosen.filter(agent_id=from_agent)
        # Greetings first, the nearest occasion first: they may not slip past their day.
        rows = sorted(
            chosen.values_list("pk", "agent_id", "planned_date", "kind", "due_date"),
            key=lambda r: (
                r[3] != CareKind.GREETING,
                r[4] if r[3] == CareKind.GREETING else r[2],
                r[0],
            ),
        )
        tasks = pl.DataFrame(
            rows,
            schema={
                "task_id": pl.Int64(),
                "agent_id": pl.Int64(),
                "next_due": pl.Date(),
                "kind": pl.String(),
                "due_date": pl.Date(),
            },
            orient="row",
        ).with_columns(required_seniority=pl.lit(1, dtype=pl.Int64))
        if tasks.height == 0:
            return Reassigned(moved=0, skipped=0)
        agents = _receiving_agents(tasks, from_agent=from_agent, to_agent=to_agent)
        dealt = distribute(tasks, agents, to_agent=to_agent)
        moved = dealt.filter(pl.col("new_agent").is_not_null())
        dated = _dated(moved.drop("kind", "due_date"), agents, on=on)
        # A greeting is never planned after its occasion (it may go out before it).
        dated = (
            dated.join(moved.select("task_id", "kind", "due_date"), on="task_id")
            .with_columns(
                next_due=pl.when(pl.col("kind") == CareKind.GREETING.value)
                .then(pl.min_horizontal("next_due", "due_date"))
                .otherwise("next_due")
            )
            .select("task_id", "new_agent", "next_due")
        )
        now_groups = dated.group_by("new_agent", "next_due").agg(pl.col("task_id"))
        for agent_id, day, ids in now_groups.iter_rows():
            CareTask.objects.filter(pk__in=ids, status=CareStatus.OPEN).update(
                agent_id=agent_id, planned_date=day
            )
        per_agent = {int(a): int(n) for a, n in dated.group_by("new_agent").len().iter_rows()}
        result = Reassigned(moved=dated.height, skipped=0, per_agent=per_agent)
        audit(
            actor,
            "reassign_care_tasks",
            object_type="agent",
            object_id=from_agent or "",
            reason=reason,
            detail={
                "moved": result.moved,
                "from_agent": from_agent,
                "to_agent": to_agent,
                "spread": to_agent is None,
                "per_agent": {str(k): v for k, v in sorted(per_agent.items())},
                "care_tasks": dated["task_id"].sort().head(AUDIT_TASK_IDS).to_list(),
            },
        )
    return result


def _receiving_agents(
    tasks: pl.DataFrame, *, from_agent: int | None, to_agent: int | None
) -> pl.DataFrame:
    """The active agents who may take ``tasks``: ``to_agent`` alone when named, else everyone
    but ``from_agent``. Spreading hands tasks to agents other than their holders, unless the
    holders are all the active agents there are (a round's calls shuffled among the same team)."""
    agents = _agent_frame(exclude=from_agent if to_agent is None else None)
    if to_agent is not None and to_agent not in agents["agent_id"].to_list():
        raise NoAgentToTake(str(to_agent))
    if to_agent is None:
        others = agents.filter(~pl.col("agent_id").is_in(tasks["agent_id"].unique().implode()))
        agents = others if others.height else agents
    if agents.height == 0:
        raise NoAgentToTake("")
    return agents
