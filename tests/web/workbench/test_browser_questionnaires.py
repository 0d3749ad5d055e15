"""An admin edits the callback questionnaire in Chinese on a 390 px phone, in real headless
Chromium: a refused save shows the reason in Chinese, a good one is stored and asked on the
call page; no page is wider than the screen, no console error, no failed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories.workbench import PASSWORD, user
from tests.web.browser import PageWatch
from tests.web.workbench.test_browser_settings import OVERFLOW_JS, browser, submit
from winback.app.settings.rules import current_rules, questionnaires_in_force
from winback.store.accounts.models import Role
from winback.store.programme.models import ProgrammeSettings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser"]  # the Chromium fixture, shared with the other settings browser test


def _fits(page: Any, watch: PageWatch, where: str) -> None:
    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow == [], f"{where}: wider than the viewport: {overflow}"
    watch.assert_clean(where)


def test_admin_edits_a_questionnaire_in_chinese_on_a_phone(
    live_server: Any, browser: Any, artifacts_dir: Path
) -> None:
    user("admin", Role.ADMIN)
    base = live_server.url
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
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
        _fits(page, watch, "questionnaires")
        with page.expect_navigation():
            page.locator("section[data-code=callback_first] a.questionnaire-edit").click()
        page.locator("#questionnaire-form").wait_for()
        _fits(page, watch, "editor")
        page.screenshot(path=str(shots / "questionnaire-editor-zh-390.png"), full_page=True)

        # A free-text question cannot keep options: refused, in Chinese, nothing stored.
        page.select_option("#id_q-1-kind", "text")
        submit(page, "#questionnaire-save")
        error = page.locator("#questionnaire-form .field-error").first
        error.wait_for()
        assert "自由填写的问题不能有选项" in error.inner_text()
        assert not ProgrammeSettings.objects.exclude(questionnaires={}).exists()
        _fits(page, watch, "refused")
        page.screenshot(path=str(shots / "questionnaire-refused-zh-390.png"), full_page=True)

        # Put the kind back, change the title and the first question's wording, add a scale.
        page.select_option("#id_q-1-kind", "single")
        page.fill("#id_head-zh", "门店回访问卷")
        page.fill("#id_q-0-zh", "您最近为什么来得少了？")
        blank = page.locator("[data-row=question]").count() - 1
        page.fill(f"#id_q-{blank}-code", "mood")
        page.fill(f"#id_q-{blank}-zh", "您对我们满意吗？")
        page.fill(f"#id_q-{blank}-en", "Are you happy with us?")
        page.select_option(f"#id_q-{blank}-kind", "scale")
        submit(page, "#questionnaire-save")
        page.locator("section[data-code=callback_first]").wait_for()
        _fits(page, watch, "saved")
        page.screenshot(path=str(shots / "questionnaire-saved-zh-390.png"), full_page=True)

        in_force = questionnaires_in_force(current_rules())
        first = in_force.first
        assert in_force.own
        assert first is not None
        assert first.zh == "门店回访问卷"
        assert first.questions[0].zh == "您最近为什么来得少了？"
        assert first.question("mood").kind == "scale"
        assert "门店回访问卷" in page.content()
    finally:
        context.close()
