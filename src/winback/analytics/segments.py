"""RFM octants and A-E classes (R3; seeds 000, 004).

RFM: recency R = days since the last purchase, frequency F = purchase days, monetary M = net
spend, all time, among customers who bought. Each is "high" when strictly better than the
reference (median of the buyers by default, or their mean; ``profile.rfm_reference``):
R high = bought more recently (fewer days) than the reference; F, M high = more than it.
Strictly better, so that ties at a skewed median (say, most customers bought once) count
as low. The eight octants carry the standard Chinese names.

Classes A-E by business done with us in the last 365 days (not by the customer's own size):
customers sorted by 365-day net spend; a customer's class is set by the share of revenue
brought by customers who spent strictly more: below 20% -> A, below 50% -> B, below 80% -> C,
the rest with positive spend -> D; no positive spend in the last 365 days -> E. Equal spend
gets the same class.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from winback.config import BusinessProfile

# code -> (R high, F high, M high), Chinese name, English name
OCTANTS: dict[str, tuple[tuple[bool, bool, bool], str, str]] = {
    "important_value": ((True, True, True), "重要价值客户", "Important value"),
    "important_develop": ((True, False, True), "重要发展客户", "Important to develop"),
    "important_keep": ((False, True, True), "重要保持客户", "Important to keep"),
    "important_retain": ((False, False, True), "重要挽留客户", "Important to retain"),
    "general_value": ((True, True, False), "一般价值客户", "General value"),
    "general_develop": ((True, False, False), "一般发展客户", "General to develop"),
    "general_keep": ((False, True, False), "一般保持客户", "General to keep"),
    "general_retain": ((False, False, False), "一般挽留客户", "General to retain"),
}
ABC_CUTOFFS: tuple[tuple[str, float], ...] = (("A", 0.2), ("B", 0.5), ("C", 0.8))
ABC_CLASSES = ("A", "B", "C", "D", "E")


def rfm_references(buyers: pl.DataFrame, profile: BusinessProfile) -> dict[str, float]:
    """The reference R, F and M (median or mean over the buyers)."""
    columns = {"recency": "days_since_last", "frequency": "n_purchases", "monetary": "spend_cents"}
    if buyers.height == 0:
        return dict.fromkeys(columns, 0.0)
    stat = pl.median if profile.rfm_reference == "median" else pl.mean
    row = buyers.select([stat(c).cast(pl.Float64).alias(k) for k, c in columns.items()]).row(0)
    return {k: float(v) for k, v in zip(columns, row, strict=True)}


def rfm_octant_expr(references: dict[str, float]) -> pl.Expr:
    """The octant code for buyers, "" for prospects."""
    r_high = pl.col("days_since_last") < references["recency"]
    f_high = pl.col("n_purchases") > references["frequency"]
    m_high = pl.col("spend_cents") > references["monetary"]
    expr: Any = pl.when(pl.col("days_since_last").is_null()).then(pl.lit(""))
    for code, ((r, f, m), _, _) in OCTANTS.items():
        expr = expr.when((r_high == r) & (f_high == f) & (m_high == m)).then(pl.lit(code))
    return expr.otherwise(pl.lit(""))


def abc_classes(frame: pl.DataFrame) -> pl.Series:
    """A-E per row of ``frame`` (needs ``spend_365_cents``), in the frame's order."""
    spend = pl.col("spend_365_cents").cast(pl.Float64)
    positive = spend > 0
    total = frame.select(pl.when(positive).then(spend).otherwise(0.0).sum()).item()
    ranked = frame.select(spend.alias("spend"), positive.alias("positive")).with_row_index("row")
    ranked = ranked.sort("spend", descending=True).with_columns(
        through=pl.when(pl.col("positive")).then(pl.col("spend")).otherwise(0.0).cum_sum()
    )
    # Revenue from customers who spent strictly more: the smallest running total within a
    # group of equal spend, minus that spend.
    before = pl.col("through").min().over("spend") - pl.col("spend")
    share = before / total if total > 0 else pl.lit(1.0)
    klass: Any = pl.when(~pl.col("positive")).then(pl.lit("E"))
    for name, cutoff in ABC_CUTOFFS:
        klass = klass.when(share < cutoff).then(pl.lit(name))
    ranked = ranked.with_columns(klass.otherwise(pl.lit("D")).alias("abc_class"))
    return ranked.sort("row")["abc_class"]
