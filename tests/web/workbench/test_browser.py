"""The workbench in real headless Chromium against a live server: an agent's day."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db.models import F

from tests.factories.workbench import PASSWORD, build_world
from winback.store.programme.models import CallTask, ContactAttempt

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/calls/")


def test_agent_logs_a_call_switches_language_and_is_refused_elsewhere(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    world = build_world(extra_customers=2)
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)

    sign_in(page, base, "agent1")
    assert page.locator("h1").inner_text() == "今日通话"
    assert page.locator(".call-row").count() == 3  # C-MINE and two extra; not C-THEIRS
    page.screenshot(path=str(shots / "calls-zh.png"), full_page=True)

    page.click("text=C-MINE")
    # the queue opens on the first tab holding calls (the world's are overdue); the call page
    # keeps it, for "save and next"
    page.wait_for_url(f"{base}/calls/{world.task_mine.pk}/?tab=overdue")
    script = page.locator("#script").inner_text()
    assert "理解客户对价格的顾虑，不争辩。" in script  # the price playbook, in Chinese
    offers = page.locator("#offers li")
    assert offers.count() == 2
    assert page.locator(".phone").first.inner_text() == "138****5678"  # masked until asked
    page.click("#reveal-phone")  # own open task: the full number, audited (a POST)
    page.locator("#reveal-phone").wait_for(state="detached")
    assert page.locator(".phone").first.inner_text() == "13812345678"
    page.screenshot(path=str(shots / "call-zh.png"), full_page=True)

    page.check("#outcome-choices input[value=reached]")
    page.select_option("#id_reason_code", "price")
    page.select_option("#id_offer_code", "expert_advice")
    page.fill("#id_notes", "愿意下月再来")
    page.click("#save-only")
    page.locator("#outcome-panel .notice.success").wait_for()
    attempt = ContactAttempt.objects.get()
    assert (attempt.outcome, attempt.reason_code, attempt.offer_code, attempt.notes) == (
        "reached",
        "price",
        "expert_advice",
        "愿意下月再来",
    )
    assert "愿意下月再来" in page.inner_text("#customer-360")  # history refreshed in place
    page.screenshot(path=str(shots / "call-saved-zh.png"), full_page=True)

    # Another tab writes meanwhile: this form's version is stale, the 409 answer is shown.
    CallTask.objects.filter(pk=world.task_mine.pk).update(version=F("version") + 1)
    page.check("#outcome-choices input[value=not_reached]")
    page.click("#save-only")
    page.locator("#outcome-panel .notice.error").wait_for()
    assert "重新加载" in page.inner_text("#outcome-panel")
    assert ContactAttempt.objects.count() == 1
    page.screenshot(path=str(shots / "call-conflict-zh.png"), full_page=True)
    page.reload()

    page.click("#language-form button")
    page.wait_for_load_state()
    assert "Acknowledge the concern about price without arguing." in page.inner_text("#script")
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(shots / "call-en.png"), full_page=True)
    page.click("#language-form button")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "理解客户对价格的顾虑" in page.inner_text("#script")

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "call-phone.png"), full_page=True)

    refused = page.goto(f"{base}/customers/{world.theirs.pk}/")
    assert refused is not None
    assert refused.status == 403
    assert ContactAttempt.objects.count() == 1


def test_supervisor_dashboard_and_filtered_customer_list(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    build_world(extra_customers=3)
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)

    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/dashboard/")
    assert "沉睡" in page.inner_text("main")  # stage counts, in Chinese
    page.screenshot(path=str(shots / "dashboard-zh.png"), full_page=True)

    page.goto(f"{base}/customers/")
    assert page.locator("#customer-rows tbody tr").count() == 5
    page.select_option("#id_stage", "lost")  # htmx swaps the rows in place
    # a function, not an expression: Playwright evaluates a bare expression with eval(), which
    # the page's Content-Security-Policy refuses
    page.wait_for_function(
        "() => document.querySelectorAll('#customer-rows tbody tr').length === 1"
    )
    assert "C-THEIRS" in page.inner_text("#customer-rows")
    assert "139****4321" in page.inner_text("#customer-rows")
    assert "stage=lost" in page.url  # the filter is in the address, so it can be shared
    page.screenshot(path=str(shots / "customers-zh.png"), full_page=True)
