"""Pareto/NBD: the published CDNOW fit, arbitrary-precision references, properties, failures."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy.special import gammaln

from tests.analytics.test_clv import cdnow_calibration_summary
from winback.analytics.btyd import _common, pareto_nbd
from winback.analytics.clv import ModelFitError, NotFittedError, ParetoNBD

# Fader, Hardie & Lee (2005), Marketing Science, and Fader & Hardie's Pareto/NBD note: the
# Pareto/NBD fit to the same CDNOW calibration summary (2,357 customers, weeks 1-39) as BG/NBD.
PUBLISHED = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}
PUBLISHED_LL = -9595.0


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return cdnow_calibration_summary()


@pytest.fixture(scope="module")
def cdnow_pareto(cdnow: pl.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def with_params(params: dict[str, float]) -> ParetoNBD:
    """A ParetoNBD evaluated at given parameters (to test the formulas, not the fit)."""
    model = ParetoNBD()
    model.params_ = dict(params)
    return model


def simulate_pareto_nbd(
    n: int, params: dict[str, float], ages: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers from the Pareto/NBD story, observed for ``ages`` periods each: Poisson
    purchases at rate lambda until an exponential lifetime (rate mu) ends; the last of x
    uniform purchase times in the observed lifetime w is w * Beta(x, 1)."""
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    death = rng.gamma(params["s"], 1 / params["beta"], n)
    window = np.minimum(rng.exponential(1 / death), ages)
    x = rng.poisson(rate * window)
    recency = np.zeros(n)
    buyers = x > 0
    recency[buyers] = window[buyers] * rng.beta(x[buyers], 1)
    return x.astype(np.float64), recency, ages


# --- the published CDNOW fit --------------------------------------------------------------------


def test_reproduces_the_published_cdnow_fit(cdnow_pareto: ParetoNBD) -> None:
    for name, published in PUBLISHED.items():
        assert cdnow_pareto.params_[name] == pytest.approx(published, rel=0.01), name
    assert cdnow_pareto.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.1)


def test_log_likelihood_is_the_sum_over_customers(
    cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD
) -> None:
    per_customer = pareto_nbd.log_likelihood(
        cdnow_pareto.params_, cdnow["frequency"], cdnow["recency"], cdnow["T"]
    )
    assert cdnow_pareto.log_likelihood_ == pytest.approx(per_customer.sum(), rel=1e-12)


def test_fit_is_a_maximum_of_the_likelihood(cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD) -> None:
    columns = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    best = cdnow_pareto.log_likelihood_
    for name in pareto_nbd.PARAM_NAMES:
        for factor in (0.99, 1.01):
            moved = dict(cdnow_pareto.params_, **{name: cdnow_pareto.params_[name] * factor})
            assert pareto_nbd.log_likelihood(moved, *columns).sum() < best, (name, factor)


# --- the formulas against independent evaluations --------------------------------------------

