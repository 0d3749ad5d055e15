"""Features as of a date: hand-checked values, no leakage, engine portability, row order."""

from __future__ import annotations

import itertools
import statistics
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from winback.analytics.features import FEATURES, customer_features
from winback.analytics.frames import AnalyticsFrames
from winback.analytics.pipeline import analyze
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import Synthetic, concat_frames, hand_built, synth_history

DAY = date(2024, 6, 1)
D = date


def _hand_frames() -> AnalyticsFrames:
    orders = [
        (1, D(2022, 12, 1), 6000),  # 1: two lines
        (1, D(2023, 1, 15), 3000),  # 2: no lines
        (1, D(2023, 1, 15), 1000),  # 3: same day, no lines
        (1, D(2023, 9, 1), 2000),  # 4
        (1, D(2024, 3, 1), 5000),  # 5
        (1, D(2024, 4, 1), -500),  # 6: a refund, no purchase that day
        (2, D(2024, 5, 20), 3000),  # 7
        (3, D(2022, 5, 1), 700),  # 8
        (3, D(2024, 5, 10), 1500),  # 9
        (6, D(2024, 8, 1), 900),  # 10: after the as-of date
        (7, D(2024, 1, 5), 1200),  # 11: bought before the recorded join date
    ]
    lines = [
        (1, "staple", "necessary", 4000),
        (1, "treat", "discretionary", 2000),
        (4, "staple", "necessary", 2000),
        (5, "gift", "discretionary", 3000),
        (5, "misc", None, 2000),
    ]

    def event(pk: int, kind: str, day: date, **extra: object) -> dict[str, object]:
        return {"customer_pk": pk, "event_type": kind, "occurred_date": day, **extra}

    events = [
        event(2, "complaint", D(2024, 5, 25)),
        event(2, "complaint", D(2024, 1, 10), resolved=True, resolved_date=D(2024, 2, 1)),
        event(2, "complaint", D(2024, 4, 1), resolved=True, resolved_date=D(2024, 7, 1)),
        event(2, "survey_response", D(2024, 2, 1), score=8),
        event(2, "survey_response", D(2024, 5, 1), score=4),
        event(2, "forum_post", D(2023, 3, 1)),
        event(2, "forum_post", D(2024, 5, 1)),
        event(2, "referral", D(2024, 5, 2), referred_customer_pk=3),
        event(2, "referral", D(2024, 5, 3), referred_bought=True),
        event(2, "referral", D(2024, 5, 4), referred_customer_pk=4, referred_bought=True),
        event(2, "suggestion", D(2024, 4, 10), adopted=True),
        event(2, "forum_reply", D(2024, 6, 5)),  # after the as-of date
    ]
    contacts = [
        (2, D(2024, 5, 10), "outbound", "not_reached"),
        (2, D(2024, 4, 1), "outbound", "not_reached"),
        (2, D(2024, 5, 11), "outbound", "reached"),
        (2, D(2024, 5, 12), "inbound", "not_reached"),
        (2, D(2024, 1, 1), "outbound", "not_reached"),
    ]
    joins = {1: D(2022, 11, 1), 4: D(2024, 1, 1), 5: D(2024, 7, 1), 7: D(2024, 12, 1)}
    return hand_built(
        [1, 2, 3, 4, 5, 6, 7],
        orders,
        events,
        lines=lines,
        contacts=contacts,
        join_dates=joins,
    )


@pytest.fixture(scope="module")
def hand() -> dict[int, dict[str, object]]:
    features = customer_features(_hand_frames(), preset("retail"), DAY)
    return {row["customer_pk"]: row for row in features.iter_rows(named=True)}


def test_contract_and_known_customers(hand: dict[int, dict[str, object]]) -> None:
    features = customer_features(_hand_frames(), preset("retail"), DAY)
    assert features.schema == pl.Schema(FEATURES)
    # 5 joins after the as-of date and has not bought; 7 joins later but bought before.
    assert sorted(hand) == [1, 2, 3, 4, 6, 7]
    assert hand[4]["first_purchase"] is None
    assert hand[4]["n_purchases"] == 0
    assert hand[6]["n_purchases"] == 0  # its only order is after the as-of date


