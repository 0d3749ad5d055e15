"""The workbench's small world, plus tokens and an import batch, for the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from tests.factories.workbench import World, build_world
from winback.app.accounts.tokens import issue_token
from winback.store.accounts.models import User
from winback.store.imports.models import ImportBatch


@dataclass
class ApiWorld:
    world: World
    tokens: dict[str, str]  # username -> secret

    def client(self, username: str) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[username]}")


def api_world() -> ApiWorld:
    world = build_world(extra_customers=2)
    users: list[User] = [world.agent1, world.agent2, world.supervisor, world.admin]
    tokens = {u.username: issue_token(u, name="tests").secret for u in users}
    ImportBatch.objects.create(
        kind="orders",
        file_name="/srv/exports/orders-2026-10.csv",
        file_sha256="0" * 64,
        status="done",
        read=10,
        inserted=9,
        rejected=1,
        rejects_file="/srv/data/rejects/orders-2026-10.rejects.csv",
        summary={"read": 10, "inserted": 9, "rejected": 1},
        user=world.admin,
    )
    return ApiWorld(world=world, tokens=tokens)


@pytest.fixture
def aw(db: None) -> ApiWorld:
    return api_world()


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Serve in-process WSGI requests inside the test's transaction, as Django's test client
    does: the end of a request must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
