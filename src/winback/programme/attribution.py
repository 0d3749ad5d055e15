"""Did it work? Monitoring maths for a round: treated vs control at +30/+60/+90 days (R7).

For each customer of a round and each horizon ``h`` the outcome window is
``[round_start, round_start + h)``: came back (a purchase), re-engaged without buying (an
engagement event but no purchase), net spend, offer redeemed (an order with the offer's coupon),
category matched (bought in the category promised in the call). Comparing the arms gives:

* **incremental win-back rate** ``p_treated - p_control`` with the Newcombe hybrid score
  interval (Newcombe 1998, *Statistics in Medicine* 17:873-890, method 10): Wilson score
  intervals (Wilson 1927, *JASA* 22:209-212) for each proportion, combined by
  ``L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.
  It keeps close to nominal coverage for small control groups and rare events, where the
  Wald interval undercovers; at round sizes the two agree.
* **incremental revenue per customer** (difference of mean net spend) with a percentile
  bootstrap interval (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13),
  resampling each arm independently, vectorised in numpy and seeded.
* **cost** = agent minutes x minute rate + cost of the offers actually redeemed, and
  **ROI** = (incremental margin - cost) / cost.

Comparisons are intention-to-treat: every treated customer counts, reached or not, which is
what the random holdout makes unbiased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from winback.programme.frames import (
    MEMBERSHIPS,
    OFFERS_MADE,
    OUTCOME_EVENTS,
    OUTCOME_LINES,
    OUTCOME_ORDERS,
    ROUND_ARMS,
    ROUND_CONTACTS,
)

HORIZONS = (30, 60, 90)
# The last outcome window closes this many days after a round starts: until then its control
# group is being measured and must stay untouched (the contact gate and the planner read it).
MEASUREMENT_DAYS = max(HORIZONS)
FloatArray = NDArray[np.float64]


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError("confidence level must be in (0, 1)")
    return float(norm.ppf(0.5 + level / 2.0))


def wilson_interval(
    x: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for ``x`` successes out of ``n`` (vectorised; NaN where n = 0)."""
    xa = np.asarray(x, dtype=np.float64)
    na = np.asarray(n, dtype=np.float64)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = xa / na
        denom = 1.0 + z * z / na
        centre = (p + z * z / (2.0 * na)) / denom
        half = z * np.sqrt(p * (1.0 - p) / na + z * z / (4.0 * na * na)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_interval(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Difference ``x1/n1 - x2/n2`` and its Newcombe hybrid score interval (method 10).

    Vectorised over arrays of counts. Newcombe (1998) reports, e.g., 56/70 - 48/80:
    0.0524 to 0.3339, and 9/10 - 3/10: 0.1705 to 0.8090.
    """
    a1 = np.asarray(x1, dtype=np.float64)
    b1 = np.asarray(n1, dtype=np.float64)
    a2 = np.asarray(x2, dtype=np.float64)
    b2 = np.asarray(n2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a1 / b1
        p2 = a2 / b2
    l1, u1 = wilson_interval(a1, b1, level)
    l2, u2 = wilson_interval(a2, b2, level)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, np.clip(lower, -1.0, 1.0), np.clip(upper, -1.0, 1.0)


def bootstrap_mean_diff(
    treated: ArrayLike,
    control: ArrayLike,
    *,
    seed: int,
    n_boot: int = 2000,
    level: float = 0.95,
    chunk_elements: int = 4_000_000,
) -> tuple[float, float, float]:
    """``mean(treated) - mean(control)`` and its percentile bootstrap interval.

    Each arm is resampled with replacement, ``n_boot`` times, in chunks of at most
    ``chunk_elements`` drawn values (memory stays bounded for large rounds).
    """
    est, lo, hi = bootstrap_mean_diffs(
        np.asarray(treated, dtype=np.float64).reshape(-1, 1),
        np.asarray(control, dtype=np.float64).reshape(-1, 1),
        seed=seed,
        n_boot=n_boot,
        level=level,
        chunk_elements=chunk_elements,
    )
    return float(est[0]), float(lo[0]), float(hi[0])


def bootstrap_mean_diffs(
    treated: FloatArray,
    control: FloatArray,
    *,
    seed: int,
    n_boot: int = 2000,
    level: float = 0.95,
    chunk_elements: int = 4_000_000,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`bootstrap_mean_diff` of each column of ``treated`` and ``control`` (one row per
    customer, one column per measure: a round's spend at each horizon), from the same
    resamples of the customers: one draw serves every column. Returns ``(estimate, low,
    high)``, one value per column; NaNs when an arm is empty."""
    t = np.asarray(treated, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    columns = t.shape[1] if t.ndim == 2 else 1
    if t.shape[0] == 0 or c.shape[0] == 0:
        nan = np.full(columns, np.nan)
        return nan, nan.copy(), nan.copy()
    rng = np.random.default_rng(seed)
    diffs = _boot_means(t, n_boot, rng, chunk_elements) - _boot_means(
        c, n_boot, rng, chunk_elements
    )
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(diffs, [alpha, 1.0 - alpha], axis=0)
    return t.mean(axis=0) - c.mean(axis=0), lo, hi


def _boot_means(
    values: FloatArray, n_boot: int, rng: np.random.Generator, chunk_elements: int
) -> FloatArray:
    """The means of ``n_boot`` resamples (with replacement) of the rows of ``values`` (one
    column per measure; a 1-D array is one measure), drawing only what matters: spend per
    customer is mostly zero, and a resample's sum is the sum of the non-zero rows it picked. Of
    a resample's ``n`` draws, the number landing on the ``k`` rows with a non-zero value is
    Binomial(n, k/n), and given that number each lands on one of them uniformly: drawing those
    (one call for all resamples, summed per resample with ``bincount``) gives exactly the
    distribution of the plain bootstrap for ``n_boot x k`` draws instead of ``n_boot x n``.
    Chunks of at most ``chunk_elements`` expected draws keep memory bounded. Returns
    ``(n_boot,)`` for a 1-D ``values``, else ``(n_boot, columns)``."""
    flat = values.ndim == 1
    matrix = values.reshape(-1, 1) if flat else values
    n, columns = matrix.shape
    nonzero = matrix[(matrix != 0.0).any(axis=1)]
    k = nonzero.shape[0]
    out = np.zeros((n_boot, columns), dtype=np.float64)
    if k:
        rows = max(1, chunk_elements // k)
        for start in range(0, n_boot, rows):
            b = min(rows, n_boot - start)
            hits = rng.binomial(n, k / n, size=b)
            picks = rng.integers(0, k, size=int(hits.sum()))
            owner = np.repeat(np.arange(b), hits)
            for j in range(columns):
                out[start : start + b, j] = (
                    np.bincount(owner, weights=nonzero[picks, j], minlength=b) / n
                )
    return out[:, 0] if flat else out


# --- outcomes per customer ---------------------------------------------------------------------


def round_outcomes(
    arms: pl.DataFrame,
    *,
    round_start: date,
    orders: pl.DataFrame,
    lines: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    offers_made: pl.DataFrame | None = None,
    horizons: Sequence[int] = HORIZONS,
    as_of: date | None = None,
) -> pl.DataFrame:
    """One row per customer and horizon with the outcome flags and spend.

    Columns: ``customer_pk``, ``arm``, ``stratum``, ``horizon``, ``matured`` (the window has
    fully passed by ``as_of``; always true without ``as_of``), ``came_back``, ``re_engaged``
    (engaged without buying), ``orders``, ``spend`` (net, currency units), ``offered``,
    ``offer_redeemed``, ``promised_category`` and ``category_matched`` (null when nothing was
    offered / promised). Data after ``as_of`` is ignored.
    """
    members = ROUND_ARMS.conform(arms)
    if members["customer_pk"].n_unique() != members.height:
        raise ValueError("a customer appears twice in the round arms")
    hz = pl.DataFrame({"horizon": sorted(set(horizons))}, schema={"horizon": pl.Int64()})
    last_day = round_start + timedelta(days=max(horizons) - 1)
    if as_of is not None:
        last_day = min(last_day, as_of)
    base = members.join(hz, how="cross").with_columns(
        matured=pl.lit(True)
        if as_of is None
        else (
            pl.lit(round_start) + pl.duration(days=pl.col("horizon"))
            <= pl.lit(as_of) + pl.duration(days=1)
        )
    )
    offers = _offers(offers_made)
    ords = OUTCOME_ORDERS.conform(orders).filter(
        pl.col("order_date").is_between(round_start, last_day)
    )
    base = base.join(
        _order_outcomes(ords, hz, round_start, offers), on=["customer_pk", "horizon"], how="left"
    )
    base = base.join(
        _event_outcomes(events, hz, round_start, last_day),
        on=["customer_pk", "horizon"],
        how="left",
    )
    base = base.join(
        _category_outcomes(lines, hz, round_start, last_day, offers),
        on=["customer_pk", "horizon"],
        how="left",
    )
    base = base.join(
        offers.select("customer_pk", "promised_category"), on="customer_pk", how="left"
    )
    offered = pl.col("customer_pk").is_in(offers["customer_pk"].implode())
    return (
        base.with_columns(
            orders=pl.col("orders").fill_null(0).cast(pl.Int64),
            spend=pl.col("spend").fill_null(0.0),
            came_back=pl.col("came_back").fill_null(False),
            re_engaged=pl.col("engaged").fill_null(False) & ~pl.col("came_back").fill_null(False),
            offered=offered,
            offer_redeemed=pl.when(offered).then(pl.col("redeemed").fill_null(False)),
            category_matched=pl.when(pl.col("promised_category").is_not_null()).then(
                pl.col("matched").fill_null(False)
            ),
        )
        .select(
            "customer_pk",
            "arm",
            "stratum",
            "horizon",
            "matured",
            "came_back",
            "re_engaged",
            "orders",
            "spend",
            "offered",
            "offer_redeemed",
            "promised_category",
            "category_matched",
        )
        .sort(["horizon", "customer_pk"])
    )


def _offers(offers_made: pl.DataFrame | None) -> pl.DataFrame:
    if offers_made is None:
        offers_made = OFFERS_MADE.empty()
    frame = OFFERS_MADE.conform(offers_made)
    if frame["customer_pk"].n_unique() != frame.height:
        raise ValueError("offers made: one chosen offer per customer")
    return frame.select(
        "customer_pk",
        coupon=pl.coalesce("coupon_code", "offer_code"),
        promised_category=pl.col("category_code"),
        offer_cost="offer_cost",
    )


def _in_window(day_col: str, start: date) -> pl.Expr:
    return (pl.col(day_col) - pl.lit(start)).dt.total_days() < pl.col("horizon")


def _order_outcomes(
    ords: pl.DataFrame, hz: pl.DataFrame, start: date, offers: pl.DataFrame
) -> pl.DataFrame:
    with_coupon = ords.join(offers.select("customer_pk", "coupon"), on="customer_pk", how="left")
    return (
        with_coupon.join(hz, how="cross")
        .filter(_in_window("order_date", start))
        .group_by("customer_pk", "horizon")
        .agg(
            orders=(pl.col("amount_cents") > 0).sum(),
            spend=pl.col("amount_cents").sum() / 100.0,
            came_back=(pl.col("amount_cents") > 0).any(),
            redeemed=((pl.col("coupon_code") == pl.col("coupon")) & (pl.col("amount_cents") > 0))
            .fill_null(False)
            .any(),
        )
    )


def _event_outcomes(
    events: pl.DataFrame | None, hz: pl.DataFrame, start: date, last_day: date
) -> pl.DataFrame:
    ev = OUTCOME_EVENTS.conform(events if events is not None else OUTCOME_EVENTS.empty())
    return (
        ev.filter(
            pl.col("occurred_date").is_between(start, last_day)
            & (pl.col("event_type") != "complaint")
        )
        .join(hz, how="cross")
        .filter(_in_window("occurred_date", start))
        .group_by("customer_pk", "horizon")
        .agg(engaged=pl.lit(True))
    )


def _category_outcomes(
    lines: pl.DataFrame | None,
    hz: pl.DataFrame,
    start: date,
    last_day: date,
    offers: pl.DataFrame,
) -> pl.DataFrame:
    ln = OUTCOME_LINES.conform(lines if lines is not None else OUTCOME_LINES.empty())
    return (
        ln.filter(pl.col("order_date").is_between(start, last_day))
        .join(offers.select("customer_pk", "promised_category"), on="customer_pk")
        .filter(pl.col("category_code") == pl.col("promised_category"))
        .join(hz, how="cross")
        .filter(_in_window("order_date", start))
        .group_by("customer_pk", "horizon")
        .agg(matched=pl.lit(True))
    )


# --- effects per round -------------------------------------------------------------------------


@dataclass(frozen=True)
class CostRates:
    call_minutes: float = 6.0  # per contact when the log holds no duration
    minute_cost: float = 1.0  # currency units per agent minute
    gross_margin: float = 0.35


def round_effects(
    outcomes: pl.DataFrame,
    *,
    seed: int,
    rates: CostRates = CostRates(),
    contacts: pl.DataFrame | None = None,
    offers_made: pl.DataFrame | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
) -> pl.DataFrame:
    """One row per horizon: rates per arm, incremental win-back rate with its Newcombe
    interval, incremental revenue per customer with its bootstrap interval, cost and ROI.

    ``outcomes`` is :func:`round_outcomes`'s frame; ``contacts`` (frames.ROUND_CONTACTS) the
    round's contacts, for agent time; ``offers_made`` gives each redeemed offer's cost.
    """
    agent_cost = _agent_cost(outcomes, contacts, rates)
    offers = _offers(offers_made).select("customer_pk", "offer_cost")
    horizons = [int(h) for h in outcomes["horizon"].unique().sort().to_list()]
    revenue = _revenue_intervals(outcomes, horizons, seed=seed, level=level, n_boot=n_boot)
    rows: list[dict[str, Any]] = []
    for horizon in horizons:
        part = outcomes.filter(pl.col("horizon") == horizon).join(
            offers, on="customer_pk", how="left"
        )
        rows.append(_effect_row(part, horizon, revenue[horizon], agent_cost, rates, level))
    return pl.DataFrame(rows, infer_schema_length=None)


def _revenue_intervals(
    outcomes: pl.DataFrame, horizons: list[int], *, seed: int, level: float, n_boot: int
) -> dict[int, tuple[float, float, float]]:
    """Per horizon, the spend difference (treated - control) per customer and its bootstrap
    interval, all horizons from one resampling of each arm's customers (a customer's spends at
    the horizons are one row: a resample takes the customer whole)."""

    def arm(name: str) -> FloatArray:
        wide = (
            outcomes.filter(pl.col("arm") == name)
            .pivot(on="horizon", index="customer_pk", values="spend", aggregate_function="sum")
            .fill_null(0.0)
        )
        columns = [str(h) for h in horizons]
        for name_ in columns:
            if name_ not in wide.columns:
                wide = wide.with_columns(pl.lit(0.0).alias(name_))
        return wide.select(pl.col(columns).cast(pl.Float64)).to_numpy()

    est, lo, hi = bootstrap_mean_diffs(
        arm("treated"), arm("control"), seed=seed, n_boot=n_boot, level=level
    )
    return {h: (float(est[i]), float(lo[i]), float(hi[i])) for i, h in enumerate(horizons)}


def _agent_cost(outcomes: pl.DataFrame, contacts: pl.DataFrame | None, rates: CostRates) -> float:
    if contacts is None:
        return 0.0
    treated = outcomes.filter(pl.col("arm") == "treated").select("customer_pk").unique()
    log = ROUND_CONTACTS.conform(contacts).join(treated, on="customer_pk", how="semi")
    minutes = log["minutes"].fill_null(rates.call_minutes).sum()
    return float(minutes) * rates.minute_cost


def _effect_row(
    part: pl.DataFrame,
    horizon: int,
    revenue: tuple[float, float, float],
    agent_cost: float,
    rates: CostRates,
    level: float,
) -> dict[str, Any]:
    t = part.filter(pl.col("arm") == "treated")
    c = part.filter(pl.col("arm") == "control")
    n_t, n_c = t.height, c.height
    x_t, x_c = int(t["came_back"].sum()), int(c["came_back"].sum())
    d, lo, hi = newcombe_interval(x_t, n_t, x_c, n_c, level)
    rev, rev_lo, rev_hi = revenue
    offer_cost = float(
        t.filter(pl.col("offer_redeemed").fill_null(False))["offer_cost"].fill_null(0.0).sum()
    )
    cost = agent_cost + offer_cost
    margin = rev * n_t * rates.gross_margin if n_t and n_c else float("nan")
    return {
        "horizon": horizon,
        "matured": bool(part["matured"].all()) if part.height else False,
        "n_treated": n_t,
        "n_control": n_c,
        "returned_treated": x_t,
        "returned_control": x_c,
        "p_treated": x_t / n_t if n_t else None,
        "p_control": x_c / n_c if n_c else None,
        "uplift": _num(d),
        "uplift_low": _num(lo),
        "uplift_high": _num(hi),
        "incremental_returns": _num(d * n_t),
        "re_engaged_treated": _rate(t["re_engaged"]),
        "re_engaged_control": _rate(c["re_engaged"]),
        "spend_treated": float(t["spend"].mean()) if n_t else None,  # type: ignore[arg-type]
        "spend_control": float(c["spend"].mean()) if n_c else None,  # type: ignore[arg-type]
        "revenue_uplift": _num(rev),
        "revenue_uplift_low": _num(rev_lo),
        "revenue_uplift_high": _num(rev_hi),
        "incremental_revenue": _num(rev * n_t),
        "incremental_margin": _num(margin),
        "offer_redemption_rate": _rate(t["offer_redeemed"]),
        "category_match_rate": _rate(t["category_matched"]),
        "agent_cost": agent_cost,
        "offer_cost": offer_cost,
        "cost": cost,
        "roi": _num((margin - cost) / cost) if cost > 0 else None,
    }


def _num(value: Any) -> float | None:
    v = float(np.asarray(value, dtype=np.float64))
    return None if np.isnan(v) else v


def _rate(flags: pl.Series) -> float | None:
    known = flags.drop_nulls()
    return float(known.cast(pl.Float64).mean()) if known.len() else None  # type: ignore[arg-type]


def effects_by_segment(
    outcomes: pl.DataFrame, segments: pl.DataFrame, by: str, *, horizon: int, level: float = 0.95
) -> pl.DataFrame:
    """Incremental win-back rate with its Newcombe interval per segment (e.g. per stage).

    ``segments`` maps ``customer_pk`` to the ``by`` column. The result feeds the next round's
    ``uplift_by_stage``: measured uplift replaces the default guesses.
    """
    part = outcomes.filter(pl.col("horizon") == horizon).join(
        segments.select("customer_pk", by), on="customer_pk", how="inner"
    )
    counts = (
        part.group_by(by)
        .agg(
            n_treated=(pl.col("arm") == "treated").sum(),
            n_control=(pl.col("arm") == "control").sum(),
            returned_treated=((pl.col("arm") == "treated") & pl.col("came_back")).sum(),
            returned_control=((pl.col("arm") == "control") & pl.col("came_back")).sum(),
        )
        .sort(by)
    )
    d, lo, hi = newcombe_interval(
        counts["returned_treated"].to_numpy(),
        counts["n_treated"].to_numpy(),
        counts["returned_control"].to_numpy(),
        counts["n_control"].to_numpy(),
        level,
    )
    return counts.with_columns(
        uplift=pl.Series(d, dtype=pl.Float64).fill_nan(None),
        uplift_low=pl.Series(lo, dtype=pl.Float64).fill_nan(None),
        uplift_high=pl.Series(hi, dtype=pl.Float64).fill_nan(None),
    )


# --- retirement --------------------------------------------------------------------------------


def retirement(memberships: pl.DataFrame, *, retire_after: int, as_of: date) -> pl.DataFrame:
    """Customers still silent after ``retire_after`` worked rounds are retired (R7).

    Counts the treated rounds that ended on or before ``as_of`` with ``returned`` false since
    the customer's last return (control rounds were not worked and do not count; rounds whose
    result is unknown do not count either). Returns ``customer_pk``,
    ``rounds_without_return`` and ``retired``.
    """
    if retire_after < 1:
        raise ValueError("retire_after must be at least 1")
    frame = MEMBERSHIPS.conform(memberships).filter(
        (pl.col("arm") == "treated") & (pl.col("ends") <= as_of)
    )
    last_return = (
        frame.filter(pl.col("returned").fill_null(False))
        .group_by("customer_pk")
        .agg(last_return=pl.col("ends").max())
    )
    return (
        frame.join(last_return, on="customer_pk", how="left")
        .group_by("customer_pk")
        .agg(
            rounds_without_return=(
                (pl.col("returned") == False)  # noqa: E712 - null (unknown) must not count
                & (pl.col("last_return").is_null() | (pl.col("ends") > pl.col("last_return")))
            )
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
        )
        .with_columns(retired=pl.col("rounds_without_return") >= retire_after)
        .sort("customer_pk")
    )
