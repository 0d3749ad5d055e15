"""An admin edits every settings section in real headless Chromium, in Chinese and English, at
1366 px and 390 px: no horizontal overflow, no console errors, no failed requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from tests.factories.workbench import PASSWORD, user
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, PageWatch
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.store.accounts.models import Role, User

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Widths and languages the acceptance names.
CASES = [("zh-CN", 1366), ("en-US", 1366), ("zh-CN", 390), ("en-US", 390)]

# Elements sticking out past the viewport's right edge (content inside a scrolling table
# wrapper scrolls there, by design, and is left out).
OVERFLOW_JS = """() => {
  const w = window.innerWidth;
  const out = [];
  const doc = document.documentElement.scrollWidth;
  if (doc > w + 1) out.push('document ' + doc);
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.table-wrap')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) {
      out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(r.right));
    }
  }
  return out.slice(0, 10);
}"""


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


def submit(page: Page, selector: str) -> None:
    """Press a form's button and wait for the answer page."""
    with page.expect_navigation():
        page.click(selector)


def check_page(page: Page, watch: PageWatch, where: str) -> None:
    """Nothing wider than the viewport, no console error, no failed request so far."""
    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow == [], f"{where}: wider than the viewport: {overflow}"
    watch.assert_clean(where)


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_admin_edits_every_settings_section(
    live_server: Any, browser: Any, artifacts_dir: Path, locale: str, width: int
) -> None:
    admin = user("admin", Role.ADMIN)
    agent = user("agent1", Role.AGENT)
    zh = locale.startswith("zh")
    base = live_server.url
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    # 422 is the settings forms' answer to refused input, shown on the page; the favicon has
    # its own fix and test
    watch = PageWatch(page, allow_status=(422,), allow_url=lambda url: url.endswith("/favicon.ico"))
    shots = artifacts_dir / "settings"
    shots.mkdir(exist_ok=True)
    tag = f"{'zh' if zh else 'en'}-{width}"

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}-{tag}.png"), full_page=True)

    try:
        page.goto(f"{base}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        submit(page, "button.primary")

        # Business profile: a gross margin of 1.5 is refused in the page's language.
        page.goto(f"{base}/settings/profile/")
        page.fill("#id_gross_margin", "1.5")
        submit(page, "#profile-form button.primary")
        page.locator("#profile-form .field-error").first.wait_for()
        error = page.locator("#profile-form .field-error").first.inner_text()
        assert error == (
            "确保该值小于或等于1。" if zh else "Ensure this value is less than or equal to 1."
        )
        assert current_profile().gross_margin == 0.30
        check_page(page, watch, "profile refused")
        shot("profile-refused")

        # Apply a preset: the diff first, then the confirmation.
        page.goto(f"{base}/settings/profile/")
        page.select_option("#id_industry", "dental")
        submit(page, "#preset-form button.primary")
        page.locator("#preset-diff").wait_for()
        assert current_profile().industry == "retail"
        check_page(page, watch, "preset diff")
        shot("preset-diff")
        submit(page, "#preset-confirm button.primary")
        assert current_profile().industry == "dental"

        # Indicator weights and the early-warning rate.
        page.goto(f"{base}/settings/indicators/")
        page.fill("#id_long_silence", "1.5")
        submit(page, "#weights-form button.primary")
        assert dict(current_profile().indicator_weights) == {"long_silence": 1.5}
        page.fill("#id_early_warning_share", "0.15")
        submit(page, "#early-warning-form button.primary")
        assert current_profile().early_warning_share == 0.15
        check_page(page, watch, "indicators")
        shot("indicators")

        # A new reason with synonyms.
        page.goto(f"{base}/settings/taxonomy/")
        page.fill("#id_code", "parking")
        page.select_option("#id_group", "our_fault")
        page.fill("#id_zh", "停车难")
        page.fill("#id_en", "Parking")
        page.fill("#id_keywords_zh", "停车\n车位")
        submit(page, "#entry-form button.primary")
        assert current_rules().taxonomy.label("parking", "zh") == "停车难"
        check_page(page, watch, "taxonomy")
        shot("taxonomy")

        # A playbook's script.
        reason = current_rules().playbooks.playbooks[0].reason
        page.goto(f"{base}/settings/playbooks/?code={reason}")
        page.fill("#id_talking_points_zh", "您好\n最近还好吗")
        submit(page, "#entry-form button.primary")
        playbook = next(p for p in current_rules().playbooks.playbooks if p.reason == reason)
        assert playbook.talking_points_zh == ("您好", "最近还好吗")
        check_page(page, watch, "playbooks")
        shot("playbooks")

        # A new offer.
        page.goto(f"{base}/settings/offers/")
        page.fill("#id_code", "spring_voucher")
        page.select_option("#id_kind", "voucher")
        page.fill("#id_zh", "春季代金券")
        page.fill("#id_en", "Spring voucher")
        page.fill("#id_depth_abs", "30")
        submit(page, "#entry-form button.primary")
        assert "spring_voucher" in {o.code for o in current_rules().catalogue.offers}
        check_page(page, watch, "offers")
        shot("offers")

        # A user: name, role and language; then deactivated.
        page.goto(f"{base}/settings/users/{agent.pk}/")
        page.fill("#id_first_name", "王芳")
        page.select_option("#id_language", "en")
        submit(page, "#user-edit-form button.primary")
        agent.refresh_from_db()
        assert (agent.first_name, agent.language) == ("王芳", "en")
        check_page(page, watch, "users")
        shot("users")
        page.goto(f"{base}/settings/users/{agent.pk}/")
        submit(page, "#user-active-form button")
        assert not User.objects.get(pk=agent.pk).is_active

        # Every settings page at this width and language.
        for path in ("", "profile/", "questionnaires/", "users/"):
            page.goto(f"{base}/settings/{path}")
            check_page(page, watch, f"/settings/{path}")
        assert admin.pk
    finally:
        context.close()
