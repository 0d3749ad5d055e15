"""Care in the workbench through the Django test client: the agent's care queue on the calls
page, recording an outcome, the supervisors' planning page, the care settings form (zh/en
validation) and the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import customer, user
from winback.store.accounts.models import AuditLog, Role, User

pytestmark = pytest.mark.django_db


def signed_in(u: User, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(u)
    client.cookies["django_language"] = lang
    return client


def _care_task(agent: User, *, kind: str = "call", occasion: str = "", phone: str = "13800001234"):  # type: ignore[no-untyped-def]
    from winback.store.programme.models import CareTask

    today = timezone.localdate()
    c = customer(f"K{CareTaskCount.n:03d}", phone)
    CareTaskCount.n += 1
    return CareTask.objects.create(
        customer=c, agent=agent, kind=kind, occasion=occasion, due_date=today, planned_date=today
    )


class CareTaskCount:
    n = 0


def test_the_agents_care_tasks_are_in_their_queue_and_an_outcome_is_recorded() -> None:
    from winback.store.customers.models import ContactLog

    agent, other = user("agent1", Role.AGENT), user("agent2", Role.AGENT)
    task = _care_task(agent)
    greeting = _care_task(agent, kind="greeting", occasion="mid_autumn")
    page = signed_in(agent).get(reverse("calls"))
    html = page.content.decode()
    assert 'data-kind="care"' in html  # in the queue's own tab, not a section of its own
    assert 'id="care-queue"' not in html
    assert reverse("care_task", args=[task.pk]) in html
    assert "Mid-Autumn Festival" in html  # the occasion in words, not its code
    assert "mid_autumn" not in html
    assert (
        reverse("care_task", args=[task.pk])
        not in signed_in(other).get(reverse("calls")).content.decode()
    )

    sheet = signed_in(agent).get(reverse("care_task", args=[task.pk])).content.decode()
    assert "13800001234" not in sheet  # masked until revealed (a POST, audited)
    shown = signed_in(agent).post(reverse("care_task", args=[task.pk]), {"action": "reveal_phone"})
    assert 'href="tel:13800001234"' in shown.content.decode()
    assert AuditLog.objects.filter(action="reveal_phone").count() == 1
    assert (
        signed_in(other)
        .post(reverse("care_task", args=[task.pk]), {"outcome": "reached"})
        .status_code
        == 403
    )

    missing = signed_in(agent).post(reverse("care_task", args=[task.pk]), {"outcome": ""})
    assert missing.status_code == 422
    saved = signed_in(agent).post(
        reverse("care_task", args=[task.pk]), {"outcome": "reached", "notes": "ok"}
    )
    assert saved.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "reached")
    assert ContactLog.objects.filter(customer=task.customer, channel="phone").count() == 1
    after = signed_in(agent).get(reverse("calls")).content.decode()
    assert reverse("care_task", args=[task.pk]) not in after
    assert reverse("care_task", args=[greeting.pk]) in after


def test_supervisors_plan_care_agents_may_not() -> None:
    agent, supervisor = user("agent1", Role.AGENT), user("sup", Role.SUPERVISOR)
    assert signed_in(agent).get(reverse("care_plan")).status_code == 403
    assert signed_in(supervisor).get(reverse("care_plan")).status_code == 200
    today = timezone.localdate()
    bad = signed_in(supervisor).post(
        reverse("care_plan"), {"start": today, "end": today - timedelta(days=1)}
    )
    assert bad.status_code == 422
    ok = signed_in(supervisor).post(reverse("care_plan"), {"start": today, "end": today})
    assert ok.status_code == 302
    assert AuditLog.objects.filter(action="care_plan").count() == 1


def _settings_post(**changes: object) -> dict[str, object]:
    from winback.app.care.rules import current_cadences, current_calendar

    data: dict[str, object] = {}
    for c in current_cadences():
        data[f"visit_{c.abc_class}"] = c.visit_days or ""
        data[f"call_{c.abc_class}"] = c.call_days or ""
        if c.holiday_greetings:
            data[f"greet_{c.abc_class}"] = "on"
    for h in current_calendar().holidays:
        if h.enabled:
            data[f"on_{h.code}"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_care_settings_are_validated_in_the_users_language_and_stored() -> None:
    from winback.app.care.rules import current_cadences, current_calendar

    admin = user("boss", Role.ADMIN)
    assert signed_in(user("sup", Role.SUPERVISOR)).get(reverse("settings_care")).status_code == 403
    page = signed_in(admin, "zh-hans").get(reverse("settings_care")).content.decode()
    assert "中秋节" in page
    assert "mid_autumn" not in page.replace('name="on_mid_autumn"', "").replace(
        'id="id_on_mid_autumn"', ""
    ).replace('for="id_on_mid_autumn"', "")

    zero = signed_in(admin, "zh-hans").post(reverse("settings_care"), _settings_post(call_A=0))
    assert zero.status_code == 422
    assert "确保该值大于或等于1" in zero.content.decode()
    bad_day = signed_in(admin, "en").post(
        reverse("settings_care"),
        _settings_post(
            new_zh="店庆", new_en="Shop day", new_calendar="gregorian", new_month=2, new_day=30
        ),
    )
    assert bad_day.status_code == 422
    assert "This month has no such day." in bad_day.content.decode()
    bad_zh = signed_in(admin, "zh-hans").post(
        reverse("settings_care"),
        _settings_post(new_zh="店庆", new_en="", new_month=5, new_day=1),
    )
    assert bad_zh.status_code == 422

    saved = signed_in(admin, "en").post(
        reverse("settings_care"),
        _settings_post(
            call_A=7,
            on_qixi=None,
            new_zh="腊八节",
            new_en="Laba Festival",
            new_calendar="lunar",
            new_month=12,
            new_day=8,
        ),
    )
    assert saved.status_code == 302
    assert current_cadences()[0].call_days == 7
    cal = current_calendar()
    qixi = cal.get("qixi")
    assert qixi is not None
    assert not qixi.enabled
    laba = cal.get("custom_laba_festival")
    assert laba is not None
    assert laba.on(2028) == date(2028, 1, 4)
    assert AuditLog.objects.filter(action="care_settings").count() == 1


def test_care_api_lists_records_and_plans() -> None:
    agent, supervisor = user("agent1", Role.AGENT), user("sup", Role.SUPERVISOR)
    task = _care_task(agent)
    client = signed_in(agent)
    listed = client.get("/api/care-tasks")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [task.pk]
    done = client.post(
        f"/api/care-tasks/{task.pk}/outcome",
        {"outcome": "reached", "notes": ""},
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "done"
    again = client.post(
        f"/api/care-tasks/{task.pk}/outcome",
        {"outcome": "reached"},
        content_type="application/json",
    )
    assert again.status_code == 409
    assert (
        client.post(
            "/api/care-tasks/plan",
            {"start": "2026-12-01", "end": "2026-12-02"},
            content_type="application/json",
        ).status_code
        == 403
    )
    planned = signed_in(supervisor).post(
        "/api/care-tasks/plan",
        {"start": "2026-12-01", "end": "2026-12-02"},
        content_type="application/json",
    )
    assert planned.status_code == 201, planned.content
    assert planned.json()["created"] == 0
    ancient = signed_in(supervisor).post(
        "/api/care-tasks/plan",
        {"start": "0001-01-01", "end": "0001-01-01"},
        content_type="application/json",
    )
    assert ancient.status_code == 422  # was a 500: no contact history before year 1
    assert signed_in(agent).get("/api/care-tasks/0").status_code == 422


@pytest.mark.parametrize("greetings", [1, 6])
def test_the_care_queue_costs_a_fixed_number_of_queries(
    greetings: int, django_assert_num_queries: Any
) -> None:
    from tests.factories.workbench import gate_query_count

    agent = user("agent1", Role.AGENT)
    for _ in range(greetings):
        _care_task(agent, kind="greeting", occasion="mid_autumn")
    client = signed_in(agent)
    client.get(reverse("calls"))
    # session, user, rule overrides; the agent's open tasks of both kinds (one query) and the
    # contact gate over them once; the call counts, the calls done today, the care counts; no
    # call rows (the tab holds none), the care rows with their customers; the care settings
    # once (not once per greeting)
    with django_assert_num_queries(3 + 1 + gate_query_count() + 3 + 1 + 1):
        assert client.get(reverse("calls")).status_code == 200
