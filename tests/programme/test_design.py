"""A round's pre-registered design: sample sizes, power and the minimum detectable effect for
two unequal arms, checked against the formula written out here and the published figures."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback.programme.design import (
    RoundDesign,
    design_round,
    detection_power,
    minimum_detectable_effect,
    sample_sizes,
)

Z = NormalDist().inv_cdf


def test_the_ninety_ten_design_of_the_issue() -> None:
    # 8% -> 12%, 90/10 split, alpha 5% two-sided, power 80%: about 419 controls and 3,771
    # treated (Chow, Shao & Wang 2008, sec. 4.2, unequal allocation k = 9).
    n_control, n_treated = sample_sizes(0.08, 0.04, control_share=0.1, alpha=0.05, power=0.8)
    assert (n_control, n_treated) == (419, 3771)


def test_equal_arms_give_the_textbook_figure() -> None:
    # n per group = (z_{.975} + z_{.8})^2 (p0 q0 + p1 q1) / d^2 = 879.07 -> 880 per group.
    expected = (Z(0.975) + Z(0.8)) ** 2 * (0.08 * 0.92 + 0.12 * 0.88) / 0.04**2
    n_control, n_treated = sample_sizes(0.08, 0.04, control_share=0.5)
    assert n_control == n_treated == math.ceil(expected) == 880


@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(0.02, 0.6),
    effect=st.floats(0.01, 0.3),
    share=st.floats(0.05, 0.5),
    power=st.floats(0.6, 0.95),
)
def test_the_needed_arms_have_the_power_asked_for(
    p0: float, effect: float, share: float, power: float
) -> None:
    if p0 + effect >= 0.99:
        return
    n_c, n_t = sample_sizes(p0, effect, control_share=share, power=power)
    assert detection_power(p0, effect, n_control=n_c, n_treated=n_t) >= power - 1e-9
    # one control customer fewer (and the treated arm to match) is not enough
    k = (1 - share) / share
    fewer = n_c - 1
    if fewer > 0:
        assert detection_power(p0, effect, n_control=fewer, n_treated=math.floor(k * fewer)) < power


def test_the_mde_is_the_effect_whose_power_is_the_target() -> None:
    mde = minimum_detectable_effect(0.08, n_control=419, n_treated=3771, power=0.8)
    assert mde is not None
    assert detection_power(0.08, mde, n_control=419, n_treated=3771) == pytest.approx(0.8, abs=1e-6)
    assert mde == pytest.approx(0.04, abs=0.0005)


@settings(max_examples=40, deadline=None)
@given(p0=st.floats(0.02, 0.5), n=st.integers(20, 5000), share=st.floats(0.05, 0.5))
def test_the_mde_falls_as_the_round_grows(p0: float, n: int, share: float) -> None:
    def mde(total: int) -> float:
        n_c = max(1, round(total * share))
        got = minimum_detectable_effect(p0, n_control=n_c, n_treated=total - n_c)
        return 1.0 if got is None else got

    small, large = mde(n), mde(4 * n)
    assert large < small or small == large == 1.0  # 1.0: not detectable at all
    assert large < 1.0 or n < 200


def test_a_tiny_control_group_is_flagged_and_the_design_round_trips() -> None:
    design = design_round(
        n_treated=99,
        n_control=11,
        base_rate=0.08,
        base_rate_source="past_controls",
        hoped_effect=0.04,
        alpha=0.05,
        target_power=0.8,
        control_floor=30,
    )
    assert design.below_floor
    assert design.underpowered
    assert design.warnings == ("control_below_floor", "control_too_small_for_hoped_effect")
    assert design.power_for_hoped < 0.2
    assert (design.needed_control, design.needed_treated) == (419, 3771)  # share 11/110
    again = RoundDesign.from_json(design.to_json())
    assert again == design
    assert RoundDesign.from_json({}) is None


def test_a_large_round_has_no_warning() -> None:
    design = design_round(
        n_treated=4500,
        n_control=500,
        base_rate=0.08,
        base_rate_source="default",
        hoped_effect=0.04,
        alpha=0.05,
        target_power=0.8,
        control_floor=30,
    )
    assert design.warnings == ()
    assert design.power_for_hoped > 0.8
