"""The round planner's candidate frames: the columns and types of what the planner reads of the
behaviour streams for a snapshot's candidates, declared once.

Two engines read them (decision 0051): the database (:mod:`winback.store.queries.rounds`) and
Spark over a data lake (:mod:`winback.analytics.spark_candidates`); the planner's rules conform
them (:mod:`winback.programme.frames`). All three take the columns from here, so an engine
cannot hand the planner a frame of another shape. The module sits in the bottom layer because
the analytics core, which reads the lake, must not import the programme (decision 0059).

Dates are business-local calendar dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import polars as pl

# The candidates' contacts: each contact's day, channel, outcome and direction, and the leave
# reason the agent recorded (the database gives "" when none, the lake null; the planner reads
# both as none).
CONTACT_HISTORY: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "customer_pk": pl.Int64(),
        "occurred_date": pl.Date(),
        "channel": pl.String(),
        "outcome": pl.String(),  # winback.vocabulary.Outcome codes
        "direction": pl.String(),  # winback.vocabulary.Direction codes
        "reason_code": pl.String(),
    }
)

# The candidates' complaints with their resolution: the business-local day it was resolved on
# (null while open or when not recorded).
COMPLAINTS: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "customer_pk": pl.Int64(),
        "occurred_date": pl.Date(),
        "resolved": pl.Boolean(),
        "resolved_date": pl.Date(),
    }
)

# Spend per candidate and category (the lines' amounts in cents, summed) with the category's
# replenishment days (null when not set): the planner picks each candidate's favourite
# categories from it.
CATEGORY_SPEND: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "customer_pk": pl.Int64(),
        "category_code": pl.String(),
        "spend": pl.Float64(),
        "replenishment_days": pl.Int64(),
    }
)
