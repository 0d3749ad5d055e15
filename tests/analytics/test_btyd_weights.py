"""Weights on BetaGeo and GammaGamma fits: a row of weight w counts as w identical customers."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from tests.analytics.test_clv import cdnow_calibration_summary
from winback.analytics.btyd import beta_geo, gamma_gamma
from winback.analytics.clv import BetaGeo, GammaGamma, ModelFitError


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return cdnow_calibration_summary()


@pytest.fixture(scope="module")
def copies(cdnow: pl.DataFrame) -> np.ndarray:
    return np.random.default_rng(5).integers(1, 5, cdnow.height)


def _columns(cdnow: pl.DataFrame, *names: str) -> list[np.ndarray]:
    return [cdnow[name].to_numpy().astype(np.float64) for name in names]


def test_beta_geo_weights_fit_like_repeated_rows(cdnow: pl.DataFrame, copies: np.ndarray) -> None:
    columns = _columns(cdnow, "frequency", "recency", "T")
    repeated = BetaGeo().fit(*(np.repeat(c, copies) for c in columns))
    weighted = BetaGeo().fit(*columns, weights=pl.Series(copies))
    assert weighted.params_ == pytest.approx(repeated.params_, rel=1e-9)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-12)
    per_customer = beta_geo.log_likelihood(weighted.params_, *columns)
    assert weighted.log_likelihood_ == pytest.approx(float(copies @ per_customer), rel=1e-12)


def test_gamma_gamma_weights_fit_like_repeated_rows(
    cdnow: pl.DataFrame, copies: np.ndarray
) -> None:
    columns = _columns(cdnow, "frequency", "monetary")
    repeated = GammaGamma().fit(*(np.repeat(c, copies) for c in columns))
    weighted = GammaGamma().fit(*columns, weights=copies)
    assert weighted.params_ == pytest.approx(repeated.params_, rel=1e-9)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-12)
    per_customer = gamma_gamma.log_likelihood(weighted.params_, *columns)
    assert weighted.log_likelihood_ == pytest.approx(float(copies @ per_customer), rel=1e-12)


def test_zero_weight_rows_are_as_if_absent(cdnow: pl.DataFrame) -> None:
    x, t_x, age, spend = _columns(cdnow, "frequency", "recency", "T", "monetary")
    keep = np.arange(x.size) % 4 != 0
    # Rows of weight 0 with an odd, longer T must not even change the time scaling.
    x_all, t_all, age_all = (np.append(v, extra) for v, extra in ((x, 3), (t_x, 50), (age, 90)))
    weights = np.append(keep.astype(float), 0.0)
    dropped = BetaGeo().fit(x[keep], t_x[keep], age[keep])
    weighted = BetaGeo().fit(x_all, t_all, age_all, weights=weights)
    assert weighted.params_ == pytest.approx(dropped.params_, rel=1e-12)
    assert weighted.log_likelihood_ == pytest.approx(dropped.log_likelihood_, rel=1e-12)
    gg_dropped = GammaGamma().fit(x[keep], spend[keep])
    gg_weighted = GammaGamma().fit(x, spend, weights=keep.astype(float))
    assert gg_weighted.params_ == pytest.approx(gg_dropped.params_, rel=1e-12)


def test_scaling_all_weights_keeps_the_parameters(cdnow: pl.DataFrame) -> None:
    """The fit maximises the mean log-likelihood, so only relative weights matter."""
    x, t_x, age = _columns(cdnow, "frequency", "recency", "T")
    weights = np.linspace(0.5, 2.0, x.size)
    once = BetaGeo().fit(x, t_x, age, weights=weights)
    tenfold = BetaGeo().fit(x, t_x, age, weights=10 * weights)
    assert tenfold.params_ == pytest.approx(once.params_, rel=1e-6)
    assert tenfold.log_likelihood_ == pytest.approx(10 * once.log_likelihood_, rel=1e-6)
    unweighted = BetaGeo().fit(x, t_x, age)
    assert once.params_ != pytest.approx(unweighted.params_, rel=1e-3)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0] * 11, "one value per customer row (11 for 12)"),
        ([1.0] * 11 + [-1.0], "1 customer(s): weight is negative"),
        ([1.0] * 11 + [np.nan], "weights has 1 missing or non-finite value(s)"),
        ([0.0] * 12, "no customers to fit"),
        ([0.5] * 12, "only 6 customer(s) made a repeat purchase"),
    ],
)
def test_bad_weights_are_refused(weights: list[float], message: str) -> None:
    x = np.ones(12)
    with pytest.raises(ModelFitError, match=re.escape(message)):
        BetaGeo().fit(x, x, x * 5, weights=weights)
    if message != "no customers to fit":
        with pytest.raises(ModelFitError, match=re.escape(message)):
            GammaGamma().fit(x, x * 10, weights=weights)
