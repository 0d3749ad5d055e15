"""``{% care_queue_section %}``: the signed-in agent's care tasks, for any page's queue
(``workbench/care/_queue.html`` is the one line a page includes)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("workbench/care/_queue_section.html", takes_context=True)
def care_queue_section(context: template.Context) -> dict[str, Any]:
    from django.utils import timezone

    from winback.web.workbench.views_care import care_queue

    request = context.get("request")
    today = context.get("today")
    if not isinstance(today, date):
        today = timezone.localdate()
    if request is None:
        return {"care_rows": [], "care_today": today}
    return care_queue(request.user, today)
