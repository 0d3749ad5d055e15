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
