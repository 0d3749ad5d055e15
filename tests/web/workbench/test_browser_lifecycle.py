"""Issue 15 acceptance, in real headless Chromium: an admin deactivates an agent and lands on
the page that hands over their calls; a supervisor reassigns all of the deactivated agent's
open calls in one action. Every page is checked in Chinese and English at 1366 and 390 px: no
element wider than the viewport, no console error, no failed request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings

from tests.factories.workbench import PASSWORD, build_world
from tests.web.browser import SCROLL_BOXES, PageWatch, assert_fits
from winback.store.programme.models import CallTask, TaskStatus

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)
LANGUAGES = ("zh-hans", "en")


def sign_in(page: Page, base: str, username: str, language: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
    )
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state("load")


def check_layout(page: Page, shots: Path, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(50)
        # only boxes that scroll are exempt: a clipped element sticking out counts here
        assert_fits(page, (name, width), exempt=SCROLL_BOXES)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)


def test_a_supervisor_reassigns_all_of_a_deactivated_agents_calls_in_one_action(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    world = build_world(extra_customers=8)
    held = CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN).count()
    assert held == 9
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "lifecycle"
    shots.mkdir(exist_ok=True)
    watch = PageWatch(page)

    # The admin deactivates agent1 and lands on the page offering to hand over their calls.
    sign_in(page, base, "admin", "zh-hans")
    page.goto(f"{base}/settings/users/")
    row = page.locator("tr.user-row[data-username=agent1]")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/agents/{world.agent1.pk}/reassign/")
    assert page.locator("#deactivated-notice").count() == 1
    assert page.locator("#reassign-tasks tbody tr").count() == held
    check_layout(page, shots, "agent-reassign-zh")

    # The supervisor sees the same page, in both languages, and the round's pages.
    for language in LANGUAGES:
        sign_in(page, base, "supervisor", language)
        assert page.locator("html").get_attribute("lang") == language
        for name, path in (
            ("rounds", "/rounds/"),
            ("board", f"/rounds/{world.round.pk}/"),
            ("round-reassign", f"/rounds/{world.round.pk}/reassign/?agent={world.agent1.pk}"),
            ("agent-reassign", f"/agents/{world.agent1.pk}/reassign/"),
        ):
            page.goto(base + path)
            check_layout(page, shots, f"{name}-{language}")
    assert page.locator("#reassign-total").count() == 1

    # One action: "all the open calls listed", spread evenly (the defaults), Reassign.
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.is_checked("input[name=scope][value=all]")
    page.click("#reassign-submit")
    page.wait_for_load_state("load")
    assert page.locator("#no-open-calls").count() == 1
    page.screenshot(path=str(shots / "agent-reassigned-en-390.png"), full_page=True)
    assert not CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN).exists()
    assert CallTask.objects.filter(agent=world.agent2, status=TaskStatus.OPEN).count() == held + 1

    # The board's close button asks for the confirmation first.
    page.goto(f"{base}/rounds/{world.round.pk}/")
    page.click("#close-round")  # the box is not ticked: the browser refuses to send the form
    assert CallTask.objects.filter(status=TaskStatus.OPEN).count() == held + 1
    page.check("#id_confirm")
    page.click("#close-round")
    page.wait_for_load_state("load")
    assert page.locator("#round-state").get_attribute("data-state") == "closed"
    assert CallTask.objects.filter(status=TaskStatus.OPEN).count() == 0
    check_layout(page, shots, "board-closed-en")

    watch.assert_clean()
