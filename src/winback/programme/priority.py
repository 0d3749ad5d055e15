"""Who a round calls: expected incremental margin, uplift classes and the random share (R6).

**Expected incremental margin** of calling a customer (the planner's priority)::

    uplift x value if won back x gross margin - contact cost - expected offer cost

* ``uplift`` - the predicted rise in P(return) a call brings (the round's targeting policy,
  :mod:`winback.programme.targeting`); it may be negative (a call that annoys).
* ``value if won back`` - ``clv_365 / P(alive)``: the yearly value of a customer known to be
  alive (Fader, Hardie & Lee 2005, *Marketing Science* 24:275-284, eq. 10); times the
  business's gross margin it is the margin a return restores.
* ``contact cost`` - agent minute cost x minutes per call x contacts per round: what the
  round spends on a customer it calls, whether the customer comes back or not.
* ``expected offer cost`` (:func:`expected_offer_cost`) - a deliberately simple estimate:
  ``P(return | called) x the tier's typical offer cost``. Whoever comes back with an offer in
  hand redeems it, including the customers who would have come back anyway (the cost of a
  sure thing); the tier's typical offer is ``offer depth x the median expected spend of the
  tier's candidates``, so a customer whose own expected spend is zero still costs an offer.

Customers whose expected incremental margin is below ``min_expected_value`` (0 by default)
are *not worth a call*: priority never selects them.

**Uplift classes** (:func:`uplift_class`), after the four groups of uplift modelling
(Radcliffe & Surry 2011, "Real-world uplift modelling with significance-based uplift trees";
Kane, Lo & Zheng 2014, *Journal of Marketing Analytics* 2:218-238), from the predicted
uplift and the predicted P(return | not called) ``p_untreated``:

* ``persuadable`` - uplift >= ``persuadable_uplift`` (a call moves them);
* ``do_not_disturb`` - uplift <= -``persuadable_uplift`` (a call makes a return less likely);
* ``sure_thing`` - a call changes little and ``p_untreated >= sure_thing_p_untreated``: they
  are more likely than not to come back anyway;
* ``lost_cause`` - a call changes little and they are unlikely to come back either way;
* ``unknown`` - a call changes little and no P(return | not called) is known.

**Random share** (:func:`select_places`): ``round(random_share x places)`` of the places
agent capacity offers are filled uniformly at random among *all* eligible customers (worth a
call or not: the next model must learn where the current one is wrong), the remaining places
by priority among the customers worth a call. The draw uses its own seeded stream, keyed by
``customer_pk`` order, so it is independent of priority and of row order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from winback.programme.assignment import level_quotas

UPLIFT_CLASSES: Final = ("persuadable", "sure_thing", "lost_cause", "do_not_disturb", "unknown")
SELECTED_BY: Final = ("priority", "random")
# The random share's draw is a stream of its own, never the holdout's.
RANDOM_STREAM: Final = 0x7A4D


@dataclass(frozen=True)
class ClassThresholds:
    """Where the uplift classes split (module doc)."""

    persuadable_uplift: float = 0.01  # one percentage point of P(return)
    sure_thing_p_untreated: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.persuadable_uplift < 1.0:
            raise ValueError("persuadable_uplift must be in [0, 1)")
        if not 0.0 < self.sure_thing_p_untreated <= 1.0:
            raise ValueError("sure_thing_p_untreated must be in (0, 1]")


def contact_cost(*, agent_minute_cost: float, call_minutes: float, contacts: int) -> float:
    """What calling one customer costs in a round, reached or not."""
    return float(agent_minute_cost) * float(call_minutes) * int(contacts)


def typical_offer_cost(spend: pl.Expr, depth: float) -> pl.Expr:
    """The tier's typical offer: ``depth`` x the median expected spend of the tier's
    customers (the frame needs ``tier``); 0 where the tier has no spend figure."""
    return (spend.median().over("tier") * depth).fill_null(0.0).clip(lower_bound=0.0)


def expected_offer_cost(p_called: pl.Expr, typical_offer: pl.Expr) -> pl.Expr:
    """``P(return | called) x typical offer cost``: an offer costs when it is redeemed, and
    every customer who comes back after the call redeems it (module doc)."""
    return p_called.clip(0.0, 1.0) * typical_offer


def expected_margin(
    uplift: pl.Expr,
    value_if_won_back: pl.Expr,
    *,
    gross_margin: float,
    contact: float,
    offer_cost: pl.Expr,
) -> pl.Expr:
    """Expected incremental margin of calling a customer (module doc)."""
    return uplift * value_if_won_back * gross_margin - contact - offer_cost


def uplift_class(uplift: pl.Expr, p_untreated: pl.Expr, thresholds: ClassThresholds) -> pl.Expr:
    """The customer's uplift class (module doc); ``unknown`` when uplift itself is null."""
    u = thresholds.persuadable_uplift
    return (
        pl.when(uplift.is_null())
        .then(pl.lit("unknown"))
        .when(uplift >= u)
        .then(pl.lit("persuadable"))
        .when(uplift <= -u)
        .then(pl.lit("do_not_disturb"))
        .when(p_untreated.is_null())
        .then(pl.lit("unknown"))
        .when(p_untreated >= thresholds.sure_thing_p_untreated)
        .then(pl.lit("sure_thing"))
        .otherwise(pl.lit("lost_cause"))
    )


