"""The indicator system: sign-constrained weights, caller overrides, the audit, status rules."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winback.analytics.churn import (
    SCORE_AT_RISK,
    base_rate_cutoff,
    default_model,
    fit_churn_model,
    indicator_audit,
    status_expr,
    with_weights,
)
from winback.analytics.indicators import CODES, INDICATORS
from winback.analytics.pipeline import AnalysisResult, analyze
from winback.config import BusinessProfile

from .conftest import AS_OF
from .synth import Synthetic

LATE = CODES.index("late_vs_rhythm")
SILENCE = CODES.index("long_silence")
COMPLAINT = CODES.index("open_complaint")


def _inputs(n: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indicator inputs where only late_vs_rhythm (and its copy long_silence) drive leaving."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(CODES)))
    x[:, SILENCE] = x[:, LATE] + rng.normal(scale=0.05, size=n)  # a near-duplicate
    x[:, COMPLAINT] = 0.0  # a stream with no data
    leave = rng.random(n) < 1 / (1 + np.exp(-2.0 * x[:, LATE]))
    return x, leave


def test_indicators_are_declared_with_both_languages() -> None:
    assert len(set(CODES)) == len(CODES)
    for indicator in INDICATORS:
        assert indicator.direction in (-1, 1)
        assert indicator.en
        assert indicator.zh
        assert any("\u4e00" <= ch <= "\u9fff" for ch in indicator.zh)


def test_fit_finds_the_driver_and_keeps_weights_non_negative() -> None:
    x, leave = _inputs()
    x[:, CODES.index("spend_down")] = -x[:, LATE]  # pointing the wrong way: must get 0
    model = fit_churn_model(x, leave)
    assert model.source == "learned"
    assert all(w >= 0 for w in model.weights.values())
    assert model.weights["late_vs_rhythm"] + model.weights["long_silence"] > 1.0
    assert model.weights["spend_down"] == 0.0
    noise = [c for c in CODES if c not in {"late_vs_rhythm", "long_silence", "spend_down"}]
    assert max(model.weights[c] for c in noise) < 0.15
    assert model.dropped == {"open_complaint": "no_variance"}
    # The score is a probability: on average it matches the share who left.
    assert model.probability(x).mean() == pytest.approx(leave.mean(), abs=0.02)


def test_audit_flags_redundant_weak_and_empty_indicators() -> None:
    x, leave = _inputs()
    model = fit_churn_model(x, leave)
    audit = indicator_audit(x, leave, model)
    rows = {row["code"]: row for row in audit["indicators"]}
    assert rows["late_vs_rhythm"]["auc"] > 0.75
    assert {"a": "long_silence", "b": "late_vs_rhythm"} in [
        {"a": p["a"], "b": p["b"]} for p in audit["redundant_pairs"]
    ]
    # Of the redundant pair the weaker one is advised to go; pure noise is "weak".
    weaker = min(("late_vs_rhythm", "long_silence"), key=lambda c: rows[c]["auc"])
    stronger = "long_silence" if weaker == "late_vs_rhythm" else "late_vs_rhythm"
    assert rows[weaker]["recommendation"] == "drop"
    assert f"redundant_with:{stronger}" in rows[weaker]["reasons"]
    assert rows[stronger]["recommendation"] == "keep"
    assert "weak" in rows["engagement_down"]["reasons"]
    assert rows["open_complaint"] == {**rows["open_complaint"], "used": False, "auc": None}
    matrix = np.array(audit["spearman"]["matrix"])
    assert matrix.shape == (len(CODES) - 1,) * 2
    assert np.allclose(np.diag(matrix), 1.0)
    assert np.allclose(matrix, matrix.T)


def test_caller_weights_replace_learned_ones() -> None:
    x, leave = _inputs()
    model = fit_churn_model(x, leave)
    mine = with_weights(model, {"late_vs_rhythm": 0.0, "engagement_down": 3.0}, x, leave)
    assert mine.weights["engagement_down"] == 3.0
    assert mine.weights["late_vs_rhythm"] == 0.0
    assert mine.weights["long_silence"] == model.weights["long_silence"]
    assert mine.source == "learned+caller"
    with pytest.raises(ValueError, match="unknown indicator"):
        with_weights(model, {"no_such_sign": 1.0}, x, leave)
    with pytest.raises(ValueError, match=">= 0"):
        with_weights(model, {"late_vs_rhythm": -1.0}, x, leave)


def test_too_little_history_falls_back_to_documented_defaults() -> None:
    x, leave = _inputs(n=20)
    model = fit_churn_model(x, leave)
    assert model.source == "default"
    assert model.weights["late_vs_rhythm"] == default_model(x).weights["late_vs_rhythm"] > 0


def test_too_little_history_with_a_prior_takes_the_prior_and_the_lapse_rate() -> None:
    x, leave = _inputs(n=20)
    prior = dict.fromkeys(CODES, 0.0) | {"long_silence": 0.7}
    model = fit_churn_model(x, leave, prior, 400.0)
    assert model.source == "prior"
    assert model.weights["long_silence"] == 0.7
    assert model.prior_share == 1.0
    rate = (leave.sum() + 0.5) / (leave.size + 1)
    assert model.intercept == pytest.approx(np.log(rate / (1 - rate)))


def test_the_prior_pulls_small_fits_and_lets_large_ones_go() -> None:
    x, leave = _inputs(n=3000)
    free = fit_churn_model(x, leave)
    prior = dict.fromkeys(CODES, 0.0)
    pulled_small = fit_churn_model(x[:150], leave[:150], prior, 400.0)
    pulled_large = fit_churn_model(x, leave, prior, 400.0)
    assert pulled_small.prior_share > 0.5 > pulled_large.prior_share
    size = {m: sum(m.weights.values()) for m in (free, pulled_small, pulled_large)}
    assert size[pulled_small] < size[pulled_large] < size[free]


def test_analyze_uses_caller_weights(
    synth: Synthetic, retail: BusinessProfile, analysis: AnalysisResult
) -> None:
    weights = {"open_complaint": 0.0, "late_vs_rhythm": 2.5}
    mine = analyze(synth.frames, retail, AS_OF, weights=weights)
    assert mine.weights["late_vs_rhythm"] == 2.5
    assert mine.weights["open_complaint"] == 0.0
    assert mine.model["weights_source"] == "learned+caller"
    assert analysis.weights["open_complaint"] > 0  # learned: leavers complain in the synth
    # Without the complaint weight, customers with an open complaint score lower on average.
    complained = synth.frames.events.filter(pl.col("event_type") == "complaint")[
        "customer_pk"
    ].unique()
    is_complainer = pl.col("customer_pk").is_in(complained.implode())
    learned = analysis.scores.filter(is_complainer)["churn_score"].mean()
    assert mine.scores.filter(is_complainer)["churn_score"].mean() != learned


def test_status_combines_score_lateness_and_stage(retail: BusinessProfile) -> None:
    frame = pl.DataFrame(
        {
            "churn_score": [80.0, 80.0, 20.0, 20.0, 20.0, 60.0, 20.0, 0.0],
            "lateness": [4.0, 1.0, 2.0, 0.5, 4.0, 0.2, 0.5, None],
            "stage": [
                "silent",
                "lost",
                "active",
                "sleeping",
                "active",
                "active",
                "lost",
                "prospect",
            ],
        }
    )
    status = frame.select(status_expr(retail)).to_series().to_list()
    assert retail.lateness_lost <= 4.0
    assert retail.lateness_at_risk <= 2.0
    assert SCORE_AT_RISK <= 60.0
    assert status == [
        "lost",  # high score, far behind their own rhythm
        "lost",  # high score, past the business's lost threshold
        "at_risk",  # late vs rhythm, score still low
        "active",  # sleeping by the calendar, but on their own slow rhythm
        "at_risk",
        "at_risk",  # high score alone
        "at_risk",  # past the lost threshold, but the evidence says not gone
        "active",  # a prospect
    ]


def test_base_rate_cutoff_flags_the_lapse_rate_share() -> None:
    scores = np.arange(100, dtype=np.float64)[::-1].copy()
    cutoff = base_rate_cutoff(scores, 0.3)
    assert (scores >= cutoff).sum() == 30
    assert base_rate_cutoff(scores, 0.0) == float("inf")
    assert (scores >= base_rate_cutoff(scores, 1.0)).all()
    assert base_rate_cutoff(np.zeros(0), 0.5) == float("inf")
