"""Care tasks: the care plan made into work for the agents, and the agents' outcomes (R10).

:func:`materialise` turns what the care rules say is due over a range of days (cadence calls
and visits, birthday and holiday greetings) into :class:`CareTask` rows, each on a day and an
agent within the agent's daily capacity (win-back calls already planned take their share).
The contact gate judges every customer first: do-not-contact, no consent, a round's control
group, the global holdout, an open complaint or a contact cap keep a customer off the list.
:func:`record_outcome` is the agent's side: the outcome goes to the contact log, so the
customer's cadence moves on, and the task is done. The workbench, the API and the command
line call these and nothing else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from winback.app.actors import Actor, Permission, audit, require
from winback.app.care.service import due_frames
from winback.app.contacts import gate
from winback.app.contacts.service import mark_do_not_contact
from winback.app.settings.profile import current_profile
from winback.programme import care
from winback.store.accounts.models import Role, User
from winback.store.customers.models import ContactLog, ContactOutcome
from winback.store.programme.models import CareKind, CareStatus, CareTask
from winback.store.queries import care as care_store

# Greetings may go out this many days before the occasion, never after it.
GREETING_LEAD_DAYS = 2
# The longest range one plan covers.
MAX_PLAN_DAYS = 62
# The years a plan may fall in (the lunar calendar's, less a margin for the contact history).
PLAN_YEARS = (1902, 2098)
# How each kind of care task is logged in the contact log.
CHANNEL = {CareKind.CALL: "phone", CareKind.VISIT: "visit", CareKind.GREETING: "wechat"}


class CareTaskClosed(Exception):
    """The task is not open (done, or closed by the contact gate); ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Materialised:
    start: date
    end: date
    created: int
    due: int  # care tasks due in the range that were not already planned
    left_over: int  # due but no agent had room (a later plan picks them up)
    by_agent: dict[str, int] = field(default_factory=dict)


def check_range(start: date, end: date) -> None:
    """A plan covers at most :data:`MAX_PLAN_DAYS` days, forwards, within the years the
    calendar knows (ValueError otherwise)."""
    if end < start:
        raise ValueError("the range ends before it starts")
    if (end - start).days >= MAX_PLAN_DAYS:
        raise ValueError(f"plan at most {MAX_PLAN_DAYS} days at a time")
    if start.year < PLAN_YEARS[0] or end.year > PLAN_YEARS[1]:
        raise ValueError(f"plan within the years {PLAN_YEARS[0]}-{PLAN_YEARS[1]}")


