"""Test-wide fixtures. Tests run twice in CI: on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its files under its own temporary data dir."""
    monkeypatch.setenv("WINBACK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def artifacts_dir() -> Path:
    """Known folder where tests leave screenshots and rendered pages for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def db_vendor() -> str:
    from django.db import connection

    return connection.vendor


def _database_is_postgres() -> bool:
    return os.environ.get("WINBACK_DATABASE_URL", "").startswith(("postgres://", "postgresql"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests (row locks, concurrency) run in the PostgreSQL pass of `make test`.

    On SQLite they are deselected, not skipped, and the count is printed so nobody mistakes
    the SQLite pass for the whole suite.
    """
    if _database_is_postgres():
        return
    keep = [i for i in items if i.get_closest_marker("postgres_only") is None]
    dropped = [i for i in items if i.get_closest_marker("postgres_only") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        print(f"\n{len(dropped)} PostgreSQL-only tests run in the PostgreSQL pass, not here.")
