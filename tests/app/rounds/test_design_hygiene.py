"""Planning for a measurement that holds: the design stored with each round, the control floor,
control hygiene, the global holdout, measured uplift fed back, and planning a month again.

Rounds are planned through the real use case on a small generated business
(:mod:`tests.factories.business`)."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import polars as pl
import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.factories.business import MONTH, TZ, build_world, team
from winback.app.actors import Actor
from winback.programme.attribution import MEASUREMENT_DAYS

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _month(offset: int) -> date:
    y, m = divmod(MONTH.month - 1 + offset, 12)
    return date(MONTH.year + y, m + 1, 1)


def _arms(rnd: object) -> dict[str, set[int]]:
    from winback.store.programme.models import RoundMember

    arms: dict[str, set[int]] = {"treated": set(), "control": set()}
    for pk, arm in RoundMember.objects.filter(round=rnd).values_list("customer_id", "arm"):
        arms[arm].add(pk)
    return arms


# --- the design and the floor ------------------------------------------------------------------
def test_a_round_below_the_floor_is_refused_unless_overridden() -> None:
    from winback.app.rounds.service import ControlTooSmall, plan_round
    from winback.store.accounts.models import AuditLog
    from winback.store.programme.models import CallTask, Round, RoundRequest

    build_world(control_floor=None)  # the profile's default floor: 30
    with pytest.raises(ControlTooSmall) as refused:
        plan_round(Actor.system(), month=MONTH, seed=5, agents=team())
    design = refused.value.design
    assert 0 < design.n_control < design.control_floor == 30
    assert not Round.objects.exists()
    assert not CallTask.objects.exists()
    assert not RoundRequest.objects.exists()  # the month is free again

    rnd = plan_round(
        Actor.system(), month=MONTH, seed=5, agents=team(), allow_small_control=True
    ).round
    assert rnd.design["n_control"] == design.n_control
    assert rnd.design["small_control_allowed"] is True
    assert "control_below_floor" in rnd.design["warnings"]
    row = AuditLog.objects.get(action="plan_round")
    assert row.detail["small_control_allowed"] is True
    assert row.detail["control"] == design.n_control


def test_a_round_without_any_control_customer_is_refused_even_with_the_override() -> None:
    from winback.app.rounds.service import ControlTooSmall, plan_round
    from winback.store.programme.models import Round

    build_world(control_floor=None)
    with pytest.raises(ControlTooSmall) as refused:
        plan_round(
            Actor.system(),
            month=MONTH,
            seed=5,
            agents=team(),
            holdout=0.0,
            allow_small_control=True,
        )
    assert refused.value.design.n_control == 0
    assert refused.value.design.n_treated > 0
    assert not Round.objects.exists()


def test_the_stored_design_matches_the_round_it_describes() -> None:
    from winback.app.rounds.planning import prepare_plan
    from winback.app.rounds.service import plan_round
    from winback.programme.design import detection_power
    from winback.store.analysis.models import CustomerSnapshot

    build_world()
    # Without past rounds nor predictions the design reads the configured default ...
    preview = prepare_plan(MONTH, seed=5, agents=team(), holdout=0.3).plan.design
    assert (preview.base_rate_source, preview.base_rate) == ("default", 0.10)
    # ... and with predictions, the candidates' mean chance of a purchase within 90 days.
    CustomerSnapshot.objects.update(expected_purchases_365=2.0)
    rnd = plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), holdout=0.3).round
    arms = _arms(rnd)
    d = rnd.design
    assert (d["n_treated"], d["n_control"]) == (len(arms["treated"]), len(arms["control"]))
    assert d["primary_outcome"] == "came_back_within_90_days"
    assert d["primary_metric"] == "incremental_margin_net_of_cost"
    assert d["base_rate_source"] == "predicted"
    assert d["base_rate"] == pytest.approx(1 - math.exp(-2.0 * 90 / 365))
    assert d["power_for_hoped"] == pytest.approx(
        detection_power(
            d["base_rate"], d["hoped_effect"], n_control=d["n_control"], n_treated=d["n_treated"]
        )
    )
    assert rnd.summary["uplift"]["source"] == "defaults"


# --- control hygiene ---------------------------------------------------------------------------
@pytest.mark.slow
@PROPERTY
@given(
    world_seed=st.integers(1, 10_000),
    holdout=st.sampled_from([0.1, 0.3, 0.5]),
    gap=st.integers(1, 4),
    recent_days=st.sampled_from([30, 60, 90, 120]),
    day=st.integers(0, 200),
)
def test_recent_treated_never_enter_a_control_group_and_controls_are_never_contacted(
    world_seed: int, holdout: float, gap: int, recent_days: int, day: int
) -> None:
    from winback.app.contacts import gate
    from winback.app.rounds.call_lists import call_list
    from winback.app.rounds.service import ControlTooSmall, plan_round
    from winback.app.settings.profile import set_profile

    with transaction.atomic():
        build_world(n=150, seed=world_seed)
        set_profile(overrides={"programme": {"recently_treated_days": recent_days}})
        first = plan_round(
            Actor.system(), month=MONTH, seed=world_seed, agents=team(), holdout=holdout
        ).round
        try:
            later = plan_round(
                Actor.system(),
                month=_month(gap),
                seed=world_seed + 1,
                agents=team(),
                holdout=holdout,
            ).round
        except ControlTooSmall as refused:
            # So few eligible customers are left that no control group could be drawn: the
            # month gets no round at all.
            empty_control = refused.design.n_control == 0
            later = None
        else:
            empty_control = True
        assert empty_control, "only an empty control group refuses a round with the override"
        a = _arms(first)
        b = _arms(later) if later is not None else {"treated": set(), "control": set()}
        assert a["treated"]
        assert a["control"]
        if later is not None and (later.round_start - first.round_start).days < recent_days:
            # recently treated: in neither arm of the later round (out of its comparison)
            assert not (a["treated"] & b["control"])
            assert not (a["treated"] & b["treated"])
            assert later.summary["excluded_by_cause"]["recently_treated"] > 0
        # A control customer is stopped by the gate (every path asks it) until the round's
        # window closes, and no call list of any round holds them meanwhile.
        on = first.round_start + timedelta(days=day)
        judged = gate.verdicts(sorted(a["control"]), on=on)
        if day < MEASUREMENT_DAYS:
            assert not judged["allowed"].any()
            listed = set(call_list(first)["customer_pk"])
            if later is not None:
                listed |= set(call_list(later)["customer_pk"])
            shown = gate.allowed_only(
                pl.DataFrame({"customer_pk": sorted(listed)}, schema={"customer_pk": pl.Int64}),
                on=on,
            )
            assert not (set(shown["customer_pk"]) & a["control"])
        else:
            # the first window has closed: only the later round's control group (if it is
            # still measured on that day) keeps the reason
            later_measured = (
                later is not None and later.round_start + timedelta(days=MEASUREMENT_DAYS) > on
            )
            still = b["control"] if later_measured else set()
            freed = judged.filter(~pl.col("customer_pk").is_in(sorted(still)))
            assert "control_group" not in set(freed["reason"].drop_nulls())
        transaction.set_rollback(True)


@pytest.mark.slow
@PROPERTY
@given(world_seed=st.integers(1, 10_000), share=st.sampled_from([0.05, 0.2, 0.4]))
def test_a_global_holdout_customer_is_never_in_a_round(world_seed: int, share: float) -> None:
    from winback.app.contacts import gate
    from winback.app.rounds.service import plan_round
    from winback.app.settings.profile import current_profile, set_profile
    from winback.programme.holdout import in_global_holdout

    with transaction.atomic():
        world = build_world(n=150, seed=world_seed)
        set_profile(overrides={"programme": {"global_holdout_share": share}})
        seed = current_profile().programme.global_holdout_seed
        flags = in_global_holdout(world.customer_ids, share=share, seed=seed)
        held = {pk for pk, h in zip(world.customer_ids, flags, strict=True) if h}
        # The holdout's seed is drawn when the share is first set: a small share may hold back
        # no candidate of this world, and then there is nothing to check.
        assume(held & world.candidates)
        rnd = plan_round(Actor.system(), month=MONTH, seed=world_seed, agents=team()).round
        arms = _arms(rnd)
        assert not (held & (arms["treated"] | arms["control"]))
        assert rnd.summary["excluded_by_cause"]["global_holdout"] > 0
        assert gate.blocked_ids(sorted(held), on=MONTH) == sorted(held)
        transaction.set_rollback(True)


# --- feedback from matured rounds --------------------------------------------------------------
def _buy(customers: set[int], day: date) -> None:
    from winback.store.customers.models import Order

    Order.objects.bulk_create(
        [
            Order(
                order_key=f"o-{pk}-{day}",
                customer_id=pk,
                order_date=day,
                ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
                amount_cents=10_000,
            )
            for pk in sorted(customers)
        ]
    )


def test_matured_rounds_give_the_base_rate_and_the_uplift_by_segment() -> None:
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import RoundMember

    build_world()
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), holdout=0.5).round
    arms = _arms(first)
    assert len(arms["control"]) >= 30
    # a third of the controls and two thirds of the treated come back within the window
    came_back = set(sorted(arms["control"])[::3]) | {
        pk for i, pk in enumerate(sorted(arms["treated"])) if i % 3
    }
    _buy(came_back, MONTH + timedelta(days=20))
    later = plan_round(Actor.system(), month=_month(4), seed=6, agents=team()).round
    d = later.design
    assert d["base_rate_source"] == "past_controls"
    assert d["base_rate"] == pytest.approx(
        len(set(sorted(arms["control"])[::3])) / len(arms["control"])
    )
    uplift = later.summary["uplift"]
    assert uplift["source"] == "measured_shrunk"
    segments = {s["segment"]: s for s in uplift["segments"]}
    members = RoundMember.objects.filter(round=first)
    seen = {f"{s}|{t}" for s, t in members.values_list("stage", "tier")}
    assert set(segments) <= seen
    assert segments
    for key, s in segments.items():
        assert uplift["by_segment"][key] == pytest.approx(s["uplift"], abs=1e-6)
        # between the segment's own measurement and the programme average
        assert (s["uplift"] - s["measured"]) * (s["uplift"] - s["average"]) <= 1e-9


# --- planning a month again --------------------------------------------------------------------
def test_a_month_is_planned_once_unless_replaced_before_any_contact() -> None:
    from winback.app.rounds.service import (
        RoundExists,
        RoundHasContacts,
        log_contact,
        plan_round,
    )
    from winback.store.accounts.models import AuditLog
    from winback.store.programme.models import CallTask, Round, RoundMember

    build_world()
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team()).round
    tasks = CallTask.objects.filter(round=first).count()
    with pytest.raises(RoundExists):  # the second run creates no second round
        plan_round(Actor.system(), month=MONTH, seed=6, agents=team())
    assert Round.objects.count() == 1
    assert CallTask.objects.count() == tasks

    second = plan_round(Actor.system(), month=MONTH, seed=6, agents=team(), replace=True).round
    assert Round.objects.get().pk == second.pk != first.pk
    assert second.seed == 6
    assert set(RoundMember.objects.values_list("round_id", flat=True)) == {second.pk}
    assert set(CallTask.objects.values_list("round_id", flat=True)) == {second.pk}
    row = AuditLog.objects.get(action="replace_round")
    assert row.detail["replaced"]["round_id"] == first.pk
    assert row.detail["replaced"]["tasks"] == tasks

    task = CallTask.objects.filter(round=second).order_by("pk").select_related("agent").first()
    assert task is not None
    log_contact(
        task.pk,
        agent=task.agent,
        outcome="not_reached",
        expected_version=task.version,
        occurred_at=datetime.combine(MONTH + timedelta(days=1), time(10), tzinfo=TZ),
    )
    with pytest.raises(RoundHasContacts) as refused:
        plan_round(Actor.system(), month=MONTH, seed=7, agents=team(), replace=True)
    assert refused.value.contacts == 1
    assert Round.objects.get().pk == second.pk
    assert CallTask.objects.filter(round=second).count() > 0


def test_a_request_that_died_while_planning_says_when_to_retry() -> None:
    from django.utils import timezone

    from winback.app.rounds.service import STALE_REQUEST, RoundInProgress, plan_round
    from winback.store.programme.models import Round, RoundRequest

    build_world()
    dead = RoundRequest.objects.create(token="dead", month=MONTH)
    with pytest.raises(RoundInProgress) as busy:
        plan_round(Actor.system(), month=MONTH, seed=5, agents=team())
    assert busy.value.retry_after == dead.created_at + STALE_REQUEST
    assert not Round.objects.exists()
    RoundRequest.objects.filter(pk=dead.pk).update(
        created_at=timezone.now() - STALE_REQUEST - timedelta(minutes=1)
    )
    made = plan_round(Actor.system(), month=MONTH, seed=5, agents=team())
    assert made.created


def test_the_programme_effect_compares_the_global_holdout_with_the_rest() -> None:
    from winback.app.rounds.global_holdout import programme_effect
    from winback.app.settings.profile import current_profile, set_profile
    from winback.programme.attribution import newcombe_interval
    from winback.programme.holdout import in_global_holdout

    world = build_world()
    assert programme_effect(MONTH) is None  # off by default
    set_profile(overrides={"programme": {"global_holdout_share": 0.3}})
    seed = current_profile().programme.global_holdout_seed
    flags = in_global_holdout(world.customer_ids, share=0.3, seed=seed)
    held = {pk for pk, h in zip(world.customer_ids, flags, strict=True) if h} & world.candidates
    rest = world.candidates - held
    back = set(sorted(held)[::4]) | set(sorted(rest)[::2])
    _buy(back, MONTH + timedelta(days=30))
    _buy(set(world.customer_ids), MONTH + timedelta(days=MEASUREMENT_DAYS))  # after the window
    effect = programme_effect(MONTH, today=MONTH + timedelta(days=100))
    assert effect is not None
    assert effect["matured"]
    assert effect["holdout"] == {
        "customers": len(held),
        "came_back": len(back & held),
        "rate": len(back & held) / len(held),
    }
    assert effect["rest"]["customers"] == len(rest)
    assert effect["rest"]["came_back"] == len(back & rest)
    d, lo, hi = newcombe_interval(len(back & rest), len(rest), len(back & held), len(held))
    assert effect["difference"] == pytest.approx(float(d))
    assert effect["interval"] == pytest.approx([float(lo), float(hi)])
    assert effect["difference"] > 0
