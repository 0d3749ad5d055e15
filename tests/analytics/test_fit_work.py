"""Less work in the likelihood fits, the same numbers (docs/decisions/0058).

Each change computes the same floating-point operations on the same inputs, so the fitted
parameters, the refusals and the likelihood values must be equal bit for bit to those of the
plain computation kept here as the reference.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest

from tests.analytics.test_clv import cdnow_calibration_summary
from winback.analytics.btyd import _common, pareto_nbd
from winback.analytics.clv import BetaGeo, ParetoNBD

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _noisy_bowl(calls: list[bytes]) -> Objective:
    """A quadratic bowl with rounding-like noise near its floor, as a likelihood has on a
    flat ridge: L-BFGS-B's line searches fail there and it asks for points again."""
    curvature = np.array([1.0, 10.0, 100.0])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        point = np.asarray(theta, dtype=np.float64)
        calls.append(point.tobytes())
        noise = zlib.crc32(point.tobytes()) / 2**32 - 0.5
        value = float(np.sum(curvature * (point - 1.0) ** 2)) + 1e-9 * noise
        return value, 2 * curvature * (point - 1.0) + 1e-7 * noise

    return objective


def test_a_point_asked_again_is_computed_once_and_its_gradient_handed_as_a_copy() -> None:
    calls: list[bytes] = []
    recall = _common.remembered(_noisy_bowl(calls))
    value, gradient = recall(np.array([0.5, 2.0, 3.0]))
    gradient[:] = 0.0  # a caller writing into what it was handed
    again, gradient_again = recall(np.array([0.5, 2.0, 3.0]))  # equal, not the same array
    assert len(calls) == 1
    assert again == value
    assert np.all(gradient_again != 0.0)
    recall(np.array([0.5, 2.0, 3.0 + 1e-15]))
    assert len(calls) == 2


def test_remembering_points_leaves_the_optimiser_on_the_same_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remembered: list[bytes] = []
    got = _common.minimise(_noisy_bowl(remembered), np.array([3.0, -2.0, 0.5]), "abc")
    asked: list[bytes] = []
    with monkeypatch.context() as patched:
        patched.setattr(_common, "remembered", lambda objective: objective)
        plain = _common.minimise(_noisy_bowl(asked), np.array([3.0, -2.0, 0.5]), "abc")
    assert np.array_equal(got, plain)
    assert len(asked) > len(set(asked))  # the optimiser did ask for points again
    assert remembered == list(dict.fromkeys(asked))  # each distinct point once, in order


