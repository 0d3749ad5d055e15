"""The stratified random control group (R6, R7)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from winback.programme.holdout import assign_holdout, strata_sizes


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "customer_pk": rng.choice(np.arange(1, 5 * n + 2), n, replace=False),
            "tier": rng.integers(1, 6, n),
            "stage": rng.choice(["silent", "sleeping", "lost"], n),
        },
        schema_overrides={"stage": pl.String()},
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 400),
    share=st.sampled_from([0.05, 0.1, 0.25, 0.5]),
    seed_a=st.integers(0, 2**31),
    seed_b=st.integers(0, 2**31),
)
def test_strata_sizes_stay_within_one_of_the_share_for_any_seed(
    n: int, share: float, seed_a: int, seed_b: int
) -> None:
    frame = _frame(n, seed=3)
    a = strata_sizes(assign_holdout(frame, share=share, seed=seed_a))
    b = strata_sizes(assign_holdout(frame, share=share, seed=seed_b))
    assert a["stratum"].to_list() == b["stratum"].to_list()
    for (_, _, ca, total), cb in zip(a.iter_rows(), b["control"], strict=True):
        assert abs(ca - share * total) < 1.0 + 1e-9
        assert abs(ca - cb) <= 1


def test_same_seed_same_control_whatever_the_row_order() -> None:
    frame = _frame(500, seed=1)
    a = assign_holdout(frame, share=0.1, seed=42)
    b = assign_holdout(frame.sample(fraction=1.0, shuffle=True, seed=9), share=0.1, seed=42)
    assert_frame_equal(a, b)
    c = assign_holdout(frame, share=0.1, seed=43)
    assert a["arm"].to_list() != c["arm"].to_list()


def test_every_customer_has_the_same_chance_of_being_held_out() -> None:
    # Over many seeds each customer should be in control about `share` of the time,
    # whatever its stratum or position: the property that makes a plain difference unbiased.
    frame = _frame(60, seed=5)
    seeds = range(2000)
    hits = np.zeros(frame.height)
    for seed in seeds:
        arm = assign_holdout(frame, share=0.2, seed=seed).sort("customer_pk")["arm"]
        hits += (arm == "control").to_numpy()
    rate = hits / len(seeds)
    # Binomial(2000, 0.2) sd ~ 0.009; 5 sd band.
    assert np.all(np.abs(rate - 0.2) < 0.045)


def test_balance_keys_are_mirrored_in_the_control_group() -> None:
    frame = _frame(1000, seed=2).with_columns(level=pl.col("customer_pk") % 3 + 1)
    out = assign_holdout(frame, share=0.1, seed=7, balance=("level",))
    per_level = out.group_by("stratum", "level").agg(
        control=(pl.col("arm") == "control").sum(), total=pl.len()
    )
    # Each (stratum, level) block is contiguous in the sampling order: +-1 there too.
    for c, t in per_level.select("control", "total").iter_rows():
        assert abs(c - 0.1 * t) < 1.0 + 1e-9


def test_rejects_bad_input() -> None:
    frame = _frame(10, seed=1)
    with pytest.raises(ValueError, match="share"):
        assign_holdout(frame, share=1.0, seed=1)
    with pytest.raises(ValueError, match="unique"):
        assign_holdout(pl.concat([frame, frame]), share=0.1, seed=1)


# --- the global holdout ------------------------------------------------------------------------


def test_the_global_holdout_is_a_fixed_share_decided_per_customer() -> None:
    from winback.programme.holdout import in_global_holdout

    ids = np.arange(1, 200_001)
    held = in_global_holdout(ids, share=0.05, seed=42)
    assert abs(held.mean() - 0.05) < 0.003
    # each customer's answer depends on the customer alone: a later customer is assigned by
    # the same rule, and the order or company of the ids changes nothing
    some = np.array([17, 99_999, 5, 123_456])
    assert (in_global_holdout(some, share=0.05, seed=42) == held[some - 1]).all()
    # another seed holds out other customers; off means nobody
    other = in_global_holdout(ids, share=0.05, seed=43)
    assert (held & other).mean() < 0.01
    assert not in_global_holdout(ids, share=0.0, seed=42).any()
    assert not in_global_holdout(ids, share=0.05, seed=None).any()
    # a larger share keeps everyone the smaller one held out
    assert (held <= in_global_holdout(ids, share=0.1, seed=42)).all()
