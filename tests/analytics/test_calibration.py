"""Recalibration maps, calibration metrics and the BG/NBD no-return probability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from winback.analytics.calibration import (
    calibration_error,
    fit_calibration,
    recalibration_slope,
)
from winback.analytics.indicators import btyd_no_return


def _outcomes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = expit(rng.normal(0.5, 1.5, n))
    return truth, rng.random(n) < truth


def test_slope_is_one_when_calibrated_and_half_when_twice_too_extreme() -> None:
    truth, label = _outcomes(40_000, 1)
    assert recalibration_slope(truth, label) == pytest.approx(1.0, abs=0.05)
    extreme = expit(2 * logit(truth))
    assert recalibration_slope(extreme, label) == pytest.approx(0.5, abs=0.03)
    assert recalibration_slope(truth, np.zeros(truth.size, dtype=bool)) is None


def test_calibration_error_is_small_for_the_truth_and_large_for_a_shifted_prediction() -> None:
    truth, label = _outcomes(40_000, 2)
    assert (calibration_error(truth, label) or 1.0) < 0.01
    shifted = np.clip(truth + 0.1, 0, 1)
    assert (calibration_error(shifted, label) or 0.0) > 0.07


@pytest.mark.parametrize("n", [400, 20_000])  # Platt below ISOTONIC_MIN, isotonic above
def test_recalibration_repairs_a_distorted_probability_and_keeps_the_order(n: int) -> None:
    truth, label = _outcomes(n, 3)
    distorted = truth**3  # monotone, badly calibrated
    calibration = fit_calibration(distorted, label, "2025-01-01")
    assert calibration is not None
    assert calibration.method == ("platt" if n < 1000 else "isotonic")
    fresh_truth, fresh_label = _outcomes(20_000, 4)
    repaired = calibration.apply(fresh_truth**3)
    order = np.argsort(fresh_truth)
    assert (np.diff(repaired[order]) >= -1e-12).all()  # never reverses the ranking
    before = calibration_error(fresh_truth**3, fresh_label) or 0.0
    after = calibration_error(repaired, fresh_label) or 1.0
    assert after < before / 3


def test_too_small_a_set_gives_no_calibration() -> None:
    truth, label = _outcomes(30, 5)
    assert fit_calibration(truth, label, "2025-01-01") is None


def test_no_return_matches_a_simulated_gamma_poisson_customer() -> None:
    params = {"r": 0.8, "alpha": 6.0, "a": 0.5, "b": 2.0}
    x, age, horizon = 3.0, 20.0, 12.0
    rng = np.random.default_rng(6)
    # Posterior rate of an alive customer: Gamma(r + x, alpha + T).
    rates = rng.gamma(params["r"] + x, 1 / (params["alpha"] + age), 400_000)
    quiet_alive = float(np.mean(np.exp(-rates * horizon)))
    for alive in (1.0, 0.3):
        got = btyd_no_return(params, np.array([alive]), np.array([x]), np.array([age]), horizon)
        assert got[0] == pytest.approx(1 - alive + alive * quiet_alive, abs=2e-3)
    never = btyd_no_return(params, np.array([0.4]), np.array([x]), np.array([age]), 0.0)
    assert never[0] == pytest.approx(1.0)  # no time, no purchase


def test_no_return_falls_with_the_horizon_and_with_p_alive() -> None:
    params = {"r": 0.5, "alpha": 4.0, "a": 0.7, "b": 3.0}
    x, age = np.full(3, 2.0), np.full(3, 30.0)
    longer = btyd_no_return(params, np.full(3, 0.8), x, age, 0.0) - btyd_no_return(
        params, np.full(3, 0.8), x, age, 26.0
    )
    assert (longer > 0).all()
    alive = np.array([0.2, 0.5, 0.9])
    values = btyd_no_return(params, alive, x, age, 13.0)
    assert (np.diff(values) < 0).all()
