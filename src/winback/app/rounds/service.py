"""The programme's services, one function each owning its transaction (R4-R7, R13).

* :func:`plan_round` - plan and store a month's round (:mod:`.planning`)
* :func:`export_round` - call lists per agent, CSV and XLSX (:mod:`.exports`)
* :func:`log_contact` - one contact attempt on a task, optimistic locking (:mod:`.contacts`)
* :func:`round_status` - treated vs control at +30/+60/+90 days (:mod:`.monitoring`)
* :func:`simulate_round_contacts` - simulated agents for the demo (:mod:`.simulation`)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.db import transaction

from winback.app.contacts.service import (
    ContactNotAllowed,
    StaleWrite,
    log_contact,
    mark_do_not_contact,
)
from winback.app.rounds.call_lists import export_round
from winback.app.rounds.monitoring import round_status
from winback.app.rounds.planning import NoSnapshotError, plan_round
from winback.app.rounds.simulation import simulate_round_contacts
from winback.store.accounts.models import Role, User

__all__ = [
    "ContactNotAllowed",
    "NoSnapshotError",
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
