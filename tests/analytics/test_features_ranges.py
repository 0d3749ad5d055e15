"""The scoring date's features aggregated part by part and by ranges of customer keys equal the
one feature query, and the order lines' strings are held as dictionary codes (decision 0057)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import features as F
from winback.analytics.features import FeatureSource
from winback.analytics.frames import AnalyticsFrames
from winback.config import preset

from .conftest import AS_OF
from .synth import synth_history
from .test_features import DAY, _hand_frames
from .test_features_once import _afresh


def _one_query(source: FeatureSource, as_of: date) -> pl.DataFrame:
    """The same prepared tables in one query, nothing aggregated apart."""
    query = F._features_query(source._tables, preset("retail"), F.day_number(as_of))
    return F._finish(query.collect("polars").to_native())


@pytest.mark.parametrize(
    ("frames", "dates"),
    [
        pytest.param(
            lambda: synth_history(400, seed=23).frames,
            [AS_OF, AS_OF - timedelta(days=400)],
            id="generated",
        ),
        pytest.param(_hand_frames, [DAY, date(2023, 1, 15)], id="refunds-and-same-day"),
    ],
)
@pytest.mark.parametrize("ranges", [2, 5])
def test_parts_by_key_range_equal_the_one_query(
    monkeypatch: pytest.MonkeyPatch, frames: object, dates: list[date], ranges: int
) -> None:
    history: AnalyticsFrames = frames()  # type: ignore[operator]
    lines = history.order_lines.height
    monkeypatch.setattr(F, "RANGE_LINES", -(-lines // ranges))
    profile = preset("retail")
    with FeatureSource(history, backend="polars") as source:
        # several ranges, so the test cuts customers apart
        assert len(source._range_starts) == ranges - 1
        for day in dates:
            got = source.features(profile, day)
            assert got.height > 0
            assert_frame_equal(got, _one_query(source, day), check_exact=True)
            assert_frame_equal(got, _afresh(history, profile, day, "polars"), check_exact=True)


def test_key_ranges_hold_about_the_lines_asked_and_cut_at_customer_quantiles() -> None:
    keys = pl.Series([5, 1, 9, 3, 7, 2, 8, 4, 6, 10, None, 3])
    assert F._range_starts(keys, 0) == []
    assert F._range_starts(keys, 100, per_range=100) == []  # one range: not cut
    assert F._range_starts(keys, 101, per_range=100) == [6]  # two ranges
    assert F._range_starts(keys, 400, per_range=100) == [3, 6, 8]
    assert F._range_starts(keys, 10**9, per_range=1) == list(range(2, 11))  # one per customer


def test_the_prepared_order_lines_hold_codes_not_strings() -> None:
    frames = synth_history(100, seed=3).frames
    with FeatureSource(frames, backend="polars") as source:
        lines = source._tables["lines"].collect("polars").to_native()
    assert lines.schema["category_code"] == pl.UInt32
    assert lines.schema["necessity"] == pl.Categorical
    categories = frames.order_lines["category_code"]
    assert lines["category_code"].null_count() == categories.null_count()
    assert lines["category_code"].n_unique() == categories.n_unique()
    assert lines["necessity"].cast(pl.String).equals(frames.order_lines["necessity"])


@pytest.mark.parametrize("reverse", [False, True])
def test_customers_out_of_key_order_still_come_out_sorted(reverse: bool) -> None:
    history = synth_history(300, seed=5).frames
    customers = history.customers.sort("customer_pk", descending=reverse)
    history = AnalyticsFrames(
        customers=customers,
        orders=history.orders,
        order_lines=history.order_lines,
        events=history.events,
        contacts=history.contacts,
    )
    with FeatureSource(history, backend="polars") as source:
        got = source.features(preset("retail"), AS_OF)
        expected = _one_query(source, AS_OF)
    assert got["customer_pk"].is_sorted()
    assert_frame_equal(got, expected, check_exact=True)
