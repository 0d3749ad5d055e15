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
from typing import Any

import polars as pl

from winback.app.rounds.feedback import Feedback, matured_outcomes
from winback.programme.attribution import MEASUREMENT_DAYS
from winback.programme.targeting import Targeting
from winback.programme.uplift_model import (
    MIN_MODEL_CONTROLS,
    MIN_MODEL_ROUNDS,
    UPLIFT_TRAINING,
    decide,
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
    snapshot rows, SNAPSHOT contract); ``learned`` is :func:`.feedback.feedback`'s result."""
    rows = training_rows(as_of)
    decision = decide(rows, min_rounds=MIN_ROUNDS, min_controls=MIN_CONTROLS)
    treated = int((rows["arm"] == "treated").sum())
    detail: dict[str, Any] = {
        "reason": decision.reason,
        "training_rounds": sorted(int(r) for r in rows["round_id"].unique()),
        "treated_outcomes": treated,
        "control_outcomes": rows.height - treated,
        "min_rounds": MIN_ROUNDS,
        "min_controls": MIN_CONTROLS,
        "qini": (
            {"rounds": decision.crossed_rounds, **decision.qini.to_json()}
            if decision.qini is not None
            else None
        ),
    }
    model = decision.model
    if model is None:
        policy = decision.policy
        if policy == "measured_segments" and not learned.uplift_by_segment:
            policy = "stage_priors"
        return Targeting(policy=policy, random_share=random_share, detail=detail)
    detail["shrink_weight"] = round(model.shrink_weight, 6)
    detail["model"] = model.to_json()
    return Targeting(
        policy="uplift_model",
        random_share=random_share,
        model_version=model.version,
        predictions=model.predict(candidates),
        detail=detail,
    )
