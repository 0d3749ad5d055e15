"""Stage, tier and early-warning flows between two analysis dates, from snapshot states.

The report reads each month-end analysis's per-customer state once (one column set, one
read) and derives every flow here, instead of joining the snapshot table with itself once
per pair of months in the database.
"""

from __future__ import annotations

from datetime import date

import polars as pl

STATE_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "as_of": pl.Date(),
    "stage": pl.String(),
    "tier": pl.Int64(),
    "status": pl.String(),
    "early_warning": pl.Boolean(),
}
FLOW_SCHEMA: dict[str, pl.DataType] = {
    "from": pl.String(),
    "to": pl.String(),
    "customers": pl.Int64(),
}
EARLY_WARNING_SCHEMA: dict[str, pl.DataType] = {
    "flagged": pl.Boolean(),
    "lapsed": pl.Boolean(),
    "customers": pl.Int64(),
}


def _at(states: pl.DataFrame, day: date) -> pl.DataFrame:
    return states.filter(pl.col("as_of") == day).drop("as_of")


def _label(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null("none")


def flow(states: pl.DataFrame, before: date, after: date, column: str) -> pl.DataFrame:
    """Customers of ``after`` by (value at ``before``, value at ``after``).

    A customer without a row at ``before`` comes from ``"new"``; a missing value is
    ``"none"``.
    """
    earlier = _at(states, before).select(
        "customer_pk", _label(column).alias("from"), pl.lit(True).alias("seen")
    )
    later = _at(states, after).select("customer_pk", _label(column).alias("to"))
    joined = later.join(earlier, on="customer_pk", how="left")
    return (
        joined.with_columns(
            pl.when(pl.col("seen").is_null())
            .then(pl.lit("new"))
            .otherwise(pl.col("from"))
            .alias("from")
        )
        .group_by("from", "to")
        .agg(pl.len().cast(pl.Int64).alias("customers"))
        .sort("from", "to")
        .select(list(FLOW_SCHEMA))
    )


def early_warning(states: pl.DataFrame, before: date, after: date) -> pl.DataFrame:
    """Customers not lost at ``before``, by early-warning flag then and lost or not now."""
    earlier = _at(states, before).filter(pl.col("status") != "lost")
    later = _at(states, after).select("customer_pk", (pl.col("status") == "lost").alias("lapsed"))
    return (
        earlier.select("customer_pk", pl.col("early_warning").alias("flagged"))
        .join(later, on="customer_pk", how="inner")
        .group_by("flagged", "lapsed")
        .agg(pl.len().cast(pl.Int64).alias("customers"))
        .sort("flagged", "lapsed")
        .select(list(EARLY_WARNING_SCHEMA))
    )
