"""Demo sign-ins and the `winback serve` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.test import override_settings
from typer.testing import CliRunner

from winback.app.accounts.demo_users import DemoUsersRefused, ensure_demo_users
from winback.store.accounts.models import User
from winback.store.programme.models import CallTask

from .factories import build_world

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


def test_serve_collects_static_files_then_runs_gunicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import winback.cli.web as web
    from winback.cli import app

    calls: list[list[str]] = []

    def fake_execv(path: str, args: list[str]) -> Any:
        calls.append(args)
        raise SystemExit(0)

    monkeypatch.setattr("winback.store.bootstrap.setup", lambda migrate=True: None)
    monkeypatch.setattr(web.os, "execv", fake_execv)
    with override_settings(STATIC_ROOT=tmp_path / "static"):
        result = CliRunner().invoke(app, ["serve", "--port", "8123", "--host", "127.0.0.2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "static" / "workbench" / "htmx.min.js").exists()
    (args,) = calls
    assert args[1:4] == ["-m", "gunicorn", "winback.web.wsgi:application"]
    assert args[args.index("--bind") + 1] == "127.0.0.2:8123"
