"""What past matured rounds tell the next plan: the business's own base rate and the measured
uplift per segment (R6, R7).

A round has *matured* when its primary window (+90 days) has closed. Its members' outcome at
the primary horizon is ``returned`` (recorded by :func:`.planning.refresh_returned`, or read as
it will record it). From those outcomes:

* the **base rate** of a new round's design is the control arms' came-back rate, when at least
  :data:`MIN_BASE_CONTROLS` control outcomes are known;
* the **uplift** per segment (stage and tier) is the treated-minus-control came-back rate,
  shrunk toward the programme average (:func:`winback.programme.uplift_feedback.shrunk_uplift`);
  it replaces the default per-stage guesses in prioritisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from winback.programme.attribution import MEASUREMENT_DAYS
from winback.programme.uplift_feedback import shrunk_uplift
from winback.store.programme.models import RoundMember

# Fewer known control outcomes than this do not make a base rate (the snapshot's prediction,
# or the configured default, is used instead).
MIN_BASE_CONTROLS = 30

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "customer_pk": pl.Int64(),
    "round_id": pl.Int64(),
    "arm": pl.String(),
    "stage": pl.String(),
    "tier": pl.Int64(),
    "returned": pl.Boolean(),
}


@dataclass(frozen=True)
class Feedback:
    base_rate: float | None
    base_rate_source: str | None  # "past_controls" or None
    control_outcomes: int
    uplift_by_segment: dict[str, float] = field(default_factory=dict)
    uplift_source: str = "defaults"  # or "measured_shrunk"
    segments: list[dict[str, Any]] = field(default_factory=list)


def matured_outcomes(as_of: date) -> pl.DataFrame:
    """Members of rounds whose primary window closed by ``as_of``, with their outcome
    (recorded, or read as :func:`.planning.refresh_returned` will record it)."""
    from winback.app.rounds.planning import pending_returns

    done_before = as_of - timedelta(days=MEASUREMENT_DAYS)
    rows = list(
        RoundMember.objects.filter(round__round_start__lte=done_before)
        .order_by()
        .values_list("customer_id", "round_id", "arm", "stage", "tier", "returned")
    )
    known = pl.DataFrame(rows, schema=OUTCOME_SCHEMA, orient="row")
    pending = pending_returns(as_of).select(
        "customer_pk",
        pl.col("round_id").cast(pl.Int64),
        pl.col("returned").alias("_pending"),
    )
    return (
        known.join(pending, on=["customer_pk", "round_id"], how="left")
        .with_columns(returned=pl.coalesce("returned", "_pending"))
        .drop("_pending")
        .filter(pl.col("returned").is_not_null())
    )


def feedback(as_of: date) -> Feedback:
    """The base rate and the measured, shrunk uplift per segment from matured rounds."""
    outcomes = matured_outcomes(as_of)
    controls = outcomes.filter(pl.col("arm") == "control")
    base = None
    if controls.height >= MIN_BASE_CONTROLS:
        base = float(controls["returned"].cast(pl.Float64).mean())  # type: ignore[arg-type]
    counts = (
        outcomes.with_columns(
            segment=pl.concat_str([pl.col("stage"), pl.col("tier").cast(pl.String)], separator="|")
        )
        .group_by("segment")
        .agg(
            n_treated=(pl.col("arm") == "treated").sum().cast(pl.Int64),
            n_control=(pl.col("arm") == "control").sum().cast(pl.Int64),
            returned_treated=((pl.col("arm") == "treated") & pl.col("returned"))
            .sum()
            .cast(pl.Int64),
            returned_control=((pl.col("arm") == "control") & pl.col("returned"))
            .sum()
            .cast(pl.Int64),
        )
        .sort("segment")
    )
    shrunk = shrunk_uplift(counts, "segment")
    measured = bool(shrunk.height)
    return Feedback(
        base_rate=base if base is not None and 0.0 < base < 1.0 else None,
        base_rate_source="past_controls" if base is not None and 0.0 < base < 1.0 else None,
        control_outcomes=controls.height,
        uplift_by_segment=(
            {str(k): round(float(v), 6) for k, v in shrunk.select("segment", "uplift").iter_rows()}
            if measured
            else {}
        ),
        uplift_source="measured_shrunk" if measured else "defaults",
        segments=[
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
            for row in shrunk.iter_rows(named=True)
        ],
    )
