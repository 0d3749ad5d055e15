"""BG/BB: the published donations fit, brute-force enumeration, properties, failures."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy.special import roots_jacobi

from winback.analytics.btyd import _common, beta_geo_beta_binom
from winback.analytics.clv import BetaGeoBetaBinom, ModelFitError, NotFittedError

DONATIONS = Path(__file__).resolve().parent.parent / "data" / "donations.csv"
# Fader, Hardie & Shang (2010), Marketing Science 29(6): BG/BB on the 1995 donor cohort,
# six yearly opportunities 1996-2001 (the paper's table of estimates and its log-likelihood).
PUBLISHED_BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PUBLISHED_BGBB_LL = -33225.6
# lifetimes 0.11.3 BetaGeoBetaBinomFitter on the same file (throwaway virtualenv): its fit,
# conditional_probability_alive(1, ...) (alive at n + 1) and
# conditional_expected_number_of_purchases_up_to_time(t, ...) for the (x, t_x, n) below.
LIFETIMES_BGBB = {
    "alpha": 1.2035223936,
    "beta": 0.7497163582,
    "gamma": 0.6567181695,
    "delta": 2.7834419829,
}
SUMMARY_X = [0, 1, 3, 6, 2, 4]
SUMMARY_TX = [0, 1, 3, 6, 6, 5]
SUMMARY_N = [6] * 6
LIFETIMES_P_ALIVE = [0.10813328, 0.06946181, 0.0950063, 0.93043358, 0.93043358, 0.69680012]
LIFETIMES_NEXT_5 = [0.07286334, 0.08569571, 0.22359459, 3.75254425, 1.66881685, 2.03002403]
LIFETIMES_NEXT_1 = [0.01636325, 0.01924507, 0.05021364, 0.84272575, 0.37477371, 0.45589163]


@pytest.fixture(scope="module")
def donations() -> pl.DataFrame:
    return pl.read_csv(DONATIONS)


@pytest.fixture(scope="module")
def donations_bgbb(donations: pl.DataFrame) -> BetaGeoBetaBinom:
    d = donations
    return BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])


def at(params: dict[str, float]) -> BetaGeoBetaBinom:
    """A BG/BB model evaluated at given parameters (to test the formulas, not the fit)."""
    model = BetaGeoBetaBinom()
    model.params_ = dict(params)
    return model


# --- the published fit ------------------------------------------------------------------------


def test_donations_data_are_the_published_cohort(donations: pl.DataFrame) -> None:
    assert donations.columns == ["frequency", "recency", "periods", "weights"]
    assert int(donations["weights"].sum()) == 11_104
    assert donations.height == 22  # every (x, t_x) possible in 6 opportunities
    assert set(donations["periods"]) == {6}


def test_reproduces_the_published_donations_fit(donations_bgbb: BetaGeoBetaBinom) -> None:
    for name, published in PUBLISHED_BGBB.items():
        assert donations_bgbb.params_[name] == pytest.approx(published, rel=0.01), name
    assert donations_bgbb.log_likelihood_ == pytest.approx(PUBLISHED_BGBB_LL, abs=0.1)
    for name, reference in LIFETIMES_BGBB.items():
        assert donations_bgbb.params_[name] == pytest.approx(reference, rel=1e-5), name


def test_predictions_match_lifetimes_at_its_parameters() -> None:
    model = at(LIFETIMES_BGBB)
    summary = (SUMMARY_X, SUMMARY_TX, SUMMARY_N)
    np.testing.assert_allclose(model.p_alive(*summary), LIFETIMES_P_ALIVE, rtol=1e-6)
    np.testing.assert_allclose(model.expected_purchases(5, *summary), LIFETIMES_NEXT_5, rtol=1e-6)
    np.testing.assert_allclose(model.expected_purchases(1, *summary), LIFETIMES_NEXT_1, rtol=1e-6)


def test_weights_fit_like_repeated_rows(
    donations: pl.DataFrame, donations_bgbb: BetaGeoBetaBinom
) -> None:
    counts = donations["weights"].to_numpy()
    rows = [np.repeat(donations[c].to_numpy(), counts) for c in ("frequency", "recency", "periods")]
    repeated = BetaGeoBetaBinom().fit(*rows)
    assert repeated.params_ == pytest.approx(donations_bgbb.params_, rel=1e-9)
    assert repeated.log_likelihood_ == pytest.approx(donations_bgbb.log_likelihood_, rel=1e-12)


# --- brute force: every purchase history, exact quadrature ------------------------------------


def _beta_nodes(a: float, b: float, nodes: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights that integrate polynomials of degree < 2 * nodes against Beta(a, b)."""
    u, w = roots_jacobi(nodes, b - 1, a - 1)
    return (1 + u) / 2, w / w.sum()