def materialise(actor: Actor, start: date, end: date) -> Materialised:
    """Make the care tasks due from ``start`` to ``end`` (inclusive) and give them to agents."""
    require(actor, Permission.PLAN_ROUND)
    check_range(start, end)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    _snapshot, customers, due, greetings = due_frames(start, days=(end - start).days)
    wanted = pl.concat(
        [
            due.select(
                "customer_pk",
                kind="task",
                occasion=pl.lit("", dtype=pl.String),
                due_date="due_date",
            ),
            greetings.select(
                "customer_pk", kind=pl.lit("greeting"), occasion="occasion", due_date="due_date"
            ),
        ]
    )
    earliest_due = wanted["due_date"].min()
    due_from = earliest_due if isinstance(earliest_due, date) else start
    known = care_store.care_tasks_since(due_from=due_from)
    open_kinds = known.filter(pl.col("status") == CareStatus.OPEN).select("customer_pk", "kind")
    fresh = (
        wanted.join(known, on=["customer_pk", "kind", "occasion", "due_date"], how="anti")
        # One open call (or visit) per customer at a time; greetings are per occasion.
        .join(
            open_kinds.filter(pl.col("kind") != CareKind.GREETING).unique(),
            on=["customer_pk", "kind"],
            how="anti",
        )
        .with_row_index("key")
        .with_columns(pl.col("key").cast(pl.Int64))
    )
    ranked = care.day_list(
        fresh.join(
            customers.select("customer_pk", "abc_class", "tier", "early_warning", value="clv_365"),
            on="customer_pk",
            how="left",
        ).select(
            pl.col("key").alias("customer_pk"),
            pl.col("kind").alias("task"),
            "due_date",
            "abc_class",
            "tier",
            "early_warning",
            "value",
        ),
        as_of=start,
        capacity=0,
    ).select(pl.col("customer_pk").alias("key"), "quadrant", "value")
    greeting = pl.col("kind") == CareKind.GREETING
    candidates = fresh.join(ranked, on="key").with_columns(
        earliest=pl.max_horizontal(
            pl.lit(start),
            pl.when(greeting)
            .then(pl.col("due_date") - pl.duration(days=GREETING_LEAD_DAYS))
            .otherwise(pl.col("due_date")),
        ).cast(pl.Date),
        latest=pl.when(greeting).then(pl.col("due_date")).otherwise(None).cast(pl.Date),
    )
    placed = care.assign_days(candidates, _free_capacity(start, end, days), days)
    rows = candidates.join(placed, on="key", how="inner")
    with transaction.atomic():
        CareTask.objects.bulk_create(
            [
                CareTask(
                    customer_id=r["customer_pk"],
                    agent_id=r["agent_id"],
                    kind=r["kind"],
                    occasion=r["occasion"],
                    due_date=r["due_date"],
                    planned_date=r["planned_date"],
                )
                for r in rows.iter_rows(named=True)
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        by_agent = _names(rows.group_by("agent_id").len())
        result = Materialised(
            start=start,
            end=end,
            created=rows.height,
            due=fresh.height,
            left_over=fresh.height - rows.height,
            by_agent=by_agent,
        )
        audit(
            actor,
            "care_plan",
            object_type="care_tasks",
            object_id=f"{start}..{end}",
            detail={
                "created": result.created,
                "due": result.due,
                "left_over": result.left_over,
                "by_agent": by_agent,
            },
        )
    return result


def _free_capacity(start: date, end: date, days: list[date]) -> pl.DataFrame:
    agents = pl.DataFrame(
        list(
            User.objects.filter(role=Role.AGENT, is_active=True).values_list("pk", "daily_capacity")
        ),
        schema={"agent_id": pl.Int64(), "capacity": pl.Int64()},
        orient="row",
    )
    grid = agents.join(pl.DataFrame({"day": days}, schema={"day": pl.Date()}), how="cross")
    busy = care_store.agent_load(start=start, end=end)
    return grid.join(busy, on=["agent_id", "day"], how="left").select(
        "agent_id", "day", free=pl.col("capacity") - pl.col("taken").fill_null(0)
    )


def _names(counts: pl.DataFrame) -> dict[str, int]:
    names = dict(
        User.objects.filter(pk__in=counts["agent_id"].to_list()).values_list("pk", "username")
    )
    return {str(names.get(a, a)): int(n) for a, n in counts.sort("agent_id").iter_rows()}


def queue(actor: Actor, today: date) -> list[CareTask]:
    """The actor's open care tasks planned for today or earlier, gate-checked on ``today``:
    a customer the gate now stops is not shown (and the task cannot be worked)."""
    require(actor, Permission.VIEW_OWN_TASKS)
    if actor.user is None:
        return []
    tasks = list(
        CareTask.objects.filter(agent=actor.user, status=CareStatus.OPEN, planned_date__lte=today)
        .select_related("customer")
        .order_by("planned_date", "due_date", "pk")
    )
    if not tasks:
        return []
    stopped = set(gate.blocked_ids(sorted({t.customer_id for t in tasks}), on=today))
    return [t for t in tasks if t.customer_id not in stopped]


def task_for(actor: Actor, task_id: int) -> CareTask:
    """One care task, for its agent or a supervisor (PermissionDenied otherwise)."""
    task = CareTask.objects.select_related("customer", "agent").get(pk=task_id)
    if actor.user is not None and task.agent_id != actor.user_id:
        require(actor, Permission.VIEW_ALL_CUSTOMERS)
    else:
        require(actor, Permission.VIEW_OWN_TASKS)
    return task


def record_outcome(
    actor: Actor,
    task_id: int,
    *,
    outcome: str,
    notes: str = "",
    occurred_at: datetime | None = None,
) -> CareTask:
    """The agent records how the care call, visit or greeting went: the contact goes to the
    contact log and the task is done. Only the task's own agent (or the system) may; a
    customer the gate now stops closes the task instead (:class:`gate.ContactNotAllowed`)."""
    require(actor, Permission.LOG_CONTACT)
    if outcome not in ContactOutcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    profile = current_profile()
    when = occurred_at or timezone.now()
    day = timezone.localtime(when, ZoneInfo(profile.time_zone)).date()
    with transaction.atomic():
        task = CareTask.objects.select_for_update().select_related("customer").get(pk=task_id)
        if actor.user is not None and task.agent_id != actor.user_id:
            raise PermissionDenied(f"{actor.name} may not record care task {task_id}")
        if task.status != CareStatus.OPEN:
            raise CareTaskClosed(str(task.status))
        reason = gate.reason_for(task.customer_id, on=day)
        if reason is not None:
            task.status = CareStatus.CLOSED
            task.closed_reason = reason
            task.save(update_fields=["status", "closed_reason"])
            audit(
                actor, "care_task_closed", object_type="care_task", object_id=task.pk, reason=reason
            )
    if reason is not None:  # the closing is kept: nobody works the task any more
        raise gate.ContactNotAllowed(reason)
    with transaction.atomic():
        task = CareTask.objects.select_for_update().get(pk=task_id)
        if task.status != CareStatus.OPEN:  # a second press of Save while the first wrote
            raise CareTaskClosed(str(task.status))
        log = ContactLog.objects.create(
            source_key=f"care:{uuid.uuid4().hex}",
            customer_id=task.customer_id,
            channel=CHANNEL[CareKind(task.kind)],
            agent=actor.user,
            agent_name=actor.user.get_username() if actor.user else "",
            outcome=outcome,
            occurred_at=when,
            occurred_date=day,
            notes=notes,
        )
        task.status = CareStatus.DONE
        task.outcome = outcome
        task.notes = notes
        task.completed_at = when
        task.contact_log = log
        task.save(update_fields=["status", "outcome", "notes", "completed_at", "contact_log"])
        audit(
            actor,
            "care_outcome",
            object_type="care_task",
            object_id=task.pk,
            detail={"outcome": outcome, "kind": task.kind},
        )
        if outcome == ContactOutcome.DO_NOT_CONTACT:
            mark_do_not_contact(task.customer_id, on=day, source="contact", user=actor.user)
            CareTask.objects.filter(customer_id=task.customer_id, status=CareStatus.OPEN).update(
                status=CareStatus.CLOSED, closed_reason="do_not_contact"
            )
    return task


def open_by_agent() -> list[dict[str, object]]:
    """Open care tasks per agent and kind (the planning page's table)."""
    from django.db.models import Count

    rows = (
        CareTask.objects.filter(status=CareStatus.OPEN)
        .values("agent__username", "kind")
        .annotate(n=Count("id"))
        .order_by("agent__username", "kind")
    )
    out: dict[str, dict[str, object]] = {}
    for r in rows:
        name = r["agent__username"] or "-"
        entry = out.setdefault(name, {"agent": name, "call": 0, "visit": 0, "greeting": 0})
        entry[str(r["kind"])] = r["n"]
    return list(out.values())