def random_keys(customer_pk: pl.Series, seed: int) -> pl.Series:
    """A uniform key per customer from the seed alone: drawn in ``customer_pk`` order, so the
    same customers and seed give the same keys whatever the row order."""
    order = customer_pk.arg_sort()
    keys = np.empty(customer_pk.len(), dtype=np.float64)
    keys[order.to_numpy()] = np.random.default_rng([RANDOM_STREAM, seed]).random(customer_pk.len())
    return pl.Series("_random_key", keys)


def _level_counts(frame: pl.DataFrame, mask: pl.Expr | None = None) -> dict[int, int]:
    part = frame if mask is None else frame.filter(mask)
    return {int(k): int(v) for k, v in part.group_by("required_seniority").len().iter_rows()}


def select_places(
    frame: pl.DataFrame,
    capacity: pl.DataFrame,
    *,
    random_share: float,
    seed: int,
    scale: float = 1.0,
    margin: int = 0,
) -> tuple[pl.DataFrame, int]:
    """Add ``selected`` (bool) and ``selected_by`` (``priority`` | ``random`` | null) to the
    eligible customers ``frame`` (``customer_pk``, ``priority_rank``, ``required_seniority``,
    ``worth`` = worth a call); return it with the number of places capacity offers.

    Places per seniority level are :func:`~winback.programme.assignment.level_quotas` over all
    eligible customers. ``round(random_share x places)`` of them are drawn in random-key order,
    a customer being skipped only when the places of its level are used up by earlier draws
    (walking a uniform permutation: uniform among eligible customers whenever seniority does
    not bind). The levels' quotas are then recomputed for what remains wanted (the random
    picks plus the customers worth a call) and filled by ``priority_rank``.
    """
    if not 0.0 <= random_share <= 1.0:
        raise ValueError("random_share must be in [0, 1]")
    by_seniority = {
        int(k): int(v)
        for k, v in capacity.group_by("seniority").agg(pl.col("capacity").sum()).iter_rows()
    }
    quotas = level_quotas(_level_counts(frame), by_seniority, scale=scale, margin=margin)
    places = sum(quotas.values())
    k = math.floor(random_share * places + 0.5)
    quota = pl.col("required_seniority").replace_strict(quotas, default=0, return_dtype=pl.Int64)
    keyed = frame.with_columns(random_keys(frame["customer_pk"], seed))
    admissible = pl.col("_random_key").rank("ordinal").over("required_seniority") <= quota
    keyed = keyed.with_columns(
        _random=admissible
        & (pl.when(admissible).then(pl.col("_random_key")).rank("ordinal") <= k).fill_null(False)
    )
    wanted = pl.col("_random") | pl.col("worth")
    final = level_quotas(_level_counts(keyed, wanted), by_seniority, scale=scale, margin=margin)
    randoms = _level_counts(keyed, pl.col("_random"))
    room = {lvl: final.get(lvl, 0) - randoms.get(lvl, 0) for lvl in final}
    room_expr = pl.col("required_seniority").replace_strict(room, default=0, return_dtype=pl.Int64)
    candidate = pl.col("worth") & ~pl.col("_random")
    by_priority = (
        pl.when(candidate).then(pl.col("priority_rank")).rank("ordinal").over("required_seniority")
    )
    priority = candidate & (by_priority <= room_expr).fill_null(False)
    out = keyed.with_columns(
        selected=pl.col("_random") | priority,
        selected_by=pl.when(pl.col("_random"))
        .then(pl.lit("random"))
        .when(priority)
        .then(pl.lit("priority"))
        .otherwise(pl.lit(None, dtype=pl.String)),
    ).drop("_random_key", "_random")
    return out, places


def class_counts(frame: pl.DataFrame, column: str, codes: tuple[str, ...]) -> dict[str, int]:
    """``{code: rows}`` for every code (0 when absent), in ``codes`` order."""
    counts: Mapping[str, int] = (
        dict(frame.group_by(column).len().iter_rows()) if frame.height else {}
    )
    return {c: int(counts.get(c, 0)) for c in codes}