@pytest.mark.parametrize("model", [ParetoNBD, BetaGeo])
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_cdnow_fits_are_those_of_the_plain_optimiser(
    model: type[ParetoNBD] | type[BetaGeo], penalizer: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = cdnow_calibration_summary()
    columns = data["frequency"], data["recency"], data["T"]
    got = model(penalizer=penalizer).fit(*columns)
    with monkeypatch.context() as patched:
        patched.setattr(_common, "remembered", lambda objective: objective)
        plain = model(penalizer=penalizer).fit(*columns)
    assert got.params_ == plain.params_
    assert got.log_likelihood_ == plain.log_likelihood_


def _plain_cut(
    end: np.ndarray, c: np.ndarray, small_exp: np.ndarray, big_exp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pareto/NBD's cut of the death-time integral with Newton's steps over every row."""

    def psi(nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grow = np.expm1(nu)
        value = nu - small_exp * nu - big_exp * np.log1p(c * grow)
        slope = 1.0 - small_exp - big_exp * c * (grow + 1.0) / (1.0 + c * grow)
        return value, slope

    with np.errstate(over="ignore", invalid="ignore"):
        value, slope = psi(end)
        beyond = value < -pareto_nbd._LOG_CUT
        if not beyond.any():
            return end, value
        cut = end.copy()
        for _ in range(pareto_nbd._NEWTON_STEPS):
            step = (value + pareto_nbd._LOG_CUT) / slope
            cut = np.where(beyond, np.clip(cut - step, 0.0, end), cut)
            value, slope = psi(cut)
            beyond &= value < -pareto_nbd._LOG_CUT
        result = np.where(np.isfinite(cut), cut, end)
        value, _ = psi(result)
    return result, value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cut_steps_only_the_rows_beyond_it_with_the_same_numbers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20_000
    end = rng.uniform(0.0, 12.0, n)
    c = rng.uniform(1e-9, 1.0, n)
    small_exp = rng.uniform(0.5, 40.0, n)
    big_exp = 10.0 ** rng.uniform(0.0, 3.0, n)
    # Corners: no range, c = 1, an end where the integrand overflows.
    end[:3], c[3:6], end[6:9] = 0.0, 1.0, 800.0
    got_cut, got_psi = pareto_nbd._cut(end, c, small_exp, big_exp)
    want_cut, want_psi = _plain_cut(end, c, small_exp, big_exp)
    beyond = _plain_cut(end, c, small_exp, big_exp)[0] != end
    assert 0.05 < beyond.mean() < 0.95  # both kinds of row are there
    assert np.array_equal(got_cut, want_cut, equal_nan=True)
    assert np.array_equal(got_psi, want_psi, equal_nan=True)


def test_no_row_beyond_the_cut_gives_the_range_back() -> None:
    end = np.array([0.0, 0.5, 1.0])
    ones = np.ones(3)
    cut, psi = pareto_nbd._cut(end, 0.5 * ones, ones, ones)
    want_cut, want_psi = _plain_cut(end, 0.5 * ones, ones, ones)
    assert np.array_equal(cut, want_cut)
    assert np.array_equal(psi, want_psi)


def _recorded(
    value: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    full: list[bytes],
    values: list[bytes],
) -> tuple[Objective, _common.ValueOnly]:
    """The objective (value and gradient) and the value alone, each recording the points it
    is asked for."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        full.append(np.asarray(theta).tobytes())
        point = np.asarray(theta, dtype=np.float64)
        return value(point), gradient(point)

    def value_only(theta: np.ndarray) -> float:
        values.append(np.asarray(theta).tobytes())
        return value(np.asarray(theta, dtype=np.float64))

    return objective, value_only


def _misleading_bowl(full: list[bytes], values: list[bytes]) -> tuple[Objective, _common.ValueOnly]:
    """A bowl whose gradient points the wrong way along one axis: L-BFGS-B's line searches
    fail, it stops short, and Nelder-Mead (which reads values only) takes over."""
    curvature = np.array([1.0, 10.0, 100.0])

    def value(point: np.ndarray) -> float:
        return float(np.sum(curvature * (point - 1.0) ** 2))

    def gradient(point: np.ndarray) -> np.ndarray:
        slope = 2 * curvature * (point - 1.0)
        slope[0] = -slope[0] - 0.5
        return slope

    return _recorded(value, gradient, full, values)


def test_nelder_mead_reading_values_only_takes_the_same_path() -> None:
    start = np.array([3.0, -2.0, 0.5])
    full: list[bytes] = []
    values: list[bytes] = []
    objective, value_only = _misleading_bowl(full, values)
    with pytest.raises(_common.ModelFitError) as plain_error:
        _common.minimise(objective, start, "abc")
    asked_plain = list(full)
    full.clear()
    with pytest.raises(_common.ModelFitError) as lean_error:
        _common.minimise(objective, start, "abc", value_only=value_only)
    assert str(lean_error.value) == str(plain_error.value)
    assert values  # Nelder-Mead ran, on values alone
    assert len(full) < len(asked_plain)
    # The points the full objective still computes are those of the L-BFGS-B runs, in order.
    assert set(full) <= set(asked_plain)


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_pareto_nbd_value_alone_is_the_value_with_the_gradient(penalizer: float) -> None:
    data = cdnow_calibration_summary()
    (x, t_x, age), counts = pareto_nbd.fit_groups(
        data["frequency"], data["recency"], data["T"], None, "Pareto/NBD"
    )
    scale = pareto_nbd.TIME_SCALE_TARGET / float(age.max())
    groups = pareto_nbd._Groups(x, t_x * scale, age * scale, counts, float(counts.sum()))
    rng = np.random.default_rng(3)
    points = np.vstack([rng.normal(0.0, 3.0, (40, 4)), np.full((1, 4), 17.9), np.zeros((1, 4))])
    for theta in points:
        full = pareto_nbd._negative_mean_log_likelihood(theta, groups, penalizer)[0]
        alone = pareto_nbd._negative_mean_log_likelihood_value(theta, groups, penalizer)
        assert alone == full or (np.isnan(alone) and np.isnan(full))


def _runaway_against_the_wall(values: list[bytes]) -> tuple[Objective, _common.ValueOnly]:
    """The likelihood keeps improving as parameter a runs off to infinity; at the search box's
    wall the gradient of b misleads, so L-BFGS-B stops there unconverged."""

    def value(point: np.ndarray) -> float:
        return float(np.exp(-point[0]) + (point[1] - 1.0) ** 2)

    def gradient(point: np.ndarray) -> np.ndarray:
        slope = np.array([-np.exp(-point[0]), 2 * (point[1] - 1.0)])
        if point[0] > _common.LOG_PARAM_BOUND - 0.1:
            slope[1] = -slope[1] - 0.5
        return slope

    return _recorded(value, gradient, [], values)


def test_a_fit_left_on_the_wall_is_refused_at_once_as_the_simplex_would_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decision 0062: L-BFGS-B stopped unconverged with a parameter on the box's wall is
    refused without Nelder-Mead's search, with the refusal the search would have ended in."""
    start = np.array([0.0, 1.0])
    values: list[bytes] = []
    objective, value_only = _runaway_against_the_wall(values)
    with pytest.raises(_common.ModelFitError, match="parameter a runs off to infinity") as at_once:
        _common.minimise(objective, start, "ab", value_only=value_only)
    assert values == []  # Nelder-Mead never ran
    monkeypatch.setattr(_common, "_refuse_stopped_on_the_wall", lambda theta, names: None)
    with pytest.raises(_common.ModelFitError) as searched:
        _common.minimise(objective, start, "ab", value_only=value_only)
    assert len(values) > 10  # without the rule, the simplex searched, and ended the same way
    assert str(searched.value) == str(at_once.value)
