"""The quality review's scorecard and its sample (pure: no Django).

A scorecard is a list of criteria, each with a weight; a supervisor scores every criterion of a
contact attempt from 1 (poor) to 5 (excellent), and the attempt's rating is the weighted mean
of the scores, rounded half up to a whole 1-5 (what the monthly report averages per agent).

The sample is stratified across agents: every agent who made attempts in the window is
represented equally (with 10 samples over 5 agents, 2 each), and an agent with fewer attempts
than their share gives the rest to the others. It is one sort of the attempts by their rank
within their agent (at random) and the agents' order (at random): round-robin, vectorised.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

SCORES = (1, 2, 3, 4, 5)
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CRITERIA = 12


@dataclass(frozen=True)
class Criterion:
    code: str
    label_zh: str
    label_en: str
    weight: float

    def label(self, lang: str) -> str:
        return self.label_en if lang.startswith("en") else self.label_zh

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "weight": self.weight,
        }


DEFAULT_CRITERIA = (
    Criterion("greeting", "开场问候与身份说明", "Greeting and introduction", 1.0),
    Criterion("identified_reason", "问清流失原因", "Identified the reason for leaving", 2.0),
    Criterion("right_offer", "提供了合适的优惠", "Offered the right offer", 2.0),
    Criterion("compliance", "合规（同意、免打扰）", "Compliance (consent, do not contact)", 3.0),
    Criterion("close", "结束语与下一步约定", "Close and next step agreed", 1.0),
)


class ScorecardError(ValueError):
    """A scorecard or a set of scores that cannot be used; ``problem`` names it, ``params``
    (``code``: the criterion) say where."""

    def __init__(self, problem: str, **params: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params


@dataclass(frozen=True)
class Scorecard:
    criteria: tuple[Criterion, ...]

    @classmethod
    def default(cls) -> Scorecard:
        return cls(DEFAULT_CRITERIA)

    @classmethod
    def from_json(cls, data: Any) -> Scorecard:
        """The stored scorecard (``{"criteria": [...]}``), or the default when none is stored.
        Raises :class:`ScorecardError` when it is malformed."""
        if not data:
            return cls.default()
        items = data.get("criteria") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            raise ScorecardError("no_criteria")
        criteria = []
        for item in items:
            if not isinstance(item, Mapping):
                raise ScorecardError("bad_criterion")
            try:
                weight = float(item.get("weight", 1.0))
            except (TypeError, ValueError):
                raise ScorecardError("bad_weight", code=item.get("code")) from None
            criteria.append(
                Criterion(
                    code=str(item.get("code") or "").strip(),
                    label_zh=str(item.get("label_zh") or "").strip(),
                    label_en=str(item.get("label_en") or "").strip(),
                    weight=weight,
                )
            )
        card = cls(tuple(criteria))
        card.check()
        return card

    def to_json(self) -> dict[str, Any]:
        return {"criteria": [c.to_json() for c in self.criteria]}

    def check(self) -> None:
        if not self.criteria:
            raise ScorecardError("no_criteria")
        if len(self.criteria) > MAX_CRITERIA:
            raise ScorecardError("too_many", limit=MAX_CRITERIA)
        seen: set[str] = set()
        for c in self.criteria:
            if not CODE.match(c.code):
                raise ScorecardError("bad_code", code=c.code)
            if c.code in seen:
                raise ScorecardError("duplicate_code", code=c.code)
            seen.add(c.code)
            if not (c.label_zh and c.label_en):
                raise ScorecardError("missing_label", code=c.code)
            if not (math.isfinite(c.weight) and 0 < c.weight <= 100):
                raise ScorecardError("bad_weight", code=c.code)

    def overall(self, scores: Mapping[str, int]) -> float:
        """The weighted mean of the criteria's scores. Every criterion must be scored 1-5."""
        missing = [c.code for c in self.criteria if c.code not in scores]
        if missing:
            raise ScorecardError("unscored", code=missing[0])
        for c in self.criteria:
            if scores[c.code] not in SCORES:
                raise ScorecardError("bad_score", code=c.code)
        weights = np.array([c.weight for c in self.criteria])
        values = np.array([scores[c.code] for c in self.criteria], dtype=np.float64)
        return float((weights * values).sum() / weights.sum())

    def rating(self, scores: Mapping[str, int]) -> int:
        """The overall score rounded half up to a whole 1-5."""
        return min(5, max(1, math.floor(self.overall(scores) + 0.5)))

    def record(self, scores: Mapping[str, int]) -> dict[str, Any]:
        """What a review stores: each criterion with the weight it was scored under (a later
        change of the scorecard does not rewrite past reviews) and the overall score."""
        return {
            "criteria": [
                {"code": c.code, "weight": c.weight, "score": int(scores[c.code])}
                for c in self.criteria
            ],
            "overall": self.overall(scores),
        }


def stratified_sample(attempts: pl.DataFrame, size: int, seed: int) -> list[int]:
    """``size`` attempt ids from ``attempts`` (columns ``id``, ``agent``) with every agent
    equally represented: round-robin over the agents in a random order, each agent's attempts
    in a random order; agents who run out leave their places to the others. Sorted ids."""
    if attempts.height == 0 or size <= 0:
        return []
    rng = np.random.default_rng(seed)
    frame = attempts.select(
        pl.col("id").cast(pl.Int64), pl.col("agent").cast(pl.Int64).fill_null(-1)
    ).sort("id")
    agents = frame["agent"].unique().sort()
    order = pl.DataFrame(
        {"agent": agents, "agent_order": rng.permutation(agents.len())},
        schema={"agent": pl.Int64(), "agent_order": pl.Int64()},
    )
    picked = (
        frame.with_columns(key=pl.Series(rng.random(frame.height)))
        .with_columns(turn=pl.col("key").rank("ordinal").over("agent"))
        .join(order, on="agent")
        .sort("turn", "agent_order")
        .head(size)
    )
    return sorted(int(i) for i in picked["id"].to_list())