# ln L, P(alive) and E[Y(t) | x, t_x, T] from Fader & Hardie's note as printed (the 2F1 form
# of the likelihood, eqs. 18-20, and P(alive) as the alive term's share of it), evaluated with
# mpmath at 80 significant digits.
CDNOW = (0.553, 10.58, 0.606, 11.67)
MPMATH_CASES = [  # (r, alpha, s, beta), (x, t_x, T, t), (ln L, P(alive), E[Y(t) | x, t_x, T])
    (CDNOW, (2, 30.43, 38.86, 39), (-9.5542465534094045, 0.8691714821202602, 1.455075199265842)),
    (CDNOW, (0, 0, 38.86, 39), (-0.52100647056833457, 0.29531090459784263, 0.10708626479093641)),
    (CDNOW, (1, 1.0, 38.86, 52), (-4.3414622257072538, 0.15070546661365781, 0.19520721541882207)),
    (CDNOW, (1e4, 9999, 1e4, 52), (-10017.524675618469, 0.99989605303801089, 51.860996173986221)),
    (CDNOW, (1e4, 1e4, 1e4, 1000), (-10017.524779570834, 1.0, 970.28249034849461)),
    # P(alive) and E[Y] about 1e-29367: 0 in floating point
    (CDNOW, (1e4, 1, 1e4, 52), (57601.640197479123, 0.0, 0.0)),
    (
        CDNOW,
        (0, 0, 1e4, 1e4),
        (-0.67353179770631136, 0.00073983647898896584, 0.0003258125075229283),
    ),
    (CDNOW, (3, 9000, 1e4, 1e4), (-34.654779614860708, 0.92592079137257247, 2.6198469661668052)),
    ((0.01,) * 4, (1e4, 1e4, 1e4, 52), (-10008.47991051494, 1.0, 51.998650362083197)),
    (
        (20, 1000, 20, 0.01),
        (5, 1e-3, 1e4, 52),
        (-21.000174253616369, 6.20933414714e-146, 6.97021453716e-147),
    ),
    (
        (0.05, 0.02, 8, 500),
        (200, 150, 151, 10),
        (-150.78500153353762, 0.974773052344241, 12.154232749632175),
    ),
    (
        (2, 300, 0.3, 0.05),
        (0, 0, 1e-3, 1),
        (-6.6468269215754885e-6, 0.99407680368928039, 0.0035315781998633968),
    ),
]


@pytest.mark.parametrize(("params", "summary", "references"), MPMATH_CASES)
def test_formulas_match_arbitrary_precision_references(
    params: tuple[float, ...], summary: tuple[float, ...], references: tuple[float, ...]
) -> None:
    model = with_params(dict(zip(pareto_nbd.PARAM_NAMES, params, strict=True)))
    x, t_x, age, t = summary
    ll, alive, expected = references
    got_ll = pareto_nbd.log_likelihood(model.params_, x, t_x, age)[0]
    assert got_ll == pytest.approx(ll, rel=1e-11, abs=1e-11)
    assert model.p_alive(x, t_x, age)[0] == pytest.approx(alive, rel=1e-10, abs=1e-300)
    assert model.expected_purchases(t, x, t_x, age)[0] == pytest.approx(
        expected, rel=1e-10, abs=1e-300
    )


def _defining_likelihood(
    params: dict[str, float], x: float, t_x: float, age: float
) -> tuple[float, float]:
    """L and P(alive) from the death-time mixture, integrated by SciPy's adaptive quad:
    L = C [(alpha+T)^-(r+x) (beta+T)^-s + s * int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du]."""
    r, alpha, s, beta = (params[k] for k in pareto_nbd.PARAM_NAMES)
    log_c = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    log_alive = -(r + x) * math.log(alpha + age) - s * math.log(beta + age)

    def integrand(u: float) -> float:
        # scaled by the alive term to keep the numbers near 1
        return s * math.exp(
            -(r + x) * math.log(alpha + u) - (s + 1) * math.log(beta + u) - log_alive
        )

    dead, _ = integrate.quad(integrand, t_x, age, epsabs=0, epsrel=1e-13, limit=200)
    return math.exp(log_c + log_alive) * (1 + dead), 1 / (1 + dead)


