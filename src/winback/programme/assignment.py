"""Assigning customers to agents: capacity, seniority and a balanced, dated call list (R6).

Every customer has a *required seniority* (1 junior - 3 senior): the highest of the tier rule
(top tiers go to senior agents), the playbook of a known leave reason, and the sensitive-reason
rule (:attr:`winback.programme.reasons.Reason.sensitive` -> senior). An agent may take any
customer whose requirement is at most the agent's seniority.

Capacity is ``daily_capacity x working days of the round`` customers per agent. Because the
agent pools are nested (seniors can serve everyone, juniors only level-1 customers), filling
requirement levels from the top down and handing unused senior capacity down to the next level
never leaves a feasible customer out for capacity reasons (the nested Hall condition).

Balance: each agent's capacity is cut into slots at times ``(k + 0.5) / capacity`` and the
customers of a level, best first, take the free slots in time order. Every agent's list thus
fills at the same pace in proportion to capacity, and each list gets a fair mix of high and
low priority customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from winback.programme.care import HolidayCalendar
from winback.programme.frames import AGENTS, typed
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy

LEVELS = (3, 2, 1)
DEFAULT_DAILY_CAPACITY = 40
# The care calendar's days that are days off for the whole team (the greeting occasions such
# as Women's Day or Double Eleven are working days).
DAYS_OFF = ("spring_festival", "dragon_boat", "mid_autumn", "national_day")


@dataclass(frozen=True)
class SeniorityRules:
    by_tier: Mapping[int, int] = field(default_factory=lambda: {1: 3, 2: 2})
    sensitive: int = 3  # for reasons flagged sensitive in the taxonomy

    def __post_init__(self) -> None:
        if any(v not in (1, 2, 3) for v in (*self.by_tier.values(), self.sensitive)):
            raise ValueError("seniority levels are 1, 2 or 3")


def working_days(start: date, end: date, holidays: Sequence[date] = ()) -> int:
    """Monday-Friday days in [start, end] that are not holidays."""
    return int(
        np.busday_count(
            np.datetime64(start, "D"),
            np.datetime64(end, "D") + np.timedelta64(1, "D"),
            holidays=[np.datetime64(h, "D") for h in holidays],
        )
    )


def days_off(calendar: HolidayCalendar, start: date, end: date) -> tuple[date, ...]:
    """The calendar's team days off (:data:`DAYS_OFF`) in [start, end]."""
    return tuple(d for code, d in calendar.occurrences(start, end) if code in DAYS_OFF)


def with_required_seniority(
    frame: pl.DataFrame, playbooks: Playbooks, taxonomy: Taxonomy, rules: SeniorityRules
) -> pl.DataFrame:
    """Add ``required_seniority`` to a frame with ``tier`` and ``reason_code`` (may be null).

    An unknown reason asks nothing of the caller (the first contact diagnoses it)."""
    reasons = playbooks.reason_frame(taxonomy).select(
        "reason_code", _pb_seniority="seniority", _sensitive="sensitive"
    )
    tier_rule = pl.col("tier").replace_strict(dict(rules.by_tier), default=1, return_dtype=pl.Int64)
    return (
        frame.join(reasons, on="reason_code", how="left")
        .with_columns(
            required_seniority=pl.max_horizontal(
                tier_rule.fill_null(1),
                pl.col("_pb_seniority").fill_null(1),
                pl.when(pl.col("_sensitive").fill_null(False))
                .then(pl.lit(rules.sensitive, dtype=pl.Int64))
                .otherwise(pl.lit(1, dtype=pl.Int64)),
            ).cast(pl.Int64)
        )
        .drop("_pb_seniority", "_sensitive")
    )


def agent_capacity(agents: pl.DataFrame, days: int) -> pl.DataFrame:
    """``agent_id``, ``seniority``, ``daily_capacity``, ``capacity`` (customers in the round)."""
    frame = AGENTS.conform(agents)
    if frame["agent_id"].n_unique() != frame.height:
        raise ValueError("agent_id must be unique")
    bad = frame.filter(~pl.col("seniority").is_in([1, 2, 3]) | (pl.col("daily_capacity") < 0))
    if bad.height:
        raise ValueError("agents need seniority 1-3 and a non-negative daily capacity")
    return frame.with_columns(capacity=pl.col("daily_capacity") * max(days, 0))


def level_quotas(
    need: Mapping[int, int],
    capacity_by_seniority: Mapping[int, int],
    *,
    scale: float = 1.0,
    margin: int = 0,
) -> dict[int, int]:
    """How many customers of each requirement level fit, filling levels from the top down.

    ``scale`` inflates capacity (select ``capacity / treated_share`` customers when a share of
    them will be held out as control); ``margin`` places are kept free at every level for the
    +-1 rounding of the holdout in each stratum.
    """
    quotas: dict[int, int] = {}
    used = 0
    for level in LEVELS:
        pool = sum(c for s, c in capacity_by_seniority.items() if s >= level)
        room = max(int(np.floor(pool * scale)) - margin - used, 0)
        quotas[level] = min(need.get(level, 0), room)
        used += quotas[level]
    return quotas


