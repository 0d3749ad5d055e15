"""Care in real headless Chromium: an agent finds care calls and greetings in the queue's own
tabs and completes one with "save and next", in Chinese on a 390 px phone; an admin edits the
care settings in Chinese and English; no page is wider than a 390 px phone, and no console
error or failed request occurs."""

from __future__ import annotations

from datetime import timedelta
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


def test_agent_completes_a_care_call_from_the_queues_tab_at_390_px(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import CallTask, CareTask

    world = build_world()
    today = timezone.localdate()
    # The win-back call is due later: today's tab holds only the care work.
    CallTask.objects.filter(agent=world.agent1).update(next_due=today + timedelta(days=7))
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
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/calls/")
    today_tab = page.locator(".queue-tab[data-tab='today']")
    assert today_tab.get_attribute("aria-current") == "page"
    assert today_tab.locator(".count").inner_text() == "2"
    rows = page.locator("ol.calls .call-row[data-kind='care']")
    assert rows.count() == 2
    assert "春节" in rows.nth(1).inner_text()  # the occasion's name, not its code
    assert zh("Care call") in rows.nth(0).locator(".kind-badge").inner_text()
    assert page.locator("#care-queue").count() == 0  # no separate section any more
    _fits(page)
    page.screenshot(path=str(shots / "queue-care-390-zh.png"), full_page=True)
    page.locator(".queue-tab[data-tab='scheduled']").click()
    page.wait_for_load_state()
    assert page.locator("ol.calls .call-row[data-kind='call']").count() == 1
    assert zh("Win-back call") in page.inner_text("ol.calls")
    page.locator(".queue-tab[data-tab='today']").click()
    page.wait_for_load_state()

    page.locator(f"ol.calls a[href^='/care/tasks/{call.pk}/']").click()
    page.wait_for_url(f"{base}/care/tasks/{call.pk}/?tab=today")
    page.click("#reveal-phone")
    page.wait_for_load_state()
    assert page.locator("a.phone").get_attribute("href", timeout=5000) is not None
    _fits(page)
    page.screenshot(path=str(shots / "care-task-390-zh.png"), full_page=True)
    page.select_option("#id_outcome", "reached")
    page.fill("#id_notes", "节日问候，客户很高兴")
    page.click("#care-save-next")
    # "save and next" goes on to the greeting, the next care task of the same tab
    greeting = CareTask.objects.get(kind="greeting")
    page.wait_for_url(f"{base}/care/tasks/{greeting.pk}/?tab=today")
    assert zh("Care outcome saved.") in page.inner_text("main")
    call.refresh_from_db()
    assert (call.status, call.outcome) == ("done", "reached")
    assert ContactLog.objects.filter(notes="节日问候，客户很高兴").count() == 1
    page.click("#back-to-queue")
    page.wait_for_url(f"{base}/calls/?tab=today")
    assert page.locator("ol.calls .call-row").count() == 1
    assert page.locator(".queue-tab[data-tab='done'] .count").inner_text() == "1"
    assert page.inner_text("#queue-done") == "1"
    _fits(page)
    page.screenshot(path=str(shots / "queue-care-done-390-zh.png"), full_page=True)

    page.click("#language-form button")
    page.wait_for_load_state()
    assert "Spring Festival" in page.inner_text("ol.calls")
    assert "Greeting" in page.inner_text("ol.calls")
    _fits(page)
    page.screenshot(path=str(shots / "queue-care-390-en.png"), full_page=True)
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
