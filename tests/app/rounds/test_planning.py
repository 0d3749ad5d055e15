"""Planning a round from the database (R6): exclusions, holdout, reproducibility."""

from __future__ import annotations

import pytest

from tests.factories.business import MONTH, build_world, team

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
    rnd = plan_round(MONTH, seed=plan_seed, agents=team())
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
    # Every eligible candidate is a member (capacity exceeds the pool here).
    expected = world.candidates - forbidden
    assert set(members) == expected
    assert rnd.summary["candidates"] == len(world.candidates)
    causes = rnd.summary["excluded_by_cause"]
    assert causes["do_not_contact"] == len(world.candidates & world.dnc)
    assert sum(causes.values()) == len(world.candidates) - len(expected)
    assert CallTask.objects.filter(round=rnd, agent__isnull=True).count() == 0
    assert set(call_list(rnd)["customer_pk"].to_list()) == called


def test_same_seed_same_plan_other_seed_same_strata_sizes() -> None:
    from winback.app.rounds.planning import prepare_plan

    build_world()
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
    first = plan_round(MONTH, seed=5, agents=team())
    rows = set(RoundMember.objects.filter(round=first).values_list("customer_id", "arm"))
    tasks = set(first.tasks.values_list("customer_id", "agent_id", "planned_date"))
    Round.objects.filter(pk=first.pk).delete()
    again = plan_round(MONTH, seed=first.seed, agents=team())
    assert set(RoundMember.objects.filter(round=again).values_list("customer_id", "arm")) == rows
    assert set(again.tasks.values_list("customer_id", "agent_id", "planned_date")) == tasks


def test_members_of_a_running_round_are_not_planned_again() -> None:
    from winback.app.rounds.service import plan_round

    build_world()
    first = plan_round(MONTH, seed=5, agents=team())
    second = plan_round(MONTH, seed=6, agents=team())
    assert second.summary["excluded_by_cause"]["in_active_round"] == first.summary["selected"]
    assert not _call_list_customers(first.pk) & _call_list_customers(second.pk)


def test_plan_without_snapshot_says_so() -> None:
    from winback.app.rounds.service import NoSnapshotError, plan_round

    with pytest.raises(NoSnapshotError):
        plan_round(MONTH, seed=1, agents=[])
