"""The report's offer section: results per option of every round (R5, R7)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from winback.reporting import metrics
from winback.reporting.json_report import dumps
from winback.reporting.render_html import render_html
from winback.reporting.text import sentences

from .test_report_text import inputs, matured


def _options(offer: str, presented: int, came_back: int) -> dict[str, object]:
    return {
        "reason_code": "price",
        "tier": 2,
        "offer_code": offer,
        "presented": presented,
        "redeemed": came_back // 2,
        "came_back": came_back,
        "redemption_rate": (came_back // 2) / presented,
        "came_back_rate": came_back / presented,
        "option_margin": 10.0 * came_back,
        "option_margin_per_presented": 10.0 * came_back / presented,
    }


def _rounds() -> list[dict[str, object]]:
    rounds = matured(0.1, 500.0)
    rounds[0]["offer_options"] = [
        _options("double_points", 40, 8),
        _options("expert_advice", 60, 9),
    ]
    rounds[1]["offer_options"] = [_options("double_points", 30, 3)]
    return rounds


@pytest.mark.slow  # renders the whole HTML report
def test_offer_rows_of_every_round_reach_the_json_html_and_sentences() -> None:
    rounds = _rounds()
    report = metrics.build_report(inputs(rounds))
    table: pl.DataFrame = report["offers"]
    assert table.height == 3
    # Most presented first within a round; every round's month and maturity carried over.
    first = table.filter(pl.col("round") == rounds[0]["month"])
    assert first["presented"].to_list() == [60, 40]
    assert table["matured"].all()
    doc = json.loads(dumps(report))
    assert sum(r["presented"] for r in doc["offers"]) == 130
    html = render_html(report, "en")
    assert "Offers: results per option" in html
    assert "expert_advice" in html
    en = sentences(report, "en")["offers"][0]
    # double_points was presented most over both rounds: 70 customers, 11 came back.
    assert "double_points (70 customers, 15.7% came back" in en
    assert "double_points" in sentences(report, "zh")["offers"][0]


def test_no_offer_results_yet_is_said_so() -> None:
    report = metrics.build_report(inputs([]))
    assert report["offers"].height == 0
    assert "No round's offer results" in sentences(report, "en")["offers"][0]
