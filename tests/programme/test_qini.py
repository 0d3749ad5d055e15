"""Qini curve, Qini coefficient and AUUC (winback.programme.qini)."""

from __future__ import annotations

import numpy as np
import pytest

from winback.programme.qini import qini, qini_curve


def test_a_tiny_example_checked_by_hand() -> None:
    # best first: treated came back, control stayed, treated stayed, control came back
    score = [1.0, 4.0, 2.0, 3.0]
    treated = [False, True, True, False]
    returned = [True, True, False, False]
    curve = qini_curve(score, treated, returned)
    assert curve.phi.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    # R_t/2 - R_c/2 after each customer: 1/2, 1/2, 1/2, 1/2 - 1/2
    assert curve.qini.tolist() == pytest.approx([0.0, 0.5, 0.5, 0.5, 0.0])
    result = qini(score, treated, returned, resamples=0)
    # trapezoids of width 1/4: 1/16 + 1/8 + 1/8 + 1/16
    assert result.auuc == pytest.approx(0.375)
    assert result.uplift == pytest.approx(0.0)
    assert result.qini == pytest.approx(0.375)
    assert result.low is None
    assert result.high is None
    # the reverse ranking puts the control who came back first
    assert qini([-s for s in score], treated, returned, resamples=0).qini < 0


def test_tied_scores_enter_together_so_a_constant_score_is_the_random_line() -> None:
    rng = np.random.default_rng(3)
    treated = rng.random(500) < 0.8
    returned = rng.random(500) < np.where(treated, 0.3, 0.2)
    result = qini(np.zeros(500), treated, returned, resamples=0)
    assert result.qini == pytest.approx(0.0, abs=1e-12)
    assert result.uplift == pytest.approx(returned[treated].mean() - returned[~treated].mean())
    assert qini_curve(np.zeros(500), treated, returned).phi.tolist() == [0.0, 1.0]


def _world(seed: int, n: int = 4000, effect: bool = True) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    tau = 0.25 * x if effect else np.zeros(n)
    treated = rng.random(n) < 0.9
    base = 0.1 + 0.1 * rng.random(n)
    returned = rng.random(n) < base + treated * tau
    return x, tau, treated, returned


def test_the_true_effect_as_score_has_a_positive_qini_with_an_interval_above_zero() -> None:
    _x, tau, treated, returned = _world(11)
    result = qini(tau, treated, returned, resamples=500, seed=1)
    assert result.qini > 0
    assert result.low is not None
    assert result.high is not None
    assert 0 < result.low < result.qini < result.high
    assert result.auuc_low is not None
    assert result.auuc_low < result.auuc
    assert (result.n_treated, result.n_control) == (int(treated.sum()), int((~treated).sum()))
    # the same seed gives the same interval, another seed a slightly different one
    again = qini(tau, treated, returned, resamples=500, seed=1)
    assert (again.low, again.high) == (result.low, result.high)


@pytest.mark.slow
def test_a_random_score_interval_covers_zero_about_95_percent_of_the_time() -> None:
    rejected = 0
    seeds = 200
    for seed in range(seeds):  # independent worlds, each bootstrap vectorised
        _, _, treated, returned = _world(seed, n=1500)
        score = np.random.default_rng(10_000 + seed).random(treated.size)
        result = qini(score, treated, returned, resamples=200, seed=seed)
        assert result.low is not None
        assert result.high is not None
        rejected += not (result.low <= 0.0 <= result.high)
    # 5% expected; a binomial(200, 0.05) exceeds 20 with probability below 0.1%
    assert rejected <= 20


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="both arms"):
        qini([1.0, 2.0], [True, True], [False, True])
    with pytest.raises(ValueError, match="same length"):
        qini([1.0, 2.0], [True, False], [False])
    with pytest.raises(ValueError, match="finite"):
        qini([1.0, float("nan")], [True, False], [False, True])
