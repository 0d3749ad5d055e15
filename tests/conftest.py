"""Test-wide fixtures. Tests run twice in CI: on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Django's cache starts empty in every test: a database rolled back between tests can
    give the next test's rows the same keys (SQLite reuses ids), and a cached round status
    keyed by them would leak from one test into another."""
    yield
    from django.conf import settings as django_settings

    if django_settings.configured:
        from django.core.cache import cache

        cache.clear()


@pytest.fixture(autouse=True)
def _configured_language() -> None:
    """Every test starts in the configured language (WINBACK_LANGUAGE, Chinese by default), as
    a fresh `winback` process does: a language an earlier test left active in this worker (a
    request through the test client activates the user's language and leaves it), or a default
    catalogue cached while another language was configured, does not carry over."""
    from django.conf import settings as django_settings

    if django_settings.configured:
        from django.utils import translation
        from django.utils.translation import trans_real

        translation.deactivate()
        trans_real._default = None


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


# The fast tier (`make check`, `pytest --fast`) leaves out what these markers flag; `make test`
# runs everything. Tests that drive a browser are marked from their fixtures, so a new one cannot
# slip into the fast tier unmarked.
FAST_TIER_EXCLUDES = ("slow", "browser")
BROWSER_FIXTURES = frozenset({"browser_page", "live_server"})
# An unmarked test whose body takes longer than this is listed at the end of the run: mark it
# `slow` or make it faster, or the quick loop slowly stops being quick. Only the call is timed:
# setups include the session's test database, paid once per process by whichever test is first
# (`--durations` lists expensive setups).
FAST_TEST_BUDGET_SECONDS = 3.0

POSTGRES_ONLY_DESELECTED = pytest.StashKey[int]()
FAST_TIER_DESELECTED = pytest.StashKey[int]()
# Call seconds of each test not marked slow or browser (under pytest-xdist the controller
# receives every worker's reports).
_unmarked_seconds: dict[str, float] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        default=False,
        help=f"the fast tier: leave out tests marked {' or '.join(FAST_TIER_EXCLUDES)}",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[POSTGRES_ONLY_DESELECTED] = 0
    config.stash[FAST_TIER_DESELECTED] = 0


def _deselect(config: pytest.Config, items: list[pytest.Item], drop: list[pytest.Item]) -> None:
    if drop:
        dropped = set(map(id, drop))
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if id(i) not in dropped]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser tests; on SQLite leave out the PostgreSQL-only ones; with --fast, the slow.

    PostgreSQL-only tests (row locks, concurrency) run in the PostgreSQL pass of `make test`.
    On SQLite they are deselected, not skipped, and their count is printed at the end of the run
    so nobody mistakes the SQLite pass for the whole suite.
    """
    for item in items:
        if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    if not _database_is_postgres():
        drop = [i for i in items if i.get_closest_marker("postgres_only") is not None]
        _deselect(config, items, drop)
        config.stash[POSTGRES_ONLY_DESELECTED] = len(drop)
    if config.getoption("--fast"):
        drop = [i for i in items if any(i.get_closest_marker(m) for m in FAST_TIER_EXCLUDES)]
        _deselect(config, items, drop)
        config.stash[FAST_TIER_DESELECTED] = len(drop)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller prints the counts
        workeroutput["postgres_only_deselected"] = config.stash[POSTGRES_ONLY_DESELECTED]
        workeroutput["fast_tier_deselected"] = config.stash[FAST_TIER_DESELECTED]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: every worker collects the same items, so any one worker's counts do."""
    output = getattr(node, "workeroutput", {})
    config = node.config
    for key, name in (
        (POSTGRES_ONLY_DESELECTED, "postgres_only_deselected"),
        (FAST_TIER_DESELECTED, "fast_tier_deselected"),
    ):
        config.stash[key] = max(config.stash[key], int(output.get(name, 0)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and not any(m in report.keywords for m in FAST_TIER_EXCLUDES):
        _unmarked_seconds[report.nodeid] = report.duration


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    slow = sorted(
        ((d, n) for n, d in _unmarked_seconds.items() if d > FAST_TEST_BUDGET_SECONDS),
        reverse=True,
    )
    if slow:
        terminalreporter.section("unmarked tests over the fast-tier budget", yellow=True)
        terminalreporter.write_line(
            f"{len(slow)} tests not marked {' or '.join(FAST_TIER_EXCLUDES)} took over "
            f"{FAST_TEST_BUDGET_SECONDS:g} s; mark them `slow` or make them faster:"
        )
        for seconds, nodeid in slow[:20]:
            terminalreporter.write_line(f"  {seconds:6.1f} s  {nodeid}")
    if config.stash[FAST_TIER_DESELECTED]:
        terminalreporter.write_line(
            f"{config.stash[FAST_TIER_DESELECTED]} tests marked "
            f"{' or '.join(FAST_TIER_EXCLUDES)} run in `make test`, not in the fast tier."
        )
    if config.stash[POSTGRES_ONLY_DESELECTED]:
        terminalreporter.write_line(
            f"{config.stash[POSTGRES_ONLY_DESELECTED]} PostgreSQL-only tests run in the "
            "PostgreSQL pass, not here."
        )


@pytest.fixture
def _stop_spark() -> Iterator[None]:
    """Stop the Spark session a test started (tests marked spark)."""
    yield
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
