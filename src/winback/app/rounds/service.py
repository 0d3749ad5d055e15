"""The programme's services, one function each owning its transaction (R4-R7, R13).

* :func:`plan_round` - the use case behind ``winback round plan`` and the wizard's Create button:
  permission, one round per month (an explicit ``replace`` swaps a round nobody has contacted
  from yet), a repeated press answered with the round already made, planning
  (:mod:`.planning`), the control-group floor, audit
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

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
from winback.app.rounds.planning import ControlTooSmall, NoSnapshotError
from winback.app.rounds.simulation import simulate_round_contacts
from winback.app.rounds.spark_inputs import CandidateReader, SparkUnavailable, with_lake
from winback.app.settings.profile import current_profile
from winback.store.accounts.models import Role, User
from winback.store.programme.models import ContactAttempt, Round, RoundMember, RoundRequest

__all__ = [
    "CandidateReader",
    "ContactNotAllowed",
    "ControlTooSmall",
    "NoSnapshotError",
    "PlannedRound",
    "RoundExists",
    "RoundHasContacts",
    "RoundInProgress",
    "SparkUnavailable",
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


class RoundHasContacts(Exception):
    """The month's round cannot be replaced: contacts have been logged on its tasks."""

    def __init__(self, rnd: Round, contacts: int) -> None:
        super().__init__(rnd.pk)
        self.round = rnd
        self.contacts = contacts


class RoundInProgress(Exception):
    """Another request for the month is still planning (or died while planning: its claim on
    the month lapses at ``retry_after``)."""

    def __init__(self, retry_after: datetime | None = None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


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
    allow_small_control: bool = False,
    replace: bool = False,
    reader: CandidateReader | None = None,
) -> PlannedRound:
    """Plan and store ``month``'s round from the latest analysis on or before its first day.

    One round per month, whoever asks: the command line, the wizard or the API. The request
    is written (and committed) before planning, so a second press with the same token (a double
    click, a resend) gets the round the first one made, and two people asking for one month at
    the same moment cannot both plan: the database refuses the second request row.

    ``replace`` plans the month again when its round has no logged contact yet: the old
    round, its members and tasks are deleted and the new one stored in one transaction, and the
    audit row names both. A round below the control floor (the profile's ``control_floor``)
    raises :class:`ControlTooSmall` and is not stored unless ``allow_small_control``; the
    override is recorded in the round's design and the audit row. ``reader`` chooses the engine
    that reads the candidates' inputs (:class:`.spark_inputs.CandidateReader`; the database by
    default); the round's summary records which one did.
    """
    require(actor, Permission.PLAN_ROUND)
    first = month.replace(day=1)
    token = request_token or secrets.token_urlsafe(24)
    earlier = RoundRequest.objects.filter(token=token).select_related("round").first()
    if earlier is not None:
        return PlannedRound(_settled(earlier), created=False)
    existing = Round.objects.filter(month=first).first()
    options: dict[str, Any] = {
        "holdout": holdout,
        "seed": seed,
        "agents": agents,
        "tiers": tiers,
        "statuses": statuses,
        "stages": stages,
        "allow_small_control": allow_small_control,
        "reader": reader,
    }
    if existing is not None and not replace:
        raise RoundExists(existing)
    if reader is not None and reader.engine == "spark":
        # Without a lake, the database is staged as one now, before any transaction opens.
        options["reader"] = with_lake(reader, first, current_profile().time_zone)
    if existing is not None:
        return PlannedRound(_replace(actor, existing, token, options), created=True)
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
            raise RoundInProgress(None) from None
        if other.token != token and other.round is not None:
            raise RoundExists(other.round) from None
        return PlannedRound(_settled(other), created=False)
    try:
        with transaction.atomic():
            rnd = planning.plan_and_store(first, user=actor.user, **options)
            RoundRequest.objects.filter(pk=request.pk).update(round=rnd)
            audit(actor, "plan_round", object_type="round", object_id=rnd.pk, detail=_detail(rnd))
    except BaseException:
        RoundRequest.objects.filter(pk=request.pk).delete()
        raise
    return PlannedRound(rnd, created=True)


def _detail(rnd: Round) -> dict[str, object]:
    design = rnd.design if isinstance(rnd.design, dict) else {}
    return {
        "month": rnd.month.isoformat(),
        "seed": rnd.seed,
        "holdout_share": rnd.holdout_share,
        "selected": rnd.summary.get("selected"),
        "control": design.get("n_control"),
        "control_floor": design.get("control_floor"),
        "small_control_allowed": bool(design.get("small_control_allowed")),
        "design_warnings": design.get("warnings", []),
    }


def logged_contacts(rnd: Round) -> int:
    """Contact attempts logged on the round's call tasks."""
    return ContactAttempt.objects.filter(task__round=rnd).count()


def _replace(actor: Actor, existing: Round, token: str, options: dict[str, Any]) -> Round:
    """Delete ``existing`` (no contact logged on it) and plan its month again, atomically."""
    with transaction.atomic():
        old = Round.objects.select_for_update().get(pk=existing.pk)
        contacts = logged_contacts(old)
        if contacts:
            raise RoundHasContacts(old, contacts)
        replaced = {
            "round_id": old.pk,
            "seed": old.seed,
            "members": RoundMember.objects.filter(round=old).count(),
            "tasks": old.tasks.count(),
        }
        old.delete()  # its members, tasks and request row go with it
        request = RoundRequest.objects.create(token=token, month=old.month, created_by=actor.user)
        rnd = planning.plan_and_store(old.month, user=actor.user, **options)
        RoundRequest.objects.filter(pk=request.pk).update(round=rnd)
        audit(
            actor,
            "replace_round",
            object_type="round",
            object_id=rnd.pk,
            detail={**_detail(rnd), "replaced": replaced},
        )
    return rnd


def _settled(request: RoundRequest) -> Round:
    if request.round is None:
        raise RoundInProgress(request.created_at + STALE_REQUEST)
    return request.round
