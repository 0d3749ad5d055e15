"""A supervisor's month in real headless Chromium against a live server: the round wizard, the
round board and the quality review."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories.business import MONTH, build_world
from tests.factories.workbench import PASSWORD
from winback.app.rounds.planning import prepare_plan
from winback.app.rounds.service import log_contact
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, ContactReview, Round, RoundMember

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_creates_a_round_then_rates_a_contact(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    build_world()
    supervisor = User(username="supervisor", role=Role.SUPERVISOR)
    supervisor.set_password(PASSWORD)
    supervisor.save()
    expected = prepare_plan(MONTH, seed=0).plan.summary["excluded_by_cause"]
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)

    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/dashboard/")

    # Step 1: the pool.
    page.click("nav >> text=挽回轮次")
    page.wait_for_url(f"{base}/rounds/")
    page.click("#new-round")
    page.wait_for_url(f"{base}/rounds/new/")
    assert page.locator("h1").inner_text() == "新建挽回轮次"
    page.fill("#id_month", "2024-06")
    assert page.is_checked("input[name=statuses][value=lost]")
    assert page.is_checked("input[name=statuses][value=at_risk]")
    page.screenshot(path=str(shots / "round-wizard-1-zh.png"), full_page=True)

    # Step 2: exclusions, counted by the planner.
    page.click("#step1 button.primary")
    page.locator("#exclusions").wait_for()
    assert "step=2" in page.url  # htmx pushed the step into the address
    shown = {
        row.get_attribute("data-cause"): int(row.locator("td.num").inner_text())
        for row in page.locator("#exclusions tbody tr").all()
    }
    assert shown == expected
    assert sum(shown.values()) > 0
    assert "未同意营销联系" in page.inner_text("#exclusions")
    page.screenshot(path=str(shots / "round-wizard-2-zh.png"), full_page=True)

    # Step 3: control group share and seed.
    page.click("#step2 button.primary")
    page.locator("#step3").wait_for()
    page.fill("#id_holdout", "0.2")
    page.fill("#id_seed", "17")
    page.screenshot(path=str(shots / "round-wizard-3-zh.png"), full_page=True)

    # Step 4: assignment by agent, then Create.
    page.click("#step3 button.primary")
    page.locator("#agents").wait_for()
    assert page.locator("#agents tbody tr").count() == 6
    treated = int(page.inner_text("#treated"))
    control = int(page.inner_text("#control"))
    assert treated > 0
    assert control > 0
    # the design: this small round cannot detect the hoped-for effect, and the page says so
    assert page.locator("#design").is_visible()
    assert page.locator("#design-warning").is_visible()
    assert "对照组" in page.inner_text("#design-warning")
    page.screenshot(path=str(shots / "round-wizard-4-zh.png"), full_page=True)
    page.click("#create-round")
    page.wait_for_url(f"{base}/rounds/*/")

    rnd = Round.objects.get()
    assert page.url == f"{base}/rounds/{rnd.pk}/"
    assert rnd.seed == 17
    assert rnd.created_by_id == supervisor.pk
    assert RoundMember.objects.filter(round=rnd, arm="treated").count() == treated
    assert RoundMember.objects.filter(round=rnd, arm="control").count() == control
    assert CallTask.objects.filter(round=rnd).count() == treated
    assert "已创建" in page.inner_text(".notice.success")
    assert page.locator("#effects tbody tr").count() == 3
    assert page.locator("#progress tbody tr").count() == 6
    page.screenshot(path=str(shots / "round-board-zh.png"), full_page=True)

    # Agents call; the supervisor reviews a sample of the calls.
    for i, task in enumerate(CallTask.objects.filter(round=rnd).order_by("pk")[:12]):
        log_contact(
            task.pk,
            agent=task.agent,
            outcome=("reached", "not_reached", "refused")[i % 3],
            reason_code=("price", "", "price")[i % 3],
            notes=f"第 {i} 通",
            expected_version=task.version,
        )
    page.reload()
    assert int(page.inner_text("#progress tfoot th:nth-child(6)")) == 8  # reached or refused

    page.click("nav >> text=质检")
    page.wait_for_url(f"{base}/quality/")
    items = page.locator("#sample .review-item")
    assert items.count() == 10
    first = items.first
    item_id = first.get_attribute("id")
    assert item_id is not None
    attempt_id = int(item_id.split("-")[1])
    selects = first.locator("fieldset.scorecard select")
    for k in range(selects.count()):  # every criterion of the scorecard scored 4
        selects.nth(k).select_option("4")
    first.locator("textarea[name=comments]").fill("开场白清楚，优惠介绍到位")
    first.locator("button.primary").click()
    page.locator(f"#{item_id} .notice.success").wait_for()
    assert "评分已保存" in page.inner_text(f"#{item_id}")
    review = ContactReview.objects.get()
    assert (review.attempt_id, review.rating, review.reviewer_id) == (attempt_id, 4, supervisor.pk)
    assert review.comments == "开场白清楚，优惠介绍到位"
    # The averages per agent were swapped in with the answer.
    assert page.locator("#by-agent tbody tr").count() == 1
    assert "4.00" in page.inner_text("#by-agent")
    page.screenshot(path=str(shots / "quality-review-zh.png"), full_page=True)
