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

NOW, BEFORE = date(2024, 6, 30), date(2024, 6, 1)
FLOW = {"from": pl.String(), "to": pl.String(), "customers": pl.Int64()}


def counts(active: int, lost: int) -> dict[str, Any]:
    return {
        "stage": {"active": active, "lost": lost},
        "status": {"active": active, "lost": lost},
        "early_warning": {"true": 3},
    }


def inputs(horizons: list[dict[str, Any]]) -> metrics.ReportInputs:
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
        rounds=[{"round_id": 1, "month": "2024-03", "horizons": horizons, "simulated": True}],
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


def matured(x_t: int, x_c: int, margin: float, cost: float) -> list[dict[str, Any]]:
    return [
        {
            "horizon": 90,
            "matured": True,
            "n_treated": 1000,
            "n_control": 1000,
            "returned_treated": x_t,
            "returned_control": x_c,
            "incremental_margin": margin,
            "cost": cost,
        }
    ]


@pytest.mark.parametrize(
    ("horizons", "en", "zh"),
    [
        (matured(300, 200, 5000.0, 1000.0), "Worth continuing", "值得继续"),
        (matured(100, 200, 0.0, 1000.0), "Stop or redesign", "建议停止"),
        ([], "too early", "暂无法判断"),
    ],
)
def test_verdict_sentence_follows_the_numbers(
    horizons: list[dict[str, Any]], en: str, zh: str
) -> None:
    report = metrics.build_report(inputs(horizons))
    assert en in sentences(report, "en")["verdict"][0]
    assert zh in sentences(report, "zh")["verdict"][0]


def test_sentences_carry_the_figures() -> None:
    report = metrics.build_report(inputs(matured(300, 200, 5000.0, 1000.0)))
    en = sentences(report, "en")
    assert "30 customers are lost, up 10 on last month" in en["kpis"][0]
    assert "10 customers were newly lost and 0 won back, net -10" in en["lost_won"][0]
    assert "Price too high at 100.0%" in en["reasons"][0]
    zh = sentences(report, "zh")
    assert "较上月增加 10 名" in zh["kpis"][0]
    assert "4 次为模拟联系" in zh["agents"][0]
    assert "90.0%" in en["pareto"][0], "the top 20% (one of two buyers) brought 9 of 10"


def test_html_is_self_contained_and_marks_simulated_sections() -> None:
    from winback.reporting.render_html import render_html

    report = metrics.build_report(inputs(matured(300, 200, 5000.0, 1000.0)))
    html = render_html(report, "en")
    assert "<script" not in html
    assert "<svg" in html
    assert html.count("SIMULATED (demo data)") >= 3
