"""Each agent's work in a round: the board's progress table and the agent's drill-down page.

The counts have one definition each, the same on every page (and in the monthly report's
agent section, :func:`winback.reporting.metrics.agent_effort`):

* **attempts**: contact attempts recorded (one per call made, whatever its outcome);
* **reached**: attempts whose outcome means the customer was spoken to
  (:data:`winback.reporting.metrics.REACHED`: reached, refused, call back later, asked not to
  be contacted);
* **completed**: call tasks done (the task needs no further call);
* **won back**: customers of the agent's tasks who bought again between the round's start and
  its pre-registered horizon (or the day shown, if earlier).

Each table is a handful of GROUP BY queries, never a loop over tasks or attempts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from winback.app.actors import Actor, Permission, require
from winback.app.rounds.monitoring import primary_horizon
from winback.reporting.metrics import REACHED
from winback.store.accounts.models import User
from winback.store.customers.models import ContactOutcome, Order
from winback.store.programme.models import CallTask, ContactAttempt, Round, TaskStatus

STATUSES = tuple(s.value for s in TaskStatus)
COUNTS = ("tasks", *STATUSES, "attempts", "reached", "won_back")


def outcome_window(rnd: Round, as_of: date) -> tuple[date, date]:
    """The days a purchase counts as winning the customer back."""
    return rnd.round_start, min(as_of, rnd.round_start + timedelta(days=primary_horizon(rnd) - 1))


def _came_back(rnd: Round, as_of: date) -> Exists:
    start, end = outcome_window(rnd, as_of)
    return Exists(
        Order.objects.filter(
            customer_id=OuterRef("customer_id"),
            order_date__range=(start, end),
            amount_cents__gt=0,
        )
    )


def attempt_counts(rnd: Round) -> list[tuple[int | None, str | None, str, int]]:
    """The round's contact attempts counted per agent and outcome (one grouped query): what
    the progress table sums per agent and the board's outcome table per outcome."""
    return [
        (agent_id, username, str(outcome), int(n))
        for agent_id, username, outcome, n in ContactAttempt.objects.filter(task__round=rnd)
        .values_list("task__agent_id", "task__agent__username", "outcome")
        .order_by()
        .annotate(n=Count("pk"))
    ]


def agent_progress(
    rnd: Round,
    *,
    as_of: date,
    attempts: list[tuple[int | None, str | None, str, int]] | None = None,
) -> list[dict[str, Any]]:
    """One row per agent with tasks in the round: tasks by status, attempts, reached and won
    back (definitions in the module docstring), whether the agent is active, by agent name.
    ``attempts``: :func:`attempt_counts` when the caller has read them already."""
    rows: dict[int | None, dict[str, Any]] = {}

    def row(agent_id: int | None, username: str | None) -> dict[str, Any]:
        return rows.setdefault(
            agent_id,
            {
                "agent_id": agent_id,
                "agent": username or "-",
                "active": False,
                **dict.fromkeys(COUNTS, 0),
            },
        )

    tasks = CallTask.objects.filter(round=rnd).annotate(came_back=_came_back(rnd, as_of))
    for agent_id, username, active, status, n, won in (
        tasks.values_list("agent_id", "agent__username", "agent__is_active", "status")
        .order_by()
        .annotate(n=Count("pk"), won=Count("pk", filter=Q(came_back=True)))
    ):
        r = row(agent_id, username)
        r["active"] = bool(active)
        r[status] = r.get(status, 0) + n
        r["tasks"] += n
        r["won_back"] += won
    reached_outcomes = set(REACHED)
    for agent_id, username, outcome, n in attempt_counts(rnd) if attempts is None else attempts:
        r = row(agent_id, username)
        r["attempts"] += n
        r["reached"] += n if outcome in reached_outcomes else 0
    return sorted(rows.values(), key=lambda r: (r["agent_id"] is None, str(r["agent"])))


def open_holders(rows: list[dict[str, Any]]) -> list[dict[str, object]]:
    """From :func:`agent_progress`'s rows, the agents holding open tasks, as
    :func:`winback.app.rounds.reassign.agents_with_open_tasks` lists them (by username)."""
    return sorted(
        (
            {
                "agent_id": r["agent_id"],
                "username": r["agent"],
                "active": bool(r["active"]),
                "open": int(r[TaskStatus.OPEN.value]),
            }
            for r in rows
            if r[TaskStatus.OPEN.value]
        ),
        key=lambda h: (h["agent_id"] is None, str(h["username"])),
    )


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(int(r[key]) for r in rows) for key in COUNTS}


def agent_calls(
    actor: Actor, round_id: int, agent_id: int, *, as_of: date, lang: str
) -> dict[str, Any]:
    """One agent's calls in a round, for a supervisor: the agent's counts and each task with
    its status, attempts, reached attempts, last outcome and whether the customer came back."""
    require(actor, Permission.VIEW_ALL_CUSTOMERS)
    del lang  # labels come from the models' choices in the active language
    rnd = get_object_or_404(Round, pk=round_id)
    agent = get_object_or_404(User, pk=agent_id)
    if not CallTask.objects.filter(round=rnd, agent=agent).exists():
        raise PermissionDenied  # no calls of this agent in this round: nothing to show
    summary = next(r for r in agent_progress(rnd, as_of=as_of) if r["agent_id"] == agent.pk)
    last = (
        ContactAttempt.objects.filter(task_id=OuterRef("pk"))
        .order_by("-occurred_at", "-pk")
        .values("outcome")[:1]
    )
    tasks = (
        CallTask.objects.filter(round=rnd, agent=agent)
        .annotate(
            came_back=_came_back(rnd, as_of),
            attempt_count=Coalesce(
                Subquery(
                    ContactAttempt.objects.filter(task_id=OuterRef("pk"))
                    .order_by()
                    .values("task_id")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            reached_count=Coalesce(
                Subquery(
                    ContactAttempt.objects.filter(task_id=OuterRef("pk"), outcome__in=REACHED)
                    .order_by()
                    .values("task_id")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            last_outcome=Subquery(last),
            spend_cents=Subquery(_spend(rnd, as_of)),
        )
        .select_related("customer")
        .order_by("status", "next_due", "pk")
    )
    outcomes = {code: str(label) for code, label in ContactOutcome.choices}
    statuses = {code: str(label) for code, label in TaskStatus.choices}
    start, end = outcome_window(rnd, as_of)
    return {
        "round": rnd,
        "agent": agent,
        "summary": summary,
        "window": (start, end),
        "tasks": [
            {
                "task": t,
                "customer": t.customer.external_id,
                "status": statuses.get(t.status, t.status),
                "attempts": t.attempt_count,
                "reached": t.reached_count,
                "last_outcome": outcomes.get(t.last_outcome or "", "") or "-",
                "came_back": bool(t.came_back),
                "spend": (t.spend_cents or 0) / 100 if t.came_back else None,
            }
            for t in tasks
        ],
    }


def _spend(rnd: Round, as_of: date) -> Any:
    start, end = outcome_window(rnd, as_of)
    return (
        Order.objects.filter(customer_id=OuterRef("customer_id"), order_date__range=(start, end))
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount_cents"))
        .values("total")[:1]
    )