def select_within_capacity(
    frame: pl.DataFrame, capacity: pl.DataFrame, *, scale: float = 1.0, margin: int = 0
) -> pl.DataFrame:
    """Add ``selected``: the best customers of each level (by ``priority_rank``) that fit.

    ``frame`` needs ``priority_rank`` (1 = best) and ``required_seniority``; ``capacity`` is
    :func:`agent_capacity`'s output.
    """
    need = {int(k): int(v) for k, v in frame.group_by("required_seniority").len().iter_rows()}
    by_seniority = {
        int(k): int(v)
        for k, v in capacity.group_by("seniority").agg(pl.col("capacity").sum()).iter_rows()
    }
    quotas = level_quotas(need, by_seniority, scale=scale, margin=margin)
    quota = pl.col("required_seniority").replace_strict(quotas, default=0, return_dtype=pl.Int64)
    level_rank = pl.col("priority_rank").rank("ordinal").over("required_seniority")
    return frame.with_columns(selected=level_rank <= quota)


def assign_agents(
    customers: pl.DataFrame,
    capacity: pl.DataFrame,
    *,
    round_start: date,
    holidays: Sequence[date] = (),
) -> pl.DataFrame:
    """Assign customers to agents and date each call.

    ``customers`` needs ``customer_pk``, ``required_seniority``, ``priority_rank`` and may hold
    ``offer_date`` (calls are ordered by it within an agent's list, so an offer is presented
    close to the customer's own purchase cycle). Returns ``customer_pk``, ``agent_id``,
    ``agent_seniority``, ``day`` (0-based working day) and ``planned_date``; customers that do
    not fit get null agent and date.
    """
    if "offer_date" not in customers.columns:
        customers = customers.with_columns(offer_date=pl.lit(None, dtype=pl.Date))
    n = customers.height
    slots = _slots(capacity, n)
    taken: list[pl.DataFrame] = []
    for level in LEVELS:
        group = (
            customers.filter(pl.col("required_seniority") == level)
            .sort("priority_rank")
            .select("customer_pk")
            .with_row_index("_k")
        )
        if group.height == 0:
            continue
        free = slots.filter(pl.col("agent_seniority") >= level).head(group.height)
        pairs = group.join(free.with_row_index("_k"), on="_k", how="inner").drop("_k")
        taken.append(pairs)
        slots = slots.join(pairs.select("agent_id", "slot"), on=["agent_id", "slot"], how="anti")
    schema = {
        "customer_pk": pl.Int64(),
        "agent_id": pl.Int64(),
        "agent_seniority": pl.Int64(),
        "daily_capacity": pl.Int64(),
        "slot": pl.Int64(),
        "key": pl.Float64(),
    }
    assigned = typed(pl.concat(taken), schema) if taken else pl.DataFrame(schema=schema)
    scheduled = _schedule(
        assigned.join(
            customers.select("customer_pk", "priority_rank", "offer_date"), on="customer_pk"
        ),
        round_start,
        holidays,
    )
    return customers.select("customer_pk").join(scheduled, on="customer_pk", how="left")


def _slots(capacity: pl.DataFrame, limit: int) -> pl.DataFrame:
    usable = capacity.filter(pl.col("capacity") > 0).with_columns(
        n_slots=pl.min_horizontal(pl.col("capacity"), pl.lit(limit, dtype=pl.Int64))
    )
    return (
        usable.with_columns(slot=pl.int_ranges(0, pl.col("n_slots"), dtype=pl.Int64))
        .explode("slot")
        .with_columns(key=(pl.col("slot") + 0.5) / pl.col("capacity"))
        .select(
            "agent_id",
            agent_seniority="seniority",
            daily_capacity="daily_capacity",
            slot="slot",
            key="key",
        )
        .sort(["key", "agent_id"])
    )


def _schedule(assigned: pl.DataFrame, round_start: date, holidays: Sequence[date]) -> pl.DataFrame:
    ordered = assigned.sort(["agent_id", "offer_date", "priority_rank"], nulls_last=True)
    dated = spread_due_dates(
        ordered.select("customer_pk", "agent_id", "daily_capacity"),
        start=round_start,
        holidays=holidays,
    )
    return ordered.join(dated, on="customer_pk", how="left").select(
        "customer_pk", "agent_id", "agent_seniority", "day", "planned_date"
    )


def first_call_day(round_start: date, round_end: date, planning_day: date | None) -> date:
    """The day a round's calls start: the planning day when the round is planned after its
    start (a round made on the 6th starts calling on the 6th, not overdue since the 1st), else
    the round's start. A round planned after its end (a replay of a past month) keeps its
    start: its calendar is the month's, not today's."""
    if planning_day is None or planning_day <= round_start or planning_day > round_end:
        return round_start
    return planning_day


