"""Care in real headless Chromium: an agent finds care calls and greetings in their queue and
records one; an admin edits the care settings in Chinese and English; no page is wider than a
390 px phone, and no console error or failed request occurs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from tests.factories.workbench import PASSWORD, build_world
from tests.web.browser import PageWatch, assert_fits

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def zh(text: str) -> str:
    """The Chinese of a message as the catalogue has it (the English until it is added)."""
    from django.utils.translation import gettext, override

    with override("zh-hans"):
        return gettext(text)


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()


def _fits(page: Page, width: int = 390) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    assert_fits(page, page.url)


def test_agent_sees_care_calls_in_the_queue_and_records_one(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import CareTask

    world = build_world()
    today = timezone.localdate()
    call = CareTask.objects.create(
        customer=world.mine, agent=world.agent1, kind="call", due_date=today, planned_date=today
    )
    CareTask.objects.create(
        customer=world.mine,
        agent=world.agent1,
        kind="greeting",
        occasion="spring_festival",
        due_date=today,
        planned_date=today,
    )
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    watch = PageWatch(page)

    _sign_in(page, base, "agent1")
    page.goto(f"{base}/calls/")
    queue = page.locator("#care-queue")
    assert queue.locator(".call-row").count() == 2
    assert "春节" in queue.inner_text()  # the occasion's name, not its code
    assert zh("Care call") in queue.inner_text()
    page.screenshot(path=str(shots / "care-queue-zh.png"), full_page=True)
    _fits(page)
    page.screenshot(path=str(shots / "care-queue-390-zh.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.click(f"a[href='/care/tasks/{call.pk}/']")
    page.wait_for_url(f"{base}/care/tasks/{call.pk}/")
    page.click("#reveal-phone")
    page.wait_for_load_state()
    assert page.locator("a.phone").get_attribute("href", timeout=5000) is not None
    _fits(page)
    page.screenshot(path=str(shots / "care-task-390-zh.png"), full_page=True)
    page.select_option("#id_outcome", "reached")
    page.fill("#id_notes", "节日问候，客户很高兴")
    page.click("#care-outcome-form button.primary")
    page.wait_for_url(f"{base}/calls/")
    assert zh("Care outcome saved.") in page.inner_text("main")
    assert page.locator("#care-queue .call-row").count() == 1
    call.refresh_from_db()
    assert (call.status, call.outcome) == ("done", "reached")
    assert ContactLog.objects.filter(notes="节日问候，客户很高兴").count() == 1

    page.click("#language-form button")
    page.wait_for_load_state()
    assert "Care calls and greetings" in page.inner_text("#care-queue")
    assert "Spring Festival" in page.inner_text("#care-queue")
    _fits(page)
    page.screenshot(path=str(shots / "care-queue-390-en.png"), full_page=True)
    watch.assert_clean()


def test_admin_edits_care_settings_in_both_languages(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    from winback.app.care.rules import current_cadences, current_calendar

    build_world()
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    # a refused settings form is answered 422 and shown on the page
    watch = PageWatch(page, allow_status=(422,))

    _sign_in(page, base, "admin")
    page.goto(f"{base}/settings/care/")
    assert page.locator("h1").inner_text() == zh("Care settings")
    assert "中秋节" in page.inner_text(".care-holidays")
    page.fill("#id_call_A", "0")
    page.click("#care-settings-form button.primary")
    page.wait_for_load_state()
    assert "确保该值大于或等于1" in page.inner_text("#care-settings-form")
    page.screenshot(path=str(shots / "care-settings-error-zh.png"), full_page=True)
    _fits(page)
    page.screenshot(path=str(shots / "care-settings-390-zh.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.click("#language-form button")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Care settings"
    page.fill("#id_call_A", "10")
    page.fill("#id_new_zh", "腊八节")
    page.fill("#id_new_en", "Laba Festival")
    page.select_option("#id_new_calendar", "lunar")
    page.fill("#id_new_month", "12")
    page.fill("#id_new_day", "31")
    page.click("#care-settings-form button.primary")
    page.wait_for_load_state()
    assert "A lunar month has at most 30 days." in page.inner_text("#care-settings-form")
    page.fill("#id_new_day", "8")
    page.click("#care-settings-form button.primary")
    page.wait_for_load_state()
    assert "Settings saved." in page.inner_text("main")
    assert current_cadences()[0].call_days == 10
    assert current_calendar().get("custom_laba_festival") is not None
    assert "Laba Festival" in page.inner_text(".care-holidays")
    _fits(page)
    page.screenshot(path=str(shots / "care-settings-390-en.png"), full_page=True)
    # The form answered 422 twice on purpose; nothing else failed.
    watch.assert_clean()