def test_purchase_days_spend_and_split(hand: dict[int, dict[str, object]]) -> None:
    c = hand[1]
    assert (c["first_purchase"], c["last_purchase"]) == (D(2022, 12, 1), D(2024, 3, 1))
    assert c["n_purchases"] == 4  # two orders on 2023-01-15 are one purchase day
    assert (c["n_purchases_365"], c["n_purchases_prev_365"]) == (2, 2)
    assert c["spend_cents"] == 6000 + 3000 + 1000 + 2000 + 5000 - 500
    assert c["spend_necessary_cents"] == 4000 + 2000
    assert c["spend_discretionary_cents"] == 2000 + 3000
    # orders without lines, the line without a flag and the refund
    assert c["spend_unclassified_cents"] == 3000 + 1000 + 2000 - 500
    assert c["spend_365_cents"] == 2000 + 5000 - 500
    assert c["spend_prev_365_cents"] == 6000 + 3000 + 1000
    assert (c["spend_necessary_365_cents"], c["spend_discretionary_365_cents"]) == (2000, 3000)
    assert c["spend_unclassified_365_cents"] == 2000 - 500
    assert c["spend_trend_pct"] == pytest.approx(100 * (6500 - 10000) / 10000)
    assert c["frequency_trend_pct"] == pytest.approx(0.0)
    assert (c["categories_365"], c["categories_prev_365"]) == (3, 2)  # staple, gift, misc
    assert c["repeat_spend_mean_cents"] == pytest.approx((4000 + 2000 + 5000) / 3)
    assert c["tenure_days"] == (DAY - D(2022, 11, 1)).days
    assert hand[7]["tenure_days"] == (DAY - D(2024, 1, 5)).days


def test_intervals_rhythm_and_lateness(hand: dict[int, dict[str, object]]) -> None:
    days = [D(2022, 12, 1), D(2023, 1, 15), D(2023, 9, 1), D(2024, 3, 1)]
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    c = hand[1]
    assert c["interval_mean_days"] == pytest.approx(statistics.mean(gaps))
    assert c["interval_median_days"] == pytest.approx(statistics.median(gaps))
    assert c["interval_cv"] == pytest.approx(statistics.stdev(gaps) / statistics.mean(gaps))
    profile = preset("retail")
    pooled = (sum(gaps) + profile.prior_strength * profile.expected_return_days) / (
        len(gaps) + profile.prior_strength
    )
    assert c["expected_interval_days"] == pytest.approx(pooled)
    assert c["days_since_last"] == (DAY - D(2024, 3, 1)).days
    assert c["lateness"] == pytest.approx((DAY - D(2024, 3, 1)).days / pooled)
    # One purchase: no interval of its own, so the business prior.
    assert hand[2]["expected_interval_days"] == pytest.approx(profile.expected_return_days)
    assert hand[2]["interval_mean_days"] is None


def test_engagement_complaints_contacts(hand: dict[int, dict[str, object]]) -> None:
    c = hand[2]
    assert (c["complaint_n"], c["complaint_open_n"]) == (3, 2)  # one resolved after as-of
    assert c["complaint_oldest_open"] == D(2024, 4, 1)
    assert (c["survey_score_mean"], c["survey_score_latest"]) == (6.0, 4.0)
    assert (c["forum_post_n"], c["forum_post_n_365"]) == (2, 1)
    assert c["forum_reply_n"] == 0  # dated after the as-of date
    assert c["referral_n"] == 3
    assert c["referral_converted_n"] == 2  # customer 3 bought; the unknown one is flagged
    assert c["referred_spend_365_cents"] == 1500  # customer 3's last-365 spend
    assert (c["suggestion_n"], c["suggestion_adopted_n"]) == (1, 1)
    assert c["engagement_n_365"] == 2 + 1 + 3 + 1  # surveys, post, referrals, suggestion
    assert c["engagement_n_prev_365"] == 1
    assert c["engagement_last"] == D(2024, 5, 4)
    assert (c["contacts_outbound_90"], c["contacts_unanswered_90"]) == (3, 2)


