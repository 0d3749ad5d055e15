"""analyze(): the snapshot contract, determinism, purchase-only data, signals, counts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics.early_warning import ACTIONS
from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    SNAPSHOT,
    AnalyticsFrames,
    empty,
)
from winback.analytics.indicators import CODES
from winback.analytics.pipeline import AnalysisResult, analyze
from winback.config import BusinessProfile, preset

from .conftest import AS_OF
from .synth import Synthetic, synth_history

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_sample.txt"


def test_scores_follow_the_snapshot_contract(analysis: AnalysisResult, synth: Synthetic) -> None:
    scores = analysis.scores
    assert scores.schema == pl.Schema(SNAPSHOT)
    assert scores["customer_pk"].is_sorted()
    assert scores["customer_pk"].is_unique().all()
    assert (scores["as_of"] == AS_OF).all()
    assert scores["churn_score"].is_between(0, 100).all()
    assert scores["status"].is_in(["active", "at_risk", "lost"]).all()
    assert scores["abc_class"].is_in(list("ABCDE")).all()
    assert scores["retention_action"].is_in(["", *ACTIONS]).all()
    assert set(scores["customer_pk"]) <= set(synth.frames.customers["customer_pk"])
    assert set(analysis.timings) >= {"features", "fit", "score"}
    assert set(analysis.weights) == set(CODES)


def test_counts_add_up(analysis: AnalysisResult) -> None:
    n = analysis.scores.height
    for dimension in ("stage", "status", "customer_type", "abc_class", "early_warning"):
        assert sum(analysis.counts[dimension].values()) == n, dimension
    buyers = analysis.scores["days_since_last"].is_not_null().sum()
    assert sum(analysis.counts["tier"].values()) == buyers
    assert sum(analysis.counts["rfm_octant"].values()) == buyers


def test_same_inputs_same_output(synth: Synthetic, retail: BusinessProfile) -> None:
    first = analyze(synth.frames, retail, AS_OF)
    second = analyze(synth.frames, retail, AS_OF)
    assert_frame_equal(first.scores, second.scores, check_exact=True)
    for part in ("weights", "audit", "backtest", "counts", "value_table", "model"):
        assert json.dumps(getattr(first, part), sort_keys=True) == json.dumps(
            getattr(second, part), sort_keys=True
        ), part


def test_top_signals_are_deterministic_json(analysis: AnalysisResult) -> None:
    signals = [json.loads(text) for text in analysis.scores["top_signals"]]
    assert all(isinstance(s, list) and len(s) <= 3 for s in signals)
    for row in signals:
        for signal in row:
            assert next(iter(signal)) == "code"
            assert signal["code"] in CODES
    # Re-serialising in the same compact form gives the same text: one spelling per content.
    for text, parsed in zip(analysis.scores["top_signals"], signals, strict=True):
        assert json.dumps(parsed, separators=(",", ":"), ensure_ascii=False) == text
    lost = analysis.scores.filter(pl.col("status") == "lost")
    assert (lost["top_signals"] != "[]").all()  # the lost always come with reasons
    complaints = [s for row in signals for s in row if s["code"] == "open_complaint"]
    assert complaints
    assert all(date.fromisoformat(s["since"]) <= AS_OF for s in complaints)
    late = [s for row in signals for s in row if s["code"] == "late_vs_rhythm"]
    assert late
    assert all(s["days_late"] >= 0 and s["usual_interval_days"] > 0 for s in late)


def test_held_out_metrics_and_audit_are_reported(analysis: AnalysisResult) -> None:
    held = analysis.backtest
    assert held["scores"]["churn_score"]["roc_auc"] > held["scores"]["recency"]["roc_auc"]
    assert 0 < held["customers"] < analysis.audit["customers"]
    assert len(analysis.audit["indicators"]) == len(CODES)
    json.dumps(analysis.audit)  # JSON-ready
    json.dumps(analysis.backtest)


def test_purchase_only_history_drops_empty_indicators(retail: BusinessProfile) -> None:
    frames = synth_history(1500, seed=4, engagement=False).frames
    result = analyze(frames, retail, AS_OF)
    empty_streams = {
        "category_narrowing",
        "engagement_down",
        "engagement_silence",
        "unanswered_contacts",
        "open_complaint",
        "low_satisfaction",
    }
    assert set(result.model["dropped"]) == empty_streams
    assert all(result.weights[c] == 0.0 for c in empty_streams)
    joined = frames.customers.filter(pl.col("join_date") <= AS_OF)
    assert result.scores.height == joined.height  # later joiners are not customers yet
    audit = {row["code"]: row for row in result.audit["indicators"]}
    assert all(audit[c]["reasons"] == ["no_variance"] for c in empty_streams)
    # Without engagement data nobody is held back from "evergreen" for not engaging.
    assert result.counts["customer_type"].get("evergreen", 0) > 0


def _cdnow() -> AnalyticsFrames:
    raw = np.loadtxt(CDNOW, usecols=(0, 2, 4))
    orders = pl.DataFrame(
        {
            "order_pk": np.arange(1, raw.shape[0] + 1),
            "customer_pk": raw[:, 0].astype(np.int64),
            "order_date": raw[:, 1].astype(np.int64).astype(str),
            "amount_cents": np.round(raw[:, 2] * 100).astype(np.int64),
            "coupon_code": None,
        }
    ).with_columns(pl.col("order_date").str.to_date("%Y%m%d"))
    keys = orders["customer_pk"].unique().sort()
    customers = pl.DataFrame({"customer_pk": keys}).with_columns(
        external_id=pl.col("customer_pk").cast(pl.String),
        join_date=None,
        birthday=None,
        store_code=None,
        is_stub=False,
        consent_marketing=True,
        do_not_contact=False,
    )
    return AnalyticsFrames(
        customers.select([pl.col(c).cast(t) for c, t in CUSTOMERS.items()]),
        orders.select([pl.col(c).cast(t) for c, t in ORDERS.items()]),
        empty(ORDER_LINES),
        empty(EVENTS),
        empty(CONTACTS),
    )


def test_cdnow_purchase_only_data_runs() -> None:
    result = analyze(_cdnow(), preset("retail"), date(1998, 3, 31))
    assert result.scores.height == 2357
    # CDNOW's spend rises a little with frequency (Spearman about 0.2): the group spend.
    assert result.model["btyd"]["count_model"] in {"bg_nbd", "mbg_nbd"}
    assert result.model["value_model"] == f"{result.model['btyd']['count_model']}+group_spend"
    assert result.model["weights_source"] == "learned"
    assert result.backtest["scores"]["churn_score"]["roc_auc"] > 0.7
    assert "open_complaint" in result.model["dropped"]


def test_empty_and_prospect_only_bases_do_not_crash(retail: BusinessProfile) -> None:
    nothing = AnalyticsFrames(
        *(empty(c) for c in (CUSTOMERS, ORDERS, ORDER_LINES, EVENTS, CONTACTS))
    )
    result = analyze(nothing, retail, AS_OF)
    assert result.scores.height == 0
    assert result.scores.schema == pl.Schema(SNAPSHOT)
    prospects = synth_history(50, seed=1, prospects_share=1.0).frames
    scored = analyze(prospects, retail, AS_OF).scores
    assert (scored["stage"] == "prospect").all()
    assert (scored["churn_score"] == 0).all()


def test_missing_columns_are_refused(synth: Synthetic, retail: BusinessProfile) -> None:
    broken = AnalyticsFrames(
        synth.frames.customers,
        synth.frames.orders.drop("amount_cents"),
        synth.frames.order_lines,
        synth.frames.events,
        synth.frames.contacts,
    )
    with pytest.raises(ValueError, match="orders frame lacks columns"):
        analyze(broken, retail, AS_OF)


def test_small_young_business_follows_its_lapse_rate_with_the_industry_prior(
    retail: BusinessProfile,
) -> None:
    """300 customers, six months of history: the weights lean on the industry prior and the
    statuses on the business's own lapse rate, not on the 50 cut-off."""
    small = synth_history(300, start=date(2025, 1, 1), end=date(2025, 6, 30), seed=3)
    result = analyze(small.frames, retail, date(2025, 6, 30))
    assert result.model["priors_used"] == ["churn_weights"]
    assert result.model["status_rule"] == "base_rate"
    lapse = result.model["lapse_rate"]
    assert 0.0 < lapse < 1.0
    buyers = result.scores.filter(pl.col("days_since_last").is_not_null())
    at_risk = float(buyers["status"].is_in(["at_risk", "lost"]).mean())
    assert abs(at_risk - lapse) <= 0.10
    probability = buyers["churn_probability"].to_numpy()
    assert ((probability >= 0) & (probability <= 1)).all()
    assert np.allclose(buyers["churn_score"].to_numpy(), np.round(100 * probability, 2), atol=0.01)


def test_large_history_learns_its_own_weights_with_cut_offs(analysis: AnalysisResult) -> None:
    assert analysis.model["priors_used"] == []
    assert analysis.model["status_rule"] == "probability_cutoff"
    assert analysis.model["prior_share"] < 0.5
    assert len(analysis.model["training_origins"]) == 3
