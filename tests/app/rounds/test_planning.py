"""Planning a round from the database (R6): exclusions, holdout, reproducibility."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories.business import MONTH, SNAPSHOT_DAY, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def _call_list_customers(round_id: int) -> set[int]:
    from winback.store.programme.models import CallTask

    return set(CallTask.objects.filter(round_id=round_id).values_list("customer_id", flat=True))


@pytest.mark.parametrize(("world_seed", "plan_seed"), [(7, 3), (8, 4), (9, 5)])
def test_plan_stores_members_tasks_and_excludes_who_may_not_be_called(
    world_seed: int, plan_seed: int
) -> None:
    from winback.app.rounds.call_lists import call_list
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import CallTask, RoundMember

    world = build_world(seed=world_seed)
    rnd = plan_round(Actor.system(), month=MONTH, seed=plan_seed, agents=team()).round
    members = dict(RoundMember.objects.filter(round=rnd).values_list("customer_id", "arm"))
    called = _call_list_customers(rnd.pk)

    forbidden = world.dnc | world.no_consent | world.over_cap | world.complaint
    assert called, "the plan must call someone"
    assert not called & forbidden
    assert not set(members) & forbidden
    assert set(members) <= world.candidates
    # Control customers are never given a call task.
    control = {pk for pk, arm in members.items() if arm == "control"}
    assert control
    assert not control & called
    assert called == {pk for pk, arm in members.items() if arm == "treated"}
    # Capacity exceeds the pool here: every eligible candidate is a member unless the plan
    # judged the call not worth its cost (and did not draw the customer at random).
    expected = world.candidates - forbidden
    assert set(members) <= expected
    assert rnd.summary["waitlisted"] == 0
    assert len(expected - set(members)) == rnd.summary["not_worth_a_call"]
    assert rnd.summary["candidates"] == len(world.candidates)
    causes = rnd.summary["excluded_by_cause"]
    assert causes["do_not_contact"] == len(world.candidates & world.dnc)
    assert sum(causes.values()) == len(world.candidates) - len(expected)
    assert CallTask.objects.filter(round=rnd, agent__isnull=True).count() == 0
    assert set(call_list(rnd)["customer_pk"].to_list()) == called


def test_same_seed_same_plan_other_seed_same_strata_sizes() -> None:
    from winback.app.rounds.planning import prepare_plan
    from winback.app.settings.profile import set_profile

    build_world()
    # The random share's draw follows the seed too; without it only the holdout does.
    set_profile(overrides={"programme": {"random_share": 0.0}})
    agents = team()
    a = prepare_plan(MONTH, seed=11, agents=agents).plan
    b = prepare_plan(MONTH, seed=11, agents=agents).plan
    c = prepare_plan(MONTH, seed=12, agents=agents).plan
    assert a.members.equals(b.members)
    assert a.offers.equals(b.offers)
    control_a = set(a.members.filter(arm="control")["customer_pk"].to_list())
    control_c = set(c.members.filter(arm="control")["customer_pk"].to_list())
    assert control_a != control_c
    for stratum, sizes in a.summary["strata"].items():
        other = c.summary["strata"][stratum]
        assert abs(sizes["control"] - other["control"]) <= 1
        assert sizes["control"] + sizes["treated"] == other["control"] + other["treated"]


def test_persisted_plan_is_reproducible_from_its_seed() -> None:
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import Round, RoundMember

    build_world()
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team()).round
    rows = set(RoundMember.objects.filter(round=first).values_list("customer_id", "arm"))
    tasks = set(first.tasks.values_list("customer_id", "agent_id", "planned_date"))
    Round.objects.filter(pk=first.pk).delete()
    again = plan_round(Actor.system(), month=MONTH, seed=first.seed, agents=team()).round
    assert set(RoundMember.objects.filter(round=again).values_list("customer_id", "arm")) == rows
    assert set(again.tasks.values_list("customer_id", "agent_id", "planned_date")) == tasks


@pytest.mark.slow  # two rounds planned one after the other
def test_a_control_group_still_measured_is_not_drawn_again() -> None:
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import RoundMember

    build_world(n=120)  # two rounds planned: a smaller business than the default 300
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team()).round
    next_month = date(MONTH.year, MONTH.month + 1, 1)
    second = plan_round(Actor.system(), month=next_month, seed=6, agents=team()).round
    # Next month, June's control group is still being measured: none of it may be drawn again,
    # into either arm.
    control = set(
        RoundMember.objects.filter(round=first, arm="control").values_list("customer_id", flat=True)
    )
    in_second = set(RoundMember.objects.filter(round=second).values_list("customer_id", flat=True))
    assert control
    assert not control & in_second
    assert second.summary["excluded_by_cause"]["in_active_round"] > 0


def test_round_as_of_is_the_planning_day_and_the_snapshot_is_recorded_apart() -> None:
    """``Round.as_of`` is the day the plan is made as of (the round's start), not the date of
    the analysis it used: that one is the latest on or before the start, reported apart."""
    from django.test import Client

    from winback.app.accounts.tokens import issue_token
    from winback.app.analysis.selectors import latest_analysis
    from winback.app.rounds.service import plan_round
    from winback.store.accounts.models import Role, User
    from winback.store.analysis.models import AnalysisRun
    from winback.store.programme.models import Round

    build_world()
    AnalysisRun.objects.create(as_of=MONTH.replace(day=2), customers=0)  # after the start
    rnd = plan_round(Actor.system(), month=MONTH, seed=5, agents=team()).round
    assert latest_analysis(on_or_before=MONTH).as_of == SNAPSHOT_DAY  # type: ignore[union-attr]
    assert (rnd.as_of, rnd.round_start) == (MONTH, MONTH)
    assert rnd.snapshot_as_of == SNAPSHOT_DAY
    label = str(Round._meta.get_field("as_of").verbose_name)
    assert "snapshot" not in label

    boss = User.objects.create(username="boss", role=Role.SUPERVISOR)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(boss, name='t').secret}")
    shown = client.get(f"/api/rounds/{rnd.pk}").json()
    assert (shown["as_of"], shown["snapshot_as_of"]) == (MONTH.isoformat(), "2024-05-31")


def test_plan_without_snapshot_says_so() -> None:
    from winback.app.rounds.service import NoSnapshotError, plan_round

    with pytest.raises(NoSnapshotError):
        plan_round(Actor.system(), month=MONTH, seed=1, agents=[])


def test_the_plan_stores_each_members_pre_period_spend_and_visits() -> None:
    """The members' 90-day pre-round spend and purchase days are stored when the round is
    planned (the board reads them instead of summing orders), equal to the orders' figures."""
    from datetime import datetime, time, timedelta

    from tests.factories.business import TZ
    from winback.app.rounds.service import plan_round
    from winback.store.customers.models import Order
    from winback.store.programme.models import RoundMember
    from winback.store.queries.rounds import pre_period, round_cohort

    world = build_world(n=120)
    days = (
        MONTH - timedelta(days=90),  # the window's first day
        MONTH - timedelta(days=30),
        MONTH - timedelta(days=1),  # its last day
        MONTH - timedelta(days=91),  # before it
        MONTH,  # the round's first day: an outcome, not the pre-period
    )
    Order.objects.bulk_create(
        Order(
            order_key=f"o-{pk}-{k}",
            customer_id=pk,
            ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
            order_date=day,
            amount_cents=1_000 * (k + 1) * (-1 if k == 1 and pk % 3 == 0 else 1),
        )
        for pk in sorted(world.candidates)[::2]
        for k, day in enumerate(days)
    )
    rnd = plan_round(Actor.system(), month=MONTH, seed=5, agents=team()).round
    stored = {
        pk: (spend, visits)
        for pk, spend, visits in RoundMember.objects.filter(round=rnd).values_list(
            "customer_id", "pre_spend_cents", "pre_visits"
        )
    }
    expected = {
        pk: (round(spend * 100), int(visits))
        for pk, spend, visits in pre_period(
            cohort=round_cohort(round_id=rnd.pk),
            start=MONTH - timedelta(days=90),
            end=MONTH - timedelta(days=1),
        ).rows()
    }
    assert stored == expected
    assert {v for v in stored.values() if v != (0, 0)}, "some members bought before the round"
    assert {v[0] for v in stored.values()} >= {6_000, 2_000}  # refunds lower the spend
