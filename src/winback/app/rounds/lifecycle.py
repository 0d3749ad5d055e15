"""A round's end: closing at its closing day, or early by a supervisor, and expiring its calls.

* :func:`close_due_rounds` - the use case behind ``winback round close-due``, the monthly cycle
  and the demo: every round whose closing day
  (:func:`winback.programme.rounds.round_closes_on`, the profile's
  ``round_close_after_days`` after its last day) has come is closed; rounds closed earlier that
  still hold open calls are cleaned up too
* :func:`close_round` - a supervisor closes one round now (the board's Close button)

Closing expires every open call task of the round with a recorded cause (``round_closed``,
``closed_by_supervisor``, or ``agent_deactivated`` when the task's agent had left and nobody
took it over), in one set-based update per cause; the audit row counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from winback.app.actors import Actor, Permission, audit, require
from winback.app.settings.profile import current_profile
from winback.programme.rounds import round_state
from winback.store.programme.models import (
    CallTask,
    ExpiryCause,
    Round,
    RoundStatus,
    TaskStatus,
)


@dataclass(frozen=True)
class ClosedRound:
    round_id: int
    month: date
    expired: dict[str, int]  # expiry cause -> tasks


def close_after_days() -> int:
    """The business's ``round_close_after_days``."""
    return int(current_profile().programme.round_close_after_days)


def state_of(rnd: Round, on: date, *, after_days: int | None = None) -> str:
    """``active``, ``ending`` or ``closed`` (see :func:`winback.programme.rounds.round_state`)."""
    days = close_after_days() if after_days is None else after_days
    return round_state(str(rnd.status), rnd.round_end, on, days)


def due_to_close(on: date, *, after_days: int | None = None) -> list[Round]:
    """Rounds not closed whose closing day is on or before ``on``, and closed rounds that still
    hold an open task, oldest first."""
    days = close_after_days() if after_days is None else after_days
    # round_closes_on(end, days) <= on  <=>  end <= on - (days + 1)
    last_end = on - timedelta(days=days + 1)
    leftovers = CallTask.objects.filter(status=TaskStatus.OPEN).values("round_id")
    return list(
        Round.objects.filter(
            Q(round_end__lte=last_end) | Q(status=RoundStatus.CLOSED, pk__in=leftovers)
        )
        .exclude(Q(status=RoundStatus.CLOSED) & ~Q(pk__in=leftovers))
        .order_by("round_end", "pk")
    )


def expire_round_tasks(round_ids: list[int], cause: str) -> dict[str, int]:
    """Expire the open tasks of these rounds with ``cause``; a task whose agent is inactive
    expires as ``agent_deactivated``. Returns the count per cause (set-based updates)."""
    open_tasks = CallTask.objects.filter(round_id__in=round_ids, status=TaskStatus.OPEN)
    fields = {
        "status": TaskStatus.EXPIRED,
        "next_due": None,
        "version": F("version") + 1,
        "updated_at": timezone.now(),
    }
    left = open_tasks.filter(agent__is_active=False).update(
        expiry_cause=ExpiryCause.AGENT_DEACTIVATED, **fields
    )
    rest = open_tasks.update(expiry_cause=cause, **fields)
    counts = {cause: rest, ExpiryCause.AGENT_DEACTIVATED.value: left}
    return {k: v for k, v in counts.items() if v}


def close_expired(on: date) -> list[ClosedRound]:
    """Close the rounds due on ``on`` without an actor (called inside the monthly cycle, whose
    command has checked who runs it); see :func:`close_due_rounds`."""
    closed: list[ClosedRound] = []
    with transaction.atomic():
        for rnd in due_to_close(on):
            expired = expire_round_tasks([rnd.pk], ExpiryCause.ROUND_CLOSED.value)
            Round.objects.filter(pk=rnd.pk).update(status=RoundStatus.CLOSED)
            closed.append(ClosedRound(rnd.pk, rnd.month, expired))
    return closed


def close_due_rounds(actor: Actor, *, on: date) -> list[ClosedRound]:
    """Close every round whose closing day has come by ``on`` and expire its open calls."""
    require(actor, Permission.CLOSE_ROUND)
    with transaction.atomic():
        closed = close_expired(on)
        for c in closed:
            audit(
                actor,
                "close_round",
                object_type="round",
                object_id=c.round_id,
                detail={"on": on.isoformat(), "expired": c.expired, "manual": False},
            )
    return closed


class RoundAlreadyClosed(Exception):
    """The round is closed already and holds no open call."""


def close_round(actor: Actor, round_id: int, *, reason: str = "") -> ClosedRound:
    """A supervisor closes a round now: its open calls expire as ``closed_by_supervisor``."""
    require(actor, Permission.CLOSE_ROUND)
    with transaction.atomic():
        rnd = Round.objects.select_for_update().get(pk=round_id)
        has_open = CallTask.objects.filter(round=rnd, status=TaskStatus.OPEN).exists()
        if rnd.status == RoundStatus.CLOSED and not has_open:
            raise RoundAlreadyClosed(round_id)
        expired = expire_round_tasks([rnd.pk], ExpiryCause.CLOSED_BY_SUPERVISOR.value)
        Round.objects.filter(pk=rnd.pk).update(status=RoundStatus.CLOSED)
        audit(
            actor,
            "close_round",
            object_type="round",
            object_id=rnd.pk,
            reason=reason,
            detail={"expired": expired, "manual": True},
        )
    return ClosedRound(rnd.pk, rnd.month, expired)
