"""Lifecycle stages (fixed and personal rhythm), personal rhythm in the score, customer types."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from winback.analytics.lifecycle import RHYTHM_SCALE_BOUNDS, stage_expr
from winback.analytics.pipeline import analyze
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import Synthetic, concat_frames, hand_built


def _stages(profile: BusinessProfile, days: list[int | None], interval: float = 30.0) -> list[str]:
    frame = pl.DataFrame(
        {"days_since_last": days, "expected_interval_days": [interval] * len(days)},
        schema={"days_since_last": pl.Int64, "expected_interval_days": pl.Float64},
    )
    return frame.select(stage_expr(profile)).to_series().to_list()


def test_fixed_thresholds_follow_the_clinic_rule() -> None:
    clinic = preset("aesthetics")  # active 0-45, silent 45-90, sleeping 90-180, lost 180+
    days: list[int | None] = [0, 44, 45, 89, 90, 179, 180, 2000, None]
    assert _stages(clinic, days) == [
        "active",
        "active",
        "silent",
        "silent",
        "sleeping",
        "sleeping",
        "lost",
        "lost",
        "prospect",
    ]


def test_rhythm_rule_scales_thresholds_within_bounds() -> None:
    clinic = preset("aesthetics", {"lifecycle_rule": "rhythm"})  # prior 40 days
    # Twice the usual interval: thresholds 90 / 180 / 360.
    assert _stages(clinic, [89, 90, 179, 180, 359, 360], interval=80.0) == [
        "active",
        "silent",
        "silent",
        "sleeping",
        "sleeping",
        "lost",
    ]
    low, high = RHYTHM_SCALE_BOUNDS
    # A daily buyer is held at the lower bound, a once-in-ten-years one at the upper bound.
    assert _stages(clinic, [int(45 * low), int(45 * low) + 1], interval=1.0) == [
        "active",
        "silent",
    ]
    assert _stages(clinic, [int(180 * high) - 1, int(180 * high)], interval=3650.0) == [
        "sleeping",
        "lost",
    ]


def _rhythm_customers() -> tuple[int, int, list[tuple[int, date, int]]]:
    weekly, twice_a_year = 9_000_001, 9_000_002
    weekly_last = AS_OF - timedelta(days=60)
    orders = [(weekly, weekly_last - timedelta(days=7 * k), 3000) for k in range(52)]
    half_year_last = AS_OF - timedelta(days=120)
    orders += [(twice_a_year, half_year_last - timedelta(days=182 * k), 9000) for k in range(6)]
    return weekly, twice_a_year, orders


def test_weekly_buyer_silent_two_months_scores_higher_than_twice_a_year_buyer_silent_four(
    synth: Synthetic, retail: BusinessProfile
) -> None:
    weekly, twice_a_year, orders = _rhythm_customers()
    frames = concat_frames(synth.frames, hand_built([weekly, twice_a_year], orders))
    scores = analyze(frames, retail, AS_OF).scores
    score = dict(zip(scores["customer_pk"], scores["churn_score"], strict=True))
    assert score[weekly] > score[twice_a_year]
    # Under the rhythm rule the weekly buyer is further along the lifecycle too.
    rhythm = analyze(frames, preset("retail", {"lifecycle_rule": "rhythm"}), AS_OF).scores
    stage = dict(zip(rhythm["customer_pk"], rhythm["stage"], strict=True))
    order = ["active", "silent", "sleeping", "lost"]
    assert order.index(stage[weekly]) > order.index(stage[twice_a_year])
    fixed = dict(zip(scores["customer_pk"], scores["stage"], strict=True))
    assert order.index(fixed[weekly]) < order.index(fixed[twice_a_year])  # fixed says the opposite


def test_customer_types_on_obvious_customers(synth: Synthetic, retail: BusinessProfile) -> None:
    p, n, e, lo, a, v = range(9_100_001, 9_100_007)
    day = AS_OF
    orders = [(n, day - timedelta(days=3), 4000)]
    orders += [(e, day - timedelta(days=2 + 7 * k), 4000) for k in range(100)]
    orders += [(lo, day - timedelta(days=1100 + 30 * k), 4000) for k in range(2)]
    orders += [(a, day - timedelta(days=20 + 30 * k), 4000) for k in range(24)]
    orders += [(v, day - timedelta(days=5 + 21 * k), 4000) for k in range(3)]
    events = [
        {"customer_pk": e, "event_type": "forum_post", "occurred_date": day - timedelta(days=d)}
        for d in range(5, 700, 30)
    ]
    events.append(
        {"customer_pk": a, "event_type": "complaint", "occurred_date": day - timedelta(days=10)}
    )
    extra = hand_built([p, n, e, lo, a, v], orders, events)
    result = analyze(concat_frames(synth.frames, extra), retail, AS_OF).scores
    kinds = dict(zip(result["customer_pk"], result["customer_type"], strict=True))
    assert [kinds[c] for c in (p, n, e, lo, a, v)] == [
        "prospect",
        "new",
        "evergreen",
        "lost",
        "alert",
        "vulnerable",
    ]
    row = result.filter(pl.col("customer_pk") == a).row(0, named=True)
    assert row["early_warning"]
    assert row["retention_action"] == "resolve_complaint"
    assert row["status"] != "lost"


@pytest.mark.parametrize("industry", ["retail", "dental", "accounting"])
def test_every_customer_has_one_stage_and_type(industry: str, synth: Synthetic) -> None:
    scores = analyze(synth.frames, preset(industry), AS_OF).scores
    assert scores["stage"].is_in(["active", "silent", "sleeping", "lost", "prospect"]).all()
    assert (
        scores["customer_type"]
        .is_in(["prospect", "new", "vulnerable", "alert", "evergreen", "lost"])
        .all()
    )
    prospects = scores.filter(pl.col("days_since_last").is_null())
    assert (prospects["stage"] == "prospect").all()
    assert (prospects["customer_type"] == "prospect").all()