def _defining_conditional_expectation(
    params: dict[str, float], t: float, x: float, t_x: float, age: float
) -> float:
    """E[Y(t) | x, t_x, T] = E[(lambda / mu) (1 - e^-mu t) 1{alive at T} | data]: the joint
    density of (lambda, mu, alive at T, data) is lambda^x e^-(lambda + mu) T g(lambda) g(mu),
    so the numerator separates into a lambda factor (closed form) and a mu integral (quad)."""
    r, alpha, s, beta = (params[k] for k in pareto_nbd.PARAM_NAMES)
    likelihood, _ = _defining_likelihood(params, x, t_x, age)
    lam = math.exp(
        gammaln(r + x + 1) - gammaln(r) + r * math.log(alpha) - (r + x + 1) * math.log(alpha + age)
    )

    def mu_part(mu: float) -> float:
        density = math.exp(s * math.log(beta) + (s - 1) * math.log(mu) - beta * mu - gammaln(s))
        return -math.expm1(-mu * t) / mu * math.exp(-mu * age) * density

    mu_factor = sum(
        integrate.quad(mu_part, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
        for lo, hi in ((0, 1e-3), (1e-3, 1), (1, np.inf))
    )
    return lam * mu_factor / likelihood


@pytest.mark.parametrize(
    "summary",
    [(0, 0, 38.86), (2, 30.43, 38.86), (1, 1.0, 38.86), (7, 20.0, 35.0), (25, 38.0, 38.5)],
)
def test_p_alive_and_conditional_expectation_match_the_defining_integrals(
    summary: tuple[float, float, float],
) -> None:
    x, t_x, age = summary
    model = with_params(PUBLISHED)
    likelihood, alive = _defining_likelihood(PUBLISHED, x, t_x, age)
    assert pareto_nbd.log_likelihood(PUBLISHED, x, t_x, age)[0] == pytest.approx(
        math.log(likelihood), rel=1e-10
    )
    assert model.p_alive(x, t_x, age)[0] == pytest.approx(alive, rel=1e-10)
    expected = _defining_conditional_expectation(PUBLISHED, 26.0, x, t_x, age)
    assert model.expected_purchases(26.0, x, t_x, age)[0] == pytest.approx(expected, rel=1e-8)


def test_expected_purchases_new_is_the_closed_form_mean() -> None:
    """E[X(t)] = E[lambda / mu (1 - e^-mu t)] = r/alpha * E[(1 - e^-mu t) / mu]; the mu part by
    quad, and s = 1 (where the closed form divides by s - 1) by its limit."""
    for s in (0.606, 1.0, 1.0 + 1e-12, 3.0):
        params = dict(PUBLISHED, s=s)
        beta = params["beta"]

        def mu_part(mu: float, s: float = s, beta: float = beta) -> float:
            density = math.exp(s * math.log(beta) + (s - 1) * math.log(mu) - beta * mu - gammaln(s))
            return -math.expm1(-mu * 52.0) / mu * density

        mean = integrate.quad(mu_part, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        expected = params["r"] / params["alpha"] * mean
        got = with_params(params).expected_purchases_new(52.0)[0]
        assert got == pytest.approx(expected, rel=1e-8), s


# --- properties -------------------------------------------------------------------------------

pareto_params = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 20),
        "alpha": st.floats(0.01, 1_000),
        "s": st.floats(0.01, 20),
        "beta": st.floats(0.01, 1_000),
    }
)


@st.composite
def summaries(draw: Any) -> tuple[float, float, float]:
    """A consistent (x, t_x, T): t_x = 0 iff x = 0, 0 < t_x <= T otherwise (t_x = T often)."""
    age = draw(st.floats(1e-3, 10_000))
    x = draw(st.integers(0, 10_000))
    if x == 0:
        return 0.0, 0.0, age
    share = draw(st.one_of(st.just(1.0), st.floats(1e-6, 1.0)))
    return float(x), age * share, age


@given(pareto_params, summaries(), st.floats(0, 10_000))
def test_p_alive_is_a_probability_that_falls_with_silence(
    params: dict[str, float], summary: tuple[float, float, float], more_time: float
) -> None:
    model = with_params(params)
    x, recency, age = summary
    now = model.p_alive(x, recency, age)[0]
    later = model.p_alive(x, recency, age + more_time)[0]
    assert 0.0 <= later <= now * (1 + 1e-12) <= 1.0 + 1e-12


@given(pareto_params, summaries(), st.floats(0, 10_000), st.floats(1e-3, 10_000))
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(
    params: dict[str, float], summary: tuple[float, float, float], t: float, extra: float
) -> None:
    model = with_params(params)
    x, recency, age = summary
    short, long = model.expected_purchases(np.array([t, t + extra]), x, recency, age)
    assert 0.0 <= short <= long * (1 + 1e-9)
    new_short, new_long = model.expected_purchases_new([t, t + extra])
    assert 0.0 <= new_short <= new_long * (1 + 1e-9)


