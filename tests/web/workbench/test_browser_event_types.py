"""An admin adds, renames and deactivates an event type of the business's own in real headless
Chromium, in Chinese and English, at 1366 px and 390 px: a refused code is explained in the
page's language, nothing sticks out of the screen, no console error, no failed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories.workbench import PASSWORD, user
from tests.web.browser import PageWatch
from tests.web.workbench.test_browser_settings import CASES, browser, check_page, submit
from winback.store.accounts.models import Role
from winback.store.customers.models import EventTypeDefinition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser"]  # the Chromium fixture of the settings browser test


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_admin_adds_renames_and_deactivates_an_event_type(
    live_server: Any, browser: Any, artifacts_dir: Path, locale: str, width: int
) -> None:
    user("admin", Role.ADMIN)
    base = live_server.url
    zh = locale.startswith("zh")
    tag = f"{locale[:2]}-{width}"
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page, allow_status=(422,))  # a refused form answers 422
    shots = artifacts_dir / "settings"
    shots.mkdir(exist_ok=True)
    try:
        page.goto(f"{base}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        submit(page, "button.primary")

        page.goto(f"{base}/settings/event-types/")
        check_page(page, watch, "list")
        assert page.locator("tr.event-type-row").count() >= 8  # the built-in types

        # A code starting with a digit is refused in the page's language; nothing is stored.
        page.fill("#id_code", "1brand")
        page.fill("#id_label_zh", "维护品牌")
        page.fill("#id_label_en", "Defended the brand")
        page.select_option("#id_role", "referral")
        submit(page, "#event-type-form button.primary")
        error = page.locator("#event-type-form .field-error").first
        error.wait_for()
        assert ("代码" in error.inner_text()) is zh
        assert not EventTypeDefinition.objects.filter(code="1brand").exists()
        check_page(page, watch, "refused")

        page.fill("#id_code", "brand_defence")
        submit(page, "#event-type-form button.primary")
        row = page.locator("tr.event-type-row[data-code=brand_defence]")
        row.wait_for()
        assert ("维护品牌" if zh else "Defended the brand") in row.inner_text()
        check_page(page, watch, "added")
        page.screenshot(path=str(shots / f"event-types-{tag}.png"), full_page=True)

        # Rename it, then deactivate it from the list.
        submit(page, "tr.event-type-row[data-code=brand_defence] a")
        page.fill("#id_label_zh", "危机中维护品牌")
        check_page(page, watch, "edit")
        submit(page, "#event-type-edit-form button.primary")
        submit(page, "tr.event-type-row[data-code=brand_defence] form button")
        stored = EventTypeDefinition.objects.get(code="brand_defence")
        assert (stored.label_zh, stored.role, stored.active) == (
            "危机中维护品牌",
            "referral",
            False,
        )
        check_page(page, watch, "deactivated")
    finally:
        context.close()
