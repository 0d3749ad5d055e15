"""One queue for both kinds of work (issue 15): win-back calls and care tasks in the same tabs,
with the same counts, search, filters, sort and "save and next"; the contact gate (a control
group, do-not-contact) keeps care rows out as it keeps calls out; the query count is fixed."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories.workbench import World, build_world, customer, gate_query_count, snapshot
from winback.store.accounts.models import User
from winback.store.customers.models import Customer
from winback.store.programme.models import CallTask, CareTask, Round, RoundMember

pytestmark = pytest.mark.django_db
NEXT = {"next": "1", "queue": "tab=today"}  # "save and next" in today's tab


def today() -> date:
    return timezone.localdate()


@pytest.fixture
def world() -> World:
    world = build_world(extra_customers=3)
    t = {c: CallTask.objects.get(customer__external_id=c) for c in ("C-MINE", "C-X000", "C-X001")}
    CallTask.objects.filter(pk=t["C-MINE"].pk).update(next_due=today() - timedelta(days=2))
    CallTask.objects.filter(pk=t["C-X000"].pk).update(next_due=today())
    CallTask.objects.filter(pk=t["C-X001"].pk).update(next_due=today() + timedelta(days=3))
    CallTask.objects.filter(customer__external_id="C-X002").update(next_due=today())
    return world


def signed_in(user: User, lang: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.post(reverse("language"), {"language": lang, "next": "/"})
    return client


def care(
    world: World, external_id: str, *, kind: str = "call", day: int = 0, **extra: Any
) -> CareTask:
    c = customer(external_id, f"1391{abs(hash(external_id)) % 10_000_000:07d}")
    planned = today() + timedelta(days=day)
    return CareTask.objects.create(
        customer=c, agent=world.agent1, kind=kind, due_date=planned, planned_date=planned, **extra
    )


def counts(page: str) -> dict[str, int]:
    return {
        tab: int(n)
        for tab, n in re.findall(r'data-tab="(\w+)"[^>]*>[^<]*<span class="count">(\d+)', page)
    }


def kinds(page: str) -> list[tuple[str, str]]:
    """(kind, customer id) of each row, in the order shown."""
    return re.findall(r'data-kind="(\w+)">\s*<a[^>]*>.*?<span class="cid">([^<]+)<', page, re.S)


def test_care_tasks_share_the_queues_tabs_counts_and_badges(world: World) -> None:
    care(world, "K-TODAY")
    care(world, "K-LATE", day=-1)
    care(world, "K-SOON", kind="visit", day=2)
    care(world, "K-GREET", kind="greeting", occasion="birthday")
    client = signed_in(world.agent1)
    page = client.get(reverse("calls")).content.decode()
    # calls: 2 today, 1 overdue, 1 scheduled; care: 2 today, 1 overdue, 1 scheduled
    assert counts(page) == {"today": 4, "overdue": 2, "scheduled": 2, "done": 0}
    shown = kinds(page)
    assert {k for k, _ in shown} == {"call", "care"}
    assert [c for k, c in shown if k == "care"] == ["K-TODAY", "K-GREET"]
    assert "Win-back call" in page
    assert "Care call" in page
    assert "Greeting" in page
    assert "Birthday" in page
    assert (
        reverse("care_task", args=[CareTask.objects.get(customer__external_id="K-TODAY").pk])
        in page
    )
    overdue = client.get(reverse("calls") + "?tab=overdue").content.decode()
    assert [c for _, c in kinds(overdue)] == ["C-MINE", "K-LATE"]  # by due day
    scheduled = client.get(reverse("calls") + "?tab=scheduled").content.decode()
    assert "K-SOON" in scheduled
    assert "Visit" in scheduled


def test_search_filters_and_sort_apply_to_care_rows(world: World) -> None:
    sleeping = care(world, "K-SLEEP")
    snapshot(sleeping.customer, "sleeping", "at_risk", 1, 60.0)
    care(world, "K-VISIT", kind="visit")
    client = signed_in(world.agent1)
    found = client.get(reverse("calls") + "?tab=today&q=k-vis").content.decode()
    assert [c for _, c in kinds(found)] == ["K-VISIT"]
    assert counts(found) == {"today": 1, "overdue": 0, "scheduled": 0, "done": 0}
    visits = client.get(reverse("calls") + "?tab=today&channel=visit").content.decode()
    assert [c for _, c in kinds(visits)] == ["K-VISIT"]
    phone = client.get(reverse("calls") + "?tab=today&channel=phone").content.decode()
    assert "K-SLEEP" in phone
    assert "K-VISIT" not in phone
    assert "C-X000" in phone
    tier1 = client.get(reverse("calls") + "?tab=today&tier=1").content.decode()
    assert [c for _, c in kinds(tier1)] == ["K-SLEEP"]  # the care customer's latest snapshot
    staged = client.get(reverse("calls") + "?tab=today&stage=sleeping").content.decode()
    assert "K-SLEEP" in staged
    assert "K-VISIT" not in staged
    # No priority and no value: care rows come after the calls when sorted by either.
    for sort in ("priority", "value"):
        page = client.get(reverse("calls") + f"?tab=today&sort={sort}").content.decode()
        order = [k for k, _ in kinds(page)]
        assert order == sorted(order)  # "call" < "care": all calls first


def test_control_group_and_do_not_contact_customers_never_appear_as_care_rows(
    world: World,
) -> None:
    controlled = care(world, "K-CONTROL")
    start = today() - timedelta(days=10)
    past = Round.objects.create(
        month=start.replace(day=1),
        seed=3,
        holdout_share=0.1,
        as_of=start,
        round_start=start,
        round_end=start + timedelta(days=30),
    )
    RoundMember.objects.create(
        round=past, customer=controlled.customer, arm="control", stage="sleeping", priority_rank=1
    )
    refused = care(world, "K-DNC")
    Customer.objects.filter(pk=refused.customer_id).update(do_not_contact=True)
    care(world, "K-OK")
    client = signed_in(world.agent1)
    page = client.get(reverse("calls")).content.decode()
    assert "K-OK" in page
    assert "K-CONTROL" not in page
    assert "K-DNC" not in page
    assert counts(page)["today"] == 2 + 1
    searched = client.get(reverse("calls") + "?q=K-CONTROL").content.decode()
    assert counts(searched) == {"today": 0, "overdue": 0, "scheduled": 0, "done": 0}
    # "save and next" never lands on them either
    from winback.app.customers.queue import CARE, QueueQuery, next_task

    walked = next_task(
        world.agent1, QueueQuery(tab="today", q="K-"), after=0, today=today(), after_kind=CARE
    )
    assert walked is not None
    assert walked.pk == CareTask.objects.get(customer__external_id="K-OK").pk


def test_save_and_next_walks_both_kinds_and_the_done_tab_counts_care(world: World) -> None:
    first = care(world, "K-ONE")
    second = care(world, "K-TWO")
    client = signed_in(world.agent1)
    # The calls due today come first (tie on the day: win-back before care), then care.
    x000 = CallTask.objects.get(customer__external_id="C-X000")
    x002 = CallTask.objects.get(customer__external_id="C-X002")
    saved = client.post(
        reverse("call", args=[x002.pk]),
        {
            "expected_version": x002.version,
            "outcome": "not_reached",
            "next": "1",
            "queue": "tab=today",
        },
    )
    assert saved["Location"] == reverse("call", args=[x000.pk]) + "?tab=today"
    saved = client.post(
        reverse("call", args=[x000.pk]),
        {
            "expected_version": x000.version,
            "outcome": "not_reached",
            "next": "1",
            "queue": "tab=today",
        },
    )
    assert saved["Location"] == reverse("care_task", args=[first.pk]) + "?tab=today"
    page = client.get(saved["Location"]).content.decode()
    assert 'name="queue" value="tab=today"' in page
    done = client.post(
        reverse("care_task", args=[first.pk]),
        {"outcome": "reached", "notes": "", "next": "1", "queue": "tab=today"},
    )
    assert done["Location"] == reverse("care_task", args=[second.pk]) + "?tab=today"
    last = client.post(
        reverse("care_task", args=[second.pk]),
        {"outcome": "reached", "next": "1", "queue": "tab=today"},
    )
    # today's work is done: the overdue call is next
    mine = CallTask.objects.get(customer__external_id="C-MINE")
    assert last["Location"] == reverse("call", args=[mine.pk]) + "?tab=today"
    queue = client.get(reverse("calls")).content.decode()
    assert counts(queue)["done"] == 4
    assert 'id="queue-done">4<' in queue
    done_tab = client.get(reverse("calls") + "?tab=done").content.decode()
    assert {c for _, c in kinds(done_tab)} == {"C-X000", "C-X002", "K-ONE", "K-TWO"}
    plain = client.post(reverse("care_task", args=[care(world, "K-3").pk]), {"outcome": "reached"})
    assert plain["Location"] == reverse("calls")


@pytest.mark.parametrize("n", [1, 8])
def test_the_queue_with_both_kinds_costs_a_fixed_number_of_queries(
    world: World, n: int, django_assert_num_queries: Any
) -> None:
    for i in range(n):
        care(world, f"K-{i:02d}", kind="greeting", occasion="mid_autumn")
        care(world, f"K-C{i:02d}")
    client = signed_in(world.agent1)
    client.get(reverse("calls"))
    # session, user, rule overrides; the open tasks of both kinds once, the gate once; the
    # call counts, the calls done today, the care counts; the call rows, the care rows; the
    # care settings for the holidays' names once
    with django_assert_num_queries(3 + 1 + gate_query_count() + 3 + 2 + 1):
        page = client.get(reverse("calls")).content.decode()
    assert page.count('data-kind="care"') == 2 * n
