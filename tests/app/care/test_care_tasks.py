"""Care tasks: the plan made into each agent's work, through the contact gate and within
capacity, and the agent's outcome recorded (R10)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

DAY = date(2024, 6, 10)
SNAP = date(2024, 5, 31)
pytestmark = pytest.mark.django_db


def _customer(ext: str, *, abc: str = "A", status: str = "active", **flags: object):  # type: ignore[no-untyped-def]
    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import Customer

    c = Customer.objects.create(external_id=ext, **flags)
    CustomerSnapshot.objects.create(
        customer=c,
        as_of=SNAP,
        stage="active",
        customer_type="evergreen",
        status=status,
        churn_score=10.0,
        abc_class=abc,
        tier=1,
        clv_365=100.0,
    )
    return c


def _agent(name: str, capacity: int = 40):  # type: ignore[no-untyped-def]
    from winback.store.accounts.models import User

    return User.objects.create_user(name, password="x", role="agent", daily_capacity=capacity)


def _world() -> None:
    from winback.store.analysis.models import AnalysisRun

    AnalysisRun.objects.create(as_of=SNAP, customers=5)


def _control(customer) -> None:  # type: ignore[no-untyped-def]
    from winback.store.programme.models import Round, RoundMember

    rnd = Round.objects.create(
        month=date(2024, 6, 1),
        seed=1,
        holdout_share=0.1,
        as_of=date(2024, 6, 1),
        round_start=date(2024, 6, 1),
        round_end=date(2024, 6, 30),
    )
    RoundMember.objects.create(
        round=rnd, customer=customer, arm="control", stage="lapsing", priority_rank=1
    )


def _system():  # type: ignore[no-untyped-def]
    from winback.app.actors import Actor

    return Actor.system("test")


def test_gate_keeps_control_holdout_and_do_not_contact_customers_off_care_lists() -> None:
    """The first care plans ignored the control group and the global holdout: a control
    customer got care calls during the round that measured them."""
    from winback.app.care.tasks import materialise
    from winback.app.settings.profile import current_profile, set_profile
    from winback.programme.holdout import in_global_holdout
    from winback.store.programme.models import CareTask

    _world()
    _agent("agent1")
    plain = [_customer(f"OK{i:02d}") for i in range(30)]
    dnc = _customer("DNC", do_not_contact=True)
    control = _customer("CTRL")
    _control(control)
    set_profile(overrides={"programme": {"global_holdout_share": 0.3}})
    rules = current_profile().programme
    ids = [c.pk for c in plain]
    held = {
        pk
        for pk, h in zip(
            ids, in_global_holdout(ids, share=0.3, seed=rules.global_holdout_seed), strict=True
        )
        if h
    }
    assert held, "nobody held out: the test proves nothing"

    made = materialise(_system(), DAY, DAY + timedelta(days=6))

    listed = set(CareTask.objects.values_list("customer_id", flat=True))
    assert made.created == CareTask.objects.count() > 0
    assert dnc.pk not in listed
    assert control.pk not in listed
    assert not (listed & held)
    assert listed == set(ids) - held


def test_tasks_are_spread_within_each_agents_capacity() -> None:
    from django.db.models import Count

    from winback.app.care.tasks import materialise
    from winback.store.programme.models import CareTask

    _world()
    a1 = _agent("agent1", capacity=3)
    a2 = _agent("agent2", capacity=2)
    for i in range(30):
        _customer(f"C{i:02d}", abc="A")  # never called: a care call due at once

    made = materialise(_system(), DAY, DAY + timedelta(days=2))

    per_day = {
        (r["agent_id"], r["planned_date"]): r["n"]
        for r in CareTask.objects.values("agent_id", "planned_date").annotate(n=Count("id"))
    }
    assert max(per_day.values()) <= 3
    assert all(n <= 2 for (agent, _d), n in per_day.items() if agent == a2.pk)
    assert sum(per_day.values()) == made.created == 3 * (3 + 2)
    assert made.left_over == made.due - made.created > 0
    assert made.by_agent == {a1.username: 9, a2.username: 6}
    # A second plan over the same days finds no room and makes nothing twice.
    again = materialise(_system(), DAY, DAY + timedelta(days=2))
    assert again.created == 0
    assert CareTask.objects.count() == 15


def test_win_back_calls_already_planned_take_their_share_of_capacity() -> None:
    from winback.app.care.tasks import materialise
    from winback.store.programme.models import CallTask, CareTask, Round

    _world()
    agent = _agent("agent1", capacity=4)
    customers = [_customer(f"C{i:02d}") for i in range(10)]
    rnd = Round.objects.create(
        month=date(2024, 6, 1),
        seed=1,
        holdout_share=0.1,
        as_of=date(2024, 6, 1),
        round_start=date(2024, 6, 1),
        round_end=date(2024, 6, 30),
    )
    for c in customers[:3]:
        CallTask.objects.create(round=rnd, customer=c, agent=agent, next_due=DAY)

    materialise(_system(), DAY, DAY)

    assert CareTask.objects.filter(planned_date=DAY).count() == 1


def test_agent_records_an_outcome_that_moves_the_cadence_on() -> None:
    from django.core.exceptions import PermissionDenied

    from winback.app.actors import Actor
    from winback.app.care.tasks import CareTaskClosed, materialise, queue, record_outcome
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import CareTask

    _world()
    a1 = _agent("agent1")
    a2 = _agent("agent2")
    _customer("ONE", abc="D")
    materialise(_system(), DAY, DAY)
    task = CareTask.objects.get()
    owner, other = (a1, a2) if task.agent_id == a1.pk else (a2, a1)
    assert [t.pk for t in queue(Actor.of(owner), DAY)] == [task.pk]
    assert queue(Actor.of(other), DAY) == []
    with pytest.raises(PermissionDenied):
        record_outcome(Actor.of(other), task.pk, outcome="reached")

    done = record_outcome(Actor.of(owner), task.pk, outcome="reached", notes="happy")

    assert done.status == "done"
    log = ContactLog.objects.get()
    assert (log.channel, log.outcome, log.customer_id) == ("phone", "reached", task.customer_id)
    assert queue(Actor.of(owner), DAY) == []
    with pytest.raises(CareTaskClosed):
        record_outcome(Actor.of(owner), task.pk, outcome="reached")
    # The call is logged: the next plan has no care call due for the customer.
    again = materialise(_system(), DAY, DAY + timedelta(days=3))
    assert again.created == 0


def test_a_customer_stopped_after_planning_is_not_worked() -> None:
    from winback.app.actors import Actor
    from winback.app.care.tasks import materialise, queue, record_outcome
    from winback.app.contacts.gate import ContactNotAllowed
    from winback.store.customers.models import Customer
    from winback.store.programme.models import CareTask

    _world()
    agent = _agent("agent1")
    c = _customer("ONE", abc="D")
    materialise(_system(), DAY, DAY)
    task = CareTask.objects.get()
    Customer.objects.filter(pk=c.pk).update(do_not_contact=True)

    assert queue(Actor.of(agent), DAY) == []
    with pytest.raises(ContactNotAllowed):
        record_outcome(Actor.of(agent), task.pk, outcome="reached")
    task.refresh_from_db()
    assert (task.status, task.closed_reason) == ("closed", "do_not_contact")


def test_agents_may_not_plan_care() -> None:
    from django.core.exceptions import PermissionDenied

    from winback.app.actors import Actor
    from winback.app.care.tasks import materialise

    with pytest.raises(PermissionDenied):
        materialise(Actor.of(_agent("agent1")), DAY, DAY)


def test_greetings_are_planned_before_the_occasion_never_after() -> None:
    from winback.app.care.tasks import materialise
    from winback.store.programme.models import CareTask

    _world()
    _agent("agent1")
    _customer("BDAY", abc="E", birthday=date(1990, 6, 12))  # class E: no cadence calls

    materialise(_system(), DAY, DAY + timedelta(days=6))

    greeting = CareTask.objects.get(kind="greeting", occasion="birthday")
    assert greeting.due_date == date(2024, 6, 12)
    assert DAY <= greeting.planned_date <= greeting.due_date


def test_care_rules_are_validated_and_stored() -> None:
    from django.core.exceptions import PermissionDenied

    from winback.app.actors import Actor
    from winback.app.care.rules import (
        cadence_dicts,
        current_cadences,
        current_calendar,
        update_care_rules,
    )
    from winback.programme.care import default_cadences

    cadences = cadence_dicts(default_cadences())
    holidays = current_calendar().to_dicts()
    cadences[0]["call_days"] = 7
    with pytest.raises(PermissionDenied):
        update_care_rules(Actor.of(_agent("agent1")), cadences=cadences, holidays=holidays)
    bad = [dict(c) for c in cadences]
    bad[1]["visit_days"] = 0
    with pytest.raises(ValueError, match="at least one day"):
        update_care_rules(_system(), cadences=bad, holidays=holidays)
    assert update_care_rules(_system(), cadences=cadences, holidays=holidays) is True
    assert current_cadences()[0].call_days == 7
    assert update_care_rules(_system(), cadences=cadences, holidays=holidays) is False
