"""The supervisor's money pages in real headless Chromium, in Chinese and English, at 1366 and
390 px: the dashboard's programme money, the round board's money and its agents, an agent's
calls, and the quality review with its scorecard. No element may be wider than the viewport
(outside a table's own scroll box), no console error, no failed request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories.workbench import PASSWORD
from tests.web.browser import PageWatch, assert_fits
from tests.web.workbench.test_money import _round_with_purchases
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, ContactReview

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_money_board_drill_down_and_scorecard_in_both_languages_and_widths(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    rnd = _round_with_purchases(effect=0.3, seed=5)
    supervisor = User(username="supervisor", role=Role.SUPERVISOR)
    supervisor.set_password(PASSWORD)
    supervisor.save()
    agent = CallTask.objects.filter(round=rnd).exclude(agent=None).first()
    assert agent is not None
    assert agent.agent_id is not None
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    # favicon: its own fix and test are elsewhere
    watch = PageWatch(page, allow_url=lambda url: url.endswith("/favicon.ico"))

    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/dashboard/")

    pages = {
        "dashboard": f"{base}/dashboard/?month=2024-09",
        "board": f"{base}/rounds/{rnd.pk}/?month=2024-09",
        "agent": f"{base}/rounds/{rnd.pk}/agents/{agent.agent_id}/",
        "quality": f"{base}/quality/",
    }
    # English words of the new pages (the Chinese ones come with the catalogue)
    words = {
        "dashboard": "Revenue won back",
        "board": "Revenue won back",
        "agent": "Attempts",
        "quality": "Scorecard",
    }
    for lang in ("zh", "en"):
        if lang == "en":
            page.click("#language-form button")
            page.wait_for_load_state()
        for width in (1366, 390):
            page.set_viewport_size({"width": width, "height": 900})
            for name, url in pages.items():
                page.goto(url)
                page.wait_for_load_state("networkidle")
                html_lang = page.locator("html").get_attribute("lang")
                assert html_lang == ("en" if lang == "en" else "zh-hans"), (lang, name)
                if lang == "en":
                    assert words[name] in page.inner_text("body"), name
                page.screenshot(
                    path=str(shots / f"money-{name}-{lang}-{width}.png"), full_page=True
                )
                assert_fits(page, (lang, width, name))
    # the board's figures are there, with the finding in words
    page.goto(pages["board"])
    assert page.locator("#money-figures tr[data-figure=net]").count() == 1
    assert page.locator("#round-money .money-finding").count() == 1
    # score one sampled contact on the scorecard, by keyboard-free clicks
    page.goto(pages["quality"])
    item = page.locator("#sample .review-item").first
    selects = item.locator("fieldset.scorecard select")
    for k in range(selects.count()):
        selects.nth(k).select_option("5" if k else "3")
    item.locator("button.primary").click()
    page.locator("#sample .review-item .notice.success").first.wait_for()
    review = ContactReview.objects.get()
    assert review.rating in (4, 5)
    assert len(review.scores["criteria"]) == selects.count()
    watch.assert_clean()
