"""The programme's services, one function each owning its transaction (R4-R7, R13).

* :func:`plan_round` - the use case behind ``winback round plan`` and the wizard's Create button:
  permission, one round per month, a repeated press answered with the round already made,
  planning (:mod:`.planning`), audit
* :func:`export_round` - call lists per agent, CSV and XLSX (:mod:`.exports`)
* :func:`log_contact` - one contact attempt on a task, optimistic locking (:mod:`.contacts`)
* :func:`round_status` - treated vs control at +30/+60/+90 days (:mod:`.monitoring`)
* :func:`simulate_round_contacts` - simulated agents for the demo (:mod:`.simulation`)
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from winback.app.actors import Actor, Permission, audit, require
from winback.app.contacts.service import (
    ContactNotAllowed,
    StaleWrite,
    log_contact,
    mark_do_not_contact,
)
from winback.app.rounds import planning
from winback.app.rounds.call_lists import export_round
from winback.app.rounds.monitoring import round_status
from winback.app.rounds.planning import NoSnapshotError
from winback.app.rounds.simulation import simulate_round_contacts
from winback.store.accounts.models import Role, User
from winback.store.programme.models import Round, RoundRequest

__all__ = [
    "ContactNotAllowed",
    "NoSnapshotError",
    "PlannedRound",
    "RoundExists",
    "RoundInProgress",
    "StaleWrite",
    "demo_team",
    "ensure_agents",
    "export_round",
    "log_contact",
    "mark_do_not_contact",
    "plan_round",
    "read_agents_csv",
    "round_status",
    "simulate_round_contacts",
]

# A default team when no agent exists yet: two seniors, three intermediates, five juniors.
DEMO_TEAM = (
    *((f"agent{i:02d}", 3, 30) for i in range(1, 3)),
    *((f"agent{i:02d}", 2, 35) for i in range(3, 6)),
    *((f"agent{i:02d}", 1, 40) for i in range(6, 11)),
)


def read_agents_csv(path: Path) -> list[dict[str, str]]:
    """Rows of an agents file: ``username, seniority, daily_capacity`` (header required)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [dict(r) for r in csv.DictReader(handle)]
    for row in rows:
        missing = {"username", "seniority", "daily_capacity"} - set(row)
        if missing:
            raise ValueError(f"agents file lacks columns {sorted(missing)}")
    return rows


def ensure_agents(rows: Iterable[Mapping[str, object]]) -> list[User]:
    """Create or update agent users from rows with username, seniority, daily_capacity."""
    users: list[User] = []
    with transaction.atomic():
        for row in rows:
            seniority = int(str(row["seniority"]))
            capacity = int(str(row["daily_capacity"]))
            if seniority not in (1, 2, 3) or capacity < 0:
                raise ValueError(f"agent {row['username']}: seniority 1-3, capacity >= 0")
            user, created = User.objects.update_or_create(
                username=str(row["username"]).strip(),
                defaults={"role": Role.AGENT, "seniority": seniority, "daily_capacity": capacity},
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            users.append(user)
    return users


def demo_team() -> list[User]:
    """The active agents, or a default team of demo agents when there are none."""
    existing = list(User.objects.filter(role=Role.AGENT, is_active=True).order_by("pk"))
    if existing:
        return existing
    return ensure_agents(
        {"username": u, "seniority": s, "daily_capacity": c} for u, s, c in DEMO_TEAM
    )


# --- the use case: plan a month's round -------------------------------------------------------

STALE_REQUEST = timedelta(minutes=15)  # far longer than any plan takes


class RoundExists(Exception):
    """A round is already planned for the month."""

    def __init__(self, rnd: Round) -> None:
        super().__init__(rnd.pk)
        self.round = rnd


class RoundInProgress(Exception):
    """Another request for the month is still planning."""


@dataclass(frozen=True)
class PlannedRound:
    round: Round
    created: bool  # False: the same request token came again and got the round it made


def plan_round(
    actor: Actor,
    *,
    month: date,
    holdout: float | None = None,
    seed: int | None = None,
    agents: Sequence[User] | None = None,
    tiers: Sequence[int] | None = None,
    statuses: Sequence[str] = ("lost", "at_risk"),
    stages: Sequence[str] | None = None,
    request_token: str | None = None,
) -> PlannedRound:
    """Plan and store ``month``'s round from the latest analysis on or before its first day.

    One round per month, whoever asks: the command line, the wizard or the API. The request
    is written (and committed) before planning, so a second press with the same token (a double
    click, a resend) gets the round the first one made, and two people asking for one month at
    the same moment cannot both plan: the database refuses the second request row.
    """
    require(actor, Permission.PLAN_ROUND)
    first = month.replace(day=1)
    token = request_token or secrets.token_urlsafe(24)
    earlier = RoundRequest.objects.filter(token=token).select_related("round").first()
    if earlier is not None:
        return PlannedRound(_settled(earlier), created=False)
    existing = Round.objects.filter(month=first).first()
    if existing is not None:
        raise RoundExists(existing)
    # A request whose process died while planning leaves its row without a round: after a
    # while it no longer holds the month.
    RoundRequest.objects.filter(
        month=first, round__isnull=True, created_at__lt=timezone.now() - STALE_REQUEST
    ).delete()
    try:
        with transaction.atomic():
            request = RoundRequest.objects.create(token=token, month=first, created_by=actor.user)
    except IntegrityError:
        other = (
            RoundRequest.objects.filter(Q(token=token) | Q(month=first))
            .select_related("round")
            .first()
        )
        if other is None:  # the other request failed and let go meanwhile
            raise RoundInProgress from None
        if other.token != token and other.round is not None:
            raise RoundExists(other.round) from None
        return PlannedRound(_settled(other), created=False)
    try:
        with transaction.atomic():
            rnd = planning.plan_and_store(
                first,
                holdout=holdout,
                seed=seed,
                agents=agents,
                tiers=tiers,
                statuses=statuses,
                stages=stages,
                user=actor.user,
            )
            RoundRequest.objects.filter(pk=request.pk).update(round=rnd)
            audit(
                actor,
                "plan_round",
                object_type="round",
                object_id=rnd.pk,
                detail={
                    "month": first.isoformat(),
                    "seed": rnd.seed,
                    "holdout_share": rnd.holdout_share,
                    "selected": rnd.summary.get("selected"),
                },
            )
    except BaseException:
        RoundRequest.objects.filter(pk=request.pk).delete()
        raise
    return PlannedRound(rnd, created=True)


def _settled(request: RoundRequest) -> Round:
    if request.round is None:
        raise RoundInProgress
    return request.round
