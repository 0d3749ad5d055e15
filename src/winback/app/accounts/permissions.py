"""Who may see what (R13).

* Agents see only the customers assigned to them through an open call task; anything else is
  403. They see the full phone number only on their own open task (they have to dial).
* Supervisors and admins see every customer, with masked phone numbers, and the lists and
  dashboard agents do not get.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from winback.app.actors import Actor, Permission
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, TaskStatus

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def is_staff_role(user: User) -> bool:
    """Supervisors and admins (and superusers) see every customer, masked."""
    return Actor.of(user).may(Permission.VIEW_ALL_CUSTOMERS)


def is_agent(user: User) -> bool:
    return Actor.of(user).role == Role.AGENT


def agent_has_open_task(user: User, customer_id: int) -> bool:
    return CallTask.objects.filter(
        customer_id=customer_id, agent_id=user.pk, status=TaskStatus.OPEN
    ).exists()


def check_customer_access(user: User, customer_id: int) -> None:
    """Raise 403 unless the user may open this customer's sheet."""
    if is_staff_role(user):
        return
    if is_agent(user) and agent_has_open_task(user, customer_id):
        return
    raise PermissionDenied


def check_task_access(user: User, task: CallTask) -> None:
    """Agents open only their own tasks; supervisors and admins open any (read-only)."""
    if is_staff_role(user):
        return
    if is_agent(user) and task.agent_id == user.pk:
        return
    raise PermissionDenied


def may_log_contact(user: User, task: CallTask) -> bool:
    """Only the agent the task is assigned to records its outcome."""
    return is_agent(user) and task.agent_id == user.pk


def phone_visible(user: User, task: CallTask | None) -> bool:
    """The full number only for the agent working the customer's open task."""
    return (
        task is not None
        and is_agent(user)
        and task.agent_id == user.pk
        and task.status == TaskStatus.OPEN
    )


def staff_required(view: View) -> View:
    """Login, then 403 for agents: lists and dashboards are for supervisors and admins."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_staff_role(cast(User, request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(View, login_required(wrapped))
