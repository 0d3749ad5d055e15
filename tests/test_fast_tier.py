"""The fast tier (`make check`, `pytest --fast`) stays fast: no browser test, nothing marked slow,
and Playwright is not even imported while its tests are collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# Collects the fast tier in a child interpreter, then says what it selected and which Playwright
# modules the collection imported (conftest files and test modules are all imported by then).
PROBE = """
import json, sys
import pytest

class Probe:
    items = []

    def pytest_collection_finish(self, session):
        Probe.items = [
            {
                "nodeid": item.nodeid,
                "fixtures": sorted(getattr(item, "fixturenames", ())),
                "markers": sorted({m.name for m in item.iter_markers()}),
            }
            for item in session.items
        ]

code = pytest.main(
    ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--fast", sys.argv[1]],
    plugins=[Probe()],
)
loaded = sorted(m for m in sys.modules if m == "playwright" or m.startswith("playwright."))
print("PROBE " + json.dumps({"code": int(code), "playwright": loaded, "items": Probe.items}))
"""


@pytest.fixture(scope="module")
def fast_tier() -> dict[str, object]:
    env = {**os.environ, "WINBACK_DATABASE_URL": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(TESTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, object] = json.loads(lines[-1].removeprefix("PROBE "))
    assert result["code"] == 0, done.stdout[-3000:]
    return result


pytestmark = pytest.mark.slow  # a child interpreter collecting every test module


def test_collecting_the_fast_tier_does_not_import_playwright(fast_tier: dict[str, object]) -> None:
    assert fast_tier["playwright"] == []


def test_the_fast_tier_holds_no_browser_and_no_slow_test(fast_tier: dict[str, object]) -> None:
    items = fast_tier["items"]
    assert isinstance(items, list)
    assert len(items) > 100  # the selection itself worked
    browser = {"browser_page", "live_server"}
    offenders = [
        i["nodeid"]
        for i in items
        if browser.intersection(i["fixtures"]) or {"slow", "browser"}.intersection(i["markers"])
    ]
    assert offenders == []
