"""The use case behind `winback round plan` and the wizard's Create button."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor
from winback.app.rounds.service import RoundExists, plan_round
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.programme.models import Round

pytestmark = pytest.mark.django_db


def test_one_round_per_month_whoever_asks() -> None:
    build_world()
    made = plan_round(Actor.system("cli"), month=MONTH, seed=5, agents=team())
    assert made.created
    supervisor = Actor.of(User.objects.create(username="sup", role=Role.SUPERVISOR))
    with pytest.raises(RoundExists) as refused:
        plan_round(supervisor, month=MONTH.replace(day=15), seed=6, agents=team())
    assert refused.value.round.pk == made.round.pk
    assert Round.objects.filter(month=MONTH).count() == 1


def test_the_same_request_twice_gets_the_round_it_made() -> None:
    build_world()
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), request_token="t-1")
    again = plan_round(Actor.system(), month=MONTH, seed=9, agents=team(), request_token="t-1")
    assert not again.created
    assert again.round.pk == first.round.pk
    assert again.round.seed == 5


def test_an_agent_may_not_plan_and_nothing_is_written() -> None:
    build_world()
    agent = Actor.of(User.objects.create(username="a9", role=Role.AGENT))
    with pytest.raises(PermissionDenied):
        plan_round(agent, month=MONTH, seed=5, agents=team())
    assert not Round.objects.exists()


def test_the_plan_is_audited_under_the_actor() -> None:
    build_world()
    made = plan_round(Actor.system("cron"), month=MONTH, seed=5, agents=team())
    row = AuditLog.objects.get(action="plan_round")
    assert row.username == "system:cron"
    assert row.object_id == str(made.round.pk)
    assert row.detail["selected"] == made.round.summary["selected"] > 0
