"""Template filters for the workbench: amounts, counts, shares and days written the way the
reader's language writes them (zh-CN: ``¥12,346``, ``12.3%``, ``2026年12月7日``; English:
``¥12,346``, ``12.3%``, ``7 Dec 2026``). Missing values show as ``-``."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.translation import get_language

register = template.Library()
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def _as_date(value: date | datetime | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@register.filter
def money(cents: int | None) -> str:
    """Integer cents as ``1,234.56`` (amounts are stored in cents)."""
    if cents is None:
        return "-"
    return f"{cents / 100:,.2f}"


@register.filter
def stage(code: str | None) -> str:
    from winback.app.customers.pages import stage_label

    return stage_label(code)


@register.filter
def status(code: str | None) -> str:
    from winback.app.customers.pages import status_label

    return status_label(code)


@register.filter
def yuan(amount: float | int | None) -> str:
    """An amount in yuan (not cents) as ``¥12,346`` (whole yuan from 100 up, else 2 decimals)."""
    if amount is None:
        return "-"
    value = float(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    return f"{sign}¥{text}"


@register.filter
def number(value: float | int | None, digits: int = 0) -> str:
    """A count or measure with thousands separators: ``12,345`` (``digits`` decimals)."""
    if value is None:
        return "-"
    return f"{float(value):,.{int(digits)}f}"


@register.filter
def percent(share: float | None, digits: int = 1) -> str:
    """A share in [0, 1] as ``12.3%``."""
    if share is None:
        return "-"
    return f"{float(share) * 100:.{int(digits)}f}%"


@register.filter
def day(value: date | datetime | str | None) -> str:
    """A calendar day: ``2026年12月7日`` in Chinese, ``7 Dec 2026`` in English (a time is
    taken in the local time zone first)."""
    d = _as_date(value)
    if d is None:
        return "-" if value in (None, "") else str(value)
    if _chinese():
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}"


@register.filter
def month(value: date | datetime | str | None) -> str:
    """A month: ``2026年11月`` in Chinese, ``Nov 2026`` in English (``2026-11`` is accepted)."""
    if isinstance(value, str) and len(value) == 7:
        value = value + "-01"
    d = _as_date(value)
    if d is None:
        return "-" if value in (None, "") else str(value)
    if _chinese():
        return f"{d.year}年{d.month}月"
    return f"{EN_MONTHS[d.month - 1]} {d.year}"
