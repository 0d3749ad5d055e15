"""The Content-Security-Policy holds on every workbench page: real headless Chromium visits each
page route (the resolver's, with the path parameters and query strings of the GET walk) as an
agent, a supervisor and an admin, in Chinese and in English, plus the sign-in and error pages,
and records every ``securitypolicyviolation`` event (in the page and in its frames) and every
console message about the policy. None may occur.

The policy is the one production serves (it does not depend on ``WINBACK_ENV``); each page's
answer is checked to carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.factories.workbench import PASSWORD
from tests.web.test_get_never_writes import NOT_A_PAGE, populate, routes, urls_of

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ("agent1", "supervisor", "admin")
LANGUAGES = ("zh-hans", "en")
RECORDER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({
    directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber, page: document.location.href,
  });
});
"""


@dataclass
class Seen:
    violations: list[dict[str, Any]]
    console: list[str]
    visits: int = 0

    def clean(self) -> bool:
        return not self.violations and not self.console


def page_urls(params: dict[str, tuple[str, ...]]) -> list[str]:
    """Every page a browser opens with GET: not the JSON API, the POST-only routes or the icon
    (an image: the browser's own image viewer is not a workbench page)."""
    urls = []
    for route in routes():
        if route.startswith(("api/", "i18n/", "favicon")) or NOT_A_PAGE.get(route) == 405:
            continue
        urls.extend(urls_of(route, params))
    # a report file is a page only as the HTML shown in the reports page's frame; the other
    # files are POSTed downloads (a GET is a bare 405)
    file_route = "reports/<str:month>/<str:lang>.<str:fmt>"
    assert file_route in routes()
    return [u for u in urls if u.endswith(".html?inline=1") or not _is_report_file(u)]


def _is_report_file(url: str) -> bool:
    return url.startswith("/reports/") and "." in url.rsplit("/", 1)[-1]


def policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def record(page: Page) -> Seen:
    seen = Seen([], [])

    def report(violation: dict[str, Any]) -> None:
        seen.violations.append(violation)

    page.expose_function("__cspViolation", report)
    page.add_init_script(RECORDER)
    page.on(
        "console",
        lambda m: seen.console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return seen


def visit(page: Page, url: str, seen: Seen) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None, url
    header = response.headers.get("content-security-policy", "")
    directives = policy(header)
    if response.status == 200 and _is_report_file(urlsplit(url).path):  # the report itself
        assert directives.get("script-src") == ["'none'"], (url, header)
    else:
        assert directives.get("script-src") == ["'self'"], (url, header)
        assert directives.get("style-src") == ["'self'"], (url, header)
    # let the events of the page and its frames reach the recorder before leaving the page
    page.evaluate("() => new Promise((done) => setTimeout(done, 30))")
    seen.visits += 1


def sign_in(page: Page, base: str, username: str, language: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
    )
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state("load")
    assert page.locator(".who").count() == 1, f"{username} is not signed in"


def test_no_page_breaks_the_content_security_policy(live_server: Any, browser_page: Page) -> None:
    fixture = populate()
    base, page = live_server.url, browser_page
    seen = record(page)
    urls = page_urls(fixture.params)
    for language in LANGUAGES:
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
        )
        for anonymous in ("/login/", "/no-such-page/"):
            visit(page, base + anonymous, seen)
        for username in ROLES:
            sign_in(page, base, username, language)
            assert page.locator("html").get_attribute("lang") == language
            for url in urls:
                visit(page, base + url, seen)
    assert seen.visits >= 2 * len(ROLES) * len(urls)
    assert seen.violations == [], sorted(
        {(v["page"], v["directive"], v["line"]) for v in seen.violations}
    )
    assert seen.console == [], seen.console[:10]

    # the recorder is not blind: an inline script and an inline style are reported
    page.goto(f"{base}/login/")
    page.evaluate(
        """() => {
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.body.appendChild(s);
        document.body.insertAdjacentHTML("beforeend", '<p style="color:red">x</p>');
        return new Promise((done) => setTimeout(done, 100));
    }"""
    )
    assert page.evaluate("() => window.__ran === true") is False
    directives = {v["directive"] for v in seen.violations}
    assert {"script-src-elem", "style-src-attr"} <= directives, seen.violations
