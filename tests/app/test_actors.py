"""The one permission table and the audit row every use case writes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from winback.app.actors import Actor, Permission, audit, require
from winback.store.accounts.models import AuditLog, Role, User

pytestmark = pytest.mark.django_db


def _user(name: str, role: str, **extra: object) -> User:
    return User.objects.create(username=name, role=role, **extra)


def test_agents_work_their_desk_and_nothing_else() -> None:
    agent = Actor.of(_user("a1", Role.AGENT))
    assert agent.may(Permission.LOG_CONTACT)
    refused = [p for p in Permission if not agent.may(p)]
    assert set(refused) == set(Permission) - {Permission.LOG_CONTACT, Permission.VIEW_OWN_TASKS}
    with pytest.raises(PermissionDenied):
        require(agent, Permission.PLAN_ROUND)


def test_supervisors_run_rounds_but_do_not_import_or_change_settings() -> None:
    sup = Actor.of(_user("s1", Role.SUPERVISOR))
    require(sup, Permission.PLAN_ROUND)
    require(sup, Permission.EXPORT_CUSTOMERS)
    for p in (Permission.IMPORT_DATA, Permission.CHANGE_SETTINGS, Permission.MANAGE_TOKENS):
        with pytest.raises(PermissionDenied):
            require(sup, p)


def test_admins_hold_every_supervisor_permission() -> None:
    sup = Actor.of(_user("s2", Role.SUPERVISOR))
    admin = Actor.of(_user("ad", Role.ADMIN))
    assert all(admin.may(p) for p in Permission if sup.may(p))
    assert admin.may(Permission.IMPORT_DATA)
    # Logging a contact is the assigned agent's act, not an admin's.
    assert not admin.may(Permission.LOG_CONTACT)


def test_a_superuser_acts_as_admin_whatever_the_stored_role() -> None:
    boss = Actor.of(_user("root", Role.AGENT, is_superuser=True))
    assert boss.role == Role.ADMIN
    assert boss.may(Permission.CHANGE_SETTINGS)


def test_a_deactivated_user_may_do_nothing() -> None:
    gone = Actor.of(_user("left", Role.ADMIN, is_active=False))
    assert not any(gone.may(p) for p in Permission)


def test_the_system_actor_audits_under_its_own_name() -> None:
    cron = Actor.system("cron")
    assert cron.is_system
    assert cron.user_id is None
    require(cron, Permission.RUN_ANALYSIS)
    row = audit(cron, "run_analysis", object_type="analysis", object_id=20261031)
    stored = AuditLog.objects.get(pk=row.pk)
    assert (stored.user_id, stored.username, stored.object_id) == (None, "system:cron", "20261031")
