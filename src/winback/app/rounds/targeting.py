"""The targeting policy of a new round, from what past rounds measured (R6).

Placeholder until the uplift model is trained here: the measured segments when past rounds
measured any, else the stage priors.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from winback.app.rounds.feedback import Feedback
from winback.programme.targeting import Targeting


def targeting_for(
    as_of: date, candidates: pl.DataFrame, learned: Feedback, *, random_share: float
) -> Targeting:
    """The policy for a round starting ``as_of`` whose candidates are ``candidates`` (the
    snapshot rows, SNAPSHOT contract); ``learned`` is :func:`.feedback.feedback`'s result."""
    del as_of, candidates
    policy = "measured_segments" if learned.uplift_by_segment else "stage_priors"
    return Targeting(policy=policy, random_share=random_share)
