"""Issue 15: closing a round from the board, reassigning calls from a round's or an agent's
page, and deactivating an agent leading to the reassignment of their calls."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import build_world
from winback.store.accounts.models import AuditLog, User
from winback.store.programme.models import CallTask, Round, RoundStatus, TaskStatus

pytestmark = pytest.mark.django_db


def signed_in(user: User, lang: str = "en") -> Client:
    client = Client(headers={"accept-language": lang})
    client.force_login(user)
    return client


def test_board_offers_reassign_and_close_and_closing_needs_the_confirmation() -> None:
    world = build_world()
    client = signed_in(world.supervisor)
    board = client.get(reverse("round_board", args=[world.round.pk]))
    html = board.content.decode()
    assert 'id="round-lifecycle"' in html
    assert reverse("round_reassign", args=[world.round.pk]) in html
    assert 'id="close-round-form"' in html
    # Without the box ticked nothing closes.
    client.post(reverse("round_close", args=[world.round.pk]))
    world.round.refresh_from_db()
    assert world.round.status == RoundStatus.ACTIVE
    assert CallTask.objects.filter(status=TaskStatus.OPEN).count() == 2
    done = client.post(reverse("round_close", args=[world.round.pk]), {"confirm": "on"})
    assert done.status_code == 302
    world.round.refresh_from_db()
    assert world.round.status == RoundStatus.CLOSED
    assert set(CallTask.objects.values_list("expiry_cause", flat=True)) == {"closed_by_supervisor"}
    # Agents may not close rounds.
    assert (
        signed_in(world.agent1)
        .post(reverse("round_close", args=[world.round.pk]), {"confirm": "on"})
        .status_code
        == 403
    )


def test_a_month_over_round_shows_as_closed_not_active() -> None:
    world = build_world()  # November 2026, still "active" in the database
    page = signed_in(world.supervisor).get(reverse("rounds")).content.decode()
    assert 'data-state="closed"' in page
    assert 'data-state="active"' not in page
    Round.objects.filter(pk=world.round.pk).update(round_end="2099-12-31")
    page = signed_in(world.supervisor).get(reverse("rounds")).content.decode()
    assert 'data-state="active"' in page


def test_round_page_reassigns_ticked_calls_to_one_agent() -> None:
    world = build_world(extra_customers=4)
    client = signed_in(world.supervisor)
    url = reverse("round_reassign", args=[world.round.pk])
    page = client.get(url, {"agent": world.agent1.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('name="tasks"') == 5  # agent1's five open calls
    ticked = [world.task_mine.pk]
    answer = client.post(
        f"{url}?agent={world.agent1.pk}",
        {"scope": "selected", "tasks": ticked, "to_agent": world.agent2.pk},
    )
    assert answer.status_code == 302
    assert CallTask.objects.get(pk=world.task_mine.pk).agent_id == world.agent2.pk
    assert AuditLog.objects.filter(action="reassign_tasks").count() == 1
    # "The ticked calls" with none ticked is refused with a message.
    refused = client.post(url, {"scope": "selected", "to_agent": ""})
    assert refused.status_code == 422
    assert b"Tick at least one call" in refused.content


def test_deactivating_an_agent_leads_to_reassigning_all_their_calls_in_one_action() -> None:
    world = build_world(extra_customers=6)
    admin = signed_in(world.admin)
    answer = admin.post(reverse("settings_user_active", args=[world.agent1.pk]), {"active": "0"})
    target = reverse("agent_reassign", args=[world.agent1.pk])
    assert answer.status_code == 302
    assert answer["Location"] == target
    page = admin.get(target).content.decode()
    assert 'id="deactivated-notice"' in page
    done = admin.post(target, {"scope": "all", "to_agent": ""})
    assert done.status_code == 302
    assert not CallTask.objects.filter(agent=world.agent1, status=TaskStatus.OPEN).exists()
    assert CallTask.objects.filter(agent=world.agent2, status=TaskStatus.OPEN).count() == 8
    # Deactivating an agent without open calls goes back to the users page.
    again = admin.post(reverse("settings_user_active", args=[world.agent1.pk]), {"active": "0"})
    assert again["Location"] == reverse("settings_users")


def test_agents_cannot_open_reassignment_pages() -> None:
    world = build_world()
    client = signed_in(world.agent1)
    assert client.get(reverse("round_reassign", args=[world.round.pk])).status_code == 403
    assert client.get(reverse("agent_reassign", args=[world.agent2.pk])).status_code == 403


def _care(world, kind: str = "call", occasion: str = "", day=None):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from tests.factories.workbench import customer
    from winback.store.programme.models import CareTask

    n = CareTask.objects.count()
    today = day or timezone.localdate()
    return CareTask.objects.create(
        customer=customer(f"K-{n:03d}", f"1390000{n:04d}"),
        agent=world.agent1,
        kind=kind,
        occasion=occasion,
        due_date=today,
        planned_date=today,
    )


def test_an_agents_care_tasks_are_reassigned_ticked_or_all_and_audited() -> None:
    from winback.store.programme.models import CareTask

    world = build_world()
    tasks = [_care(world), _care(world), _care(world, "greeting", "mid_autumn")]
    client = signed_in(world.supervisor)
    url = reverse("agent_reassign", args=[world.agent1.pk])
    html = client.get(url).content.decode()
    assert 'id="care-reassign-form"' in html
    assert html.count('name="care-tasks"') == 3
    one = client.post(
        url,
        {"care-scope": "selected", "care-tasks": [tasks[0].pk], "care-to_agent": world.agent2.pk},
    )
    assert one.status_code == 302
    assert CareTask.objects.get(pk=tasks[0].pk).agent_id == world.agent2.pk
    assert CareTask.objects.get(pk=tasks[1].pk).agent_id == world.agent1.pk
    # The win-back calls were not touched by the care form.
    assert CallTask.objects.get(pk=world.task_mine.pk).agent_id == world.agent1.pk
    rest = client.post(url, {"care-scope": "all", "care-to_agent": ""})
    assert rest.status_code == 302
    assert not CareTask.objects.filter(agent=world.agent1, status="open").exists()
    rows = AuditLog.objects.filter(action="reassign_care_tasks").order_by("pk")
    assert [r.detail["moved"] for r in rows] == [1, 2]
    assert rows[1].detail["care_tasks"] == sorted([tasks[1].pk, tasks[2].pk])
    refused = client.post(url, {"care-scope": "selected", "care-to_agent": ""})
    assert refused.status_code == 422
    assert signed_in(world.agent1).post(url, {"care-scope": "all"}).status_code == 403


def test_deactivating_an_agent_with_only_care_tasks_offers_to_reassign_them() -> None:
    world = build_world()
    CallTask.objects.filter(agent=world.agent1).update(status=TaskStatus.DONE)
    _care(world)
    admin = signed_in(world.admin)
    answer = admin.post(reverse("settings_user_active", args=[world.agent1.pk]), {"active": "0"})
    assert answer["Location"] == reverse("agent_reassign", args=[world.agent1.pk])
