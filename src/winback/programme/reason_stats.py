"""Monthly leave-reason statistics and the department action list (R4, R6).

The reason mix is counted per month (the Baidu case: about half poor results, a third the
customer's own situation ...), compared with the previous month, and rolled up into the fixes
each department owns, through the playbooks (price -> pricing and merchandising, attitude ->
store operations and training, too many calls -> CRM ...). The rollup is data-driven: change a
playbook's department and the action list follows.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from winback.periods import month_start, shift_month
from winback.programme.frames import REASON_RECORDS, typed
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy

STATS_SCHEMA: dict[str, pl.DataType] = {
    "level": pl.String(),  # "group" | "reason"
    "code": pl.String(),
    "group": pl.String(),
    "count": pl.Int64(),
    "share": pl.Float64(),
    "prev_count": pl.Int64(),
    "prev_share": pl.Float64(),
    "change": pl.Float64(),  # share - prev_share, in share points (0.05 = 5 points)
}


def monthly_reason_stats(records: pl.DataFrame, month: date, taxonomy: Taxonomy) -> pl.DataFrame:
    """Reason and group counts and shares for the month holding ``month``, vs the month before.

    A customer counts once per reason per month (the same reason recorded at two contacts is
    one observation); shares are of all (customer, reason) observations of the month, so they
    add up to 1 at each level. Every reason and group of the taxonomy is listed, zeros
    included, in taxonomy order, groups first. Records whose code is not in the taxonomy
    (stored before imports checked codes, or a reason since removed) are left out: they
    belong to no row of the table; :func:`unmapped_reason_codes` lists them for review.
    """
    frame = REASON_RECORDS.conform(records).filter(
        pl.col("reason_code").is_in(list(taxonomy.codes))
    )
    start = month_start(month)
    prev = shift_month(start, -1)
    nxt = shift_month(start, 1)
    observed = (
        frame.filter(pl.col("recorded_date").is_between(prev, nxt, closed="left"))
        .with_columns(current=pl.col("recorded_date") >= start)
        .unique(["customer_pk", "reason_code", "current"])
        .join(taxonomy.frame().select("reason_code", "group"), on="reason_code", how="left")
    )
    reasons = _level(observed, taxonomy.frame(), "reason")
    groups_frame = pl.DataFrame(
        {
            "group": list(taxonomy.group_codes),
            "order": list(range(len(taxonomy.group_codes))),
        },
        schema={"group": pl.String(), "order": pl.Int64()},
    ).with_columns(reason_code=pl.col("group"))
    groups = _level(observed.with_columns(reason_code=pl.col("group")), groups_frame, "group")
    return typed(pl.concat([groups, reasons]), STATS_SCHEMA)


def unmapped_reason_codes(records: pl.DataFrame, taxonomy: Taxonomy) -> pl.DataFrame:
    """Stored reason codes the taxonomy does not know, with how often each occurs."""
    frame = REASON_RECORDS.conform(records)
    return (
        frame.filter(~pl.col("reason_code").is_in(list(taxonomy.codes)))
        .group_by("reason_code")
        .len("count")
        .sort("count", "reason_code", descending=[True, False])
    )


def _level(observed: pl.DataFrame, catalogue: pl.DataFrame, level: str) -> pl.DataFrame:
    counts = observed.group_by("reason_code").agg(
        count=pl.col("current").sum(), prev_count=(~pl.col("current")).sum()
    )
    total = observed["current"].sum()
    prev_total = (~observed["current"]).sum()
    return (
        catalogue.select("reason_code", "group", "order")
        .join(counts, on="reason_code", how="left")
        .with_columns(pl.col("count", "prev_count").fill_null(0).cast(pl.Int64))
        .with_columns(
            level=pl.lit(level),
            code=pl.col("reason_code"),
            share=pl.col("count") / total if total else pl.lit(0.0),
            prev_share=pl.col("prev_count") / prev_total if prev_total else pl.lit(0.0),
        )
        .with_columns(change=pl.col("share") - pl.col("prev_share"))
        .sort("order")
    )


def department_actions(
    stats: pl.DataFrame, playbooks: Playbooks, taxonomy: Taxonomy
) -> pl.DataFrame:
    """Roll the month's reason counts up into an action list per department.

    One row per (department, reason) with observations this month: the playbook's first fix
    (``action`` code; :meth:`Playbooks.action_text` gives the words), the reason's count,
    share and change, and the department's total share and rank (1 = the department whose
    reasons lost the most customers). Sorted by department rank, then count.
    """
    reasons = stats.filter(pl.col("level") == "reason").select(
        reason_code=pl.col("code"), count="count", share="share", change="change"
    )
    owners = playbooks.reason_frame(taxonomy).select("reason_code", "department", "action")
    joined = reasons.join(owners, on="reason_code", how="inner").filter(pl.col("count") > 0)
    return (
        joined.with_columns(
            department_count=pl.col("count").sum().over("department"),
            department_share=pl.col("share").sum().over("department"),
        )
        .with_columns(
            department_rank=pl.col("department_count").rank("dense", descending=True).cast(pl.Int64)
        )
        .sort(
            ["department_rank", "department", "count", "reason_code"],
            descending=[False, False, True, False],
        )
        .select(
            "department_rank",
            "department",
            "department_count",
            "department_share",
            "reason_code",
            "action",
            "count",
            "share",
            "change",
        )
    )