@given(pareto_params, summaries())
def test_log_likelihood_is_finite_on_extreme_summaries(
    params: dict[str, float], summary: tuple[float, float, float]
) -> None:
    assert np.all(np.isfinite(pareto_nbd.log_likelihood(params, *summary)))


def test_log_likelihood_is_finite_at_the_corners() -> None:
    x = np.array([0, 10_000, 10_000, 1, 0, 10_000])
    recency = np.array([0, 10_000, 1e-3, 10_000, 0, 1e-3])
    age = np.array([10_000, 10_000, 10_000, 10_000, 0, 1e-3])
    corners = [
        {"r": 0.01, "alpha": 0.01, "s": 0.01, "beta": 0.01},
        {"r": 20.0, "alpha": 1e4, "s": 20.0, "beta": 1e-4},
        {"r": 1e-4, "alpha": 1e-4, "s": 20.0, "beta": 1e4},
        PUBLISHED,
    ]
    for params in corners:
        values = pareto_nbd.log_likelihood(params, x, recency, age)
        assert np.all(np.isfinite(values)), params
        alive = with_params(params).p_alive(x, recency, age)
        assert np.all((alive >= 0) & (alive <= 1)), params


def test_objective_gradient_matches_finite_differences(cdnow: pl.DataFrame) -> None:
    x, recency, age = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    (gx, gt, gage), counts, _ = _common.group_rows(x, recency, age)
    groups = pareto_nbd._Groups(gx, gt / 4, gage / 4, counts, float(counts.sum()))
    for theta in (np.log([0.5, 2.5, 0.6, 3.0]), np.log([2.0, 0.3, 5.0, 0.1])):
        error = optimize.check_grad(
            lambda th: pareto_nbd._negative_mean_log_likelihood(th, groups, 0.01)[0],
            lambda th: pareto_nbd._negative_mean_log_likelihood(th, groups, 0.01)[1],
            theta,
        )
        assert error < 1e-5


@pytest.mark.slow  # 20,000 simulated customers
def test_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(19870101)
    x, recency, age = simulate_pareto_nbd(20_000, PUBLISHED, rng.uniform(26, 78, 20_000), rng)
    fitted = ParetoNBD().fit(x, recency, age).params_
    for name, truth in PUBLISHED.items():
        assert fitted[name] == pytest.approx(truth, rel=0.25), name


