"""Early warning (R9): the flag rate the business chooses, the signals that explain it,
stage-appropriate actions, and the precision of earlier flags."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from winback.analytics.early_warning import (
    early_warning_expr,
    retention_action_expr,
    warning_precision,
)
from winback.analytics.pipeline import AnalysisResult, analyze
from winback.config import BusinessProfile

from .conftest import AS_OF
from .synth import Synthetic, concat_frames, hand_built


def test_actions_follow_the_stage_policy() -> None:
    frame = pl.DataFrame(
        {
            "stage": ["active", "silent", "sleeping", "lost", "active", "silent", "active"],
            "status": ["at_risk", "at_risk", "at_risk", "at_risk", "lost", "active", "active"],
            "early_warning": [True, True, True, True, False, True, False],
            "complaint_open_n": [0, 0, 0, 0, 0, 1, 1],
        }
    )
    assert frame.select(retention_action_expr()).to_series().to_list() == [
        "care_call",
        "light_touch_incentive",
        "targeted_offer",
        "winback_team",
        "winback_team",
        "resolve_complaint",
        "",
    ]


def _signal_codes(text: str) -> list[str]:
    return [s["code"] for s in json.loads(text)]


@pytest.mark.slow
def test_rules_explain_the_flagged(synth: Synthetic, retail: BusinessProfile) -> None:
    spend_down, engagement_stopped, unanswered, late_weekly = range(9_200_001, 9_200_005)
    day = AS_OF
    # Twenty monthly purchases of 200.00, then the last year at 20.00: spend down 90%.
    orders = [
        (spend_down, day - timedelta(days=5 + 30 * k), 20000 if k >= 12 else 2000)
        for k in range(24)
    ]
    orders += [(engagement_stopped, day - timedelta(days=4 + 25 * k), 5000) for k in range(30)]
    orders += [(unanswered, day - timedelta(days=3 + 20 * k), 5000) for k in range(30)]
    orders += [(late_weekly, day - timedelta(days=25 + 7 * k), 5000) for k in range(60)]
    events = [
        {
            "customer_pk": engagement_stopped,
            "event_type": "event_attendance",
            "occurred_date": day - timedelta(days=400 + 20 * k),
        }
        for k in range(10)
    ]
    contacts = [
        (unanswered, day - timedelta(days=d), "outbound", "not_reached") for d in (10, 30, 50)
    ]
    extra = hand_built(
        [spend_down, engagement_stopped, unanswered, late_weekly],
        orders,
        events,
        contacts=contacts,
    )
    # Everyone not lost is flagged (share 1.0): the rules then say why.
    everyone = replace(retail, early_warning_share=1.0)
    scores = analyze(concat_frames(synth.frames, extra), everyone, AS_OF).scores
    rows = {
        r["customer_pk"]: r
        for r in scores.filter(pl.col("customer_pk") > 9_200_000).rows(named=True)
    }
    assert all(row["early_warning"] for row in rows.values())
    assert "spend_down" in _signal_codes(rows[spend_down]["top_signals"])
    assert "engagement_down" in _signal_codes(rows[engagement_stopped]["top_signals"])
    assert "unanswered_contacts" in _signal_codes(rows[unanswered]["top_signals"])
    late = rows[late_weekly]
    assert late["stage"] == "active"
    assert late["retention_action"] == "care_call"
    assert _signal_codes(late["top_signals"])[0] == "late_vs_rhythm"


def test_lost_customers_are_not_early_warnings(analysis: AnalysisResult) -> None:
    scores = analysis.scores
    lost = scores.filter(pl.col("status") == "lost")
    assert lost.height > 0
    assert not lost["early_warning"].any()
    assert (lost["retention_action"] == "winback_team").all()
    flagged = scores.filter(pl.col("early_warning"))
    assert flagged.height > 0
    assert (flagged["retention_action"] != "").all()


def _candidates(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.filter((pl.col("stage") != "prospect") & (pl.col("status") != "lost"))


def test_the_share_flags_the_riskiest_buyers_not_lost(
    analysis: AnalysisResult, retail: BusinessProfile
) -> None:
    candidates = _candidates(analysis.scores)
    flagged = candidates.filter(pl.col("early_warning"))
    wanted = math.ceil(retail.early_warning_share * candidates.height)
    # Open complaints (resolve_complaint) come on top of the ranking's share.
    complaints = int((flagged["retention_action"] == "resolve_complaint").sum())
    assert wanted <= flagged.height <= wanted + complaints
    # Every flagged customer is at least as risky as every unflagged candidate.
    unflagged = candidates.filter(~pl.col("early_warning"))
    assert flagged["churn_probability"].min() is not None
    top = candidates.sort(["churn_probability", "customer_pk"], descending=[True, False]).head(
        wanted
    )
    assert set(top["customer_pk"]) <= set(flagged["customer_pk"])
    assert unflagged["churn_probability"].max() <= top["churn_probability"].min()


def _frame(risk: list[float], complaints: list[int] | None = None) -> pl.DataFrame:
    n = len(risk)
    return pl.DataFrame(
        {
            "customer_pk": list(range(n, 0, -1)),  # not sorted: ties must not rely on order
            "stage": ["active"] * (n - 2) + ["lost", "prospect"],
            "status": ["active"] * (n - 2) + ["lost", "active"],
            "complaint_open_n": complaints or [0] * n,
            "churn_probability": risk,
        }
    )


def test_capacity_wins_and_ties_go_to_the_smaller_key(retail: BusinessProfile) -> None:
    # 8 candidates (the last two rows are lost / a prospect, never flagged).
    risk = [0.5, 0.9, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4, 0.99, 0.99]
    frame = _frame(risk)
    capacity = replace(retail, early_warning_share=0.5, early_warning_capacity=3)
    flags = frame.with_columns(early_warning_expr(capacity).alias("w"))
    chosen = sorted(flags.filter(pl.col("w"))["customer_pk"].to_list())
    # 0.9 (pk 9), then the 0.5 ties: pks 10, 8, 7 -> the two smallest, 7 and 8.
    assert chosen == [7, 8, 9]
    half = frame.with_columns(
        early_warning_expr(replace(retail, early_warning_share=0.5)).alias("w")
    )
    assert half["w"].sum() == 4  # ceil(0.5 x 8)
    assert not half.filter(pl.col("stage").is_in(["lost", "prospect"]))["w"].any()


def test_open_complaints_are_always_flagged(retail: BusinessProfile) -> None:
    risk = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4, 0.01, 0.5, 0.5]
    complaints = [0, 0, 0, 0, 0, 0, 0, 2, 1, 0]
    frame = _frame(risk, complaints).with_columns(
        early_warning_expr(replace(retail, early_warning_capacity=1)).alias("w")
    )
    flagged = frame.filter(pl.col("w"))
    # The riskiest (pk 10) and the candidate with the complaint (pk 3); the lost one is not.
    assert sorted(flagged["customer_pk"].to_list()) == [3, 10]


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_the_share_is_validated(retail: BusinessProfile, share: float) -> None:
    with pytest.raises(ValueError, match="early_warning_share"):
        replace(retail, early_warning_share=share)


def test_the_capacity_is_validated(retail: BusinessProfile) -> None:
    with pytest.raises(ValueError, match="early_warning_capacity"):
        replace(retail, early_warning_capacity=0)


def test_precision_counts_the_drifted(retail: BusinessProfile) -> None:
    flagged_on, as_of = date(2025, 5, 31), date(2025, 6, 30)
    days = (as_of - flagged_on).days
    flags = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5, 6, 7, 8],
            "stage": ["active"] * 6 + ["lost", "prospect"],
            "status": [
                "at_risk",
                "active",
                "active",
                "active",
                "active",
                "active",
                "lost",
                "active",
            ],
            "early_warning": [True, True, True, False, False, False, False, False],
        }
    )
    now = pl.DataFrame(
        {
            "customer_pk": [1, 2, 3, 4, 5, 6, 7, 8],
            "status": ["lost", "active", "active", "active", "active", "active", "lost", "active"],
            # 1: lost, no purchase since; 2: overdue but bought after the flag; 3: no purchase,
            # on rhythm; 4: overdue, no purchase; 5, 6: bought recently.
            "days_since_last": [days + 90, days - 1, days + 5, days + 40, 2, 3, days + 300, None],
            "expected_interval_days": [20.0, 5.0, 100.0, 30.0, 20.0, 20.0, 20.0, None],
        }
    )
    result = warning_precision(flags, now, flagged_on, as_of, retail)
    assert result["flagged"] == 3
    assert result["flagged_drifted"] == 1
    assert result["precision"] == pytest.approx(1 / 3, abs=1e-6)
    assert result["unflagged"] == 3  # 4, 5, 6 (7 was lost, 8 never bought)
    assert result["unflagged_drifted"] == 1
    assert result["base_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert result["lift"] == pytest.approx(1.0, abs=1e-3)
    assert result["days"] == days


def test_precision_drops_customers_gone_since(retail: BusinessProfile) -> None:
    flags = pl.DataFrame(
        {
            "customer_pk": [1, 2],
            "stage": ["active"] * 2,
            "status": ["active"] * 2,
            "early_warning": [True, False],
        }
    )
    now = pl.DataFrame(
        {
            "customer_pk": [2],
            "status": ["active"],
            "days_since_last": [1],
            "expected_interval_days": [10.0],
        },
        schema={
            "customer_pk": pl.Int64,
            "status": pl.String,
            "days_since_last": pl.Int64,
            "expected_interval_days": pl.Float64,
        },
    )
    result = warning_precision(flags, now, date(2025, 1, 1), date(2025, 2, 1), retail)
    assert result["flagged"] == 0
    assert result["precision"] is None
    assert result["lift"] is None
    assert np.isclose(result["base_rate"], 0.0)