def _story(
    params: dict[str, float], history: tuple[int, ...], horizon: int
) -> tuple[float, float, float]:
    """P(history), P(history and alive at n + 1), E[purchases in n+1..n+horizon; history].

    Straight from the story, summed over the opportunity D at whose start the customer dies
    (D = n + 1: still alive after n): survive D - 1 draws, buy with probability p at each
    opportunity before D, nothing from D on. Quadrature over p and theta is exact here.
    """
    p, wp = _beta_nodes(params["alpha"], params["beta"])
    theta, wt = _beta_nodes(params["gamma"], params["delta"])
    p, theta = p[:, None], theta[None, :]
    weight = wp[:, None] * wt[None, :]
    n = len(history)
    probability = np.zeros_like(weight)
    alive_after_n = np.zeros_like(weight)
    for death in range(1, n + 2):
        if any(history[death - 1 :]):
            continue  # a purchase after dying is impossible
        purchases = sum(history[: death - 1])
        chance = p**purchases * (1 - p) ** (death - 1 - purchases)
        if death <= n:
            probability += chance * (1 - theta) ** (death - 1) * theta
        else:
            alive_after_n = chance * (1 - theta) ** n
            probability += alive_after_n
    future = sum(p * (1 - theta) ** k for k in range(1, horizon + 1))
    return (
        float(np.sum(weight * probability)),
        float(np.sum(weight * alive_after_n * (1 - theta))),
        float(np.sum(weight * alive_after_n * future)),
    )


STORY_PARAMS = [LIFETIMES_BGBB, {"alpha": 0.3, "beta": 4.0, "gamma": 2.5, "delta": 0.4}]


@pytest.mark.parametrize("params", STORY_PARAMS)
@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_formulas_match_every_history_enumerated(params: dict[str, float], n: int) -> None:
    """Likelihood, P(alive at n + 1) and E[X(n, n + 4)] against all 2^n purchase strings."""
    model = at(params)
    total = 0.0
    for history in itertools.product((0, 1), repeat=n):
        x = sum(history)
        t_x = max((i + 1 for i, bought in enumerate(history) if bought), default=0)
        probability, alive, future = _story(params, history, horizon=4)
        total += probability
        ll = beta_geo_beta_binom.log_likelihood(params, x, t_x, n)[0]
        assert ll == pytest.approx(np.log(probability), rel=1e-10, abs=1e-12)
        assert model.p_alive(x, t_x, n)[0] == pytest.approx(alive / probability, rel=1e-9)
        assert model.expected_purchases(4, x, t_x, n)[0] == pytest.approx(
            future / probability, rel=1e-9
        )
    assert total == pytest.approx(1.0, rel=1e-12)
    new = model.expected_purchases_new(n)[0]
    p_mean = params["alpha"] / (params["alpha"] + params["beta"])
    _, _, from_start = _story(params, (), horizon=n)
    assert new == pytest.approx(from_start, rel=1e-9, abs=1e-15)
    assert new <= n * p_mean + 1e-12


def test_expectations_near_gamma_one_are_continuous() -> None:
    """E[X(n, n + t)] divides by gamma - 1; the removable singularity must not show."""
    base = {"alpha": 1.2, "beta": 0.8, "delta": 2.0}
    values = [
        at({**base, "gamma": gamma}).expected_purchases(10, 2, 4, 6)[0]
        for gamma in (1 - 1e-3, 1 - 1e-7, 1.0, 1 + 1e-7, 1 + 1e-3)
    ]
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values[1:4], values[2], rtol=1e-6)
    assert min(values[0], values[4]) < values[2] < max(values[0], values[4])


# --- properties -------------------------------------------------------------------------------

positive = st.floats(0.05, 30.0)


@st.composite
def summaries(draw: st.DrawFn, most: int = 200) -> tuple[int, int, int]:
    n = draw(st.integers(0, most))
    t_x = draw(st.integers(0, n))
    x = draw(st.integers(1, t_x)) if t_x > 0 else 0
    return x, t_x, n


