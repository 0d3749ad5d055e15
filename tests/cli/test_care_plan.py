"""`winback care plan` and the demo's care step: the same use case as the workbench."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.django_db(transaction=True)


def _business() -> None:
    from winback.store.accounts.models import Role, User
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
    from winback.store.customers.models import Customer

    AnalysisRun.objects.create(as_of=date(2024, 5, 31), customers=3)
    for i in range(3):
        c = Customer.objects.create(external_id=f"C{i}")
        CustomerSnapshot.objects.create(
            customer=c,
            as_of=date(2024, 5, 31),
            stage="active",
            customer_type="evergreen",
            status="active",
            churn_score=10.0,
            abc_class="D",  # one care call each, no visit, no holiday greeting
            tier=3,
            clv_365=50.0,
        )
    User.objects.create(username="agent1", role=Role.AGENT, daily_capacity=2)
    User.objects.create(username="sup", role=Role.SUPERVISOR)


def _invoke(*args: str) -> Any:
    from winback.cli import app

    return CliRunner().invoke(app, list(args))


def test_care_plan_makes_tasks_within_capacity_and_refuses_agents() -> None:
    from winback.store.programme.models import CareTask

    _business()
    result = _invoke("care", "plan", "--from", "2024-06-10", "--to", "2024-06-10", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert (made["created"], made["due"], made["left_over"]) == (2, 3, 1)
    assert made["by_agent"] == {"agent1": 2}
    assert CareTask.objects.filter(agent__username="agent1").count() == 2

    refused = _invoke("care", "plan", "--from", "2024-06-10", "--as", "agent1")
    assert refused.exit_code == 2
    as_sup = _invoke("care", "plan", "--from", "2024-06-11", "--to", "2024-06-11", "--as", "sup")
    assert as_sup.exit_code == 0, as_sup.output
    assert CareTask.objects.count() == 3  # the one left over found room on the 11th


def test_the_demo_plans_care_for_the_demo_agents() -> None:
    from rich.console import Console

    from winback.cli.care import plan_for_demo
    from winback.store.programme.models import CareTask

    _business()
    by_agent = plan_for_demo(Console(record=True))
    assert set(by_agent) >= {"agent1"}
    assert CareTask.objects.filter(agent__username="agent1").exists()


@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "的关怀任务："), ("en", "Care tasks for")])
def test_the_demos_care_line_speaks_the_terminals_language(lang: str, words: str) -> None:
    from django.utils import translation
    from rich.console import Console

    from winback.cli.care import plan_for_demo

    _business()
    console = Console(record=True, width=200)
    with translation.override(lang):
        plan_for_demo(console)
    text = console.export_text()
    assert words in text
    assert ("Care tasks for" in text) == (lang == "en")
    assert "agent1" in text
