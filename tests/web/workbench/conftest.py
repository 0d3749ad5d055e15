"""A Chromium page for the workbench's browser tests, against pytest-django's live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.db import connections

from ..browser import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:  # Playwright is imported by the browser tests only, not by the fast tier
    from playwright.sync_api import Page


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are
    # plain synchronous code, so Django's async guard is switched off, for these tests only.
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # Code inside sync_playwright runs in its own greenlet, so the ORM opened a separate
            # connection there; close it, or the test database cannot be dropped.
            connections.close_all()