@settings(max_examples=60, deadline=None)
@given(positive, positive, positive, positive, summaries(), st.integers(1, 100))
def test_p_alive_is_a_probability_that_falls_with_more_opportunities(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    summary: tuple[int, int, int],
    later: int,
) -> None:
    model = at({"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta})
    x, t_x, n = summary
    now, then = model.p_alive([x, x], [t_x, t_x], [n, n + later])
    assert 0 <= then <= now * (1 + 1e-12) <= 1 + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    positive,
    positive,
    positive,
    positive,
    summaries(),
    st.lists(st.integers(0, 400), min_size=2, max_size=6),
)
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    summary: tuple[int, int, int],
    horizons: list[int],
) -> None:
    model = at({"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta})
    x, t_x, n = summary
    times = np.sort(horizons)
    expected = model.expected_purchases(times, x, t_x, n)
    new = model.expected_purchases_new(times)
    for values in (expected, new):
        assert np.all(np.isfinite(values))
        assert np.all(values >= 0)
        assert np.all(values <= times + 1e-9)  # at most one purchase per opportunity
        assert np.all(np.diff(values) >= -1e-9 * np.maximum(values[1:], 1))
    np.testing.assert_allclose(model.expected_purchases(times, 0, 0, 0), new, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e-3, 1e3),
    st.floats(1e-3, 1e3),
    st.floats(1e-3, 1e3),
    st.floats(1e-3, 1e3),
    summaries(most=1500),
)
def test_log_likelihood_is_a_finite_log_probability_at_extremes(
    alpha: float, beta: float, gamma: float, delta: float, summary: tuple[int, int, int]
) -> None:
    params = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    ll = beta_geo_beta_binom.log_likelihood(params, *summary)
    assert np.isfinite(ll).all()
    assert ll[0] <= 1e-12  # the probability of one purchase string


def test_objective_gradient_matches_finite_differences(donations: pl.DataFrame) -> None:
    columns = [donations[c].to_numpy().astype(float) for c in ("frequency", "recency", "periods")]
    extra = [np.array([0.0, 3, 10]), np.array([0.0, 9, 40]), np.array([40.0, 40, 40])]
    x, t_x, n = (np.append(c, e) for c, e in zip(columns, extra, strict=True))
    weight = np.append(donations["weights"].to_numpy().astype(float), [5.0, 3.0, 2.0])
    groups = beta_geo_beta_binom._Groups(x, t_x, n, weight, float(weight.sum()))
    for theta in (np.log([1.2, 0.75, 0.66, 2.8]), np.log([0.2, 6.0, 3.0, 0.1])):
        for penalizer in (0.0, 0.1):
            _, gradient = beta_geo_beta_binom._negative_mean_log_likelihood(
                theta, groups, penalizer
            )
            numeric = optimize.approx_fprime(
                theta,
                lambda th, p=penalizer: beta_geo_beta_binom._negative_mean_log_likelihood(
                    th, groups, p
                )[0],
                1e-7,
            )
            np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-6)


