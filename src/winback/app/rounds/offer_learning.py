"""What matured rounds taught about offers: the counts the offer learning reads (R5).

For every treated member of a matured round (:func:`.feedback.matured_outcomes`) who was
reached, the offer presented (the one chosen, else the menu's first option:
:func:`winback.store.queries.rounds.presented_offers`) and whether the customer came back
within the round's primary horizon. The pure :func:`winback.programme.offer_bandit.learn`
turns them into Beta posteriors per reason x tier x offer; the planner draws each menu's first
option from them.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from winback.app.rounds.feedback import matured_outcomes
from winback.programme.offer_bandit import OFFER_COUNTS, OfferLearning, learn
from winback.store.queries import rounds as rounds_store


def offer_counts(as_of: date) -> pl.DataFrame:
    """Presented and came back per (reason, tier, offer) from rounds matured by ``as_of``."""
    treated = matured_outcomes(as_of).filter(pl.col("arm") == "treated")
    if treated.height == 0:
        return OFFER_COUNTS.empty()
    presented = rounds_store.presented_offers(
        round_ids=treated["round_id"].unique().sort().to_list()
    )
    return (
        presented.join(
            treated.select("round_id", "customer_pk", "returned"),
            on=["round_id", "customer_pk"],
            how="inner",
        )
        .group_by("reason_code", "tier", "offer_code")
        .agg(
            presented=pl.len().cast(pl.Int64),
            came_back=pl.col("returned").cast(pl.Int64).sum(),
        )
        .sort("reason_code", "tier", "offer_code", nulls_last=True)
    )


def offer_learning_for(as_of: date, *, seed: int, floor: float) -> OfferLearning:
    """The offer learning a round planned on ``as_of`` uses (its draw seeded by ``seed``)."""
    return learn(offer_counts(as_of), floor=floor, seed=seed)
