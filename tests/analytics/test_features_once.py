"""Features prepared once for several dates equal the features computed afresh for each date.

The reference runs the feature query on freshly prepared streams with nothing carried over:
each customer's purchase sequence (gaps, first day) is computed from the orders up to that date
only, the way every date was computed before the streams were shared.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import narwhals as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import features as F
from winback.analytics.features import FeatureSource, customer_features
from winback.analytics.frames import AnalyticsFrames
from winback.analytics.pipeline import churn_horizon
from winback.analytics.sampling import hash_sample
from winback.analytics.value import purchase_days
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import synth_history
from .test_features import DAY, _hand_frames
from .test_pipeline import _cdnow


def _afresh(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    backend: F.Backend,
    only: pl.Series | None = None,
) -> pl.DataFrame:
    """One date on its own: prepare, hand over, sequence after the date's cut, aggregate."""
    connection = F._duckdb() if backend == "duckdb" else None
    try:
        tables = {n: F._lazy(df, connection) for n, df in F._prepare(frames).items()}
        assert "gap" not in tables["orders"].collect_schema().names()
        if only is not None:
            keys = F._lazy(pl.DataFrame({"customer_pk": only.cast(pl.Int64)}), connection)
            tables = {n: t.join(keys, on="customer_pk", how="semi") for n, t in tables.items()}
        query = F._features_query(tables, profile, F.day_number(as_of))
        return F._finish(query.collect("polars").to_native())
    finally:
        if connection is not None:
            connection.close()


def _dates(as_of: date, horizon: int) -> list[date]:
    """The analysis's dates: scoring, the stacked training origins and one horizon earlier."""
    start = as_of - timedelta(days=horizon)
    origins = [start - timedelta(days=k) for k in (0, 30, 60)]
    return [as_of, *origins, start - timedelta(days=horizon)]


def _sample(frames: AnalyticsFrames, day: date, size: int) -> pl.Series:
    known = frames.orders.filter(pl.col("order_date") <= day)["customer_pk"].unique().sort()
    return known.filter(pl.Series(hash_sample(known.to_numpy(), size)))


def _check(frames: AnalyticsFrames, profile: BusinessProfile, dates: list[date], **kw: Any) -> int:
    rows = 0
    with FeatureSource(frames, **kw) as source:
        for day in dates:
            once = source.features(profile, day)
            assert_frame_equal(once, _afresh(frames, profile, day, **kw), check_exact=True)
            rows += once.height
            only = _sample(frames, day, max(1, once.height // 3))
            assert_frame_equal(
                source.features(profile, day, only=only),
                _afresh(frames, profile, day, only=only, **kw),
                check_exact=True,
            )
    return rows


@pytest.mark.parametrize(
    "backend",
    # DuckDB plans each of the twenty queries afresh: about a second each on small data.
    [pytest.param("duckdb", marks=pytest.mark.slow), "polars"],
)
def test_generated_history_at_every_analysis_date(backend: F.Backend) -> None:
    frames = synth_history(400, seed=23).frames
    profile = preset("retail")
    assert _check(frames, profile, _dates(AS_OF, churn_horizon(profile)), backend=backend) > 1000


def test_hand_built_history_with_refunds_and_same_day_orders() -> None:
    # Same-day orders, a refund on a day without a purchase, a purchase after the as-of date.
    dates = [DAY, DAY - timedelta(days=90), date(2023, 1, 15), date(2023, 1, 14)]
    assert _check(_hand_frames(), preset("retail"), dates, backend="polars") > 0


@pytest.mark.slow  # twelve feature queries on 2,357 real customers, each date twice
def test_cdnow_at_every_analysis_date() -> None:
    frames = _cdnow()
    profile = preset("retail")
    dates = [*_dates(date(1998, 3, 31), churn_horizon(profile)), date(1997, 6, 30)]
    assert _check(frames, profile, dates, backend="polars") > 4 * 2000


def test_single_date_entry_point_is_the_shared_source() -> None:
    frames = synth_history(200, seed=3).frames
    profile = preset("retail")
    with FeatureSource(frames, backend="polars") as source:
        assert_frame_equal(
            source.features(profile, AS_OF),
            customer_features(frames, profile, AS_OF, backend="polars"),
        )


def test_the_sequence_is_computed_once_over_all_orders() -> None:
    frames = synth_history(100, seed=3).frames
    with FeatureSource(frames, backend="polars") as source:
        orders = nw.to_native(source._tables["orders"].collect("polars"))
    assert {"gap", "first_day", "is_purchase"} <= set(orders.columns)
    assert orders.height == frames.orders.height


@pytest.mark.parametrize(
    "frames",
    [pytest.param(lambda: synth_history(400, seed=23).frames, id="generated"), _hand_frames],
)
def test_purchase_days_read_off_the_sequence_are_the_distinct_purchase_days(frames: Any) -> None:
    frames = frames()
    with FeatureSource(frames, backend="polars") as source:
        got = source.purchase_days()
    expected = purchase_days(frames.orders)
    assert got.schema == expected.schema
    assert got.height == expected.height > 0
    assert_frame_equal(got.sort("customer_pk", "day"), expected.sort("customer_pk", "day"))


def test_a_closed_source_lets_go_of_its_streams_and_refuses_to_be_read() -> None:
    frames = synth_history(100, seed=3).frames
    profile = preset("retail")
    source = FeatureSource(frames, backend="polars")
    taken = source.features(profile, AS_OF)
    days = source.purchase_days()
    source.close()
    assert source._tables == {}
    assert source._sequenced_orders.height == 0
    with pytest.raises(RuntimeError, match="closed"):
        source.features(profile, AS_OF)
    with pytest.raises(RuntimeError, match="closed"):
        source.purchase_days()
    assert taken.height > 0
    assert days.height > 0
    source.close()  # twice is harmless
