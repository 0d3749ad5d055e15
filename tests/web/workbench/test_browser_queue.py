"""The agent queue and the call page in real headless Chromium: 20 calls worked with the
keyboard only ("save and next"), and the queue and call pages at 1366 px and 390 px in Chinese
and English with no element wider than the screen, no console error, no failed request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from tests.factories.workbench import PASSWORD, build_world
from tests.web.browser import PageWatch
from winback.store.programme.models import CallTask, ContactAttempt, TaskStatus

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every element's right edge, against the viewport's width (1 px for rounding).
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) {
      const where = `${Math.round(box.left)}-${Math.round(box.right)}`;
      wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${where}`);
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/calls/")


def assert_fits(page: Page, what: str) -> None:
    found = page.evaluate(TOO_WIDE)
    assert found["scroll"] <= found["width"], (what, found)
    assert found["wide"] == [], (what, found)


def test_an_agent_works_20_calls_with_the_keyboard_only(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    world = build_world(extra_customers=19)
    today = timezone.localdate()
    CallTask.objects.filter(agent=world.agent1).update(next_due=today)
    base, page = live_server.url, browser_page
    watch = PageWatch(page)
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    sign_in(page, base, "agent1")
    assert page.locator(".call-row").count() == 20
    # Into the first call with the keyboard: the first row's link is focused and opened.
    page.locator(".call-row a").first.focus()
    loads_before, keys = watch.loads, 0
    page.keyboard.press("Enter")
    keys += 1
    page.wait_for_url("**/calls/*/**")
    per_call: list[tuple[int, int]] = []
    seen: list[str] = []
    for i in range(20):
        page.locator("#outcome-form").wait_for()
        seen.append(page.url)
        start_keys, start_loads = keys, watch.loads
        if i % 4 == 0:  # reached: outcome 2, the reason's list, the first reason
            for key in ("2", "r", "ArrowDown"):
                page.keyboard.press(key)
            keys += 3
        else:  # not reached: outcome 1
            page.keyboard.press("1")
            keys += 1
        with page.expect_navigation():
            page.keyboard.press("Control+Enter")  # save and next
        keys += 1
        page.wait_for_load_state()
        per_call.append((keys - start_keys, watch.loads - start_loads))
    assert len(set(seen)) == 20  # every call once, none skipped, none twice
    assert ContactAttempt.objects.filter(agent=world.agent1).count() == 20
    assert ContactAttempt.objects.filter(outcome="reached", reason_code="").count() == 0
    assert (
        CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN, next_due=today).count()
        == 0
    )
    # The queue is empty now: back on the list, with today's work counted.
    assert page.url.startswith(f"{base}/calls/")
    assert page.inner_text("#queue-done") == "20"
    total_keys = sum(k for k, _ in per_call)
    total_loads = sum(n for _, n in per_call)
    print(
        f"\nkeyboard-only queue: 20 calls, {total_keys} keystrokes "
        f"({total_keys / 20:.2f} per call; reached calls 4, not reached 2), "
        f"{total_loads} page loads ({total_loads / 20:.2f} per call), "
        f"plus {keys - total_keys} keystroke and {watch.loads - loads_before - total_loads} "
        "load to open the first call"
    )
    assert all(n == 1 for _, n in per_call)  # one page load per call
    watch.assert_clean()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_queue_and_call_pages_fit_a_phone_and_a_desk_screen(
    live_server: Any, browser_page: Page, artifacts_dir: Path, lang: str
) -> None:
    world = build_world(extra_customers=3)
    today = timezone.localdate()
    CallTask.objects.filter(pk=world.task_mine.pk).update(next_due=today + timedelta(days=2))
    # A long note and a long reason: words that do not wrap easily
    world.mine.notes = "Prefers-evening-calls-after-work-" * 6
    world.mine.save(update_fields=["notes"])
    base, page = live_server.url, browser_page
    watch = PageWatch(page)
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    sign_in(page, base, "agent1")
    if lang == "en":
        page.click("#language-form button")
        page.wait_for_load_state()
    short = "zh" if lang.startswith("zh") else "en"
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/calls/")
        assert_fits(page, f"queue {lang} {width}")
        page.screenshot(path=str(shots / f"queue-{short}-{width}.png"), full_page=True)
        page.goto(f"{base}/calls/{world.task_mine.pk}/?tab=scheduled")
        page.click("#reveal-phone")
        page.locator("#phone-tel").wait_for()
        assert page.get_attribute("#phone-tel", "href") == "tel:13812345678"
        page.wait_for_timeout(1100)
        assert page.inner_text("#call-timer") != "00:00"  # the reveal started the call timer
        # the phone sits above the script, in the first screen
        assert (
            page.locator("#call-phone").bounding_box()["y"]
            < page.locator(  # type: ignore[index]
                "#script"
            ).bounding_box()["y"]
        )  # type: ignore[index]
        assert page.locator("#call-phone").bounding_box()["y"] < height  # type: ignore[index]
        for section in ("#script", "#offers"):
            box = page.locator(section).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
        page.check("#outcome-choices input[value=call_back]")
        assert page.locator("#id_callback_date").is_visible()
        assert page.locator("#id_callback_time").is_visible()
        assert_fits(page, f"call {lang} {width}")
        page.screenshot(path=str(shots / f"call-{short}-{width}.png"), full_page=True)
    watch.assert_clean()
