"""Which customers the churn weights are learned from: those the programme left alone (R2).

The churn score answers "will this customer stay away if we do nothing?". Its weights are
learned from the business's own history: indicators as of ``training_as_of = as_of - horizon``,
label "no purchase in (training_as_of, as_of]". A customer the win-back programme treated in
that window had their outcome changed by us (a call, an offer, a return purchase), and the
calls the programme could not put through show up in ``unanswered_contacts``. Learning from them
teaches the model the programme's own effect: the customers it chose and brought back look like
customers who stay.

So the training buyers are the untouched ones: a customer of the *treated* arm of a round whose
touch reaches the training period is left out. A round reaches it when it started on or before
``as_of`` and ended after ``training_as_of - CARRYOVER_DAYS``: its calls then fall in the 90
days the contact indicators count before ``training_as_of``, or in the label window, and its
returns (counted for 90 days from the round's start) overlap the label window. Control
customers stay: they were drawn at random from the same candidates and left alone, so they are
the untouched picture of exactly the customers the programme targets. Rounds that started after
``as_of`` are not known on that date and count for nothing. See
docs/decisions/0027-training-on-untouched-customers.md for the measurement behind the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.analytics.features import CONTACT_WINDOW_DAYS

# How far before training_as_of a round's touch still reaches the training set: the contact
# indicators' window, which is also the programme's return window (90 days from the start).
CARRYOVER_DAYS = CONTACT_WINDOW_DAYS
EXCLUDE_TREATED = "exclude_treated"
KEEP_ALL = "keep_all"  # the programme is ignored (for measurement only)
RULES = (EXCLUDE_TREATED, KEEP_ALL)
TRAINING_RULE = EXCLUDE_TREATED


@dataclass(frozen=True)
class TrainingChoice:
    rule: str
    excluded_treated: int  # training buyers left out as treated
    control_kept: int  # training buyers of a control arm, kept

    def describe(self) -> dict[str, Any]:
        """The entries of ``AnalysisResult.model`` (JSON-ready)."""
        return {
            "training_rule": self.rule,
            "training_excluded_treated": self.excluded_treated,
            "training_control_kept": self.control_kept,
        }


def touched_customers(treatments: pl.DataFrame, training_as_of: date, as_of: date) -> pl.Series:
    """Keys of the customers the programme treated with a round reaching the training period."""
    reaches = (
        (pl.col("arm") == "treated")
        & (pl.col("round_start") <= as_of)
        & (pl.col("round_end") > training_as_of - timedelta(days=CARRYOVER_DAYS))
    )
    return treatments.filter(reaches)["customer_pk"].unique().sort()


def control_customers(treatments: pl.DataFrame, training_as_of: date, as_of: date) -> pl.Series:
    """Keys of the control customers of the same rounds (kept; reported for the record)."""
    reaches = (
        (pl.col("arm") == "control")
        & (pl.col("round_start") <= as_of)
        & (pl.col("round_end") > training_as_of - timedelta(days=CARRYOVER_DAYS))
    )
    return treatments.filter(reaches)["customer_pk"].unique().sort()


def untouched(
    buyers: pl.DataFrame,
    treatments: pl.DataFrame,
    training_as_of: date,
    as_of: date,
    *,
    rule: str = TRAINING_RULE,
) -> tuple[pl.DataFrame, TrainingChoice]:
    """The training buyers the weights are learned from (``buyers`` rows, order kept), and a
    note of what was left out. ``buyers`` has a ``customer_pk`` column."""
    if rule not in RULES:
        raise ValueError(f"unknown training rule {rule!r}; known: {list(RULES)}")
    keys = pl.col("customer_pk")
    treated = keys.is_in(touched_customers(treatments, training_as_of, as_of).implode())
    control = keys.is_in(control_customers(treatments, training_as_of, as_of).implode())
    flags = buyers.select(treated.alias("treated"), (control & ~treated).alias("control"))
    excluded = int(flags["treated"].sum()) if rule == EXCLUDE_TREATED else 0
    kept = buyers.filter(~flags["treated"]) if rule == EXCLUDE_TREATED else buyers
    return kept, TrainingChoice(rule, excluded, int(flags["control"].sum()))
