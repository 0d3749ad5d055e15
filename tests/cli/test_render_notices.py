"""The CLI's too-little-history notice and early-warning precision table (zh and en)."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from rich.console import Console

from winback.cli.render import history_notice_text, precision_table

ROW = {
    "flagged_on": "2025-05-31",
    "flagged": 40,
    "flagged_drifted": 14,
    "precision": 0.35,
    "base_rate": 0.1,
    "lift": 3.5,
}


def printed(table: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(table)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("lang", "priors", "rule", "words"),
    [
        ("en", ["btyd"], None, "Too little history"),
        ("en", [], "base_rate", "base rate"),
        ("zh-hans", ["churn_weights"], "probability_cutoff", "历史数据太少"),
        ("zh-hans", [], "base_rate", "流失基准率"),
    ],
)
def test_the_notice_names_what_was_assumed(
    lang: str, priors: list[str], rule: str | None, words: str
) -> None:
    with translation.override(lang):
        text = history_notice_text(priors, rule)
    assert words in text
    for prior in priors:
        assert prior in text


def test_the_precision_table_lists_each_look_back() -> None:
    assert precision_table({"1m": None, "3m": None}) is None
    with translation.override("en"):
        shown = printed(precision_table({"1m": ROW, "3m": None}))
    assert "Early-warning precision" in shown
    assert "2025-05-31" in shown
    assert "0.350" in shown
    with translation.override("zh-hans"):
        assert "预警准确率" in printed(precision_table({"1m": ROW}))
