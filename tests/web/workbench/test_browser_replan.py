"""In real headless Chromium: a reason found on a call re-plans it before the second contact
(R5). The agent records ``attitude``; the call page then shows the attitude playbook's script,
offers and channel, in Chinese and in English, and on a phone-wide screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import translation

from tests.factories.business import MONTH, build_world, team
from tests.factories.workbench import PASSWORD
from winback.app.actors import Actor

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sms_task():  # type: ignore[no-untyped-def]
    """A round planned by the planner, and a treated task it put on SMS (its stage's channel,
    no reason known yet)."""
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import CallTask, RoundMember

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, seed=9, agents=team()).round
    sms = RoundMember.objects.filter(round=rnd, arm="treated", channel="sms", reason_code="")
    task = (
        CallTask.objects.filter(round=rnd, customer_id__in=sms.values("customer_id"))
        .select_related("agent", "customer")
        .order_by("pk")
        .first()
    )
    assert task is not None
    assert task.agent is not None
    task.agent.set_password(PASSWORD)
    task.agent.save()
    return task


def _inside(page: Page, selector: str, width: int) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    assert box["width"] > 0
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width + 1, (selector, box)


def test_a_reason_re_plans_offers_and_channel_before_the_second_contact(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    from winback.app.settings.rules import current_rules
    from winback.store.customers.models import ContactChannel

    task = _sms_task()
    rules = current_rules()
    playbook = rules.playbooks.for_reason("attitude")
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)

    page.goto(f"{base}/login/")
    page.fill("#id_username", task.agent.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/calls/")
    page.goto(f"{base}/calls/{task.pk}/")
    with translation.override("zh-hans"):
        sms, phone = str(ContactChannel.SMS.label), str(ContactChannel(playbook.channel).label)
    assert page.inner_text("#channel") == sms
    before = [li.get_attribute("data-offer") for li in page.locator("#offers li").all()]
    assert page.locator("#replanned").count() == 0

    page.check("#outcome-choices input[value=reached]")
    page.select_option("#id_reason_code", "attitude")
    page.click("#save-only")
    page.locator("#outcome-panel .notice.success").wait_for()
    page.locator("#replanned").wait_for()  # swapped in place, no reload

    task.refresh_from_db()
    after = list(task.menu.codes)
    assert after != before
    assert "priority_service" in after
    assert page.inner_text("#channel") == phone != sms
    shown = [li.get_attribute("data-offer") for li in page.locator("#offers li").all()]
    assert shown == after
    offers_text = page.inner_text("#offers")
    for code in after:
        assert rules.catalogue.offer(code).label("zh") in offers_text
    script = page.inner_text("#script")
    assert playbook.talking_points("zh")[0] in script
    assert rules.taxonomy.label("attitude", "zh") in script
    page.screenshot(path=str(shots / "call-replanned-zh.png"), full_page=True)

    page.click("#language-form button")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    with translation.override("en"):
        phone_en = str(ContactChannel(playbook.channel).label)
    assert page.inner_text("#channel") == phone_en
    note = page.inner_text("#replanned")
    assert "Re-planned after reason" in note
    assert rules.taxonomy.label("attitude", "en") in note
    offers_en = page.inner_text("#offers")
    for code in after:
        assert rules.catalogue.offer(code).label("en") in offers_en
    assert playbook.talking_points("en")[0] in page.inner_text("#script")
    page.screenshot(path=str(shots / "call-replanned-en.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#offers").scroll_into_view_if_needed()
    for selector in ("#channel", "#offers", "#offers li >> nth=0", "#replanned"):
        assert page.locator(selector).is_visible()
        _inside(page, selector, 390)
    page.screenshot(path=str(shots / "call-replanned-phone.png"), full_page=True)
