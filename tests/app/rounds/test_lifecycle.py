"""Issue 15: a round closes at its closing day and its open calls expire with a recorded
cause; planning never phones a customer without a number; customer sheets list no closed
round's task as open."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from typer.testing import CliRunner

from tests.factories import business
from tests.factories.workbench import build_world, customer, task
from winback.app.actors import Actor
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Customer
from winback.store.programme.models import CallTask, Round, RoundStatus, TaskStatus

pytestmark = pytest.mark.django_db


def test_close_due_rounds_expires_open_calls_with_their_cause() -> None:
    from winback.app.rounds.lifecycle import close_due_rounds

    world = build_world()  # a November 2026 round, two open tasks
    world.agent2.is_active = False
    world.agent2.save(update_fields=["is_active"])
    # The last day of the round: nothing to close yet.
    assert close_due_rounds(Actor.system("cron"), on=date(2026, 11, 30)) == []
    assert CallTask.objects.filter(status=TaskStatus.OPEN).count() == 2

    closed = close_due_rounds(Actor.system("cron"), on=date(2026, 12, 1))
    assert [c.round_id for c in closed] == [world.round.pk]
    assert closed[0].expired == {"round_closed": 1, "agent_deactivated": 1}
    world.round.refresh_from_db()
    assert world.round.status == RoundStatus.CLOSED
    causes = dict(CallTask.objects.values_list("pk", "expiry_cause"))
    assert causes == {world.task_mine.pk: "round_closed", world.task_theirs.pk: "agent_deactivated"}
    assert not CallTask.objects.filter(status=TaskStatus.OPEN).exists()
    assert CallTask.objects.filter(next_due__isnull=False).count() == 0
    row = AuditLog.objects.get(action="close_round")
    assert row.detail["expired"] == {"round_closed": 1, "agent_deactivated": 1}
    # Run again: nothing more to do.
    assert close_due_rounds(Actor.system("cron"), on=date(2026, 12, 2)) == []


def test_the_closing_day_follows_the_business_setting(settings_profile: None) -> None:
    from winback.app.rounds.lifecycle import close_due_rounds

    world = build_world()
    assert close_due_rounds(Actor.system("cron"), on=date(2026, 12, 3)) == []
    closed = close_due_rounds(Actor.system("cron"), on=date(2026, 12, 4))
    assert [c.round_id for c in closed] == [world.round.pk]


@pytest.fixture
def settings_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business closes rounds 3 days after their end."""
    from dataclasses import replace

    from winback.app.rounds import lifecycle
    from winback.app.settings.profile import current_profile

    base = current_profile()
    changed = replace(base, programme=replace(base.programme, round_close_after_days=3))
    monkeypatch.setattr(lifecycle, "current_profile", lambda: changed)


def test_a_closed_round_with_leftover_open_calls_is_cleaned_up() -> None:
    from winback.app.rounds.lifecycle import close_due_rounds

    world = build_world()
    Round.objects.filter(pk=world.round.pk).update(status=RoundStatus.CLOSED)
    closed = close_due_rounds(Actor.system("cron"), on=date(2026, 11, 10))
    assert closed
    assert closed[0].expired == {"round_closed": 2}


def test_agents_may_not_close_rounds_and_supervisors_close_one_now() -> None:
    from winback.app.rounds.lifecycle import RoundAlreadyClosed, close_due_rounds, close_round

    world = build_world()
    with pytest.raises(PermissionDenied):
        close_due_rounds(Actor.of(world.agent1), on=date(2026, 12, 1))
    with pytest.raises(PermissionDenied):
        close_round(Actor.of(world.agent1), world.round.pk)
    done = close_round(Actor.of(world.supervisor), world.round.pk)
    assert done.expired == {"closed_by_supervisor": 2}
    assert set(CallTask.objects.values_list("expiry_cause", flat=True)) == {"closed_by_supervisor"}
    with pytest.raises(RoundAlreadyClosed):
        close_round(Actor.of(world.supervisor), world.round.pk)


def test_customer_sheet_lists_no_closed_rounds_task_as_open() -> None:
    from winback.app.customers.pages import customer_sheet

    world = build_world()
    # A round marked closed whose task was left open (the state the issue found).
    Round.objects.filter(pk=world.round.pk).update(status=RoundStatus.CLOSED)
    sheet = customer_sheet(world.supervisor, world.mine.pk, lang="en")
    assert sheet.open_tasks == []


def test_cli_close_due_closes_and_reports_json() -> None:
    from winback.cli import app

    world = build_world()
    result = CliRunner().invoke(app, ["round", "close-due", "--on", "2026-12-01", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["closed"][0]["round_id"] == world.round.pk
    assert payload["closed"][0]["expired"] == {"round_closed": 2}
    again = CliRunner().invoke(app, ["round", "close-due", "--on", "2026-12-01"])
    assert again.exit_code == 0


def test_planning_closes_the_rounds_due_and_never_phones_without_a_number() -> None:
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import RoundMember

    world = business.build_world(seed=7)
    # Some candidates lose their phone number: one keeps an e-mail address, one has neither.
    candidates = sorted(world.candidates)
    Customer.objects.filter(pk__in=candidates[:6]).update(phone="", email="x@example.com")
    Customer.objects.filter(pk__in=candidates[6:12]).update(phone="", email="")
    rnd = plan_round(Actor.system(), month=business.MONTH, seed=3, agents=business.team()).round
    channels = dict(RoundMember.objects.filter(round=rnd).values_list("customer_id", "channel"))
    no_phone = set(candidates[:12])
    assert all(channels[pk] not in ("phone", "sms", "wechat") for pk in no_phone & set(channels))
    assert not set(candidates[6:12]) & set(channels)
    assert rnd.summary["no_reachable_channel"] >= 1
    tasked = set(CallTask.objects.filter(round=rnd).values_list("customer_id", flat=True))
    assert not tasked & set(candidates[6:12])
    # The round of the month after: planning it closes June's round (its month is over).
    nxt = plan_round(Actor.system(), month=date(2024, 7, 1), seed=3, agents=business.team()).round
    rnd.refresh_from_db()
    assert rnd.status == RoundStatus.CLOSED
    assert nxt.status == RoundStatus.ACTIVE
    assert not CallTask.objects.filter(round=rnd, status=TaskStatus.OPEN).exists()


def test_round_task_factory_still_builds() -> None:
    world = build_world()
    c = customer("C-NEW", "")
    t = task(world.round, c, world.agent1, 99, date(2026, 11, 9))
    assert t.expiry_cause == ""
