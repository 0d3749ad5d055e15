"""The analysis's work run side by side gives exactly the results of a run in sequence
(docs/decisions/0052).

The training origins' feature queries and model fits, the scoring date's count and spend
models, the held-out and full churn fits and the audit's ranks overlap in threads. Each is
the same computation on the same inputs as in sequence, so the snapshot, the weights, the
chosen models and their parameters, the held-out metrics and the audit must be bit for bit
those of a run whose pools run every task in the caller, on generated and on real (CDNOW)
data; and the training origins must be those of the sequential choice-then-refit loop.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from winback.analytics import pipeline
from winback.analytics.btyd import pareto_nbd
from winback.analytics.btyd_choice import COUNT_MODELS, CountFactory, same_kind
from winback.analytics.churn import indicator_audit, indicator_ranks
from winback.analytics.clv import BetaGeo
from winback.analytics.features import FEATURES, Backend, FeatureSource
from winback.analytics.frames import AnalyticsFrames
from winback.analytics.indicators import CODES
from winback.analytics.metrics import roc_auc, roc_auc_of_ranks
from winback.analytics.pipeline import AnalysisResult, churn_horizon, conformed, run_analysis
from winback.analytics.threads import InCaller
from winback.analytics.value import purchase_days
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import Synthetic
from .test_pipeline import _cdnow

CDNOW_AS_OF = date(1998, 3, 31)


def _in_sequence(
    monkeypatch: pytest.MonkeyPatch, frames: AnalyticsFrames, profile: BusinessProfile, day: date
) -> AnalysisResult:
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "side_by_side", lambda workers: InCaller())
        return run_analysis(frames, profile, day)


def _same(overlapped: AnalysisResult, sequential: AnalysisResult) -> None:
    assert overlapped.scores.equals(sequential.scores)
    assert overlapped.weights == sequential.weights
    assert overlapped.model == sequential.model  # chosen models, parameters, candidates
    assert overlapped.backtest == sequential.backtest
    assert overlapped.audit == sequential.audit
    assert overlapped.counts == sequential.counts  # stages, statuses, tiers, ...


@pytest.mark.slow
def test_generated_history_overlapped_equals_sequential(
    synth: Synthetic, retail: BusinessProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlapped = run_analysis(synth.frames, retail, AS_OF)
    sequential = _in_sequence(monkeypatch, synth.frames, retail, AS_OF)
    assert overlapped.model["training_btyd"]["count_model"] is not None
    _same(overlapped, sequential)


@pytest.mark.slow
def test_cdnow_overlapped_equals_sequential(monkeypatch: pytest.MonkeyPatch) -> None:
    frames, profile = _cdnow(), preset("retail")
    overlapped = run_analysis(frames, profile, CDNOW_AS_OF)
    sequential = _in_sequence(monkeypatch, frames, profile, CDNOW_AS_OF)
    assert len(overlapped.model["training_origins"]) == len(pipeline.STACK_OFFSETS)
    _same(overlapped, sequential)


def _sequential_origins(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    latest: date,
    horizon: int,
    source: FeatureSource,
    days: pl.DataFrame,
) -> list[pipeline._Origin]:
    """The origins' loop in sequence: choose at the latest origin, then each earlier origin
    refits the kind the origin before it ended with."""
    candidates: tuple[CountFactory, ...] = COUNT_MODELS
    choosing: pl.DataFrame | None = days
    result = []
    for offset in pipeline.STACK_OFFSETS:
        day = latest - timedelta(days=offset)
        rows = pipeline._origin_rows(frames, profile, day, horizon, source)
        origin = pipeline._origin_fit(rows, profile, horizon, choosing, candidates)
        fit = origin.btyd
        if fit is not None and fit.bg is not None and not fit.priors_used:
            candidates, choosing = (same_kind(fit.bg),), None
        if origin.label.size:
            result.append(origin)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("data", ["generated", "cdnow"])
def test_origins_are_those_of_the_sequential_loop(
    data: str, synth: Synthetic, retail: BusinessProfile
) -> None:
    frames = conformed(synth.frames if data == "generated" else _cdnow())
    as_of = AS_OF if data == "generated" else CDNOW_AS_OF
    horizon = churn_horizon(retail)
    latest = as_of - timedelta(days=horizon)
    days = purchase_days(frames.orders)
    with FeatureSource(frames, backend="polars") as source:
        expected = _sequential_origins(frames, retail, latest, horizon, source, days)
        got = pipeline._origins(frames, retail, latest, horizon, {}, source, days)
    assert [o.day for o in got] == [o.day for o in expected]
    assert len(got) == len(pipeline.STACK_OFFSETS)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.btyd is not None
        assert theirs.btyd is not None
        assert mine.btyd.describe() == theirs.btyd.describe()
        assert mine.btyd.bg is not None
        assert theirs.btyd.bg is not None
        assert mine.btyd.bg.params_ == theirs.btyd.bg.params_  # exact, not rounded
        np.testing.assert_array_equal(mine.inputs, theirs.inputs)
        np.testing.assert_array_equal(mine.label, theirs.label)
        np.testing.assert_array_equal(mine.keys, theirs.keys)
    # Only the latest origin chose among the candidates; the others refitted its kind.
    assert got[0].btyd is not None
    assert len(got[0].btyd.choice["candidates"]) == len(COUNT_MODELS)
    assert all(len(o.btyd.choice["candidates"]) == 1 for o in got[1:] if o.btyd is not None)


def test_an_earlier_origin_refits_the_kind_the_one_before_it_ended_with(
    synth: Synthetic, retail: BusinessProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the middle origin's refit is refused and a penalised fallback is taken, the
    earliest origin refits that fallback, as in sequence: the refit started beside the
    others with the latest origin's kind is redone."""
    frames = conformed(synth.frames)
    horizon = churn_horizon(retail)
    latest = AS_OF - timedelta(days=horizon)
    middle = latest - timedelta(days=pipeline.STACK_OFFSETS[1])
    fitted_with: list[tuple[date, tuple[type, float] | None]] = []
    real_fit = pipeline._origin_fit
    fallback = BetaGeo(penalizer=0.001)

    def scripted(
        rows: pipeline._OriginRows,
        profile: BusinessProfile,
        horizon: int,
        days: pl.DataFrame | None,
        candidates: tuple[CountFactory, ...],
    ) -> pipeline._Origin:
        made = candidates[0]() if len(candidates) == 1 else None
        kind = None if made is None else (type(made), float(getattr(made, "penalizer", 0.0)))
        fitted_with.append((rows.day, kind))
        origin = real_fit(rows, profile, horizon, days, candidates)
        if rows.day == middle:  # as if its refit had been refused for the fallback
            assert origin.btyd is not None
            fallback.params_ = dict(origin.btyd.bg.params_) if origin.btyd.bg else {}
            origin = replace(origin, btyd=replace(origin.btyd, bg=fallback))
        return origin

    monkeypatch.setattr(pipeline, "_origin_fit", scripted)
    days = purchase_days(frames.orders)
    with FeatureSource(frames, backend="polars") as source:
        origins = pipeline._origins(frames, retail, latest, horizon, {}, source, days)
    earliest = origins[-1]
    assert earliest.btyd is not None
    assert earliest.btyd.bg is not None
    assert type(earliest.btyd.bg) is BetaGeo
    assert earliest.btyd.bg.penalizer == 0.001
    chosen = origins[0].btyd
    assert chosen is not None
    assert chosen.bg is not None
    first_kind = (type(chosen.bg), float(getattr(chosen.bg, "penalizer", 0.0)))
    assert first_kind != (BetaGeo, 0.001)
    earliest_fits = [kind for day, kind in fitted_with if day == earliest.day]
    # Started beside the middle one with the latest origin's kind, then redone.
    assert earliest_fits[-1] == (BetaGeo, 0.001)
    assert [kind for day, kind in fitted_with if day == latest] == [None]