def spread_due_dates(
    tasks: pl.DataFrame,
    *,
    start: date,
    holidays: Sequence[date] = (),
    booked: pl.DataFrame | None = None,
    default_capacity: int = DEFAULT_DAILY_CAPACITY,
) -> pl.DataFrame:
    """Due dates over working days from ``start``, within each agent's daily capacity.

    ``tasks`` holds ``agent_id`` and optionally ``daily_capacity`` (null or absent: the
    default), in call order within each agent (the first row is called first); any other
    column is kept. ``booked`` (``agent_id``, ``due_date``, ``n``) is what each agent already
    has due on a day (tasks of other rounds, tasks kept by the agent): those places are not
    handed out again. Returns ``tasks`` plus ``day`` (0-based working day from ``start``) and
    ``planned_date``; no agent gets more than their capacity due on one working day
    (counting ``booked``), and the days are filled in order, without gaps.

    One pass over whole frames: the k-th task of an agent goes to the first working day whose
    free places, summed from ``start``, exceed k (an as-of join on the running total)."""
    cap = (
        pl.col("daily_capacity").cast(pl.Int64).fill_null(default_capacity)
        if "daily_capacity" in tasks.columns
        else pl.lit(default_capacity, dtype=pl.Int64)
    ).clip(lower_bound=1)
    work = tasks.with_columns(
        _cap=cap,
        _k=pl.int_range(pl.len(), dtype=pl.Int64).over("agent_id"),
        _row=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    if work.height == 0:
        return tasks.with_columns(
            day=pl.lit(None, dtype=pl.Int64), planned_date=pl.lit(None, dtype=pl.Date)
        )
    hol = [np.datetime64(h, "D") for h in holidays]
    first = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward", holidays=hol)
    load = _booked_by_day(booked, first, hol)
    per_agent = work.group_by("agent_id").agg(
        _cap=pl.col("_cap").first(), _n=pl.len(), _kept=pl.lit(0, dtype=pl.Int64)
    )
    if load.height:
        per_agent = (
            per_agent.join(
                load.group_by("agent_id").agg(_busy=pl.col("_day").max() + 1),
                on="agent_id",
                how="left",
            )
            .with_columns(_kept=pl.col("_busy").fill_null(0))
            .drop("_busy")
        )
    # Days enough for each agent: their own tasks at full capacity after every booked day.
    grid = per_agent.with_columns(
        _day=pl.int_ranges(
            0, (pl.col("_n") + pl.col("_cap") - 1) // pl.col("_cap") + pl.col("_kept")
        )
    ).explode("_day")
    grid = grid.join(load, on=["agent_id", "_day"], how="left").with_columns(
        _free=(pl.col("_cap") - pl.col("_n_booked").fill_null(0)).clip(lower_bound=0)
    )
    grid = (
        grid.filter(pl.col("_free") > 0)
        .sort("agent_id", "_day")
        .with_columns(_before=pl.col("_free").cum_sum().over("agent_id") - pl.col("_free"))
        .select("agent_id", "_day", "_before")
        .sort("_before")
    )
    placed = (
        work.select("_row", "agent_id", "_k")
        .sort("_k")
        .join_asof(
            grid,
            left_on="_k",
            right_on="_before",
            by="agent_id",
            strategy="backward",
            check_sortedness=False,  # sorted by _before, hence within each agent
        )
        .sort("_row")
    )
    dates = np.busday_offset(first, placed["_day"].to_numpy(), roll="forward", holidays=hol)
    return tasks.with_columns(
        day=placed["_day"].alias("day"),
        planned_date=pl.Series("planned_date", dates, dtype=pl.Date),
    )


def _booked_by_day(
    booked: pl.DataFrame | None, first: np.datetime64, holidays: Sequence[np.datetime64]
) -> pl.DataFrame:
    """``agent_id``, ``_day`` (working days from ``first``), ``_n_booked``; a booked date on a
    weekend or holiday counts on the next working day, one before ``first`` on ``first``."""
    schema = {"agent_id": pl.Int64(), "_day": pl.Int64(), "_n_booked": pl.Int64()}
    if booked is None or booked.height == 0:
        return pl.DataFrame(schema=schema)
    rolled = np.busday_offset(
        np.maximum(booked["due_date"].to_numpy().astype("datetime64[D]"), first),
        0,
        roll="forward",
        holidays=holidays,
    )
    days = np.busday_count(first, rolled, holidays=holidays)
    return (
        booked.select(pl.col("agent_id").cast(pl.Int64), pl.col("n").cast(pl.Int64))
        .with_columns(_day=pl.Series(days, dtype=pl.Int64))
        .group_by("agent_id", "_day")
        .agg(_n_booked=pl.col("n").sum())
        .select(list(schema))
    )


def per_agent_counts(assigned: pl.DataFrame) -> dict[str, int]:
    """``{agent_id: customers}`` for the plan summary (JSON keys are strings)."""
    counts = (
        assigned.filter(pl.col("agent_id").is_not_null())
        .group_by("agent_id")
        .len()
        .sort("agent_id")
    )
    return {str(a): int(c) for a, c in counts.iter_rows()}