def test_time_unit_only_rescales_alpha_and_beta(
    cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD
) -> None:
    in_days = ParetoNBD().fit(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    for name in ("alpha", "beta"):
        assert in_days.params_[name] == pytest.approx(cdnow_pareto.params_[name] * 7, rel=1e-4)
    for name in ("r", "s"):
        assert in_days.params_[name] == pytest.approx(cdnow_pareto.params_[name], rel=1e-4)


# --- weights -------------------------------------------------------------------------------------


def test_weights_fit_the_same_model_as_repeated_rows(cdnow: pl.DataFrame) -> None:
    x, recency, age = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    copies = np.random.default_rng(3).integers(1, 4, x.size)
    repeated = ParetoNBD().fit(
        np.repeat(x, copies), np.repeat(recency, copies), np.repeat(age, copies)
    )
    weighted = ParetoNBD().fit(x, recency, age, weights=copies)
    assert weighted.params_ == pytest.approx(repeated.params_, rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-9)


def test_weights_fit_a_table_of_distinct_rows_with_counts(
    cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD
) -> None:
    """As a summary query would give: one row per distinct (x, t_x, T) and its customers."""
    table = cdnow.group_by("frequency", "recency", "T").agg(pl.len().alias("customers")).sort("T")
    grouped = ParetoNBD().fit(
        table["frequency"], table["recency"], table["T"], weights=table["customers"]
    )
    assert table.height < cdnow.height
    assert grouped.params_ == pytest.approx(cdnow_pareto.params_, rel=1e-6)
    assert grouped.log_likelihood_ == pytest.approx(cdnow_pareto.log_likelihood_, rel=1e-9)


def test_zero_weights_drop_rows(cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD) -> None:
    x, recency, age = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    extra = np.array([5.0, 0.0]), np.array([1.0, 0.0]), np.array([300.0, 300.0])
    weights = np.concatenate([np.ones(x.size), [0.0, 0.0]])
    fitted = ParetoNBD().fit(
        *(np.concatenate([a, b]) for a, b in zip((x, recency, age), extra, strict=True)),
        weights=weights,
    )
    assert fitted.params_ == pytest.approx(cdnow_pareto.params_, rel=1e-9)


# --- failure modes -------------------------------------------------------------------------------

GOOD_X = np.array([0, 1, 2, 3] * 5, dtype=float)
GOOD_RECENCY = np.array([0, 5, 10, 20] * 5, dtype=float)
GOOD_T = np.full(20, 30.0)


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "message"),
    [
        ([], [], [], "no customers"),
        ([1, 2], [1, 2, 3], [5, 5, 5], "same length"),
        ([-1, 1], [0, 1], [5, 5], "negative"),
        ([1.5, 1], [1, 1], [5, 5], "whole number"),
        ([1, 1], [-1, 1], [5, 5], "recency is negative"),
        ([0, 1], [0, 1], [-5, 5], "T (age at the as-of date) is negative"),
        ([1, 1], [6, 1], [5, 5], "greater than T"),
        ([0, 1], [2, 1], [5, 5], "frequency is 0 but recency is not 0"),
        ([1, 1], [0, 1], [5, 5], "recency is 0"),
        ([1, None], [1, 1], [5, 5], "missing or non-finite"),
        ([1, 1], [1, np.nan], [5, 5], "missing or non-finite"),
        (["a", 1], [1, 1], [5, 5], "must be numbers"),
        ([0] * 50, [0] * 50, [5] * 50, "only 0 customer(s) made a repeat purchase"),
        ([1] * 9 + [0] * 50, [1] * 9 + [0] * 50, [5] * 59, "needs at least 10"),
    ],
)
def test_fit_refuses_bad_input(
    frequency: list[Any], recency: list[Any], age: list[Any], message: str
) -> None:
    with pytest.raises(ModelFitError, match=re.escape(message)):
        ParetoNBD().fit(pl.Series(frequency, strict=False), recency, age)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(19), "weights must have one value per customer row (19 for 20)"),
        (np.r_[np.ones(19), -1.0], "1 customer(s): weight is negative"),
        (np.r_[np.ones(19), np.nan], "weights has 1 missing or non-finite"),
        (np.r_[np.ones(19), np.inf], "weights has 1 missing or non-finite"),
        (np.where(GOOD_X > 0, 0.0, 1.0), "only 0 customer(s) made a repeat purchase"),
        (["a"] * 20, "weights must be numbers"),
    ],
)
def test_fit_refuses_bad_weights(weights: Any, message: str) -> None:
    with pytest.raises(ModelFitError, match=re.escape(message)):
        ParetoNBD().fit(GOOD_X, GOOD_RECENCY, GOOD_T, weights=weights)


def test_predictions_refuse_bad_input_with_value_errors(cdnow_pareto: ParetoNBD) -> None:
    with pytest.raises(ValueError, match="greater than T"):
        cdnow_pareto.p_alive([1], [6], [5])
    with pytest.raises(ValueError, match=r"t \(the forecast horizon\) is negative"):
        cdnow_pareto.expected_purchases(-1, [1], [1], [5])
    with pytest.raises(ValueError, match="missing or non-finite"):
        cdnow_pareto.expected_purchases_new([np.inf])


def test_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        ParetoNBD().p_alive([1], [1], [2])


def test_negative_penalizer_is_refused() -> None:
    with pytest.raises(ModelFitError, match="penalizer"):
        ParetoNBD(penalizer=-1).fit(GOOD_X, GOOD_RECENCY, GOOD_T)