@pytest.mark.slow
def test_a_feature_source_serving_one_query_at_a_time_is_asked_from_one_thread(
    synth: Synthetic, retail: BusinessProfile
) -> None:
    """DuckDB's connection is not shared between threads; its origins equal Polars' (the
    engines agree bit for bit)."""
    frames = conformed(synth.frames)
    horizon = churn_horizon(retail)
    latest = AS_OF - timedelta(days=horizon)
    days = purchase_days(frames.orders)
    with FeatureSource(frames, backend="duckdb") as duck:
        assert not duck.concurrent
        got = pipeline._origins(frames, retail, latest, horizon, {}, duck, days)
    with FeatureSource(frames, backend="polars") as polars_source:
        assert polars_source.concurrent
        expected = pipeline._origins(frames, retail, latest, horizon, {}, polars_source, days)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.btyd is not None
        assert theirs.btyd is not None
        assert mine.btyd.describe() == theirs.btyd.describe()
        np.testing.assert_array_equal(mine.inputs, theirs.inputs)


def test_audit_reads_each_indicator_ranked_once() -> None:
    rng = np.random.default_rng(3)
    inputs = np.round(rng.normal(size=(3000, len(CODES))), 1).astype(np.float64)  # ties
    inputs[:, 1] = inputs[:, 0] * 2 + rng.normal(scale=0.1, size=3000)  # a redundant pair
    label = np.asarray(rng.random(3000) < 1 / (1 + np.exp(-inputs[:, 0])), dtype=bool)
    model = pipeline._fit(inputs, label, None, None)
    audit = indicator_audit(inputs, label, model)
    assert audit == indicator_audit(inputs, label, model, ranks=indicator_ranks(inputs))
    active = [j for j, c in enumerate(CODES) if c not in model.dropped]
    rho = spearmanr(inputs[:, active]).statistic
    np.testing.assert_allclose(audit["spearman"]["matrix"], np.round(rho, 4), atol=1e-12)
    by_code = {row["code"]: row["auc"] for row in audit["indicators"]}
    for j in active:
        assert by_code[CODES[j]] == round(float(roc_auc(inputs[:, j], label) or 0), 4)
    assert audit["redundant_pairs"]  # the pair built above is found


