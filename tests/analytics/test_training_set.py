"""The churn weights are learned from the customers the programme left alone (R2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.analytics.frames import TREATMENTS, AnalyticsFrames, empty
from winback.analytics.pipeline import analyze, churn_horizon, purchasers
from winback.analytics.training_set import (
    CARRYOVER_DAYS,
    EXCLUDE_TREATED,
    KEEP_ALL,
    TRAINING_RULE,
    untouched,
)
from winback.config import BusinessProfile

from .conftest import AS_OF
from .synth import Synthetic, synth_history

START = date(2025, 1, 1)  # training_as_of
END = date(2025, 6, 30)  # as_of
DAY0 = START - timedelta(days=300)


def treatments_frame(
    keys: list[int], arms: list[bool], starts: list[int], lengths: list[int]
) -> pl.DataFrame:
    begin = [DAY0 + timedelta(days=s) for s in starts]
    return pl.DataFrame(
        {
            "customer_pk": keys,
            "round_pk": starts,
            "planned_date": begin,
            "round_start": begin,
            "round_end": [b + timedelta(days=n) for b, n in zip(begin, lengths, strict=True)],
            "arm": ["treated" if t else "control" for t in arms],
            "contacted": arms,
        },
        schema=TREATMENTS,
    )


memberships = st.integers(min_value=0, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 40), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(0, 600), min_size=n, max_size=n),
        st.lists(st.integers(1, 45), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(memberships)
def test_treated_customers_of_the_label_window_never_enter_the_training_set(
    drawn: tuple[list[int], list[bool], list[int], list[int]],
) -> None:
    keys, arms, starts, lengths = drawn
    treatments = treatments_frame(keys, arms, starts, lengths)
    buyers = pl.DataFrame({"customer_pk": np.arange(0, 50, dtype=np.int64)})
    kept, choice = untouched(buyers, treatments, START, END)
    kept_keys = set(kept["customer_pk"].to_list())

    rows = treatments.to_dicts()
    in_window = {
        r["customer_pk"] for r in rows if r["arm"] == "treated" and START < r["round_start"] <= END
    }
    reaching = {
        r["customer_pk"]
        for r in rows
        if r["arm"] == "treated"
        and r["round_start"] <= END
        and r["round_end"] > START - timedelta(days=CARRYOVER_DAYS)
    }
    assert in_window <= reaching
    assert not kept_keys & reaching, "a treated customer of the training period was learned from"
    # Everyone else stays: control customers, customers treated long before, or only by rounds
    # that had not started on the as-of date, and customers never drawn.
    assert kept_keys == set(range(50)) - reaching
    assert kept["customer_pk"].is_sorted(), "the buyers' order is kept"
    assert choice.rule == TRAINING_RULE == EXCLUDE_TREATED
    assert choice.excluded_treated == 50 - kept.height
    control = {r["customer_pk"] for r in rows if r["arm"] == "control"} - reaching
    assert choice.control_kept <= len(control)

    everyone, ignored = untouched(buyers, treatments, START, END, rule=KEEP_ALL)
    assert everyone.height == 50
    assert ignored.excluded_treated == 0


def test_an_unknown_rule_is_refused() -> None:
    buyers = pl.DataFrame({"customer_pk": [1]}, schema={"customer_pk": pl.Int64})
    with pytest.raises(ValueError, match="unknown training rule"):
        untouched(buyers, empty(TREATMENTS), START, END, rule="covariate")


def test_a_round_known_only_after_the_as_of_date_excludes_nobody() -> None:
    treatments = treatments_frame([3], [True], [400], [30])  # starts after END
    buyers = pl.DataFrame({"customer_pk": [1, 3]}, schema={"customer_pk": pl.Int64})
    kept, choice = untouched(buyers, treatments, START, DAY0 + timedelta(days=399))
    assert kept["customer_pk"].to_list() == [1, 3]
    assert choice.excluded_treated == 0


def _programme_world(
    synth: Synthetic, profile: BusinessProfile, *, returned: bool
) -> tuple[AnalyticsFrames, int]:
    """The synthetic history with a programme in the label window: a third of the training
    buyers who did not come back are "treated"; with ``returned`` the treatment works and
    each of them buys once in the window. A few others are in the control arm."""
    frames = synth.frames
    start = AS_OF - timedelta(days=churn_horizon(profile))
    orders = frames.orders
    buyers = orders.filter((pl.col("order_date") <= start) & (pl.col("amount_cents") > 0))
    known = buyers["customer_pk"].unique().sort()
    came_back = purchasers(orders, start, AS_OF)
    stayed_away = known.filter(~known.is_in(came_back.implode()))
    treated = stayed_away.gather_every(3)
    control = known.filter(known.is_in(came_back.implode())).gather_every(7)
    round_start = start + timedelta(days=10)
    rows = pl.concat(
        [
            pl.DataFrame({"customer_pk": treated, "arm": "treated"}),
            pl.DataFrame({"customer_pk": control, "arm": "control"}),
        ]
    ).with_columns(
        round_pk=pl.lit(1),
        planned_date=pl.lit(round_start),
        round_start=pl.lit(round_start),
        round_end=pl.lit(round_start + timedelta(days=29)),
        contacted=pl.col("arm") == "treated",
    )
    if returned:
        first_pk = int(orders["order_pk"].max()) + 1  # type: ignore[arg-type]
        back = pl.DataFrame(
            {
                "order_pk": np.arange(first_pk, first_pk + treated.len()),
                "customer_pk": treated,
                "order_date": round_start + timedelta(days=14),
                "amount_cents": 5000,
                "coupon_code": "WINBACK",
            }
        )
        orders = pl.concat([orders, back.select(orders.columns)], how="vertical_relaxed")
    world = replace(frames, orders=orders, treatments=rows.select(list(TREATMENTS)))
    return world, treated.len()


@pytest.mark.slow  # four analyses of 1,200 customers
def test_the_programme_s_own_returns_do_not_move_the_weights(retail: BusinessProfile) -> None:
    synth = synth_history(1200, seed=11)
    without, n_treated = _programme_world(synth, retail, returned=False)
    with_returns, _ = _programme_world(synth, retail, returned=True)
    a = analyze(without, retail, AS_OF)
    b = analyze(with_returns, retail, AS_OF)
    assert a.model["training_rule"] == EXCLUDE_TREATED
    assert a.model["training_excluded_treated"] == n_treated > 0
    assert a.model["training_control_kept"] > 0
    # The treated customers' label-window outcome is what the programme changed: with them out
    # of the training set it cannot reach the weights (the scores at as_of may still differ).
    assert a.weights == b.weights
    assert a.backtest == b.backtest

    # The same worlds with the programme unrecorded: the returns now do move the weights.
    blind_a = analyze(replace(without, treatments=empty(TREATMENTS)), retail, AS_OF)
    blind_b = analyze(replace(with_returns, treatments=empty(TREATMENTS)), retail, AS_OF)
    assert blind_a.model["training_excluded_treated"] == 0
    assert blind_a.weights != blind_b.weights
    assert (
        blind_a.model["training_customers"]
        == a.model["training_customers"] + a.model["training_rows_excluded_treated"]
    )
