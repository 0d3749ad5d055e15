"""The base layout in real headless Chromium, in Chinese and English, at 1366 px and at a 390 px
phone width: no request fails on the first page (the icon included), no console error, nothing
wider than the screen, the menu folds behind a toggle on the phone, and chart labels read at
12 px or more. Screenshots in test-artifacts/looks/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings

from tests.factories.workbench import PASSWORD
from tests.web.browser import PageWatch
from tests.web.test_get_never_writes import populate

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)
LANGUAGES = ("zh-hans", "en")
# Elements sticking out past the right edge of the screen, outside a scrolling box.
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1 || scrolls(el)) continue;
    out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.right)}px`);
  }
  return {page: document.documentElement.scrollWidth, width, out: out.slice(0, 10)};
}"""
# The smallest chart label as shown: its font size times the SVG's scale on screen.
SMALLEST_LABEL = """() => {
  let smallest = null;
  for (const svg of document.querySelectorAll(".chart svg, .card.chart svg")) {
    const box = svg.viewBox.baseVal;
    if (!box || !box.width) continue;
    const scale = svg.getBoundingClientRect().width / box.width;
    for (const t of svg.querySelectorAll("text")) {
      if (!t.textContent.trim()) continue;
      const size = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (smallest === null || size < smallest) smallest = size;
    }
  }
  return smallest;
}"""


def new_page(browser: Browser, base: str, width: int, language: str) -> Page:
    context = browser.new_context(
        locale="zh-CN" if language.startswith("zh") else "en-US",
        viewport={"width": width, "height": 860},
    )
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state("load")


def check_fits(page: Page, where: str) -> None:
    fit = page.evaluate(TOO_WIDE)
    assert fit["page"] <= fit["width"], (where, fit)
    assert fit["out"] == [], (where, fit)


def test_base_layout_fits_and_loads_cleanly(
    live_server: Any, browser_page: Page, artifacts_dir: Path
) -> None:
    fixture = populate()
    world = fixture.world
    base = live_server.url
    browser = browser_page.context.browser
    assert browser is not None
    shots = artifacts_dir / "looks"
    shots.mkdir(exist_ok=True)
    pages = {
        "agent1": ["/calls/", f"/calls/{world.task_mine.pk}/"],
        "supervisor": [
            "/dashboard/",
            "/customers/",
            f"/customers/{world.mine.pk}/",
            f"/rounds/{fixture.past_round.pk}/",
            "/reports/",
        ],
        "admin": [
            "/settings/",
            "/settings/questionnaires/",
            "/settings/questionnaires/edit/?code=callback_first",
            "/settings/event-types/",
            "/settings/event-types/complaint/",
            "/settings/care/",
            "/settings/users/",
        ],
    }
    smallest: dict[str, float] = {}
    for language in LANGUAGES:
        lang = language[:2]
        for width in WIDTHS:
            page = new_page(browser, base, width, language)
            watch = PageWatch(page)
            # the first page of a fresh browser: its icon is asked for too
            page.goto(f"{base}/login/", wait_until="load")
            icon = page.locator("link[rel=icon]").get_attribute("href")
            assert icon is not None
            for url in (icon, "/favicon.ico"):
                answer = page.request.get(base + url)
                assert answer.status == 200, url
                assert answer.headers["content-type"].startswith("image/"), url
            check_fits(page, f"login {lang} {width}")
            page.screenshot(path=str(shots / f"login-{lang}-{width}.png"))
            for username, urls in pages.items():
                page.context.clear_cookies()
                page.context.add_cookies(
                    [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
                )
                sign_in(page, base, username)
                if width < 700:  # the menu is folded until its toggle is pressed
                    nav = page.locator("nav.nav")
                    if nav.count():
                        assert not nav.is_visible()
                        page.click("label.nav-toggle-label")
                        assert nav.is_visible()
                        check_fits(page, f"menu {lang} {width}")
                        page.screenshot(path=str(shots / f"menu-{username}-{lang}-{width}.png"))
                for url in urls:
                    page.goto(base + url, wait_until="load")
                    name = url.strip("/").replace("/", "-").replace("?code=", "-")
                    check_fits(page, f"{url} {lang} {width}")
                    size = page.evaluate(SMALLEST_LABEL)
                    if size is not None:
                        smallest[f"{url} {lang} {width}"] = size
                    page.screenshot(path=str(shots / f"{name}-{lang}-{width}.png"), full_page=True)
            page.context.close()
            watch.assert_clean((language, width))
    assert smallest, "no chart was drawn"
    assert min(smallest.values()) >= 12, smallest
