"""Template filters for the workbench."""

from __future__ import annotations

from django import template

register = template.Library()


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