def simulate_bg_bb(
    size: int, params: dict[str, float], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers from the BG/BB story over n opportunities, summarised as (x, t_x, n)."""
    p = rng.beta(params["alpha"], params["beta"], size)[:, None]
    theta = rng.beta(params["gamma"], params["delta"], size)[:, None]
    alive = np.cumprod(rng.random((size, n)) >= theta, axis=1).astype(bool)
    bought = alive & (rng.random((size, n)) < p)
    x = bought.sum(axis=1)
    last = np.where(x > 0, n - np.argmax(bought[:, ::-1], axis=1), 0)
    return x.astype(float), last.astype(float), np.full(size, float(n))


def test_fit_recovers_simulated_parameters() -> None:
    truth = {"alpha": 0.9, "beta": 1.5, "gamma": 0.8, "delta": 3.0}
    rng = np.random.default_rng(2010)
    fitted = BetaGeoBetaBinom().fit(*simulate_bg_bb(30_000, truth, 12, rng)).params_
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.2), name


# --- failures ---------------------------------------------------------------------------------

GOOD = ([1, 2, 0, 3] * 5, [2, 4, 0, 3] * 5, [5] * 20)


@pytest.mark.parametrize(
    ("frequency", "recency", "n_periods", "weights", "message"),
    [
        ([], [], [], None, "no customers"),
        ([1, 2], [1], [5, 5], None, "same length"),
        ([1, -1], [1, 1], [5, 5], None, "negative"),
        ([1.5, 1], [2, 1], [5, 5], None, "whole number"),
        ([1, 1], [2.5, 1], [5, 5], None, "whole numbers"),
        ([1, 1], [2, 1], [5, 5.5], None, "whole numbers"),
        ([1, 1], [6, 1], [5, 5], None, "greater than n_periods"),
        ([1, 1], [1, 1], [5, -1], None, "n_periods (opportunities since the first purchase)"),
        ([0, 1], [2, 1], [5, 5], None, "frequency is 0 but recency is not 0"),
        ([3, 1], [2, 1], [5, 5], None, "at most one purchase per opportunity"),
        ([1, 1], [1, np.nan], [5, 5], None, "missing or non-finite"),
        ([1] * 9 + [0] * 50, [1] * 9 + [0] * 50, [5] * 59, None, "needs at least 10"),
        (*GOOD, [1] * 19, "one value per customer row"),
        (*GOOD, [1] * 19 + [-1], "weight is negative"),
        (*GOOD, [0] * 20, "no customers"),
        (
            np.arange(2_001),
            np.arange(2_001),
            np.full(2_001, 2_000),
            np.full(2_001, 1.0),
            "2001 distinct frequencies over 2000 opportunities are too many",
        ),
    ],
)
def test_fit_refuses_bad_input(
    frequency: list[Any], recency: list[Any], n_periods: list[Any], weights: Any, message: str
) -> None:
    with pytest.raises(ModelFitError, match=re.escape(message)):
        BetaGeoBetaBinom().fit(frequency, recency, n_periods, weights=weights)


def test_predictions_refuse_bad_input_and_unfitted_models() -> None:
    model = at(LIFETIMES_BGBB)
    with pytest.raises(ValueError, match="greater than n_periods"):
        model.p_alive([1], [6], [5])
    with pytest.raises(ValueError, match=re.escape("t (the forecast horizon) is negative")):
        model.expected_purchases(-1, [1], [1], [5])
    with pytest.raises(ValueError, match="t counts purchase opportunities"):
        model.expected_purchases_new([1.5])
    with pytest.raises(ValueError, match="same length"):
        model.expected_purchases([1, 2, 3], [1, 1], [1, 1], [5, 5])
    with pytest.raises(NotFittedError, match="call fit"):
        BetaGeoBetaBinom().p_alive([1], [1], [2])
    with pytest.raises(ModelFitError, match="penalizer"):
        BetaGeoBetaBinom(penalizer=-1).fit(*GOOD)


@pytest.mark.slow  # the optimiser chases alpha and beta towards infinity, then gives up
def test_customers_without_heterogeneity_are_refused_unless_penalised() -> None:
    """Everyone with the same p and theta: the Beta mixtures collapse to points at infinity.

    alpha and beta run off together along a ridge so flat that rounding in the gradient stops
    the optimiser short of the bound: refused as not converging, or as running off.
    """
    rng = np.random.default_rng(3)
    size, n = 20_000, 8
    alive = np.cumprod(rng.random((size, n)) >= 0.1, axis=1).astype(bool)
    bought = alive & (rng.random((size, n)) < 0.5)
    x = bought.sum(axis=1)
    last = np.where(x > 0, n - np.argmax(bought[:, ::-1], axis=1), 0)
    with pytest.raises(ModelFitError, match=r"runs off to infinity|did not converge"):
        BetaGeoBetaBinom().fit(x, last, np.full(size, n))
    fitted = BetaGeoBetaBinom(penalizer=0.01).fit(x, last, np.full(size, n)).params_
    assert all(np.isfinite(v) and v > 0 for v in fitted.values())


def _fake_optimiser(result: dict[str, Any]) -> SimpleNamespace:
    def minimize(fun: Any, x0: np.ndarray, **_: Any) -> optimize.OptimizeResult:
        return optimize.OptimizeResult(
            {"x": np.asarray(x0), "fun": 1.0, "jac": np.ones_like(x0), **result}
        )

    return SimpleNamespace(minimize=minimize)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"success": False, "message": "ABNORMAL"}, "did not converge (ABNORMAL)"),
        ({"success": True, "fun": np.inf, "message": ""}, "non-finite"),
        ({"success": True, "x": np.array([0, 0, 0, 18.0]), "message": ""}, "delta runs off"),
    ],
)
def test_fit_reports_optimiser_trouble(
    monkeypatch: pytest.MonkeyPatch, result: dict[str, Any], message: str
) -> None:
    monkeypatch.setattr(_common, "optimize", _fake_optimiser(result))
    with pytest.raises(ModelFitError, match=re.escape(message)):
        BetaGeoBetaBinom().fit(*GOOD)


def test_predictions_keep_the_input_shape_and_order() -> None:
    """Predictions are computed once per distinct summary and put back in place."""
    model = at(LIFETIMES_BGBB)
    order = np.random.default_rng(0).permutation(12)
    x, t_x, n = (np.tile(v, 2)[order] for v in (SUMMARY_X, SUMMARY_TX, SUMMARY_N))
    horizons = np.tile([5, 1], 6)[order]
    alive = model.p_alive(x.reshape(3, 4), t_x.reshape(3, 4), n.reshape(3, 4))
    assert alive.shape == (3, 4)
    np.testing.assert_allclose(alive.ravel(), np.tile(LIFETIMES_P_ALIVE, 2)[order], rtol=1e-6)
    expected = model.expected_purchases(horizons, x, t_x, n)
    reference = np.where(
        horizons == 5, np.tile(LIFETIMES_NEXT_5, 2)[order], np.tile(LIFETIMES_NEXT_1, 2)[order]
    )
    np.testing.assert_allclose(expected, reference, rtol=1e-6)
    assert model.p_alive(6, 6, 6).shape == (1,)
    assert model.expected_purchases(5, 6, 6, 6)[0] == pytest.approx(LIFETIMES_NEXT_5[3], rel=1e-6)
