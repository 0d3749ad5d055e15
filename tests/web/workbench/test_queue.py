"""The agent queue and the call page's recording rules (issue 15: queue, defects 4, 7, 8, 9)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import World, build_world
from winback.store.accounts.models import User
from winback.store.programme.models import CallTask, ContactAttempt, TaskStatus

pytestmark = pytest.mark.django_db

REASON_REQUIRED = (
    "The customer was reached: choose the leave reason (or answer the questionnaire) before saving."
)


@pytest.fixture
def world() -> World:
    return build_world(extra_customers=3)


def signed_in(user: User, lang: str = "zh-hans") -> Client:
    client = Client()
    client.force_login(user)
    if lang != "zh-hans":
        client.post(reverse("language"), {"language": lang, "next": "/"})
    return client


def today() -> date:
    return timezone.localdate()


def post(client: Client, task: CallTask, **fields: Any) -> Any:
    task.refresh_from_db()
    data = {"expected_version": task.version, **fields}
    return client.post(reverse("call", args=[task.pk]), data)


# --- the recording rules, in the service ------------------------------------------------------
def test_log_contact_refuses_a_promised_return_in_the_past_or_too_far(world: World) -> None:
    from winback.app.contacts.service import ContactRuleBroken, log_contact

    task = world.task_mine
    for promised, code in (
        (today() - timedelta(days=1), "promise_in_past"),
        (date(2020, 1, 1), "promise_in_past"),
        (today() + timedelta(days=91), "promise_too_far"),
    ):
        with pytest.raises(ContactRuleBroken) as refused:
            log_contact(
                task.pk,
                agent=world.agent1,
                outcome="reached",
                reason_code="price",
                promised_return_date=promised,
                expected_version=1,
            )
        assert refused.value.code == code
    assert not ContactAttempt.objects.exists()
    done = log_contact(
        task.pk,
        agent=world.agent1,
        outcome="reached",
        reason_code="price",
        promised_return_date=today(),
        expected_version=1,
    )
    assert done.attempts == 1


def test_log_contact_refuses_reached_without_a_reason_in_the_users_language(
    world: World,
) -> None:
    from django.utils import translation

    from winback.app.contacts.service import ContactRuleBroken, log_contact

    with translation.override("zh-hans"), pytest.raises(ContactRuleBroken) as refused:
        log_contact(world.task_mine.pk, agent=world.agent1, outcome="reached", expected_version=1)
    assert refused.value.code == "reason_required"
    with translation.override("zh-hans"):
        assert refused.value.detail == translation.gettext(REASON_REQUIRED)
    with translation.override("en"), pytest.raises(ContactRuleBroken) as refused:
        log_contact(world.task_mine.pk, agent=world.agent1, outcome="reached", expected_version=1)
    assert refused.value.detail == REASON_REQUIRED
    assert not ContactAttempt.objects.exists()


def test_a_callback_keeps_the_task_open_due_on_the_callback_day(world: World) -> None:
    from winback.app.contacts.service import log_contact

    day = today() + timedelta(days=5)
    at = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
    at = at.replace(hour=15, minute=30)
    task = log_contact(
        world.task_mine.pk,
        agent=world.agent1,
        outcome="call_back",
        callback_at=at,
        expected_version=1,
    )
    assert task.status == TaskStatus.OPEN
    assert task.next_due == day
    assert task.callback_at == at
    assert ContactAttempt.objects.get().callback_at == at


# --- the outcome form on the call page ------------------------------------------------------------
def test_no_outcome_is_preselected(world: World) -> None:
    page = signed_in(world.agent1).get(reverse("call", args=[world.task_mine.pk]))
    html = page.content.decode()
    radios = re.findall(r'<input type="radio" name="outcome"[^>]*>', html)
    assert len(radios) == 6
    assert not any("checked" in r for r in radios)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_form_refuses_reached_without_reason_and_a_past_promise(
    world: World, lang: str
) -> None:
    from django.utils import translation

    from winback.app.contacts.service import rule_message

    client = signed_in(world.agent1, lang)
    response = post(client, world.task_mine, outcome="reached")
    assert response.status_code == 422
    with translation.override(lang):
        assert rule_message("reason_required") in response.content.decode()
    response = post(
        client,
        world.task_mine,
        outcome="reached",
        reason_code="price",
        promised_return_date="2020-01-01",
    )
    assert response.status_code == 422
    errors = re.findall(r'class="field-error">([^<]*)<', response.content.decode())
    with translation.override(lang):
        assert errors == [rule_message("promise_in_past")]  # in the user's language
    assert not ContactAttempt.objects.exists()


def test_call_back_later_asks_for_a_date_and_a_time(world: World) -> None:
    client = signed_in(world.agent1, "en")
    response = post(client, world.task_mine, outcome="call_back")
    assert response.status_code == 422
    assert "Give the day to call back." in response.content.decode()
    assert "Give the time to call back." in response.content.decode()
    day = today() + timedelta(days=2)
    response = post(
        client,
        world.task_mine,
        outcome="call_back",
        callback_date=day.isoformat(),
        callback_time="10:15",
    )
    assert response.status_code == 302
    world.task_mine.refresh_from_db()
    assert world.task_mine.status == TaskStatus.OPEN
    assert world.task_mine.next_due == day
    assert world.task_mine.callback_at is not None
    assert timezone.localtime(world.task_mine.callback_at).strftime("%H:%M") == "10:15"


def test_the_last_attempt_is_warned_and_a_callback_does_not_close_silently(
    world: World,
) -> None:
    from winback.app.contacts.service import log_contact

    for version in (1, 2):  # cap 3: one attempt left
        log_contact(
            world.task_mine.pk, agent=world.agent1, outcome="not_reached", expected_version=version
        )
    client = signed_in(world.agent1, "en")
    page = client.get(reverse("call", args=[world.task_mine.pk])).content.decode()
    assert 'id="last-attempt"' in page
    assert "the last the round allows" in page
    response = post(client, world.task_mine, outcome="call_back")
    assert response.status_code == 422  # not confirmed: nothing saved, the task stays open
    assert "tick the box" in response.content.decode()
    world.task_mine.refresh_from_db()
    assert (world.task_mine.status, world.task_mine.attempts) == (TaskStatus.OPEN, 2)
    response = post(client, world.task_mine, outcome="call_back", confirm_close="on")
    assert response.status_code == 302
    world.task_mine.refresh_from_db()
    assert world.task_mine.status == TaskStatus.DONE


def test_a_finished_call_shows_the_saved_outcome_and_the_next_call(world: World) -> None:
    """Defect 8: after the last needed outcome, no 'not your open task' error."""
    client = signed_in(world.agent1, "en")
    response = post(client, world.task_mine, outcome="refused")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Outcome saved." in page
    assert "not your open task" not in page
    assert 'id="saved-summary"' in page
    assert "Refused" in page
    assert 'id="next-call"' in page


def test_the_questionnaire_answer_is_stored_and_counted_as_the_reason(world: World) -> None:
    from winback.programme.reason_stats import monthly_reason_stats
    from winback.programme.taxonomy import Taxonomy
    from winback.store.queries.reports import leave_reasons

    client = signed_in(world.agent1)
    page = client.get(reverse("call", args=[world.task_mine.pk])).content.decode()
    assert 'name="q_why_stopped"' in page  # the team's callback questionnaire, as a form
    response = post(
        client,
        world.task_mine,
        outcome="reached",
        q_why_stopped=["waiting"],
        q_comments="排队太久",
    )
    assert response.status_code == 302
    attempt = ContactAttempt.objects.get()
    assert attempt.reason_code == "speed"  # no reason picked: the questionnaire's counts
    assert attempt.answers == {
        "questionnaire": "callback_first",
        "answers": {"why_stopped": ["waiting"], "comments": "排队太久"},
    }
    records = leave_reasons(start=today(), end=today())
    stats = monthly_reason_stats(records, today(), Taxonomy.default())
    speed = stats.filter((pl.col("level") == "reason") & (pl.col("code") == "speed"))
    assert speed["count"].item() == 1


# --- the call page's layout: phone first, one stage labelled -------------------------------------
def test_the_phone_comes_before_the_script_and_is_dialable_once_shown(world: World) -> None:
    client = signed_in(world.agent1, "en")
    url = reverse("call", args=[world.task_mine.pk])
    page = client.get(url).content.decode()
    assert page.index('id="call-phone"') < page.index('id="script"')
    assert 'id="call-timer"' in page
    assert "workbench/queue.js" in page
    assert "tel:" not in page
    shown = client.post(url, {"action": "reveal_phone"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'href="tel:13812345678"' in shown


def test_the_call_page_shows_one_stage_labelled_when_planned_and_now(world: World) -> None:
    client = signed_in(world.agent1, "en")
    page = client.get(reverse("call", args=[world.task_mine.pk])).content.decode()
    assert page.count("Sleeping") == 1  # planned and now agree: one stage
    other = CallTask.objects.get(customer__external_id="C-X000")  # planned sleeping, now silent
    page = client.get(reverse("call", args=[other.pk])).content.decode()
    assert "Stage when planned" in page
    assert "Stage now" in page
    assert page.count("Sleeping") == 1
    assert page.count("Silent") == 1


# --- the queue ---------------------------------------------------------------------------------
def _spread(world: World) -> dict[str, CallTask]:
    """C-MINE overdue, C-X000 today, C-X001 scheduled, C-X002 today."""
    t = {
        c: CallTask.objects.get(customer__external_id=c)
        for c in ("C-MINE", "C-X000", "C-X001", "C-X002")
    }
    CallTask.objects.filter(pk=t["C-MINE"].pk).update(next_due=today() - timedelta(days=2))
    CallTask.objects.filter(pk=t["C-X000"].pk).update(next_due=today())
    CallTask.objects.filter(pk=t["C-X001"].pk).update(next_due=today() + timedelta(days=3))
    CallTask.objects.filter(pk=t["C-X002"].pk).update(next_due=today())
    return t


def _counts(page: str) -> dict[str, int]:
    return {
        tab: int(n)
        for tab, n in re.findall(r'data-tab="(\w+)"[^>]*>[^<]*<span class="count">(\d+)', page)
    }


def test_the_queue_has_tabs_with_counts_and_the_daily_target(world: World) -> None:
    _spread(world)
    User.objects.filter(pk=world.agent1.pk).update(daily_capacity=25)
    client = signed_in(world.agent1, "en")
    page = client.get(reverse("calls")).content.decode()
    assert _counts(page) == {"today": 2, "overdue": 1, "scheduled": 1, "done": 0}
    assert 'id="queue-target">25<' in page
    assert 'id="queue-done">0<' in page
    assert "C-X000" in page
    assert "C-X002" in page
    assert "C-MINE" not in page
    page = client.get(reverse("calls") + "?tab=scheduled").content.decode()
    assert "C-X001" in page
    assert "C-X000" not in page
    post(client, world.task_mine, outcome="not_reached")
    page = client.get(reverse("calls")).content.decode()
    assert _counts(page)["done"] == 1
    assert 'id="queue-done">1<' in page


def test_the_queue_searches_filters_and_sorts_in_the_database(world: World) -> None:
    t = _spread(world)
    client = signed_in(world.agent1, "en")
    page = client.get(reverse("calls") + "?tab=today&q=x002").content.decode()
    assert "C-X002" in page
    assert "C-X000" not in page
    assert _counts(page) == {"today": 1, "overdue": 0, "scheduled": 0, "done": 0}
    page = client.get(reverse("calls") + "?tab=today&q=Name C-X000").content.decode()
    assert "C-X000" in page
    assert "C-X002" not in page
    page = client.get(reverse("calls") + "?tab=overdue&stage=silent").content.decode()
    assert "C-MINE" not in page
    page = client.get(reverse("calls") + "?tab=overdue&channel=phone&tier=2").content.decode()
    assert "C-MINE" in page
    from winback.store.programme.models import RoundMember

    RoundMember.objects.filter(customer=t["C-X002"].customer).update(expected_value=99.0)
    page = client.get(reverse("calls") + "?tab=today&sort=value").content.decode()
    assert page.index("C-X002") < page.index("C-X000")
    page = client.get(reverse("calls") + "?tab=today&sort=priority").content.decode()
    assert page.index("C-X000") < page.index("C-X002")


def test_save_and_next_goes_to_the_next_open_call_of_the_queue(world: World) -> None:
    t = _spread(world)
    client = signed_in(world.agent1, "en")
    response = post(client, t["C-X000"], outcome="not_reached", next="1", queue="tab=today")
    assert response.status_code == 302
    assert response["Location"] == reverse("call", args=[t["C-X002"].pk]) + "?tab=today"
    response = post(client, t["C-X002"], outcome="not_reached", next="1", queue="tab=today")
    # today's calls are done (both now due tomorrow): the overdue one is next
    assert response["Location"] == reverse("call", args=[t["C-MINE"].pk]) + "?tab=today"
