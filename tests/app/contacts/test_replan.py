"""The second contact follows the reason (R5): a reason recorded on a call re-plans the task's
playbook, offer menu and channel with the planner's own rules, at once, and says what changed."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from django.utils import translation

from tests.factories.business import MONTH, SNAPSHOT_DAY, TZ, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


KNOWN = ("attitude", "price", "habit_lapsed")


def _planned(known: bool = False):  # type: ignore[no-untyped-def]
    """A round planned through the production planner. With ``known``, every third customer
    has a reason in their contact history (cycling through :data:`KNOWN`), so the plan knows
    it."""
    from winback.app.rounds.service import plan_round
    from winback.store.customers.models import ContactLog

    world = build_world()
    if known:
        ContactLog.objects.bulk_create(
            [
                ContactLog(
                    source_key=f"reason-{pk}",
                    customer_id=pk,
                    channel="phone",
                    outcome="reached",
                    reason_code=KNOWN[i % len(KNOWN)],
                    occurred_at=datetime.combine(
                        SNAPSHOT_DAY - timedelta(days=60), time(10), tzinfo=TZ
                    ),
                    occurred_date=SNAPSHOT_DAY - timedelta(days=60),
                )
                for i, pk in enumerate(world.customer_ids[::3])
            ]
        )
    return world, plan_round(Actor.system(), month=MONTH, seed=9, agents=team()).round


def _task_on(rnd, channel: str, reason: str = ""):  # type: ignore[no-untyped-def]
    from winback.store.programme.models import CallTask, RoundMember

    members = RoundMember.objects.filter(round=rnd, arm="treated", channel=channel)
    members = members.filter(reason_code=reason)
    customers = members.values_list("customer_id", flat=True)
    task = CallTask.objects.filter(round=rnd, customer_id__in=customers).order_by("pk").first()
    assert task is not None, f"the world has a treated task on {channel}"
    return task


def _member(task):  # type: ignore[no-untyped-def]
    from winback.store.programme.models import RoundMember

    return RoundMember.objects.get(round_id=task.round_id, customer_id=task.customer_id)


def _replans(task) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    from winback.store.accounts.models import AuditLog

    rows = AuditLog.objects.filter(action="replan_task", object_id=str(task.pk)).order_by("pk")
    return list(rows.values_list("detail", flat=True))


def _log(task, **kwargs):  # type: ignore[no-untyped-def]
    from winback.app.contacts.service import log_contact

    task.refresh_from_db()
    return log_contact(task.pk, agent=task.agent, expected_version=task.version, **kwargs)


@pytest.mark.slow
def test_the_plan_is_reproduced_for_the_reason_it_was_made_with() -> None:
    """Same inputs as the plan: proposing each task's plan for the reason the plan knew gives
    back exactly the stored menu and channel."""
    from winback.app.contacts.replan import propose
    from winback.store.programme.models import CallTask

    _, rnd = _planned(known=True)
    tasks = list(CallTask.objects.filter(round=rnd).select_related("round", "customer"))
    members = [_member(t) for t in tasks]
    assert len(tasks) >= 10
    assert {m.reason_code for m in members} >= {"", *KNOWN}
    from winback.programme.replan import reserve

    offers = rnd.summary["offers"]
    left_over = offers["budget"] - offers["reserved"]
    compared = 0
    for task, member in zip(tasks, members, strict=True):
        proposal = propose(task, member, member.reason_code)
        assert proposal is not None
        assert proposal.channel == member.channel
        if not task.menu.offers and proposal.menu.offers:
            # The plan funds customers greedily in value-per-cost order and stops at the first
            # one that does not fit: what it leaves over may fund a later customer now, never
            # more than is left.
            assert reserve(proposal.menu) <= left_over + 1e-6
            continue
        assert proposal.menu == task.menu
        compared += 1
    assert compared >= 10


def test_attitude_changes_script_menu_and_channel_at_once() -> None:
    from winback.app.customers.pages import call_page
    from winback.app.settings.rules import current_rules
    from winback.store.customers.models import ContactLog

    _, rnd = _planned()
    task = _task_on(rnd, "sms")
    before = task.menu
    playbook = current_rules().playbooks.for_reason("attitude")
    assert playbook.channel != "sms"

    updated = _log(task, outcome="reached", reason_code="attitude")

    member = _member(task)
    assert member.channel == playbook.channel
    assert updated.menu != before
    # the attitude playbook prefers non-price perks; priority service fits attitude
    assert "priority_service" in updated.menu.codes
    assert ContactLog.objects.filter(customer_id=task.customer_id).latest("pk").channel == "sms"
    [row] = _replans(task)
    assert row["reason"] == "attitude"
    assert row["channel"] == {
        "before": "sms",
        "after": playbook.channel,
        "wanted": "phone",
        "block": None,
    }
    assert row["offers"] == {"before": list(before.codes), "after": list(updated.menu.codes)}
    page = call_page(task.agent, task.pk, lang="en")
    assert page.playbook.reason == "attitude"
    assert page.talking_points == playbook.talking_points("en")
    assert [o.code for o in page.offers] == list(updated.menu.codes)
    label = current_rules().taxonomy.label("attitude", "en")
    assert label in page.replanned
    assert page.channel_note == ""


def test_recording_the_reason_the_task_follows_changes_nothing() -> None:
    _, rnd = _planned(known=True)
    task = _task_on(rnd, "phone", reason="attitude")  # the plan knew attitude
    before, channel = task.menu, _member(task).channel
    updated = _log(task, outcome="reached", reason_code="attitude")
    assert updated.menu == before
    assert _member(task).channel == channel
    assert _replans(task) == []
    # after a re-plan, the reason it followed is the one in force
    other = _task_on(rnd, "sms")
    _log(other, outcome="reached", reason_code="attitude")
    replanned = other.__class__.objects.get(pk=other.pk).menu
    again = _log(other, outcome="call_back", reason_code="attitude")
    assert again.menu == replanned
    assert len(_replans(other)) == 1


def test_not_found_keeps_the_stage_plan() -> None:
    from winback.app.customers.pages import call_page

    _, rnd = _planned()
    task = _task_on(rnd, "sms")
    before = task.menu
    updated = _log(task, outcome="reached", reason_code="not_found")
    assert updated.menu == before
    assert _member(task).channel == "sms"
    assert _replans(task) == []
    page = call_page(task.agent, task.pk, lang="en")
    assert page.playbook.reason == "not_found"
    assert page.replanned == ""


def test_a_forbidden_channel_is_not_chosen_and_the_page_says_why() -> None:
    from winback.app.customers.pages import call_page
    from winback.store.programme.models import ProgrammeSettings

    _, rnd = _planned()
    ProgrammeSettings.objects.create(
        playbooks={"playbooks": [{"reason": "attitude", "channel": "email"}]}
    )
    task = _task_on(rnd, "sms")
    assert not task.customer.email
    _log(task, outcome="reached", reason_code="attitude")
    assert _member(task).channel == "sms"  # kept: the customer has no e-mail address
    [row] = _replans(task)
    assert row["channel"] == {
        "before": "sms",
        "after": "sms",
        "wanted": "email",
        "block": "no_email",
    }
    with translation.override("en"):
        page = call_page(task.agent, task.pk, lang="en")
    assert "no e-mail address" in page.channel_note
    assert "SMS" in page.channel_note


def test_do_not_contact_closes_the_task_and_nothing_is_re_planned() -> None:
    _, rnd = _planned()
    task = _task_on(rnd, "sms")
    before = task.menu
    updated = _log(task, outcome="do_not_contact", reason_code="attitude")
    assert updated.status != "open"
    assert updated.customer.do_not_contact
    assert updated.menu == before
    assert _member(task).channel == "sms"
    assert _replans(task) == []


def test_an_offer_already_chosen_stays_on_the_new_menu() -> None:
    _, rnd = _planned()
    task = _task_on(rnd, "sms")
    chosen = task.menu.offers[-1]
    updated = _log(task, outcome="reached", reason_code="attitude", offer_code=chosen.code)
    assert updated.menu != task.menu
    kept = updated.menu.find(chosen.code)
    assert kept is not None
    assert (kept.kind, kept.cost, kept.category) == (chosen.kind, chosen.cost, chosen.category)


def test_the_round_budget_holds_after_a_re_plan() -> None:
    from winback.programme.replan import reserve
    from winback.store.programme.models import Round

    _, rnd = _planned()
    task = _task_on(rnd, "sms")
    reserved = float(rnd.summary["offers"]["reserved"])
    summary = dict(rnd.summary)
    summary["offers"] = {**summary["offers"], "budget": reserved}  # fully reserved already
    Round.objects.filter(pk=rnd.pk).update(summary=summary)
    old = reserve(task.menu)
    updated = _log(task, outcome="reached", reason_code="attitude")
    new = reserve(updated.menu)
    assert new <= old + 1e-9 or all((o.cost or 0.0) <= 0 for o in updated.menu.offers)
    after = Round.objects.get(pk=rnd.pk).summary["offers"]
    assert after["reserved"] == pytest.approx(reserved - old + new, abs=0.01)
    assert after["reserved"] <= after["budget"] + 0.01
    assert json.dumps(after)
