"""An admin edits the callback questionnaire in real headless Chromium, in Chinese and English,
at 1366 px and 390 px: a refused save shows the reason in the page's language, a good one is
stored and shown; no page is wider than the screen, no console error, no failed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories.workbench import PASSWORD, user
from tests.web.browser import PageWatch
from tests.web.workbench.test_browser_settings import CASES, browser, check_page, submit
from winback.app.settings.rules import current_rules, questionnaires_in_force
from winback.store.accounts.models import Role
from winback.store.programme.models import ProgrammeSettings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser"]  # the Chromium fixture, shared with the other settings browser test


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_admin_edits_a_questionnaire_in_both_languages_and_widths(
    live_server: Any, browser: Any, artifacts_dir: Path, locale: str, width: int
) -> None:
    user("admin", Role.ADMIN)
    base = live_server.url
    zh = locale.startswith("zh")
    tag = f"{locale[:2]}-{width}"
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page, allow_status=(422,))  # the refused save answers 422
    shots = artifacts_dir / "settings"
    shots.mkdir(exist_ok=True)
    try:
        page.goto(f"{base}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        submit(page, "button.primary")

        page.goto(f"{base}/settings/questionnaires/")
        check_page(page, watch, "questionnaires")
        with page.expect_navigation():
            page.locator("section[data-code=callback_first] a.questionnaire-edit").click()
        page.locator("#questionnaire-form").wait_for()
        check_page(page, watch, "editor")
        page.screenshot(path=str(shots / f"questionnaire-editor-{tag}.png"), full_page=True)

        # A free-text question cannot keep options: refused, in Chinese, nothing stored.
        page.select_option("#id_q-1-kind", "text")
        submit(page, "#questionnaire-save")
        error = page.locator("#questionnaire-form .field-error").first
        error.wait_for()
        refusal = "自由填写的问题不能有选项" if zh else "a free-text question has no options"
        assert refusal in error.inner_text()
        assert not ProgrammeSettings.objects.exclude(questionnaires={}).exists()
        check_page(page, watch, "refused")
        page.screenshot(path=str(shots / f"questionnaire-refused-{tag}.png"), full_page=True)

        # Put the kind back, change the title and the first question's wording, add a scale.
        page.select_option("#id_q-1-kind", "single")
        page.fill("#id_head-zh", "门店回访问卷")
        page.fill("#id_head-en", "Store callback")
        page.fill("#id_q-0-zh", "您最近为什么来得少了？")
        blank = page.locator("[data-row=question]").count() - 1
        page.fill(f"#id_q-{blank}-code", "mood")
        page.fill(f"#id_q-{blank}-zh", "您对我们满意吗？")
        page.fill(f"#id_q-{blank}-en", "Are you happy with us?")
        page.select_option(f"#id_q-{blank}-kind", "scale")
        submit(page, "#questionnaire-save")
        page.locator("section[data-code=callback_first]").wait_for()
        check_page(page, watch, "saved")
        page.screenshot(path=str(shots / f"questionnaire-saved-{tag}.png"), full_page=True)

        in_force = questionnaires_in_force(current_rules())
        first = in_force.first
        assert in_force.own
        assert first is not None
        assert first.zh == "门店回访问卷"
        assert first.questions[0].zh == "您最近为什么来得少了？"
        assert first.question("mood").kind == "scale"
        assert first.en == "Store callback"
        assert ("门店回访问卷" if zh else "Store callback") in page.content()
    finally:
        context.close()
