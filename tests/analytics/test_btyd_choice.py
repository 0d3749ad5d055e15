"""Count-model choice on a holdout, runaway fits refused, BTYD priors, the spend models."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from numpy.typing import ArrayLike

from winback.analytics import btyd_choice
from winback.analytics.btyd_choice import (
    COUNT_MODELS,
    choose_count_model,
    holdout_split,
    inconsistent,
    model_name,
    runaway,
)
from winback.analytics.clv import BetaGeo, GammaGamma, ModifiedBetaGeo, clv
from winback.analytics.features import customer_features
from winback.analytics.priors import (
    BTYD_PRIORS,
    SMALL_BASE_REPEAT_BUYERS,
    btyd_prior_weight,
    shrink,
)
from winback.analytics.value import (
    TIME_UNIT_DAYS,
    BtydFit,
    GroupSpend,
    Summary,
    discounted_purchases,
    fit_btyd,
    predict_value,
    purchase_days,
)
from winback.config import preset

from .conftest import AS_OF
from .synth import Synthetic, hand_built


@pytest.fixture(scope="module")
def buyers(synth: Synthetic) -> pl.DataFrame:
    features = customer_features(synth.frames, preset("retail"), AS_OF)
    return features.filter(pl.col("first_purchase").is_not_null())


@pytest.fixture(scope="module")
def days(synth: Synthetic) -> pl.DataFrame:
    return purchase_days(synth.frames.orders)


class RunawayBetaGeo(BetaGeo):
    """Fits like BG/NBD, then reports a dropout parameter run off to 3.56e6."""

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> RunawayBetaGeo:
        super().fit(frequency, recency, T)
        self.params_ = {**self.params_, "a": 3.56e6, "b": 3.1e7}
        return self


class WrappedBetaGeo:
    """A count model with the contract that is not a BetaGeo (takes the generic paths)."""

    def __init__(self) -> None:
        self.inner = BetaGeo()

    @property
    def params_(self) -> dict[str, float]:
        return self.inner.params_

    @params_.setter
    def params_(self, params: dict[str, float]) -> None:
        self.inner.params_ = params

    @property
    def log_likelihood_(self) -> float:
        return self.inner.log_likelihood_

    @log_likelihood_.setter
    def log_likelihood_(self, value: float) -> None:
        self.inner.log_likelihood_ = value

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> WrappedBetaGeo:
        self.inner.fit(frequency, recency, T)
        return self

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        return self.inner.p_alive(frequency, recency, T)

    def expected_purchases(self, t: ArrayLike, f: ArrayLike, r: ArrayLike, T: ArrayLike) -> Any:
        return self.inner.expected_purchases(t, f, r, T)

    def expected_purchases_new(self, t: ArrayLike) -> Any:
        return self.inner.expected_purchases_new(t)


def test_runaway_parameters_are_refused() -> None:
    assert runaway({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}) is None
    assert "ran away" in str(runaway({"r": 0.24, "alpha": 4.4, "a": 3.56e6, "b": 2.4}))
    assert "ran away" in str(runaway({"r": 1e-7, "alpha": 4.4, "a": 0.79, "b": 2.4}))
    assert "not finite" in str(runaway({"r": float("nan"), "alpha": 4.4, "a": 1.0, "b": 1.0}))
    # Gamma-Gamma: v relative to the mean spend, q must exceed 1.
    assert runaway({"p": 6.0, "q": 3.9, "v": 15.0}, spend_scale=35.0) is None
    assert runaway({"p": 6.0, "q": 3.9, "v": 2e7}, spend_scale=1e3) is None  # v / 1e3 = 2e4
    assert "ran away" in str(runaway({"p": 3.0, "q": 3.56e6, "v": 3.1e7}, spend_scale=30.0))
    assert "q = 0.9" in str(runaway({"p": 1.0, "q": 0.9, "v": 10.0}, spend_scale=10.0))


def test_holdout_split_counts_purchase_days_on_each_side() -> None:
    day = AS_OF
    rows = [(1, day - timedelta(days=d)) for d in (700, 600, 400, 100, 10)]
    rows += [(2, day - timedelta(days=500)), (3, day - timedelta(days=50))]
    frame = pl.DataFrame(rows, schema=["customer_pk", "day"], orient="row")
    # Too few repeat buyers for a holdout.
    assert holdout_split(frame, AS_OF, TIME_UNIT_DAYS) is None
    many = pl.concat(
        [frame.with_columns(pl.col("customer_pk") + 10 * k) for k in range(40)], how="vertical"
    )
    split = holdout_split(many, AS_OF, TIME_UNIT_DAYS)
    assert split is not None
    # Per block: customer 1 (x = 2 before the cut, 2 after), 2 (x = 0, 0 after); 3 is new.
    assert split.frequency.size == 80
    assert sorted(set(split.frequency.tolist())) == [0.0, 2.0]
    assert split.actual[split.frequency == 2].tolist() == [2.0] * 40
    assert split.actual[split.frequency == 0].tolist() == [0.0] * 40
    assert split.recency[split.frequency == 2][0] == pytest.approx(300 / 7)
    assert split.age[split.frequency == 2][0] == pytest.approx((700 - 182) / 7)
    # Less than 39 weeks before the split: no holdout.
    recent = many.filter(pl.col("day") > AS_OF - timedelta(days=182 + 270))
    assert holdout_split(recent, AS_OF, TIME_UNIT_DAYS) is None


def test_the_better_candidate_wins_on_the_holdout(buyers: pl.DataFrame, days: pl.DataFrame) -> None:
    heavy = functools.partial(BetaGeo, penalizer=5.0)
    fit = fit_btyd(buyers, AS_OF, days=days, candidates=(heavy, BetaGeo))
    choice = fit.describe()["model_choice"]
    rows = {row["model"]: row for row in choice["candidates"]}
    assert set(rows) == {"bg_nbd", "bg_nbd(penalizer=5)"}
    assert rows["bg_nbd"]["holdout_mae"] < rows["bg_nbd(penalizer=5)"]["holdout_mae"]
    assert fit.count_model == "bg_nbd"
    assert choice["chosen"] == "bg_nbd"
    assert rows["bg_nbd"]["chosen"] is True
    assert choice["holdout"]["weeks"] == pytest.approx(26.0)
    assert -1 <= rows["bg_nbd"]["holdout_correlation"] <= 1
    # Chosen on the calibration period, then refitted on the full history.
    full = BetaGeo().fit(*_summary(buyers))
    assert fit.bg is not None
    assert fit.bg.params_ == pytest.approx(full.params_)
    # Deterministic.
    again = fit_btyd(buyers, AS_OF, days=days, candidates=(heavy, BetaGeo))
    assert again.describe() == fit.describe()


def test_without_purchase_days_the_lowest_aic_wins(buyers: pl.DataFrame) -> None:
    heavy = functools.partial(BetaGeo, penalizer=5.0)
    picked = choose_count_model((heavy, BetaGeo), *_summary(buyers), holdout=None)
    assert picked.name == "bg_nbd"
    assert "AIC" in picked.reason
    rows = {row["model"]: row for row in picked.candidates}
    assert rows["bg_nbd"]["aic"] < rows["bg_nbd(penalizer=5)"]["aic"]


def test_a_runaway_candidate_is_refused_and_the_next_one_used(
    buyers: pl.DataFrame, days: pl.DataFrame
) -> None:
    fit = fit_btyd(buyers, AS_OF, days=days, candidates=(RunawayBetaGeo, BetaGeo))
    assert fit.count_model == "bg_nbd"
    assert any(note.startswith("RunawayBetaGeo_refused") for note in fit.notes)
    rows = {row["model"]: row for row in fit.describe()["model_choice"]["candidates"]}
    assert "ran away" in rows["RunawayBetaGeo"]["refused"]
    # Only runaway candidates: the penalised BG/NBD fallback steps in, and says so.
    alone = fit_btyd(buyers, AS_OF, days=days, candidates=(RunawayBetaGeo,))
    assert alone.count_model == "bg_nbd(penalizer=0.001)"
    assert any(note.startswith("count_model_fallback") for note in alone.notes)
    assert alone.describe()["model_choice"]["rule"] == "penalised fallback"


def test_when_nothing_fits_the_value_falls_back_to_the_rhythm(
    buyers: pl.DataFrame, days: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(btyd_choice, "FALLBACK_MODELS", ())
    alone = fit_btyd(buyers, AS_OF, days=days, candidates=(RunawayBetaGeo,))
    assert alone.bg is None
    assert any(note.startswith("bg_nbd_not_fitted") for note in alone.notes)
    prediction = predict_value(alone, buyers, preset("retail"), AS_OF)
    assert prediction.value_model == "simple_rate"
    assert np.isfinite(prediction.values["clv_365"].to_numpy()).all()


def test_a_fit_whose_predictions_contradict_its_data_is_refused(buyers: pl.DataFrame) -> None:
    s = Summary.of(buyers, AS_OF)
    good = BetaGeo().fit(s.frequency, s.recency, s.age)
    assert inconsistent(good, s.frequency, s.age) is None
    # In range, yet a + b so large that the formulas return no purchases at all.
    broken = BetaGeo()
    broken.params_ = {"r": 1.12, "alpha": 34.6, "a": 90_799.0, "b": 998_710.0}
    assert runaway(broken.params_) is None
    assert "numerically broken" in str(inconsistent(broken, s.frequency, s.age))


def test_a_runaway_gamma_gamma_never_surfaces_as_nan(
    buyers: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def runaway_fit(self: GammaGamma, frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
        self.params_ = {"p": 3.56e6, "q": 3.56e6, "v": 3.1e7}
        self.log_likelihood_ = 0.0
        return self

    monkeypatch.setattr(GammaGamma, "fit", runaway_fit)
    fit = fit_btyd(buyers, AS_OF)
    assert fit.gg is None
    assert any(note.startswith("gamma_gamma_refused") for note in fit.notes)
    prediction = predict_value(fit, buyers, preset("retail"), AS_OF)
    assert prediction.value_model == f"{fit.count_model}+group_spend"
    assert np.isfinite(prediction.values["clv_365"].to_numpy()).all()


def test_identical_spend_makes_gamma_gamma_run_away_and_the_fallback_takes_over(
    buyers: pl.DataFrame,
) -> None:
    # Every repeat purchase day worth 50.00: no spend heterogeneity for Gamma-Gamma to fit.
    flat = buyers.with_columns(
        pl.when(pl.col("n_purchases") > 1).then(5000.0).alias("repeat_spend_mean_cents")
    )
    fit = fit_btyd(flat, AS_OF)
    assert fit.gg is None
    assert any("gamma_gamma" in note for note in fit.notes)
    prediction = predict_value(fit, flat, preset("retail"), AS_OF)
    assert prediction.value_model == f"{fit.count_model}+group_spend"
    values = prediction.values["clv_365"].to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()


def test_spend_that_rises_with_frequency_is_not_left_to_gamma_gamma(
    buyers: pl.DataFrame,
) -> None:
    rng = np.random.default_rng(3)
    scaled = buyers.with_columns(
        pl.when(pl.col("n_purchases") > 1)
        .then(
            1000.0
            * pl.col("n_purchases").cast(pl.Float64)
            * pl.Series(rng.gamma(20.0, 1 / 20.0, buyers.height))
        )
        .alias("repeat_spend_mean_cents")
    )
    fit = fit_btyd(scaled, AS_OF)
    check = fit.describe()["spend_frequency_check"]
    assert check["spearman"] > 0.1
    assert fit.gg is None
    assert fit.spend is not None
    assert any("gamma_gamma_dependence" in note for note in fit.notes)
    assert fit.describe()["spend_model"] == "group_spend"
    # Spend drawn independently of frequency passes the check and keeps Gamma-Gamma.
    independent = buyers.with_columns(
        pl.when(pl.col("n_purchases") > 1)
        .then(pl.Series(rng.lognormal(np.log(8000), 0.6, buyers.height)))
        .alias("repeat_spend_mean_cents")
    )
    plain = fit_btyd(independent, AS_OF)
    assert abs(plain.describe()["spend_frequency_check"]["spearman"]) <= 0.1
    assert plain.gg is not None
    assert plain.describe()["spend_model"] == "gamma_gamma"


def test_group_spend_shrinks_toward_the_frequency_group_mean() -> None:
    x = np.array([1.0, 1.0, 2.0, 2.0, 0.0])
    m = np.array([10.0, 30.0, 100.0, 300.0, 0.0])
    spend = GroupSpend.of(x, m, pseudo=2.0)
    assert spend is not None
    got = spend.expected_spend(x, m)
    # x = 1 group mean 20, x = 2 group mean 200; x = 0 gets the overall repeat mean 110.
    assert got.tolist() == pytest.approx(
        [(10 + 40) / 3, (30 + 40) / 3, (200 + 400) / 4, (600 + 400) / 4, 110.0]
    )


def test_discounted_purchases_match_clv_and_the_generic_path(buyers: pl.DataFrame) -> None:
    s = Summary.of(buyers, AS_OF)
    bg = BetaGeo().fit(s.frequency, s.recency, s.age)
    gg = GammaGamma().fit(s.frequency, s.monetary)
    rate, horizon = 0.002, 365 / 7
    reference = clv(
        bg,
        gg,
        s.frequency,
        s.recency,
        s.age,
        s.monetary,
        horizon=horizon,
        discount_rate_per_period=rate,
    )
    ours = discounted_purchases(bg, s, horizon, rate) * gg.expected_spend(s.frequency, s.monetary)
    assert ours == pytest.approx(reference, rel=1e-9)
    wrapped = WrappedBetaGeo()
    wrapped.params_ = dict(bg.params_)
    generic = discounted_purchases(wrapped, s, horizon, rate)
    assert generic == pytest.approx(discounted_purchases(bg, s, horizon, rate), rel=0.01)


def test_another_count_model_can_be_chosen_and_used(
    buyers: pl.DataFrame, days: pl.DataFrame
) -> None:
    fit = fit_btyd(buyers, AS_OF, days=days, candidates=(WrappedBetaGeo,))
    assert fit.count_model == "WrappedBetaGeo"
    prediction = predict_value(fit, buyers, preset("retail"), AS_OF)
    assert prediction.value_model == f"WrappedBetaGeo+{fit.describe()['spend_model']}"
    assert np.isfinite(prediction.values["clv_365"].to_numpy()).all()


def test_small_bases_are_pulled_toward_the_industry_prior(buyers: pl.DataFrame) -> None:
    assert btyd_prior_weight(0) == 1.0
    assert btyd_prior_weight(SMALL_BASE_REPEAT_BUYERS // 2) == pytest.approx(0.5)
    assert btyd_prior_weight(SMALL_BASE_REPEAT_BUYERS) == 0.0
    small = buyers.head(150)
    repeaters = int((small["n_purchases"] > 1).sum())
    assert 10 <= repeaters < SMALL_BASE_REPEAT_BUYERS
    s = Summary.of(small, AS_OF)
    own = BetaGeo().fit(s.frequency, s.recency, s.age).params_
    prior = BTYD_PRIORS["retail"]["bg_nbd"]
    assert prior is not None
    fit = fit_btyd(small, AS_OF, industry="retail")
    assert fit.describe()["priors_used"] == ["btyd"]
    assert fit.bg is not None
    weight = btyd_prior_weight(repeaters)
    assert fit.bg.params_ == pytest.approx(shrink(own, prior, weight))
    for name, value in fit.bg.params_.items():
        low, high = sorted((own[name], prior[name]))
        assert low <= value <= high
    # Without an industry the same base keeps its own fit.
    plain = fit_btyd(small, AS_OF, candidates=(BetaGeo,))
    assert plain.describe()["priors_used"] == []
    assert plain.bg is not None
    assert plain.bg.params_ == pytest.approx(own)


def test_a_base_with_a_single_repeat_buyer_gets_the_prior_itself() -> None:
    day = AS_OF
    orders = [(1, day - timedelta(days=10), 5000), (1, day - timedelta(days=40), 3000)]
    orders += [(2, day - timedelta(days=300), 8000)]
    frames = hand_built([1, 2], orders)
    buyers = customer_features(frames, preset("dental"), AS_OF).filter(
        pl.col("first_purchase").is_not_null()
    )
    fit = fit_btyd(buyers, AS_OF, industry="dental")
    assert fit.bg is not None
    assert fit.bg.params_ == BTYD_PRIORS["dental"]["bg_nbd"]
    assert fit.gg is None  # dental has no Gamma-Gamma prior; the group spend is used
    prediction = predict_value(fit, buyers, preset("dental"), AS_OF)
    assert prediction.value_model == f"{fit.count_model}+group_spend"
    assert prediction.values["p_alive"].is_between(0, 1).all()


def test_the_default_candidates_and_names() -> None:
    assert COUNT_MODELS[0] is BetaGeo
    assert ModifiedBetaGeo in COUNT_MODELS
    assert model_name(ModifiedBetaGeo()) == "mbg_nbd"
    assert model_name(BetaGeo()) == "bg_nbd"
    assert model_name(BetaGeo(penalizer=0.1)) == "bg_nbd(penalizer=0.1)"
    assert isinstance(BtydFit(None, None, 0, ()).describe()["priors_used"], list)


def _summary(buyers: pl.DataFrame) -> tuple[Any, Any, Any]:
    s = Summary.of(buyers, AS_OF)
    return s.frequency, s.recency, s.age
