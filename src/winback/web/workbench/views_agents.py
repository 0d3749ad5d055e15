"""A supervisor's drill-down into one agent's calls in a round."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor
from winback.app.rounds.agents import agent_calls
from winback.store.accounts.models import User


@staff_required
@require_GET
def round_agent(request: HttpRequest, round_id: int, agent_id: int) -> HttpResponse:
    page = agent_calls(
        Actor.of(cast(User, request.user)),
        round_id,
        agent_id,
        as_of=timezone.localdate(),
        lang=get_language() or "zh-hans",
    )
    return render(request, "workbench/rounds/agent.html", page)
