"""The targeting policy of a new round from the database (winback.app.rounds.targeting): the
fallbacks, and the uplift model trained on matured rounds' members described by the snapshot
their round was planned on. Rounds are planned through the real use case."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl
import pytest

from tests.factories.business import MONTH, SNAPSHOT_DAY, TZ, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db

SECOND_SNAPSHOT = date(2024, 9, 30)
SECOND_MONTH = date(2024, 10, 1)
LATER = date(2025, 2, 1)  # both rounds' 90-day windows have closed


def _buy(customers: list[int], day: date) -> None:
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
            for pk in customers
        ]
    )


def _second_snapshot() -> None:
    """A later analysis: every customer's P(alive) set to 0.99, days since last + 120."""
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot

    AnalysisRun.objects.create(as_of=SECOND_SNAPSHOT, customers=CustomerSnapshot.objects.count())
    CustomerSnapshot.objects.bulk_create(
        [
            CustomerSnapshot(
                customer_id=s.customer_id,
                as_of=SECOND_SNAPSHOT,
                stage=s.stage,
                customer_type=s.customer_type,
                status=s.status,
                churn_score=s.churn_score,
                p_alive=0.99,
                clv_365=s.clv_365,
                tier=s.tier,
                days_since_last=(s.days_since_last or 0) + 120,
                expected_interval_days=s.expected_interval_days,
            )
            for s in CustomerSnapshot.objects.filter(as_of=SNAPSHOT_DAY)
        ]
    )


def _candidates(day: date) -> pl.DataFrame:
    from winback.store.queries.rounds import snapshot_rows

    return snapshot_rows(snapshot_as_of=day, statuses=("lost", "at_risk"))


def _arms(rnd: object) -> dict[str, list[int]]:
    from winback.store.programme.models import RoundMember

    arms: dict[str, list[int]] = {"treated": [], "control": []}
    for pk, arm in (
        RoundMember.objects.filter(round=rnd)
        .order_by("customer_id")
        .values_list("customer_id", "arm")
    ):
        arms[arm].append(pk)
    return arms


def _came_back(rnd: object, effect: bool) -> list[int]:
    """Every fourth control customer comes back; with ``effect`` the treated customers whose
    churn score is below 50 (a call moves them, not the others), else every second one."""
    from winback.store.analysis.models import CustomerSnapshot

    arms = _arms(rnd)
    low = set(
        CustomerSnapshot.objects.filter(as_of=SNAPSHOT_DAY, churn_score__lt=50).values_list(
            "customer_id", flat=True
        )
    )
    treated = [pk for pk in arms["treated"] if pk in low] if effect else arms["treated"][::2]
    return arms["control"][::4] + treated


def _two_matured_rounds(effect: bool = True) -> tuple[object, object]:
    from winback.app.rounds.service import plan_round
    from winback.app.settings.profile import set_profile

    build_world(n=400)
    # Free calls: the rounds hold (nearly) every eligible customer, as the training needs;
    # with the call's cost the low-value ones would not be worth planning.
    set_profile(overrides={"programme": {"agent_minute_cost": 0.0}})
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), holdout=0.5).round
    _buy(_came_back(first, effect), MONTH + timedelta(days=20))
    _second_snapshot()
    second = plan_round(
        Actor.system(), month=SECOND_MONTH, seed=6, agents=team(), holdout=0.5
    ).round
    _buy(_came_back(second, effect), SECOND_MONTH + timedelta(days=30))
    return first, second


def test_before_any_matured_round_the_stage_priors_serve() -> None:
    from winback.app.rounds.feedback import feedback
    from winback.app.rounds.service import plan_round
    from winback.app.rounds.targeting import targeting_for

    build_world()
    plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), holdout=0.5)
    # the round exists but its window is still open
    day = MONTH + timedelta(days=30)
    t = targeting_for(day, _candidates(SNAPSHOT_DAY), feedback(day), random_share=0.2)
    assert t.policy == "stage_priors"
    assert t.predictions is None
    assert t.random_share == 0.2
    assert t.detail["training_rounds"] == []


def test_one_matured_round_gives_the_measured_segments_not_a_model() -> None:
    from winback.app.rounds.feedback import feedback
    from winback.app.rounds.service import plan_round
    from winback.app.rounds.targeting import targeting_for

    build_world()
    first = plan_round(Actor.system(), month=MONTH, seed=5, agents=team(), holdout=0.5).round
    arms = _arms(first)
    _buy(arms["control"][::3] + arms["treated"][::2], MONTH + timedelta(days=20))
    day = MONTH + timedelta(days=120)
    t = targeting_for(day, _candidates(SNAPSHOT_DAY), feedback(day), random_share=0.2)
    assert t.policy == "measured_segments"
    assert t.model_version is None
    assert t.detail["training_rounds"] == [first.pk]
    assert t.detail["control_outcomes"] == len(arms["control"])
    assert t.detail["treated_outcomes"] == len(arms["treated"])


