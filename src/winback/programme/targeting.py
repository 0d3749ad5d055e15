"""Which targeting policy a round uses, and the per-customer predictions it brings (R6).

A round is prioritised by expected incremental margin. Where the predicted uplift per
customer comes from is the round's *targeting policy*:

* ``uplift_model`` - a meta-learner trained on past rounds' treated and control outcomes
  (:mod:`winback.programme.uplift_model`); ``predictions`` holds one row per candidate;
* ``measured_segments`` - too few outcomes for a model: the measured stage x tier uplift,
  shrunk toward the programme average (:mod:`winback.programme.uplift_feedback`);
* ``stage_priors`` - no round measured yet: the configured per-stage guesses.

Whatever the policy, a share of every round (``random_share``) is chosen uniformly at random
among the eligible customers, so the next model learns from customers the current one would
not have picked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from winback.programme.frames import Contract

TARGETING_POLICIES: Final = ("uplift_model", "measured_segments", "stage_priors")

UPLIFT_PREDICTIONS = Contract(
    "uplift predictions",
    required={
        "customer_pk": pl.Int64(),
        "uplift": pl.Float64(),  # predicted P(return | called) - P(return | not called)
    },
    optional={
        "p_untreated": (pl.Float64(), None),  # predicted P(return | not called)
    },
)


@dataclass(frozen=True)
class Targeting:
    policy: str = "stage_priors"
    random_share: float = 0.0
    model_version: str | None = None
    predictions: pl.DataFrame | None = None  # UPLIFT_PREDICTIONS when policy == uplift_model
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy not in TARGETING_POLICIES:
            raise ValueError(f"policy must be one of {TARGETING_POLICIES}")
        if not 0.0 <= self.random_share <= 1.0:
            raise ValueError("random_share must be in [0, 1]")

    def to_json(self) -> dict[str, Any]:
        """What the plan summary records (no per-customer rows)."""
        return {
            "policy": self.policy,
            "model_version": self.model_version,
            "random_share": self.random_share,
            "detail": dict(self.detail),
        }