def test_auc_of_ranks_is_the_auc() -> None:
    rng = np.random.default_rng(5)
    score = np.round(rng.normal(size=500), 1).astype(np.float64)
    label = rng.random(500) < 0.3
    ranks = indicator_ranks(score[:, None])[:, 0]
    assert roc_auc_of_ranks(ranks, label) == roc_auc(score, label)
    # The Mann-Whitney count by brute force (vectorised over all pairs), ties half.
    pos, neg = score[label][:, None], score[~label][None, :]
    pairs = (pos > neg).sum() + 0.5 * (pos == neg).sum()
    assert roc_auc(score, label) == pytest.approx(pairs / (pos.size * neg.size), rel=1e-12)
    assert roc_auc_of_ranks(ranks, np.zeros(500, dtype=bool)) is None


@pytest.mark.parametrize("backend", ["polars", pytest.param("duckdb", marks=pytest.mark.slow)])
@pytest.mark.parametrize("data", ["generated", "cdnow"])
def test_features_of_some_columns_are_those_of_the_full_query(
    backend: Backend, data: str, synth: Synthetic, retail: BusinessProfile
) -> None:
    frames = conformed(synth.frames if data == "generated" else _cdnow())
    day = (AS_OF if data == "generated" else CDNOW_AS_OF) - timedelta(days=120)
    with FeatureSource(frames, backend=backend) as source:
        full = source.features(retail, day)
        part = source.features(retail, day, columns=pipeline.SCORING_COLUMNS)
        with pytest.raises(ValueError, match="not feature columns: nope"):
            source.features(retail, day, columns=["spend_cents", "nope"])
    assert part.columns == [c for c in FEATURES if c in pipeline.SCORING_COLUMNS]
    assert part.height == full.height > 0
    assert part.equals(full.select(part.columns))