@pytest.mark.slow  # two rounds planned through the use case
def test_members_are_described_by_the_snapshot_their_round_was_planned_on() -> None:
    from winback.app.rounds.targeting import training_rows
    from winback.store.analysis.models import CustomerSnapshot

    first, second = _two_matured_rounds()
    rows = training_rows(LATER)
    earlier = dict(
        CustomerSnapshot.objects.filter(as_of=SNAPSHOT_DAY).values_list("customer_id", "p_alive")
    )
    one = rows.filter(pl.col("round_id") == first.pk)  # type: ignore[attr-defined]
    two = rows.filter(pl.col("round_id") == second.pk)  # type: ignore[attr-defined]
    assert one.height == sum(len(v) for v in _arms(first).values())
    assert two.height == sum(len(v) for v in _arms(second).values())
    assert one["p_alive"].to_list() == pytest.approx([earlier[pk] for pk in one["customer_pk"]])
    assert set(two["p_alive"].to_list()) == {0.99}
    # outcomes as the window recorded them
    bought = set(_came_back(first, effect=True))
    assert set(one.filter("returned")["customer_pk"].to_list()) == bought


@pytest.mark.slow  # two rounds planned through the use case
def test_with_enough_outcomes_the_model_predicts_every_candidate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from winback.app.rounds import targeting
    from winback.app.rounds.feedback import feedback
    from winback.programme.targeting import UPLIFT_PREDICTIONS
    from winback.programme.uplift_model import UpliftModel

    first, second = _two_matured_rounds()
    candidates = _candidates(SECOND_SNAPSHOT)
    learned = feedback(LATER)
    rows = targeting.training_rows(LATER)
    controls = int((rows["arm"] == "control").sum())
    assert controls >= targeting.MIN_CONTROLS
    # one control outcome short of the threshold: the measured segments serve
    monkeypatch.setattr(targeting, "MIN_CONTROLS", controls + 1)
    short = targeting.targeting_for(LATER, candidates, learned, random_share=0.2)
    assert short.policy == "measured_segments"
    assert short.predictions is None
    monkeypatch.undo()
    t = targeting.targeting_for(LATER, candidates, learned, random_share=0.2)
    assert t.policy == "uplift_model"
    assert t.detail["reason"] == "qini_above_zero"
    assert t.predictions is not None
    # the model learned who a call moves: low churn scores get the higher uplift
    scored = t.predictions.join(candidates, on="customer_pk")
    low = scored.filter(pl.col("churn_score") < 50)["uplift"].mean()
    high = scored.filter(pl.col("churn_score") >= 50)["uplift"].mean()
    assert low > high  # type: ignore[operator]
    UPLIFT_PREDICTIONS.conform(t.predictions)
    assert sorted(t.predictions["customer_pk"].to_list()) == sorted(
        candidates["customer_pk"].to_list()
    )
    assert t.predictions["uplift"].is_finite().all()
    d = t.detail
    assert d["training_rounds"] == sorted([first.pk, second.pk])  # type: ignore[attr-defined]
    assert d["control_outcomes"] == controls
    assert d["shrink_weight"] == pytest.approx(controls / (controls + 200), abs=1e-6)
    recorded = UpliftModel.from_json(d["model"])
    assert recorded.version == t.model_version
    assert recorded.predict(candidates)["uplift"].to_list() == pytest.approx(
        t.predictions["uplift"].to_list(), abs=1e-8
    )
    q = d["qini"]
    assert q["rounds"] == 2
    assert q["n_treated"] + q["n_control"] == rows.height
    assert 0 < q["qini_low"] <= q["qini"] <= q["qini_high"]
    assert t.to_json()["model_version"] == t.model_version


@pytest.mark.slow  # two rounds planned through the use case
def test_a_model_that_ranks_no_better_than_chance_is_not_used() -> None:
    from winback.app.rounds import targeting
    from winback.app.rounds.feedback import feedback

    _two_matured_rounds(effect=False)  # who comes back has nothing to do with the scores
    candidates = _candidates(SECOND_SNAPSHOT)
    t = targeting.targeting_for(LATER, candidates, feedback(LATER), random_share=0.2)
    assert t.detail["control_outcomes"] >= targeting.MIN_CONTROLS
    assert t.policy == "measured_segments"
    assert t.model_version is None
    assert t.predictions is None
    assert t.detail["reason"] == "qini_not_above_zero"
    q = t.detail["qini"]
    assert q["rounds"] == 2
    assert q["qini_low"] <= 0 <= q["qini_high"]
