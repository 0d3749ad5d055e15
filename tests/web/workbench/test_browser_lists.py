"""The customer and early-warning lists in real headless Chromium, in Chinese and English, at
1366 px and 390 px: sort by a header, save and reapply a segment, tick customers and add them
to the open round, export; nothing wider than the viewport, headers never broken one
character per line, no console error and no failed request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories.workbench import PASSWORD, build_world
from tests.web.browser import SCROLL_BOXES, PageWatch, assert_fits
from winback.app.contacts import gate
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import SavedSegment
from winback.store.programme.models import Round, RoundMember

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)
# No header cell taller than two lines of its own text (a header broken one character per line
# is many lines tall).
BROKEN_HEADERS = """() => {
  const broken = [];
  for (const th of document.querySelectorAll('table.sortable th')) {
    const line = parseFloat(getComputedStyle(th).lineHeight) || 20;
    if (th.getBoundingClientRect().height > 2.6 * line) broken.push(th.innerText);
  }
  return broken;
}"""


def _open_round() -> Round:
    today = gate.today()
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Round.objects.create(
        month=start, seed=9, holdout_share=0.1, as_of=start, round_start=start, round_end=end
    )


def _check_layout(page: Page, where: str) -> None:
    # nothing past the viewport (the table scrolls inside its .table-wrap, overflow-x: auto)
    assert_fits(page, where, exempt=SCROLL_BOXES)
    assert page.evaluate(BROKEN_HEADERS) == [], where


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_lists_sort_save_act_and_fit_the_screen(
    live_server: Any, browser_page: Page, artifacts_dir: Path, lang: str
) -> None:
    world = build_world(extra_customers=4)
    CustomerSnapshot.objects.filter(customer__external_id__startswith="C-X").update(
        early_warning=True, clv_365=1234.5, churn_probability=0.42, days_since_last=226
    )
    rnd = _open_round()
    base, page = live_server.url, browser_page
    shots = artifacts_dir / "workbench"
    shots.mkdir(exist_ok=True)
    # a download ends its navigation as "aborted" in Chromium: not a failure
    watch = PageWatch(
        page, allow_abort=lambda url, failure: "/bulk/" in url and "ERR_ABORTED" in failure
    )
    zh = lang == "zh-CN"

    page.goto(f"{base}/login/")
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/dashboard/")
    if not zh:
        with page.expect_navigation():
            page.click("#language-form button[value=en]")

    # Sort by total spend, then back: the header flips the direction.
    page.goto(f"{base}/customers/")
    spend = page.locator("#customer-rows th:has(a[href*='sort=-spend']) a").first
    spend.click()
    page.wait_for_url("**sort=-spend**")
    assert page.locator("th[aria-sort=descending]").count() == 1
    page.locator("th[aria-sort=descending] a").click()
    page.wait_for_url("**sort=spend**")
    assert page.locator("th[aria-sort=ascending]").count() == 1
    assert "¥" in page.inner_text("#customer-rows")

    # Save the filters as a segment, then reapply it from the list.
    page.goto(f"{base}/customers/?stage=silent")
    page.fill("#id_name", "silent-x")
    with page.expect_navigation():
        page.click("#segment-save")
    assert SavedSegment.objects.filter(name="silent-x", query={"stage": "silent"}).exists()
    page.goto(f"{base}/customers/")
    page.click("a.segment-apply >> text=silent-x")
    page.wait_for_url("**stage=silent**")
    assert page.locator("#customer-rows tbody tr").count() == 4

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/customers/")
        _check_layout(page, f"customers {lang} {width}")
        page.screenshot(path=str(shots / f"lists-customers-{lang}-{width}.png"), full_page=True)
        page.goto(f"{base}/warnings/")
        _check_layout(page, f"warnings {lang} {width}")
        page.screenshot(path=str(shots / f"lists-warnings-{lang}-{width}.png"), full_page=True)
    body = page.inner_text("main")
    assert "仍在消费" not in body
    assert "226" in body  # the days since the last purchase, in words

    # Tick every flagged customer on the page and create retention calls in the open round.
    page.check("#bulk-form .pick-all")
    assert page.is_checked("input[name=scope][value=selected]")
    page.select_option("#id_round", str(rnd.pk))
    with page.expect_navigation():
        page.click("#bulk-add")
    assert RoundMember.objects.filter(round=rnd, selected_by="manual").count() == 4
    assert page.locator("p.notice").count() >= 1
    page.screenshot(path=str(shots / f"lists-added-{lang}-390.png"), full_page=True)

    # Export the whole warning list.
    page.check("input[name=scope][value=all]")
    with page.expect_download() as download:
        page.click("#bulk-export")
    assert download.value.suggested_filename.startswith("warnings-")

    watch.assert_clean()
    assert world.round.pk != rnd.pk