def test_keeps_hyperparameters_and_learned_attributes_only(cdnow_pareto: ParetoNBD) -> None:
    assert vars(ParetoNBD(penalizer=0.5)) == {"penalizer": 0.5}
    assert set(vars(cdnow_pareto)) == {"penalizer", "params_", "log_likelihood_"}
    assert all(isinstance(v, float) for v in cdnow_pareto.params_.values())


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # alpha runs off; depending on the machine's rounding the optimiser may leave beta
        # further out on the plateau, and then alpha is named among the others.
        (
            ([3.0, 3.0, 3.0, 0.0], [20.0, 20.0, 20.0, 0.0]),
            r"parameter (alpha runs off to infinity|\w+ runs off to infinity; (\w+, )*alpha\b)",
        ),
        # Both processes are flat here (r / alpha and s / beta): the one named is the one the
        # optimiser left furthest out, which depends on where it stops on the plateau.
        (([1.0, 2.0, 0.0], [10.0, 20.0, 0.0]), r"parameter (r|alpha|s|beta) runs off to infinity"),
    ],
)
def test_parameters_the_data_cannot_pin_down_are_refused(
    rows: tuple[list[float], list[float]], message: str
) -> None:
    """Near-identical buyers carry no heterogeneity in purchase rates: r and alpha run off
    together (the Gamma mixing distribution shrinking to one point). The likelihood goes flat
    along r / alpha = constant long before the optimiser's bounds."""
    x, recency = (np.tile(column, 10) for column in rows)
    with pytest.raises(ModelFitError, match=message):
        ParetoNBD().fit(x, recency, np.full(x.size, 30.0))


def test_penalizer_trades_likelihood_for_smaller_parameters(
    cdnow: pl.DataFrame, cdnow_pareto: ParetoNBD
) -> None:
    penalised = ParetoNBD(penalizer=0.1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert penalised.log_likelihood_ < cdnow_pareto.log_likelihood_
    assert penalised.params_["alpha"] < cdnow_pareto.params_["alpha"]
    assert penalised.params_["beta"] < cdnow_pareto.params_["beta"]


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
        ({"success": True, "fun": np.nan, "message": ""}, "non-finite"),
        ({"success": True, "x": np.array([0, 0, 0, -18.0]), "message": ""}, "beta runs off"),
    ],
)
def test_fit_reports_optimiser_trouble(
    monkeypatch: pytest.MonkeyPatch, result: dict[str, Any], message: str
) -> None:
    monkeypatch.setattr(_common, "optimize", _fake_optimiser(result))
    with pytest.raises(ModelFitError, match=re.escape(message)):
        ParetoNBD().fit(GOOD_X, GOOD_RECENCY, GOOD_T)


@pytest.mark.slow  # fits Pareto/NBD on simulated populations
@settings(derandomize=True, max_examples=20, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "r": st.floats(0.3, 3),
            "alpha": st.floats(1, 10),
            "s": st.floats(0.3, 3),
            "beta": st.floats(5, 50),
        }
    ),
    st.integers(0, 2**32 - 1),
)
def test_fit_on_simulated_customers_gives_finite_positive_parameters(
    params: dict[str, float], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x, recency, age = simulate_pareto_nbd(2_000, params, rng.uniform(20, 60, 2_000), rng)
    model = ParetoNBD().fit(x, recency, age)
    fitted = np.array(list(model.params_.values()))
    assert np.all(np.isfinite(fitted))
    assert np.all(fitted > 0)
    assert np.isfinite(model.log_likelihood_)


def test_predictions_keep_the_input_shape(cdnow_pareto: ParetoNBD) -> None:
    x = np.array([[2.0, 0.0, 1.0], [3.0, 7.0, 0.0]])
    recency = np.array([[30.43, 0.0, 1.0], [20.0, 35.0, 0.0]])
    flat = cdnow_pareto.p_alive(x.ravel(), recency.ravel(), 38.86)
    np.testing.assert_array_equal(cdnow_pareto.p_alive(x, recency, 38.86), flat.reshape(2, 3))
    expected = cdnow_pareto.expected_purchases(10.0, x, recency, 38.86)
    assert expected.shape == (2, 3)
    np.testing.assert_array_equal(
        expected.ravel(), cdnow_pareto.expected_purchases(10.0, x.ravel(), recency.ravel(), 38.86)
    )
