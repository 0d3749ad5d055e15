"""Workbench pages through the Django test client: roles, masking, audit, outcomes, queries."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import AS_OF, PASSWORD, World, build_world, gate_query_count
from winback.store.accounts.models import AuditLog, User
from winback.store.programme.models import CallTask, ContactAttempt

pytestmark = pytest.mark.django_db

MASKED_MINE = "138****5678"
PROMISED = timezone.localdate() + timedelta(days=20)  # a promise lies ahead of the call
NumQueries = Callable[..., AbstractContextManager[Any]]


@pytest.fixture
def world() -> World:
    return build_world()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- login, logout, language ---------------------------------------------------------------------
def test_login_with_password_then_logout(world: World) -> None:
    assert world.agent1.password.startswith("argon2")
    client = Client()
    assert client.get(reverse("calls")).status_code == 302  # anonymous: to the login page
    response = client.post(reverse("login"), {"username": "agent1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("calls")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("calls")).status_code == 302


def test_wrong_password_is_refused(world: World) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "agent1", "password": "nope"})
    assert response.status_code == 200
    assert client.get(reverse("calls")).status_code == 302


def test_language_switch_is_remembered_on_the_user(world: World) -> None:
    client = signed_in(world.agent1)
    assert "今日通话" in client.get(reverse("calls")).content.decode()  # default zh-hans
    client.post(reverse("language"), {"language": "en", "next": reverse("calls")})
    assert "My calls today" in client.get(reverse("calls")).content.decode()
    world.agent1.refresh_from_db()
    assert world.agent1.language == "en"
    # A fresh browser: the login brings the user's language back.
    fresh = Client()
    fresh.post(reverse("login"), {"username": "agent1", "password": PASSWORD})
    assert "My calls today" in fresh.get(reverse("calls")).content.decode()


def test_browser_language_is_the_default(world: World) -> None:
    client = signed_in(world.agent1)
    page = client.get(reverse("calls"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "My calls today" in page


# --- roles and permissions -----------------------------------------------------------------------
def test_agent_gets_403_on_another_agents_customer_and_call(world: World) -> None:
    client = signed_in(world.agent1)
    assert client.get(reverse("customer", args=[world.theirs.pk])).status_code == 403
    assert client.get(reverse("call", args=[world.task_theirs.pk])).status_code == 403
    assert client.get(reverse("customer", args=[world.mine.pk])).status_code == 200


def test_agent_loses_access_when_the_task_is_no_longer_open(world: World) -> None:
    CallTask.objects.filter(pk=world.task_mine.pk).update(status="done")
    client = signed_in(world.agent1)
    assert client.get(reverse("customer", args=[world.mine.pk])).status_code == 403


def test_agents_do_not_get_the_lists(world: World) -> None:
    client = signed_in(world.agent1)
    assert client.get(reverse("customers")).status_code == 403
    assert client.get(reverse("dashboard")).status_code == 403


def test_agent_cannot_log_an_outcome_on_another_agents_task(world: World) -> None:
    client = signed_in(world.agent1)
    url = reverse("call", args=[world.task_theirs.pk])
    response = client.post(url, {"outcome": "reached", "expected_version": 1})
    assert response.status_code == 403
    assert not ContactAttempt.objects.exists()


def test_phone_is_full_only_on_the_agents_own_open_task(world: World) -> None:
    agent = signed_in(world.agent1)
    call = reverse("call", args=[world.task_mine.pk])
    own = agent.get(call).content.decode()
    assert "13812345678" not in own  # masked until the agent asks for it (a POST)
    assert MASKED_MINE in own
    assert 'id="reveal-phone"' in own
    shown = agent.post(call, {"action": "reveal_phone"}, headers={"HX-Request": "true"})
    assert shown.status_code == 200
    assert "13812345678" in shown.content.decode()
    assert 'id="reveal-phone"' not in shown.content.decode()
    sheet = signed_in(world.supervisor).get(reverse("customer", args=[world.mine.pk]))
    text = sheet.content.decode()
    assert "13812345678" not in text
    assert MASKED_MINE in text
    listing = signed_in(world.supervisor).get(reverse("customers")).content.decode()
    assert "13812345678" not in listing
    assert "13987654321" not in listing
    assert MASKED_MINE in listing


def test_supervisor_sees_the_task_but_may_not_log_on_it(world: World) -> None:
    client = signed_in(world.supervisor)
    page = client.get(reverse("call", args=[world.task_mine.pk])).content.decode()
    assert MASKED_MINE in page
    assert "13812345678" not in page
    response = client.post(
        reverse("call", args=[world.task_mine.pk]), {"outcome": "reached", "expected_version": 1}
    )
    assert response.status_code == 403


def test_viewing_writes_nothing_and_each_reveal_writes_an_audit_row_without_the_phone(
    world: World,
) -> None:
    supervisor, agent = signed_in(world.supervisor), signed_in(world.agent1)
    sheet = reverse("customer", args=[world.mine.pk])
    assert 'id="reveal-phone"' not in supervisor.get(sheet).content.decode()
    agent.get(sheet)
    agent.get(reverse("call", args=[world.task_mine.pk]))
    assert not AuditLog.objects.exists()  # a GET never writes

    page = agent.post(sheet, {"action": "reveal_phone"})  # without JavaScript: the whole sheet
    assert page.status_code == 200
    assert "13812345678" in page.content.decode()
    agent.post(reverse("call", args=[world.task_mine.pk]), {"action": "reveal_phone"})
    assert supervisor.post(sheet, {"action": "reveal_phone"}).status_code == 403
    assert agent.post(sheet, {"action": "something"}).status_code == 400
    rows = list(AuditLog.objects.filter(action="reveal_phone").order_by("at", "pk"))
    assert [(r.user_id, r.object_id, r.detail) for r in rows] == [
        (world.agent1.pk, "C-MINE", {"via": "sheet"}),
        (world.agent1.pk, "C-MINE", {"via": "call"}),
    ]
    assert all(r.at is not None for r in rows)
    assert not any("13812345678" in str(r.detail) + r.reason for r in rows)
    assert AuditLog.objects.count() == 2


def test_a_refused_view_writes_no_audit_row(world: World) -> None:
    signed_in(world.agent1).get(reverse("customer", args=[world.theirs.pk]))
    assert not AuditLog.objects.exists()


# --- my calls and the call page ------------------------------------------------------------------
def test_call_list_holds_only_the_agents_open_tasks_by_priority() -> None:
    world = build_world(extra_customers=3)
    page = signed_in(world.agent1).get(reverse("calls")).content.decode()
    assert "C-THEIRS" not in page
    # priority ranks: C-MINE 5, C-X000 10, C-X001 11, C-X002 12
    positions = [page.index(cid) for cid in ("C-MINE", "C-X000", "C-X001", "C-X002")]
    assert positions == sorted(positions)
    assert "0 次尝试" in page
    assert "到期 2026-11-03" in page
    CallTask.objects.filter(pk=world.task_mine.pk).update(attempts=1)
    client = signed_in(world.agent1)
    client.post(reverse("language"), {"language": "en", "next": "/"})
    page = client.get(reverse("calls")).content.decode()
    assert "1 attempt<" in page
    assert "0 attempts<" in page
    assert "due 2026-11-03" in page


def test_call_page_shows_script_offers_and_the_360(world: World) -> None:
    client = signed_in(world.agent1)
    client.post(reverse("language"), {"language": "en", "next": "/"})
    page = client.get(reverse("call", args=[world.task_mine.pk])).content.decode()
    assert "Acknowledge the concern about price without arguing." in page  # price playbook
    assert "Expert advice" in page or "expert" in page.lower()
    assert "Skin care" in page  # purchases by category, English name
    assert "456.00" in page  # largest purchase: 45,600 cents
    assert "Prefers evening calls" in page
    assert "No answer" in page  # previous contact
    assert 'name="expected_version"' in page


def post_outcome(client: Client, task: CallTask, **fields: Any) -> Any:
    # a reached customer names the leave reason (the form refuses one without)
    data = {
        "outcome": "reached",
        "reason_code": "price",
        "expected_version": task.version,
        **fields,
    }
    return client.post(reverse("call", args=[task.pk]), data, HTTP_HX_REQUEST="true")


def test_logging_an_outcome_records_the_attempt(world: World) -> None:
    client = signed_in(world.agent1)
    response = post_outcome(
        client,
        world.task_mine,
        reason_code="price",
        offer_code="expert_advice",
        promised_return_date=PROMISED.isoformat(),
        notes="Will come back for a refill",
    )
    assert response.status_code == 200
    attempt = ContactAttempt.objects.get()
    assert (attempt.agent_id, attempt.outcome, attempt.reason_code, attempt.offer_code) == (
        world.agent1.pk,
        "reached",
        "price",
        "expert_advice",
    )
    assert attempt.promised_return_date == PROMISED
    world.task_mine.refresh_from_db()
    assert world.task_mine.version == 2
    assert world.task_mine.attempts == 1


def test_stale_version_is_a_409_conflict_and_nothing_is_saved(world: World) -> None:
    client = signed_in(world.agent1)
    CallTask.objects.filter(pk=world.task_mine.pk).update(version=2)  # another tab wrote
    response = post_outcome(client, world.task_mine)  # still holds version 1
    assert response.status_code == 409
    assert "刷新" in response.content.decode() or "重新加载" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_contact_not_allowed_shows_its_reason(world: World) -> None:
    world.mine.do_not_contact = True
    world.mine.save()
    response = post_outcome(signed_in(world.agent1), world.task_mine)
    assert response.status_code == 422
    assert "客户已要求不再联系" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_an_offer_past_the_rounds_budget_shows_what_is_left(world: World) -> None:
    world.round.summary = {"offers": {"budget": 10.0}}
    world.round.save(update_fields=["summary"])
    response = post_outcome(signed_in(world.agent1), world.task_mine, offer_code="expert_advice")
    assert response.status_code == 422
    page = response.content.decode()
    # The offer's cost (15.00) and what is left of the budget (10.00), whatever the language.
    assert "15.00" in page
    assert "10.00" in page
    assert not ContactAttempt.objects.exists()


def test_invalid_outcome_is_rejected_with_the_form(world: World) -> None:
    response = post_outcome(signed_in(world.agent1), world.task_mine, outcome="teleported")
    assert response.status_code == 422
    assert not ContactAttempt.objects.exists()


def test_outcome_post_without_csrf_token_is_403(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent1)
    response = client.post(
        reverse("call", args=[world.task_mine.pk]), {"outcome": "reached", "expected_version": 1}
    )
    assert response.status_code == 403
    assert not ContactAttempt.objects.exists()


def test_plain_form_post_redirects_back_to_the_call(world: World) -> None:
    client = signed_in(world.agent1)
    url = reverse("call", args=[world.task_mine.pk])
    response = client.post(url, {"outcome": "not_reached", "expected_version": 1})
    assert response.status_code == 302
    assert response["Location"] == url


# --- supervisors: customers list and dashboard ---------------------------------------------------
def test_customers_list_filters_and_searches() -> None:
    world = build_world(extra_customers=3)
    client = signed_in(world.supervisor)

    def ids(**params: str) -> set[str]:
        text = client.get(reverse("customers"), params).content.decode()
        return {c for c in ("C-MINE", "C-THEIRS", "C-X000", "C-X001", "C-X002") if c in text}

    assert ids() == {"C-MINE", "C-THEIRS", "C-X000", "C-X001", "C-X002"}
    assert ids(stage="lost") == {"C-THEIRS"}
    assert ids(status="active") == {"C-X000", "C-X001", "C-X002"}
    assert ids(tier="2") == {"C-MINE"}
    assert ids(q="x001") == {"C-X001"}
    assert ids(stage="silent", q="MINE") == set()


def test_customers_list_is_paginated() -> None:
    world = build_world(extra_customers=55, orders_per_customer=1)
    client = signed_in(world.supervisor)
    first = client.get(reverse("customers")).content.decode()
    second = client.get(reverse("customers"), {"page": "2"}).content.decode()
    sheet_link = re.compile(r'href="/customers/\d+/"')
    assert len(sheet_link.findall(first)) == 50
    assert len(sheet_link.findall(second)) == 57 - 50


def test_dashboard_shows_counts_and_rounds(world: World) -> None:
    client = signed_in(world.admin)
    client.post(reverse("language"), {"language": "en", "next": "/"})
    page = client.get(reverse("dashboard")).content.decode()
    stages = page[page.index("By stage") : page.index("By status")]
    assert stages.index("Sleeping") < stages.index("Lost")  # lifecycle order, not stored order
    assert "At risk" in page
    assert "2026-11" in page  # the round's month
    assert client.get("/").url == reverse("dashboard")


def test_dashboard_draws_the_stage_trend_and_raises_the_early_warning_alert(world: World) -> None:
    from winback.store.analysis.models import AnalysisRun

    AnalysisRun.objects.create(
        as_of=date(2026, 9, 30), customers=5, counts={"stage": {"active": 4, "lost": 1}}
    )
    AnalysisRun.objects.filter(as_of=AS_OF).update(
        counts={"stage": {"lost": 1, "sleeping": 1}, "early_warning": {"true": 7}}
    )
    client = signed_in(world.supervisor)
    client.post(reverse("language"), {"language": "en", "next": "/"})
    page = client.get(reverse("dashboard")).content.decode()
    trend = page[page.index("Customers by stage, last 12 months") :]
    assert "<svg" in trend
    for month in ("2026-09", "2026-10"):  # one bar per month-end analysis
        assert month in trend
    assert "7 customers are drifting away" in page
    assert reverse("warnings") in page


# --- query counts: fixed, whatever the amount of data --------------------------------------------
@pytest.mark.parametrize("extra", [0, 12])
def test_call_list_query_count_does_not_grow(
    extra: int, django_assert_num_queries: NumQueries
) -> None:
    world = build_world(extra_customers=extra)
    client = signed_in(world.agent1)
    # session, user, rule overrides; the queue: the open tasks of both kinds for the contact
    # gate (plus the gate's fixed number of queries), the call tab counts, the done-today
    # count, the care tab counts, the tab's call rows (member fields as subqueries, customers
    # joined; no care rows: the tab holds none); the session is not written (its idle expiry
    # moves at most once a minute)
    with django_assert_num_queries(3 + 4 + gate_query_count() + 1):
        assert client.get(reverse("calls")).status_code == 200


@pytest.mark.parametrize("orders_per_customer", [1, 6])
def test_customer_sheet_query_count_does_not_grow(
    orders_per_customer: int, django_assert_num_queries: NumQueries
) -> None:
    world = build_world(extra_customers=2, orders_per_customer=orders_per_customer)
    client = signed_in(world.agent1)
    # session, user, customer, access check, open tasks, rule overrides, 7 for the 360 (totals,
    # months, categories, engagement, contacts, snapshot, largest order); nothing written
    with django_assert_num_queries(13):
        assert client.get(reverse("customer", args=[world.mine.pk])).status_code == 200


def test_no_raw_phone_number_reaches_a_log_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = signed_in(world.agent1)
    agent.get(reverse("call", args=[world.task_mine.pk]))
    agent.get(reverse("customer", args=[world.theirs.pk]))  # 403, logged by django.request
    post_outcome(agent, world.task_mine, notes="call back")
    signed_in(world.supervisor).get(reverse("customers"), {"q": "C-"})
    assert "Forbidden" in caplog.text  # the capture does see the request log
    for phone in ("13812345678", "13987654321"):
        assert phone not in caplog.text
