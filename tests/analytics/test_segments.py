"""RFM octants and A-E classes on customers whose right answer is obvious."""

from __future__ import annotations

import polars as pl

from winback.analytics.segments import (
    OCTANTS,
    abc_classes,
    rfm_octant_expr,
    rfm_references,
)
from winback.config import preset


def test_eight_octants_against_a_given_reference() -> None:
    # Reference: 50 days, 3 purchases, 100.00 spent. Each customer sits clearly on one side.
    reference = {"recency": 50.0, "frequency": 3.0, "monetary": 10_000.0}
    recent, old = 5, 300
    many, few = 10, 1
    rich, poor = 90_000, 2_000
    rows = {
        "important_value": (recent, many, rich),
        "important_develop": (recent, few, rich),
        "important_keep": (old, many, rich),
        "important_retain": (old, few, rich),
        "general_value": (recent, many, poor),
        "general_develop": (recent, few, poor),
        "general_keep": (old, many, poor),
        "general_retain": (old, few, poor),
    }
    frame = pl.DataFrame(
        {
            "days_since_last": [r for r, _, _ in rows.values()] + [None],
            "n_purchases": [f for _, f, _ in rows.values()] + [0],
            "spend_cents": [m for _, _, m in rows.values()] + [0],
        }
    )
    octants = frame.select(rfm_octant_expr(reference)).to_series().to_list()
    assert octants == [*rows, ""]  # the prospect has no octant


def test_octant_names_are_the_standard_chinese_ones() -> None:
    names = {code: zh for code, (_, zh, _) in OCTANTS.items()}
    assert names["important_value"] == "重要价值客户"
    assert names["important_develop"] == "重要发展客户"
    assert names["important_keep"] == "重要保持客户"
    assert names["important_retain"] == "重要挽留客户"
    assert names["general_value"] == "一般价值客户"
    assert names["general_develop"] == "一般发展客户"
    assert names["general_keep"] == "一般保持客户"
    assert names["general_retain"] == "一般挽留客户"


def test_ties_at_a_skewed_median_count_as_low() -> None:
    # Most customers bought once: the median frequency is 1, so only repeat buyers are high.
    buyers = pl.DataFrame(
        {
            "days_since_last": [10, 20, 30, 40, 50],
            "n_purchases": [1, 1, 1, 2, 6],
            "spend_cents": [100, 200, 300, 400, 500],
        }
    )
    reference = rfm_references(buyers, preset("retail"))
    assert reference == {"recency": 30.0, "frequency": 1.0, "monetary": 300.0}
    octants = buyers.select(rfm_octant_expr(reference)).to_series().to_list()
    assert octants == [
        "general_develop",
        "general_develop",
        "general_retain",
        "important_keep",
        "important_keep",
    ]
    mean_ref = rfm_references(buyers, preset("retail", {"rfm_reference": "mean"}))
    assert mean_ref == {"recency": 30.0, "frequency": 2.2, "monetary": 300.0}


def test_abc_classes_by_cumulative_share_of_revenue() -> None:
    # 365-day spend 10, 50, 20, 0, 15, 5, -3 (revenue 100 from the positive ones). The share
    # from customers who spent more: 50 -> 0, 20 -> .5, 15 -> .7, 10 -> .85, 5 -> .95;
    # A below .2, B below .5, C below .8, then D; no spend (or refunds only) -> E.
    spend = [1000, 5000, 2000, 0, 1500, 500, -300]
    frame = pl.DataFrame({"spend_365_cents": spend})
    assert abc_classes(frame).to_list() == ["D", "A", "C", "E", "C", "D", "E"]


def test_equal_spend_gets_the_same_class() -> None:
    # 30, 30, 20, 20: nobody spent more than the two 30s (A); 60% came before the 20s (C).
    frame = pl.DataFrame({"spend_365_cents": [3000, 2000, 3000, 2000]})
    assert abc_classes(frame).to_list() == ["A", "C", "A", "C"]