def _plain_quadrature(
    rule: tuple[np.ndarray, np.ndarray],
    end: np.ndarray,
    c: np.ndarray,
    small_exp: np.ndarray,
    big_exp: np.ndarray,
    *,
    gradient: bool,
) -> np.ndarray:
    """Pareto/NBD's death-time quadrature written as plain expressions (a new array each)."""
    half = end / 2
    sums = np.zeros((5, end.size))
    total, sum_nu, sum_log_big, sum_inv_small, sum_inv_big = sums
    slope = 1.0 - small_exp
    for node, weight in zip(*rule, strict=True):
        nu = half * (node + 1.0)
        grow = np.expm1(nu)
        big_ratio = c * grow
        log_big = np.log1p(big_ratio)
        value = np.exp(slope * nu - big_exp * log_big)
        value *= weight
        total += value
        if gradient:
            sum_nu += value * nu
            sum_log_big += value * log_big
            sum_inv_small += value / (grow + 1.0)
            big_ratio += 1.0
            sum_inv_big += value / big_ratio
    return sums


@pytest.mark.parametrize("gradient", [True, False])
def test_pareto_quadrature_into_buffers_is_the_plain_one_bit_for_bit(gradient: bool) -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    end = rng.uniform(0.0, 12.0, n)
    c = rng.uniform(1e-9, 1.0, n)
    small_exp = rng.uniform(0.5, 40.0, n)
    big_exp = rng.uniform(1.0, 1e4, n)
    for rule in (pareto_nbd._EASY_RULE, pareto_nbd._FULL_RULE):
        got = pareto_nbd._quadrature(rule, end, c, small_exp, big_exp, gradient=gradient)
        expected = _plain_quadrature(rule, end, c, small_exp, big_exp, gradient=gradient)
        assert np.array_equal(got, expected)
        assert np.all(np.isfinite(got[0]))
        assert np.all(got[0] > 0)


def test_past_the_fit_sample_the_origins_query_one_at_a_time_from_the_caller(
    synth: Synthetic, retail: BusinessProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    frames = conformed(synth.frames)
    monkeypatch.setattr(pipeline, "FIT_SAMPLE", frames.customers.height // 2)
    horizon = churn_horizon(retail)
    latest = AS_OF - timedelta(days=horizon)
    days = purchase_days(frames.orders)
    asked_from: list[str] = []
    real_rows = pipeline._origin_rows

    def watched(*args: object) -> pipeline._OriginRows:
        asked_from.append(threading.current_thread().name)
        return real_rows(*args)

    with FeatureSource(frames, backend="polars") as source:
        expected = _sequential_origins(frames, retail, latest, horizon, source, days)
        monkeypatch.setattr(pipeline, "_origin_rows", watched)
        got = pipeline._origins(frames, retail, latest, horizon, {}, source, days)
    assert asked_from == [threading.current_thread().name] * len(pipeline.STACK_OFFSETS)
    assert all(o.sampled for o in got)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.btyd is not None
        assert theirs.btyd is not None
        assert mine.btyd.describe() == theirs.btyd.describe()
        np.testing.assert_array_equal(mine.inputs, theirs.inputs)


def test_the_latest_origin_is_queried_on_its_own_and_its_choice_started_before_the_rest(
    synth: Synthetic, retail: BusinessProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The latest origin's model choice is the training's longest chain: its rows are
    queried first, alone, and the earlier origins' queries run beside its choice."""
    frames = conformed(synth.frames)
    horizon = churn_horizon(retail)
    latest = AS_OF - timedelta(days=horizon)
    events: list[tuple[str, date]] = []
    real_rows, real_fit = pipeline._origin_rows, pipeline._origin_fit

    def rows(*args: object) -> pipeline._OriginRows:
        day = args[2]
        assert isinstance(day, date)
        events.append(("query", day))
        got = real_rows(*args)  # type: ignore[arg-type]
        events.append(("rows", day))
        return got

    def fit(rows_of: pipeline._OriginRows, *args: object) -> pipeline._Origin:
        events.append(("fit", rows_of.day))
        return real_fit(rows_of, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_origin_rows", rows)
    monkeypatch.setattr(pipeline, "_origin_fit", fit)
    days = purchase_days(frames.orders)
    with FeatureSource(frames, backend="polars") as source:
        origins = pipeline._origins(frames, retail, latest, horizon, {}, source, days)
    assert len(origins) == len(pipeline.STACK_OFFSETS)
    first_other_query = next(i for i, (what, day) in enumerate(events) if day != latest)
    assert events[:2] == [("query", latest), ("rows", latest)]
    assert events.index(("fit", latest)) < first_other_query