def _future_rows(synth: Synthetic, as_of: date) -> AnalyticsFrames:
    """Orders, lines, events and contacts after ``as_of``, and customers joining after it."""
    rng = np.random.default_rng(3)
    pks = rng.choice(synth.frames.customers["customer_pk"].to_numpy(), size=400)
    days = [as_of + timedelta(days=int(d)) for d in rng.integers(1, 200, size=400)]
    first_order = int(synth.frames.orders["order_pk"].max()) + 1  # type: ignore[arg-type]
    orders = [(int(p), d, 5000) for p, d in zip(pks, days, strict=True)]
    frames = hand_built(
        [],
        orders,
        [
            {"customer_pk": int(p), "event_type": k, "occurred_date": d}
            for p, d, k in zip(pks, days, ["complaint", "forum_post"] * 200, strict=True)
        ],
        lines=[(i + 1, "treat", "discretionary", 5000) for i in range(len(orders))],
        contacts=[(int(p), d, "outbound", "not_reached") for p, d in zip(pks, days, strict=True)],
    )
    shift = pl.col("order_pk") + first_order
    newcomers = hand_built(
        [10_000_001, 10_000_002],
        [(10_000_001, as_of + timedelta(days=3), 900)],
        join_dates={10_000_001: as_of + timedelta(days=2), 10_000_002: as_of + timedelta(days=9)},
    )
    frames = AnalyticsFrames(
        frames.customers,
        frames.orders.with_columns(shift),
        frames.order_lines.with_columns(shift),
        frames.events,
        frames.contacts,
    )
    return concat_frames(frames, newcomers)


@pytest.mark.slow  # features of the full synthetic history, twice
def test_adding_data_after_as_of_changes_nothing(synth: Synthetic, retail: BusinessProfile) -> None:
    later = concat_frames(synth.frames, _future_rows(synth, AS_OF))
    assert later.orders.height > synth.frames.orders.height
    before = customer_features(synth.frames, retail, AS_OF)
    after = customer_features(later, retail, AS_OF)
    assert_frame_equal(before, after)
    # The whole analysis too: weights are learned, and labels read, only up to as_of.
    first, second = analyze(synth.frames, retail, AS_OF), analyze(later, retail, AS_OF)
    assert_frame_equal(first.scores, second.scores)
    assert (first.weights, first.audit, first.backtest) == (
        second.weights,
        second.audit,
        second.backtest,
    )
    # ... and the same later rows do show up once the as-of date passes them.
    assert not customer_features(later, retail, AS_OF + timedelta(days=250)).equals(
        customer_features(synth.frames, retail, AS_OF + timedelta(days=250))
    )


@pytest.mark.parametrize("engagement", [True, False])
def test_duckdb_and_polars_agree(engagement: bool, retail: BusinessProfile) -> None:
    frames = synth_history(800, seed=11, engagement=engagement).frames
    on_duckdb = customer_features(frames, retail, AS_OF, backend="duckdb")
    on_polars = customer_features(frames, retail, AS_OF, backend="polars")
    assert on_duckdb.height > 700
    assert_frame_equal(on_duckdb, on_polars, check_exact=True)


_SMALL = synth_history(300, seed=5)


@pytest.mark.slow  # the features of eight shuffled histories
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_row_order_does_not_matter(seed: int) -> None:
    frames = _SMALL.frames
    rng = np.random.default_rng(seed)

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        return frame[rng.permutation(frame.height)]

    names = ("customers", "orders", "order_lines", "events", "contacts")
    mixed = AnalyticsFrames(*(shuffled(getattr(frames, n)) for n in names))
    profile = preset("retail")
    assert_frame_equal(
        customer_features(frames, profile, AS_OF), customer_features(mixed, profile, AS_OF)
    )


@pytest.mark.slow  # the features of eight histories cut at random days
@settings(max_examples=8, deadline=None)
@given(days_back=st.integers(min_value=0, max_value=1500))
def test_spend_split_adds_up_and_counts_are_bounded(days_back: int) -> None:
    _check_spend_split_and_counts(days_back)


@pytest.mark.parametrize("days_back", [0, 400])
def test_spend_split_adds_up_and_counts_are_bounded_at_two_cuts(days_back: int) -> None:
    """The fast tier's share of the property above: today's cut, and one where last year's
    and the year before's windows both hold purchases."""
    _check_spend_split_and_counts(days_back)


def _check_spend_split_and_counts(days_back: int) -> None:
    as_of = AS_OF - timedelta(days=days_back)
    features = customer_features(_SMALL.frames, preset("retail"), as_of)
    split = (
        pl.col("spend_necessary_cents")
        + pl.col("spend_discretionary_cents")
        + pl.col("spend_unclassified_cents")
    )
    assert (features["spend_cents"] == features.select(split).to_series()).all()
    orders = _SMALL.frames.orders.filter(pl.col("order_date") <= as_of)
    per_customer = orders.group_by("customer_pk").len()
    joined = features.join(per_customer, on="customer_pk", how="left").fill_null(0)
    assert (joined["n_purchases"] <= joined["len"]).all()
    assert (
        features["n_purchases_365"] + features["n_purchases_prev_365"] <= features["n_purchases"]
    ).all()
