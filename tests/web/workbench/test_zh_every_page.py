"""Every workbench page in Chinese speaks Chinese: no untranslated wording, no raw codes.

Every page route of the URL resolver (with the path parameters and query strings of the GET
walk in :mod:`tests.web.test_get_never_writes`) is requested in Chinese as an agent, a
supervisor and an admin, plus the sign-in and error pages. The visible text of each answer
(text nodes outside scripts, styles and form fields being edited, plus the ``placeholder``,
``title``, ``aria-label`` and ``alt`` attributes and the captions of buttons) is checked for:

- an English string of the catalogue that has a Chinese translation (it was shown untranslated);
- a raw code: a ``snake_case`` token or a code of :mod:`winback.vocabulary` standing alone;
- an English word outside a short allow-list (abbreviations such as ROI or CSV, brand names);
- a half-width colon after Chinese text.

The test data's own values (customer names and IDs, user names, file names, notes) are what
the user typed, not wording: they are taken out before the check.
"""

from __future__ import annotations

import gettext
import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.web.test_get_never_writes import NOT_A_PAGE, Fixture, populate, routes, urls_of
from winback import vocabulary
from winback.store.accounts.models import User
from winback.store.customers.models import ContactLog, Customer, SavedSegment
from winback.store.imports.models import ImportBatch

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROLES = ("agent1", "supervisor", "admin")
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
# Words a Chinese page may show as they are: abbreviations, formats, brand and product names.
ALLOWED_WORDS = {
    "ROI",
    "CSV",
    "TSV",
    "Excel",
    "XLSX",
    "PDF",
    "HTML",
    "JSON",
    "ID",
    "API",
    "SMS",
    "UTF",
    "GBK",
    "Winback",
    "Django",  # "Django 管理后台": the admin site's product name
    "English",  # the language switch, shown in its own language
    "WeChat",
    "Polars",
    "CLV",
    "RFM",
    "BG",
    "NBD",
    "Pareto",
    "AUC",
    "SQL",
    "PIPL",
    # key names, as printed on the keyboard (the call page's shortcuts)
    "Ctrl",
    "Enter",
    "Shift",
    "Alt",
    "Esc",
    "Tab",
}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_\-./@])[A-Za-z][a-z]{2,}(?![A-Za-z0-9_\-/@])")
HALF_WIDTH_COLON = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]\s*:(?!//)")
CODES = {
    code
    for enum in (
        vocabulary.Stage,
        vocabulary.Status,
        vocabulary.CustomerType,
        vocabulary.Channel,
        vocabulary.Outcome,
        vocabulary.TaskStatus,
        vocabulary.Arm,
        vocabulary.RoundStatus,
        vocabulary.ImportStatus,
        vocabulary.Role,
    )
    for code in vocabulary.codes(enum)
}
# ``<code>``: an identifier the user has to type as it is (a rule's key in the settings' JSON
# editor), always shown beside its label, never instead of it.
SKIPPED_ELEMENTS = {"script", "style", "template", "textarea", "noscript", "head", "code"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class VisibleText(HTMLParser):
    """The strings a reader of the page sees, one per text node or shown attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from the check)
        self.strings: list[str] = []

    def hidden(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        lang = (a.get("lang") or "zh").lower()
        skip = tag in SKIPPED_ELEMENTS or not lang.startswith("zh") or "hidden" in a
        if not skip and not self.hidden():
            self.strings.extend(str(a[n]) for n in SHOWN_ATTRIBUTES if a.get(n))
            if tag == "input" and a.get("type") in {"submit", "button"} and a.get("value"):
                self.strings.append(str(a["value"]))
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self.hidden():
            self.strings.append(text)


def visible_strings(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.strings


def translated_msgids() -> set[str]:
    """English strings of the catalogue with a Chinese translation, as a reader would see them."""
    with CATALOGUE.open("rb") as f:
        catalogue = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    found = set()
    for key, text in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or not text or text == msgid or "%" in msgid or "{" in msgid:
            continue
        msgid = msgid.split("\x04")[-1]  # a context prefix
        if re.search(r"[A-Za-z]{2}", msgid) and msgid not in ALLOWED_WORDS:
            found.add(" ".join(msgid.split()))
    return found


def user_data() -> list[str]:
    """What the test data typed: names, IDs, phones, e-mails, user and file names."""
    values: list[str] = []
    for row in Customer.objects.values("external_id", "name", "email"):
        values.extend(v for v in row.values() if v)
    values.extend(User.objects.values_list("username", flat=True))
    values.extend(ImportBatch.objects.values_list("file_name", flat=True))
    values.extend(n for n in Customer.objects.values_list("notes", flat=True) if n)
    values.extend(n for n in ContactLog.objects.values_list("notes", flat=True) if n)
    values.extend(SavedSegment.objects.values_list("name", flat=True))  # names users gave
    # the uploaded file's own header and values (tests.web.test_get_never_writes.populate)
    values.extend(["orders.csv", "o.csv", "busy", "customer_id", "order_date", "amount", "C1"])
    values.extend(["Skin care", "A01"])
    return sorted(values, key=len, reverse=True)


def page_urls(fixture: Fixture) -> list[str]:
    """Every GET page of the workbench in Chinese (the English report variants left out)."""
    params = dict(fixture.params)
    params.setdefault("agent_id", (str(fixture.world.agent1.pk),))  # an agent's drill-down
    urls = []
    for route in routes():
        if route.startswith(("api/", "i18n/", "favicon")) or NOT_A_PAGE.get(route) == 405:
            continue
        urls.extend(urls_of(route, params))
    pages = []
    for url in urls:
        last = url.split("?")[0].rsplit("/", 1)[-1]
        if url.startswith("/reports/") and "." in last:
            if url.endswith("/zh.html?inline=1"):
                pages.append(url)
            continue
        if "lang=en" in url:
            continue
        pages.append(url)
    return pages


def problems(strings: list[str], msgids: set[str], data: list[str]) -> list[str]:
    found = []
    long_msgids = [m for m in msgids if len(m) >= 12 and " " in m]
    for raw in strings:
        text = raw
        for value in data:
            text = text.replace(value, " ")
        if text.strip() in msgids:
            found.append(f"untranslated: {text.strip()!r}")
            continue
        found.extend(f"untranslated: {m!r} in {raw!r}" for m in long_msgids if m in text)
        found.extend(f"code: {m!r} in {raw!r}" for m in SNAKE.findall(text))
        found.extend(
            f"code: {w!r} in {raw!r}"
            for w in re.findall(r"[A-Za-z_]+", text)
            if w in CODES and w not in ALLOWED_WORDS
        )
        found.extend(
            f"English: {w!r} in {raw!r}"
            for w in ENGLISH_WORD.findall(text)
            if w not in ALLOWED_WORDS and w not in CODES and not SNAKE.fullmatch(w)
        )
        found.extend(f"half-width colon in {raw!r}" for _ in HALF_WIDTH_COLON.findall(text))
    return found


def chinese_client(user: User | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    if user is not None:
        User.objects.filter(pk=user.pk).update(language="zh-hans")
        client.force_login(user)
    return client


def test_every_chinese_page_shows_chinese_words_and_labels_not_codes() -> None:
    fixture = populate()
    msgids, data = translated_msgids(), user_data()
    assert len(msgids) > 300  # the catalogue was read
    urls = page_urls(fixture)
    found: dict[str, set[str]] = defaultdict(set)
    pages = 0
    anonymous = chinese_client()
    for url in ("/login/", "/no-such-page/"):
        response = anonymous.get(url)
        found_here = problems(visible_strings(response.content.decode()), msgids, data)
        for p in found_here:
            found[p].add(url)
        pages += 1
    for username in ROLES:
        client = chinese_client(User.objects.get(username=username))
        for url in urls:
            response = client.get(url)
            if response.status_code not in (200, 403, 404, 409, 422):
                continue
            if response.streaming or "text/html" not in response.get("Content-Type", ""):
                continue
            for p in problems(visible_strings(response.content.decode()), msgids, data):
                found[p].add(f"{username} {url}")
            pages += 1
    assert pages > 3 * 20, pages
    report = [f"{p}  [{len(where)}× e.g. {sorted(where)[0]}]" for p, where in sorted(found.items())]
    assert report == [], "\n" + "\n".join(report)


def test_the_check_sees_codes_and_english() -> None:
    """The check is not blind: it finds each kind of fault in a made-up page."""
    html = (
        '<html lang="zh-hans"><body><p>Customers</p><p>客户 customer_id</p>'
        "<td>phone</td><p>权重: learned</p><p>round 6 2026-11</p>"
        '<button lang="en">English</button><input placeholder="Search"><p>ROI 12%</p>'
        "<script>var not_shown = 1</script></body></html>"
    )
    found = problems(visible_strings(html), {"Customers", "Search"}, [])
    joined = "\n".join(found)
    for fault in (
        "untranslated: 'Customers'",
        "untranslated: 'Search'",
        "code: 'customer_id'",
        "code: 'phone'",
        "English: 'learned'",
        "English: 'round'",
        "half-width colon",
    ):
        assert fault in joined, (fault, found)
    assert "not_shown" not in joined
    assert "English'" not in joined
    assert "ROI" not in joined
