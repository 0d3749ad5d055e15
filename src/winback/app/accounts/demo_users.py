"""Account services: the demo sign-ins for the workbench."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F

from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, Round, TaskStatus

DEMO_PASSWORD = "winback-demo"  # noqa: S105 - printed by the demo; refused in production
# username, role, seniority: the demo agents are senior so any task may go to them.
DEMO_USERS = (
    ("admin", Role.ADMIN, 3),
    ("supervisor", Role.SUPERVISOR, 3),
    ("agent1", Role.AGENT, 3),
    ("agent2", Role.AGENT, 3),
)
DEMO_CALLS_PER_AGENT = 20


class DemoUsersRefused(RuntimeError):
    """Demo users with a published password must never exist in production."""


def ensure_demo_users() -> list[dict[str, str]]:
    """Create (or reset) the demo sign-ins; give each demo agent some open calls.

    Returns one ``{"username", "password", "role"}`` per user for the demo to print.
    """
    if getattr(settings, "WINBACK_ENV", "") == "production":
        raise DemoUsersRefused("demo users are not created when WINBACK_ENV=production")
    lines = []
    with transaction.atomic():
        for username, role, seniority in DEMO_USERS:
            user, _created = User.objects.update_or_create(
                username=username,
                defaults={"role": role, "seniority": seniority, "is_active": True},
            )
            user.is_staff = role == Role.ADMIN
            user.set_password(DEMO_PASSWORD)
            user.save()
            if role == Role.AGENT:
                _hand_over_open_calls(user)
            lines.append({"username": username, "password": DEMO_PASSWORD, "role": str(role)})
    return lines


def _hand_over_open_calls(agent: User) -> int:
    """Move open calls of the newest round with open calls to a demo agent who has none, so
    signing in as the agent shows a real call list."""
    if CallTask.objects.filter(agent=agent, status=TaskStatus.OPEN).exists():
        return 0
    newest = Round.objects.filter(tasks__status=TaskStatus.OPEN).order_by("-month", "-pk").first()
    if newest is None:
        return 0
    demo_names = [u for u, r, _ in DEMO_USERS if r == Role.AGENT]
    open_tasks = CallTask.objects.filter(round=newest, status=TaskStatus.OPEN)
    # an equal share of the round's open calls at most, so every demo agent gets some
    share = -(-open_tasks.count() // len(demo_names))
    ids = list(
        open_tasks.exclude(agent__username__in=demo_names)
        .order_by("next_due", "pk")
        .values_list("pk", flat=True)[: min(DEMO_CALLS_PER_AGENT, share)]
    )
    return CallTask.objects.filter(pk__in=ids).update(agent=agent, version=F("version") + 1)
