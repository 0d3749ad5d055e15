"""`winback token issue|list|revoke` against the real database and the real API."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from typer.testing import CliRunner

from winback.store.accounts.models import ApiToken, Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _django_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("winback.store.bootstrap._ready", True)  # pytest-django set it up


def run(*args: str, code: int = 0) -> str:
    from winback.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def test_issue_list_revoke_round_trip() -> None:
    User.objects.create(username="sup", role=Role.SUPERVISOR)
    issued = json.loads(run("token", "issue", "sup", "--name", "crm sync", "--json"))
    secret = issued["token"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/me").status_code == 200

    listed = json.loads(run("token", "list", "--json"))
    assert [(t["prefix"], t["username"], t["name"]) for t in listed] == [
        (issued["prefix"], "sup", "crm sync")
    ]
    assert secret not in run("token", "list")

    run("token", "revoke", issued["prefix"])
    assert client.get("/api/me").status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    run("token", "revoke", issued["prefix"], code=1)  # nothing left to revoke


def test_revoke_all_of_a_user_and_refuse_vague_prefixes() -> None:
    User.objects.create(username="a1", role=Role.AGENT)
    for _ in range(2):
        run("token", "issue", "a1", "--expires-days", "30")
    run("token", "revoke", "wbk_", code=2)
    run("token", "revoke", code=2)
    run("token", "issue", "nobody", code=2)
    run("token", "revoke", "--user", "a1")
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
