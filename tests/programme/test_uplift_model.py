"""The X-learner uplift model (winback.programme.uplift_model): it recovers a known
heterogeneous effect, cross-fitting never uses a round's own outcomes, the fallback policies,
determinism and the recorded form."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winback.programme.uplift_feedback import shrunk_uplift
from winback.programme.uplift_model import (
    UpliftModel,
    choose_policy,
    cross_fitted,
    decide,
    fit_uplift,
    segment_counts,
    targeting_from,
)

STAGES = np.array(["silent", "sleeping", "lost"])


def true_effect(frame: pl.DataFrame) -> np.ndarray:
    """A hump in lateness times P(alive): what a call adds to P(return)."""
    late = np.log(frame["days_since_last"].to_numpy() / frame["expected_interval_days"].to_numpy())
    hump = np.exp(-0.5 * ((late - np.log(2.5)) / 0.7) ** 2)
    return 0.3 * hump * (0.25 + 0.75 * frame["p_alive"].to_numpy())


def customers(n: int, seed: int, start: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    interval = rng.uniform(20, 120, n)
    lateness = np.exp(rng.normal(0.6, 0.9, n))
    days = np.maximum(1, (lateness * interval).round()).astype(np.int64)
    stage = np.where(lateness < 1.5, 0, np.where(lateness < 3.0, 1, 2))
    return pl.DataFrame(
        {
            "customer_pk": np.arange(start, start + n, dtype=np.int64),
            "stage": STAGES[stage],
            "tier": rng.integers(1, 6, n),
            "days_since_last": days,
            "expected_interval_days": interval,
            "p_alive": rng.beta(2, 2, n),
            "churn_probability": rng.beta(2, 3, n),
            "clv_365": rng.gamma(2.0, 200.0, n),
        }
    )


def rounds(k: int, n: int, seed: int, control: float = 0.1, effect: float = 1.0) -> pl.DataFrame:
    parts = []
    for r in range(k):
        c = customers(n, seed * 100 + r, start=r * n)
        rng = np.random.default_rng(seed * 1000 + r)
        treated = rng.random(n) >= control
        base = 0.05 + 0.15 * c["churn_probability"].to_numpy()
        p = base + treated * effect * true_effect(c)
        parts.append(
            c.with_columns(
                round_id=pl.lit(r + 1, dtype=pl.Int64),
                arm=pl.Series(np.where(treated, "treated", "control")),
                returned=pl.Series(rng.random(n) < p),
            )
        )
    return pl.concat(parts)


def test_the_model_recovers_a_heterogeneous_effect_better_than_the_segments() -> None:
    rows = rounds(4, 4000, seed=1, control=0.2)
    model = fit_uplift(rows)
    fresh = customers(5000, seed=99, start=10**6)
    truth = true_effect(fresh)
    tau, p0 = model.model_uplift(fresh)
    blended = model.predict(fresh)["uplift"].to_numpy()
    seg = shrunk_uplift(segment_counts(rows), "segment")
    by_segment = dict(seg.select("segment", "uplift").iter_rows())
    key = (fresh["stage"] + "|" + fresh["tier"].cast(pl.String)).to_list()
    segment_only = np.array([by_segment.get(s, seg["average"][0]) for s in key])

    def mse(x: np.ndarray) -> float:
        return float(np.mean((x - truth) ** 2))

    assert mse(tau) < 0.7 * mse(segment_only)
    assert mse(blended) < mse(segment_only)
    assert np.corrcoef(tau, truth)[0, 1] > 0.6
    assert 0.0 < model.shrink_weight < 1.0
    assert model.n_control == int((rows["arm"] == "control").sum())
    assert np.all((p0 > 0) & (p0 < 1))


def test_cross_fitting_never_uses_a_rounds_own_outcomes() -> None:
    rows = rounds(3, 1500, seed=2)
    before = cross_fitted(rows)
    flipped = rows.with_columns(
        returned=pl.when(pl.col("round_id") == 2).then(~pl.col("returned")).otherwise("returned")
    )
    after = cross_fitted(flipped)
    assert before.height == after.height == rows.height
    own = pl.col("round_id") == 2
    assert before.filter(own)["uplift"].to_list() == after.filter(own)["uplift"].to_list()
    # the other rounds were trained on round 2, so their predictions move
    others_before = before.filter(~own)["uplift"].to_numpy()
    others_after = after.filter(~own)["uplift"].to_numpy()
    assert np.max(np.abs(others_before - others_after)) > 1e-6


def test_a_round_without_another_round_to_learn_from_is_left_out() -> None:
    one = rounds(1, 500, seed=3)
    assert cross_fitted(one).is_empty()


def test_the_policy_falls_back_with_few_data() -> None:
    empty = rounds(1, 10, seed=4).head(0)
    assert choose_policy(empty) == "stage_priors"
    one_round = rounds(1, 3000, seed=4)
    assert (one_round["arm"] == "control").sum() >= 200
    assert choose_policy(one_round) == "measured_segments"  # a single round: no model
    small = rounds(2, 500, seed=4)
    assert (small["arm"] == "control").sum() < 200
    assert choose_policy(small) == "measured_segments"
    assert choose_policy(small, min_controls=50) == "uplift_model"
    big = rounds(2, 2000, seed=4)
    assert choose_policy(big) == "uplift_model"
    only_treated = big.filter(pl.col("arm") == "treated")
    assert choose_policy(only_treated) == "stage_priors"
    with pytest.raises(ValueError, match="treated and control"):
        fit_uplift(only_treated)


def test_fewer_controls_count_less_against_the_segments() -> None:
    small = fit_uplift(rounds(2, 500, seed=5))
    large = fit_uplift(rounds(2, 5000, seed=5))
    assert small.shrink_weight < large.shrink_weight
    assert small.shrink_weight == pytest.approx(small.n_control / (small.n_control + 200))


def test_the_model_is_deterministic_and_recorded_whole() -> None:
    rows = rounds(2, 1500, seed=6)
    model = fit_uplift(rows)
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=1)
    assert fit_uplift(shuffled).version == model.version
    assert len(model.version) == 12
    other = fit_uplift(rows.with_columns(returned=~pl.col("returned")))
    assert other.version != model.version
    again = UpliftModel.from_json(model.to_json())
    assert again.version == model.version
    fresh = customers(300, seed=7, start=10**6)
    assert again.predict(fresh)["uplift"].to_numpy() == pytest.approx(
        model.predict(fresh)["uplift"].to_numpy(), abs=1e-8
    )
    assert model.to_json()["rounds"] == [1, 2]


def test_missing_snapshot_figures_are_read_not_refused() -> None:
    model = fit_uplift(rounds(2, 1500, seed=8))
    gaps = customers(50, seed=9).with_columns(
        days_since_last=pl.lit(None, dtype=pl.Int64),
        p_alive=pl.lit(None, dtype=pl.Float64),
        churn_probability=pl.lit(None, dtype=pl.Float64),
        clv_365=pl.lit(None, dtype=pl.Float64),
        tier=pl.lit(None, dtype=pl.Int64),
    )
    out = model.predict(gaps)
    assert out.height == 50
    assert out["uplift"].is_finite().all()
    assert out["uplift"].null_count() == 0


@pytest.mark.slow  # three cross-fitted rounds of 3,000, twice
def test_the_model_is_used_only_when_its_cross_fitted_qini_is_above_zero() -> None:
    moved = decide(rounds(3, 3000, seed=10, control=0.2), resamples=300)
    assert moved.policy == "uplift_model"
    assert moved.reason == "qini_above_zero"
    assert moved.model is not None
    assert moved.qini is not None
    assert moved.qini.low is not None
    assert moved.qini.low > 0
    assert moved.crossed_rounds == 3
    # the same customers and base rates, but no call moves anyone
    still = decide(rounds(3, 3000, seed=10, control=0.2, effect=0.0), resamples=300)
    assert still.policy == "measured_segments"
    assert still.reason == "qini_not_above_zero"
    assert still.model is None
    assert still.qini is not None
    assert still.qini.low is not None
    assert still.qini.low <= 0
    few = decide(rounds(1, 500, seed=10))
    assert (few.policy, few.reason) == ("measured_segments", "too_few_outcomes")
    assert decide(rounds(1, 5, seed=10).head(0)).reason == "no_measured_round"


def test_the_round_targeting_rule_predicts_the_candidates_with_the_decided_model() -> None:
    train = rounds(3, 3000, seed=10, control=0.2)
    candidates = customers(400, seed=77, start=90_000)
    chosen = targeting_from(
        train, candidates, random_share=0.2, segments_measured=True, resamples=100
    )
    assert chosen.policy == "uplift_model"
    assert chosen.random_share == 0.2
    model = fit_uplift(train)  # the model decide fits on the same rows
    assert chosen.model_version == model.version
    assert chosen.predictions is not None
    expected = model.predict(candidates)
    assert chosen.predictions["customer_pk"].to_list() == candidates["customer_pk"].to_list()
    assert np.allclose(chosen.predictions["uplift"].to_numpy(), expected["uplift"].to_numpy())
    assert chosen.detail["reason"] == "qini_above_zero"
    assert chosen.detail["training_rounds"] == [1, 2, 3]
    # another fit setting is passed through to the model (and so to its version)
    other = targeting_from(
        train,
        candidates,
        random_share=0.2,
        segments_measured=True,
        resamples=100,
        require_evidence=False,
        fit_options={"shrink_controls": 0.0},
    )
    assert other.detail["shrink_weight"] == 1.0
    assert other.model_version != chosen.model_version
    # no effect: the measured segments, or the stage priors when no segment has a figure
    still = rounds(3, 3000, seed=10, control=0.2, effect=0.0)
    fallback = targeting_from(
        still, candidates, random_share=0.1, segments_measured=True, resamples=100
    )
    assert (fallback.policy, fallback.predictions) == ("measured_segments", None)
    bare = targeting_from(
        still, candidates, random_share=0.1, segments_measured=False, resamples=100
    )
    assert bare.policy == "stage_priors"
    assert bare.detail["reason"] == "qini_not_above_zero"
