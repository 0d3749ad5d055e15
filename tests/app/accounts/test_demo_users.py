"""Demo sign-ins: the demo users and their shared calls."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import override_settings

from tests.factories.workbench import build_world
from winback.app.accounts.demo_users import DemoUsersRefused, ensure_demo_users
from winback.store.accounts.models import User
from winback.store.programme.models import CallTask

pytestmark = pytest.mark.django_db


def test_demo_users_can_sign_in_with_their_role() -> None:
    lines = ensure_demo_users()
    assert [(u["username"], u["role"]) for u in lines] == [
        ("admin", "admin"),
        ("supervisor", "supervisor"),
        ("agent1", "agent"),
        ("agent2", "agent"),
    ]
    for line in lines:
        user = authenticate(username=line["username"], password="winback-demo")
        assert isinstance(user, User)
        assert user.role == line["role"]
        assert user.password.startswith("argon2")


def test_demo_agents_get_open_calls_from_other_agents() -> None:
    world = build_world(extra_customers=2)
    # the factory's agent1/agent2 are the demo names: hand their tasks to someone else first
    CallTask.objects.update(agent=world.supervisor)
    ensure_demo_users()
    open_by_agent = {
        name: CallTask.objects.filter(agent__username=name, status="open").count()
        for name in ("agent1", "agent2")
    }
    assert open_by_agent == {"agent1": 2, "agent2": 2}  # 4 open tasks, shared equally


def test_demo_users_are_refused_in_production() -> None:
    with override_settings(WINBACK_ENV="production"), pytest.raises(DemoUsersRefused):
        ensure_demo_users()
    assert not User.objects.exists()
