"""Real headless Chromium (Debian's package) for the browser tests, and the checks every
browser test makes on every page (:class:`PageWatch`, :func:`assert_fits`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Playwright is imported when a browser test runs, not when tests are collected
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# --- the checks every browser test makes --------------------------------------------------------
# One place for what each page must pass: no console error, no uncaught script error, no failed
# request and no answer >= 400 (each test says which it expects, e.g. a refused form's 422), and
# nothing wider than the screen outside a box that scrolls on its own.


# Elements past the left or right edge of the viewport, leaving out those inside a box whose
# overflow-x is one of the given values (a box that scrolls, or clips, on its own), and the
# page's own sideways scroll.
_OVERFLOW_JS = """(exempt) => {
  const w = document.documentElement.clientWidth;
  const boxed = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (exempt.includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 1 || r.left < -1) && !boxed(el)) {
      out.push([el.tagName, el.id, String(el.className), Math.round(r.left),
                Math.round(r.right), (el.textContent || '').trim().slice(0, 40)].join(' '));
    }
  }
  return {page: document.documentElement.scrollWidth - w, width: w, wide: out.slice(0, 10)};
}"""
SCROLL_BOXES = ("auto", "scroll")
CLIPPING_BOXES = ("auto", "scroll", "hidden")


def overflow(page: Page, exempt: Collection[str] = CLIPPING_BOXES) -> dict[str, Any]:
    """``page``: how far the page scrolls sideways (px, <= 0 when it does not); ``wide``: the
    elements sticking out of the viewport outside a box with an ``exempt`` overflow-x."""
    found: dict[str, Any] = page.evaluate(_OVERFLOW_JS, list(exempt))
    return found


def assert_fits(page: Page, where: object, exempt: Collection[str] = CLIPPING_BOXES) -> None:
    """Nothing sticks out of the viewport and the page does not scroll sideways."""
    found = overflow(page, exempt)
    assert found["page"] <= 0, (where, found)
    assert found["wide"] == [], (where, found)


class PageWatch:
    """Everything that goes wrong on a page while a test uses it.

    ``errors``: console errors and uncaught script errors; ``failed``: requests that failed and
    answers >= 400. ``allow_status``: statuses a test expects (a refused form's 422; Chromium
    also logs them on the console, so those lines are left out too); ``allow_url``: answers
    that have their own test (the favicon); ``allow_abort``: requests a test ends itself (a
    download ends its navigation as aborted). ``loads`` counts full page loads."""

    def __init__(
        self,
        page: Page,
        *,
        allow_status: Collection[int] = (),
        allow_url: Callable[[str], bool] = lambda _url: False,
        allow_abort: Callable[[str, str], bool] = lambda _url, _failure: False,
    ) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.loads = 0
        self._allow_status = frozenset(allow_status)
        self._allow_url = allow_url
        self._allow_abort = allow_abort
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.on("load", lambda _p: self._loaded())

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if any(f"status of {s}" in message.text for s in self._allow_status):
            return
        self.errors.append(message.text)

    def _request_failed(self, request: Any) -> None:
        failure = str(request.failure or "")
        if not self._allow_abort(request.url, failure):
            self.failed.append(f"failed {request.url} {failure}")

    def _response(self, response: Any) -> None:
        if response.status < 400 or response.status in self._allow_status:
            return
        if not self._allow_url(response.url):
            self.failed.append(f"{response.status} {response.url}")

    def _loaded(self) -> None:
        self.loads += 1

    @property
    def problems(self) -> list[str]:
        return [*self.errors, *self.failed]

    def assert_clean(self, where: object = "") -> None:
        assert self.errors == [], (where, self.errors[:10])
        assert self.failed == [], (where, self.failed[:10])
