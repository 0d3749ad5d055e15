"""The workbench's formatting filters write amounts, counts, shares and days the way the
reader's language does."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

from winback.web.workbench.templatetags import workbench_tags as tags


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("zh-hans", "2026年12月7日"), ("en", "7 Dec 2026")],
)
def test_day_in_each_language(lang: str, expected: str) -> None:
    with translation.override(lang):
        assert tags.day(date(2026, 12, 7)) == expected
        assert tags.day("2026-12-07") == expected


def test_day_of_a_time_is_the_local_day() -> None:
    # 20:30 in UTC is already the next morning in Shanghai (the project's time zone)
    late = datetime(2026, 12, 6, 20, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override("zh-hans"):
        assert tags.day(late) == "2026年12月7日"
    with translation.override("en"):
        assert tags.day(late) == "7 Dec 2026"


def test_missing_and_unreadable_days() -> None:
    with translation.override("zh-hans"):
        assert tags.day(None) == "-"
        assert tags.day("") == "-"
        assert tags.day("soon") == "soon"


def test_month_in_each_language() -> None:
    with translation.override("zh-hans"):
        assert tags.month(date(2026, 11, 1)) == "2026年11月"
        assert tags.month("2026-11") == "2026年11月"
    with translation.override("en"):
        assert tags.month(date(2026, 11, 30)) == "Nov 2026"
        assert tags.month(None) == "-"


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_amounts_counts_and_shares(lang: str) -> None:
    with translation.override(lang):
        assert tags.money(123456) == "1,234.56"
        assert tags.money(None) == "-"
        assert tags.yuan(12345.6) == "¥12,346"
        assert tags.yuan(-12345.6) == "-¥12,346"
        assert tags.yuan(12.5) == "¥12.50"
        assert tags.yuan(None) == "-"
        assert tags.number(1234567) == "1,234,567"
        assert tags.number(1234.567, 1) == "1,234.6"
        assert tags.percent(0.1234) == "12.3%"
        assert tags.percent(0.5, 0) == "50%"
        assert tags.percent(None) == "-"


def test_filters_in_a_template() -> None:
    template = Template(
        "{% load workbench_tags %}{{ d|day }} · {{ m|month }} · {{ a|yuan }} · {{ s|percent }}"
    )
    context = Context({"d": date(2026, 12, 7), "m": "2026-11", "a": 2500, "s": 0.25})
    with translation.override("zh-hans"):
        assert template.render(context) == "2026年12月7日 · 2026年11月 · ¥2,500 · 25.0%"
    with translation.override("en"):
        assert template.render(context) == "7 Dec 2026 · Nov 2026 · ¥2,500 · 25.0%"
