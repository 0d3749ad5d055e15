"""Who is acting, and what each role may do (R13).

Every use case in :mod:`winback.app` takes an :class:`Actor` first: a signed-in user of the
workbench or the API, or the system itself (the command line run by the operator of the
machine, the monthly cron job). :func:`require` is the one place a use case asks whether the
actor may do a thing, and :func:`audit` the one place it writes the audit row, so the CLI, the
workbench and the API enforce the same rules.

The grants follow the roles of the programme: agents work their own call tasks; supervisors run
rounds, review quality and export lists; admins (analysts) also import data, change settings and
issue API tokens. The system actor may do everything a person could do at the command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied

from winback.store.accounts.models import AuditLog, Role, User


class Permission(StrEnum):
    """What a use case may ask of an actor."""

    VIEW_OWN_TASKS = "view_own_tasks"
    LOG_CONTACT = "log_contact"
    VIEW_ALL_CUSTOMERS = "view_all_customers"
    EXPORT_CUSTOMERS = "export_customers"
    PLAN_ROUND = "plan_round"
    CLOSE_ROUND = "close_round"
    EXPORT_CALL_LISTS = "export_call_lists"
    REVIEW_QUALITY = "review_quality"
    VIEW_REPORTS = "view_reports"
    MAKE_REPORTS = "make_reports"
    VIEW_IMPORTS = "view_imports"
    IMPORT_DATA = "import_data"
    EXPORT_DATA = "export_data"
    RUN_ANALYSIS = "run_analysis"
    CHANGE_SETTINGS = "change_settings"
    MANAGE_TOKENS = "manage_tokens"
    MARK_DO_NOT_CONTACT = "mark_do_not_contact"
    ERASE_PERSONAL_DATA = "erase_personal_data"
    EXPORT_PERSONAL_DATA = "export_personal_data"


SYSTEM = "system"

_AGENT = frozenset({Permission.VIEW_OWN_TASKS, Permission.LOG_CONTACT})
_SUPERVISOR = frozenset(
    {
        Permission.VIEW_OWN_TASKS,
        Permission.VIEW_ALL_CUSTOMERS,
        Permission.EXPORT_CUSTOMERS,
        Permission.PLAN_ROUND,
        Permission.CLOSE_ROUND,
        Permission.EXPORT_CALL_LISTS,
        Permission.REVIEW_QUALITY,
        Permission.VIEW_REPORTS,
        Permission.VIEW_IMPORTS,
        Permission.MARK_DO_NOT_CONTACT,
    }
)
_ADMIN = _SUPERVISOR | {
    Permission.MAKE_REPORTS,
    Permission.IMPORT_DATA,
    Permission.EXPORT_DATA,
    Permission.RUN_ANALYSIS,
    Permission.CHANGE_SETTINGS,
    Permission.MANAGE_TOKENS,
    Permission.ERASE_PERSONAL_DATA,
    Permission.EXPORT_PERSONAL_DATA,
}

GRANTS: dict[str, frozenset[Permission]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: frozenset(_ADMIN),
    # The operator at the command line or cron: everything but the agent's own desk work,
    # which only the agent the task is assigned to may do.
    SYSTEM: frozenset(_ADMIN | {Permission.LOG_CONTACT}),
}


@dataclass(frozen=True)
class Actor:
    """A person signed in (``user`` set) or the system (``user`` is None)."""

    user: User | None
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> Actor:
        role = Role.ADMIN if user.is_superuser else str(user.role)
        return cls(user=user, name=user.get_username(), role=role)

    @classmethod
    def system(cls, name: str = "cli") -> Actor:
        """The operator of the machine (``cli``) or a scheduled job (``cron``)."""
        return cls(user=None, name=f"{SYSTEM}:{name}", role=SYSTEM)

    @classmethod
    def operator(cls, username: str, os_user: str, permission: Permission) -> Actor:
        """The person at the command line: a real, active workbench user (``--as``) whose role
        grants ``permission``, recorded with the machine's user name (``admin1 via cli:root``).
        Raises :class:`PermissionDenied` for an unknown, inactive or unentitled user."""
        user = User.objects.filter(username=username).first()
        if user is None or not user.is_active:
            raise PermissionDenied(f"{username!r} is not an active workbench user")
        actor = cls.of(user)
        if not actor.may(permission):
            raise PermissionDenied(f"{username} ({actor.role}) may not {permission.value}")
        return cls(
            user=user, name=f"{user.get_username()} via cli:{os_user}"[:150], role=actor.role
        )

    @property
    def is_system(self) -> bool:
        return self.user is None

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user.pk)

    def may(self, permission: Permission) -> bool:
        if self.user is not None and not self.user.is_active:
            return False
        return permission in GRANTS.get(self.role, frozenset())


def require(actor: Actor, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless the actor holds the permission."""
    if not actor.may(permission):
        raise PermissionDenied(f"{actor.name} may not {permission.value}")


def _row(
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    flagged: bool = False,
) -> AuditLog:
    return AuditLog(
        user=actor.user,
        username=actor.name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        detail=detail or {},
        flagged=flagged,
    )


def audit(
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    flagged: bool = False,
) -> AuditLog:
    """Write the audit row of a use case (inside its transaction)."""
    row = _row(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
        detail=detail,
        flagged=flagged,
    )
    row.save(force_insert=True)
    return row


def audit_many(
    actor: Actor,
    action: str,
    rows: Iterable[tuple[object, dict[str, Any]]],
    *,
    object_type: str = "",
    reason: str = "",
) -> int:
    """One audit row per ``(object_id, detail)`` of a bulk use case, in one batched insert."""
    made = AuditLog.objects.bulk_create(
        [
            _row(actor, action, object_type=object_type, object_id=oid, reason=reason, detail=d)
            for oid, d in rows
        ],
        batch_size=1000,
    )
    return len(made)
