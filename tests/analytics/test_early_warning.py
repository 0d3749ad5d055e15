"""Early warning (R9): looser rules, the signals that fired, stage-appropriate actions."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl

from winback.analytics.early_warning import retention_action_expr
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


def test_looser_rules_flag_with_their_signals(synth: Synthetic, retail: BusinessProfile) -> None:
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
    scores = analyze(concat_frames(synth.frames, extra), retail, AS_OF).scores
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
    # The looser rules reach customers the at-risk status does not.
    assert flagged.filter(pl.col("status") == "active").height > 0
