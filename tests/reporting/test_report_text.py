"""Sentences follow the numbers: a whole report built from hand-made inputs, no database."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy
from winback.reporting import metrics
from winback.reporting.text import sentences

from . import rounds_world

NOW, BEFORE = date(2024, 6, 30), date(2024, 6, 1)
FLOW = {"from": pl.String(), "to": pl.String(), "customers": pl.Int64()}


def counts(active: int, lost: int) -> dict[str, Any]:
    return {
        "stage": {"active": active, "lost": lost},
        "status": {"active": active, "lost": lost},
        "early_warning": {"true": 3},
    }


def inputs(rounds: list[dict[str, Any]]) -> metrics.ReportInputs:
    runs = [
        {"as_of": BEFORE, "customers": 100, "counts": counts(80, 20), "audit": {}},
        {"as_of": NOW, "customers": 100, "counts": counts(70, 30), "audit": {}},
    ]
    flow = pl.DataFrame(
        [("active", "active", 70), ("active", "lost", 10), ("lost", "lost", 20)],
        schema=FLOW,
        orient="row",
    )
    return metrics.ReportInputs(
        window=metrics.month_window(NOW),
        current_as_of=NOW,
        previous_as_of=BEFORE,
        year_ago_as_of=None,
        runs=runs,
        stage_flows=[{"before": BEFORE, "after": NOW, "flow": flow}],
        tier_flow=pl.DataFrame(schema=FLOW),
        early_warning=None,
        revenue_12m=pl.DataFrame(
            {"customer_pk": [1, 2], "amount_cents": [900, 100]},
        ),
        rounds=rounds,
        reason_records=pl.DataFrame(
            {
                "customer_pk": [1, 2, 3],
                "recorded_date": [date(2024, 6, 3), date(2024, 6, 4), date(2024, 5, 9)],
                "reason_code": ["price", "price", "moved_away"],
            }
        ),
        taxonomy=Taxonomy.default(),
        playbooks=Playbooks.default(),
        agents=pl.DataFrame(
            {
                "agent": ["a"],
                "outcome": ["reached"],
                "simulated": [True],
                "attempts": [4],
                "tasks": [4],
                "tasks_returned": [1],
            }
        ),
        imports=pl.DataFrame(
            schema={
                "batch_id": pl.Int64(),
                "kind": pl.String(),
                "read": pl.Int64(),
                "rejected": pl.Int64(),
                "cause": pl.String(),
                "rows": pl.Int64(),
            }
        ),
    )


def matured(uplift: float, cost: float, n_control: int = 300) -> list[dict[str, Any]]:
    """Two matured rounds with a true return-rate ``uplift`` and a round ``cost``."""
    return [
        rounds_world.status(
            k, month, uplift=uplift, cost=cost, n_treated=9 * n_control, n_control=n_control, seed=k
        )
        for k, month in ((1, "2024-02"), (2, "2024-03"))
    ]


@pytest.mark.parametrize(
    ("rounds", "decision", "en", "zh"),
    [
        (matured(0.15, 1000.0), "continue", "Worth continuing", "值得继续"),
        (matured(0.0, 200_000.0), "stop", "Stop or redesign", "建议停止"),
        (matured(0.0, 0.0, n_control=40), "not_yet_known", "Not yet known", "尚不可知"),
        ([], "not_yet_known", "too early", "暂无法判断"),
    ],
)
def test_verdict_sentence_follows_the_numbers(
    rounds: list[dict[str, Any]], decision: str, en: str, zh: str
) -> None:
    report = metrics.build_report(inputs(rounds))
    assert report["verdict"]["decision"] == decision
    assert en in sentences(report, "en")["verdict"][0]
    assert zh in sentences(report, "zh")["verdict"][0]
    for lang in ("en", "zh"):  # the methods are named in plain words
        methods = sentences(report, lang)["verdict"][-1]
        assert "CUPED" in methods
        assert "95%" in methods


def test_no_round_is_singled_out_and_every_round_has_its_interval() -> None:
    report = metrics.build_report(inputs(matured(0.15, 1000.0)))
    for lang in ("en", "zh"):
        text = " ".join(sentences(report, lang)["rounds"])
        assert "best" not in text
        assert "最高" not in text
    rounds = report["rounds"]
    assert rounds.height == 2
    assert (
        rounds.select("return_low", "return_high", "net_low", "net_high")
        .null_count()
        .sum_horizontal()[0]
        == 0
    )
    assert (rounds["net_low"] <= rounds["net"]).all()
    assert (rounds["net"] <= rounds["net_high"]).all()


def test_sentences_carry_the_figures() -> None:
    report = metrics.build_report(inputs(matured(0.15, 1000.0)))
    en = sentences(report, "en")
    assert "30 customers are lost, up 10 on last month" in en["kpis"][0]
    assert "10 customers were newly lost and 0 won back, net -10" in en["lost_won"][0]
    assert "Price too high at 100.0%" in en["reasons"][0]
    zh = sentences(report, "zh")
    assert "较上月增加 10 名" in zh["kpis"][0]
    assert "4 次为模拟联系" in zh["agents"][0]
    assert "90.0%" in en["pareto"][0], "the top 20% (one of two buyers) brought 9 of 10"


def with_model(model: dict[str, Any]) -> metrics.ReportInputs:
    base = inputs([])
    runs = [dict(r) for r in base.runs]
    runs[-1]["model"] = model
    base.runs = runs
    return base


STORED = {
    "flagged_on": "2024-05-31",
    "as_of": "2024-06-30",
    "days": 30,
    "flagged": 40,
    "flagged_drifted": 14,
    "precision": 0.35,
    "unflagged": 360,
    "unflagged_drifted": 36,
    "base_rate": 0.1,
    "lift": 3.5,
}


def test_the_stored_precision_is_told_at_one_and_three_months() -> None:
    report = metrics.build_report(
        with_model({"early_warning_precision": {"1m": STORED, "3m": None}})
    )
    assert report["early_warning"]["stored"] == {"1m": STORED, "3m": None}
    en = " ".join(sentences(report, "en")["early_warning"])
    assert "Of 40 customers flagged about 1 month ago (2024-05-31), 14 (35.0%)" in en
    assert "3.5 times" in en
    assert "3 months" not in en
    zh = " ".join(sentences(report, "zh")["early_warning"])
    assert "约 1 个月前（2024-05-31）预警的 40 名客户中" in zh
    assert "注意" not in zh


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ({"priors_used": ["btyd"], "status_rule": "probability_cutoff"}, True),
        ({"priors_used": [], "status_rule": "base_rate"}, True),
        ({"priors_used": [], "status_rule": "probability_cutoff"}, False),
        ({}, False),
        ({"priors_used": "btyd"}, False),  # not a list: read defensively
    ],
)
def test_the_history_notice_follows_the_model(model: dict[str, Any], shown: bool) -> None:
    report = metrics.build_report(with_model(model))
    assert report["history"]["shown"] is shown
    for lang, words in (("en", "too little history"), ("zh", "自身历史数据还不够")):
        text = " ".join(sentences(report, lang)["audit"] + sentences(report, lang)["early_warning"])
        told = words in text or ("base rate" in text if lang == "en" else "流失基准率" in text)
        assert told is shown


@pytest.mark.slow  # a whole report with its charts
def test_html_is_self_contained_and_marks_simulated_sections() -> None:
    from winback.reporting.render_html import render_html

    report = metrics.build_report(inputs(matured(0.15, 1000.0)))
    html = render_html(report, "en")
    assert "<script" not in html
    assert "<svg" in html
    assert html.count("SIMULATED (demo data)") >= 3
