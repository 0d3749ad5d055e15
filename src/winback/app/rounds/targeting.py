"""The targeting policy of a new round, from what past rounds measured (R6).

The members of every matured round (primary window closed), described by the snapshot their
round was planned on and with their outcome, are the training rows of the uplift model
(:mod:`winback.programme.uplift_model`). With enough of them (at least two rounds and
:data:`MIN_CONTROLS` control outcomes) the X-learner is fitted and predicts every candidate's
uplift, shrunk toward the measured segments; its quality is checked by cross-fitting round
against round and reading the Qini coefficient of those honest predictions
(:mod:`winback.programme.qini`). With fewer, the measured segments serve, and before any
measured round the stage priors. The model is used only when that cross-fitted Qini's 95%
interval lies above 0 (:func:`winback.programme.uplift_model.decide`).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from winback.app.rounds.feedback import Feedback, matured_outcomes
from winback.programme.attribution import MEASUREMENT_DAYS
from winback.programme.targeting import Targeting
from winback.programme.uplift_model import (
    MIN_MODEL_CONTROLS,
    MIN_MODEL_ROUNDS,
    UPLIFT_TRAINING,
    targeting_from,
)
from winback.store.queries.uplift import member_features

MIN_ROUNDS = MIN_MODEL_ROUNDS
MIN_CONTROLS = MIN_MODEL_CONTROLS


def training_rows(as_of: date) -> pl.DataFrame:
    """UPLIFT_TRAINING rows: the matured rounds' members with their outcome (recorded, or read
    as it will be recorded) and the scores of the snapshot their round was planned on."""
    outcomes = matured_outcomes(as_of)
    features = member_features(started_by=as_of - timedelta(days=MEASUREMENT_DAYS))
    return UPLIFT_TRAINING.conform(
        outcomes.join(features, on=["round_id", "customer_pk"], how="left")
    )


def targeting_for(
    as_of: date, candidates: pl.DataFrame, learned: Feedback, *, random_share: float
) -> Targeting:
    """The policy for a round starting ``as_of`` whose candidates are ``candidates`` (the
    snapshot rows, SNAPSHOT contract); ``learned`` is :func:`.feedback.feedback`'s result.
    The rule is the pure :func:`winback.programme.uplift_model.targeting_from`."""
    return targeting_from(
        training_rows(as_of),
        candidates,
        random_share=random_share,
        segments_measured=bool(learned.uplift_by_segment),
        min_rounds=MIN_ROUNDS,
        min_controls=MIN_CONTROLS,
    )
