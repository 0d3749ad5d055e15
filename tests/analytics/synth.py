"""A small synthetic purchase history with known dropouts, for the analytics tests.

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): while alive a customer buys as a
Poisson process with a personal rate; after each repeat purchase they drop out with a personal
probability, so the last purchase is the dropout. Customers who leave show it beforehand,
the way the source texts describe: their engagement stops some weeks before the last
purchase, many file a complaint that stays open, their basket shrinks and narrows, and our
calls go unanswered. Everything is vectorised and seeded.

``hand_built`` makes frames from a few literal rows for tests whose answer is obvious.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    AnalyticsFrames,
    empty,
)

EPOCH = date(1970, 1, 1)
CATEGORIES = (("staple", "necessary"), ("care", "necessary"), ("treat", "discretionary"))
CATEGORIES += (("gift", "discretionary"), ("misc", None), ("extra", "discretionary"))
ENGAGEMENT_KINDS = ("forum_post", "forum_reply", "qa_answer", "event_attendance", "survey_response")


@dataclass(frozen=True)
class Synthetic:
    frames: AnalyticsFrames
    truth: pl.DataFrame  # customer_pk, join_date, last_alive (dropout date), leaves (bool)
    start: date
    end: date


def _days(day: date) -> int:
    return (day - EPOCH).days


def _segment_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each segment (segments of ``counts`` consecutive rows)."""
    total = np.cumsum(values)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    offsets = np.concatenate([[0.0], total])[starts]
    return total - offsets


def synth_history(
    n_customers: int = 3000,
    *,
    start: date = date(2021, 1, 1),
    end: date = date(2025, 12, 31),
    seed: int = 7,
    engagement: bool = True,
    prospects_share: float = 0.04,
) -> Synthetic:
    """Customers joining over [start, end - 60 days]; data until ``end``.

    With ``engagement=False`` the history is purchase-only (no lines, events or contacts),
    like the CDNOW data set.
    """
    rng = np.random.default_rng(seed)
    n = n_customers
    pk = np.arange(1, n + 1, dtype=np.int64)
    first, last_day = _days(start), _days(end)
    join = rng.integers(first, last_day - 60, size=n)
    rate = rng.gamma(shape=1.2, scale=1 / 40.0, size=n)  # purchases per day
    rate = np.clip(rate, 1 / 400.0, 1 / 4.0)
    dropout = rng.beta(1.0, 7.0, size=n)
    repeats = rng.geometric(dropout) - 1  # repeat purchases before dropping out
    repeats = np.minimum(repeats, 200)
    buyer = rng.random(n) >= prospects_share
    repeats = np.where(buyer, repeats, 0)

    # Purchase times: join, then exponential gaps; the last one is the dropout.
    counts = np.where(buyer, repeats + 1, 0)
    owner = np.repeat(np.arange(n), counts)
    gaps = rng.exponential(1.0, size=owner.size) / rate[owner]
    first_of = np.repeat(np.cumsum(counts) - counts, counts)
    gaps[np.arange(owner.size) == first_of] = 0.0
    times = join[owner] + _segment_cumsum(gaps, counts)
    dropout_day = join.astype(np.int64).copy()
    np.maximum.at(dropout_day, owner, np.floor(times).astype(np.int64))
    leaves = buyer & (dropout_day <= last_day)
    keep = times <= last_day
    owner, times = owner[keep], np.floor(times[keep]).astype(np.int64)

    # Spend: a personal mean, halved in the half year before a dropout that happens.
    mean_spend = rng.lognormal(mean=np.log(8000), sigma=0.6, size=n)
    amount = rng.gamma(shape=4.0, scale=mean_spend[owner] / 4.0)
    fading = leaves[owner] & (times > dropout_day[owner] - 180)
    amount = np.where(fading, amount * 0.5, amount).round().astype(np.int64) + 100

    orders = pl.DataFrame(
        {
            "order_pk": np.arange(1, owner.size + 1, dtype=np.int64),
            "customer_pk": pk[owner],
            "order_date": times.astype(np.int32),
            "amount_cents": amount,
            "coupon_code": None,
        },
        schema_overrides={"order_date": pl.Int32},
    ).with_columns(pl.col("order_date").cast(pl.Date))
    orders = orders.select([pl.col(c).cast(t) for c, t in ORDERS.items()])
    customers = pl.DataFrame(
        {
            "customer_pk": pk,
            "external_id": [f"C{i:06d}" for i in pk],
            "join_date": join.astype(np.int32),
            "birthday": None,
            "store_code": None,
            "is_stub": False,
            "consent_marketing": True,
            "do_not_contact": False,
        }
    ).with_columns(pl.col("join_date").cast(pl.Date))
    customers = customers.select([pl.col(c).cast(t) for c, t in CUSTOMERS.items()])
    truth = pl.DataFrame(
        {
            "customer_pk": pk,
            "join_date": join.astype(np.int32),
            "last_alive": np.minimum(dropout_day, last_day).astype(np.int32),
            "leaves": leaves,
            "rate": rate,
        }
    ).with_columns(pl.col("join_date", "last_alive").cast(pl.Date))
    if not engagement:
        frames = AnalyticsFrames(
            customers, orders, empty(ORDER_LINES), empty(EVENTS), empty(CONTACTS)
        )
        return Synthetic(frames, truth, start, end)

    lines = _lines(rng, orders, fading)
    events = _events(rng, pk, join, dropout_day, leaves, buyer, last_day)
    contacts = _contacts(rng, pk, dropout_day, leaves, buyer, first, last_day)
    frames = AnalyticsFrames(customers, orders, lines, events, contacts)
    return Synthetic(frames, truth, start, end)


def _lines(rng: np.random.Generator, orders: pl.DataFrame, fading: np.ndarray) -> pl.DataFrame:
    """One to three lines per order; a fading customer's orders hold a single line."""
    n_orders = orders.height
    per_order = np.where(fading, 1, rng.integers(1, 4, size=n_orders))
    row = np.repeat(np.arange(n_orders), per_order)
    category = rng.integers(0, len(CATEGORIES), size=row.size)
    # Split the order amount over its lines; the rounding rest goes to the first line.
    share = rng.random(row.size) + 0.2
    totals = np.bincount(row, weights=share, minlength=n_orders)
    order_amount = orders["amount_cents"].to_numpy()
    line_amount = np.floor(order_amount[row] * share / totals[row]).astype(np.int64)
    rest = order_amount - np.bincount(row, weights=line_amount, minlength=n_orders).astype(np.int64)
    first_line = np.cumsum(per_order) - per_order
    line_amount[first_line] += rest
    codes = np.array([c for c, _ in CATEGORIES], dtype=object)
    necessity = np.array([nec for _, nec in CATEGORIES], dtype=object)
    frame = pl.DataFrame(
        {
            "order_pk": orders["order_pk"].to_numpy()[row],
            "customer_pk": orders["customer_pk"].to_numpy()[row],
            "order_date": orders["order_date"].to_numpy()[row],
            "category_code": codes[category].tolist(),
            "necessity": necessity[category].tolist(),
            "replenishment_days": None,
            "quantity": 1.0,
            "amount_cents": line_amount,
        }
    )
    return frame.select([pl.col(c).cast(t) for c, t in ORDER_LINES.items()])


def _events(
    rng: np.random.Generator,
    pk: np.ndarray,
    join: np.ndarray,
    dropout_day: np.ndarray,
    leaves: np.ndarray,
    buyer: np.ndarray,
    last_day: int,
) -> pl.DataFrame:
    n = pk.size
    # Engaged customers act at a personal rate until some weeks before they leave.
    engaged = buyer & (rng.random(n) < 0.5)
    act_rate = rng.gamma(2.0, 1 / 80.0, size=n)
    lead = rng.integers(30, 150, size=n)
    stop = np.where(leaves, dropout_day - lead, last_day)
    span = np.clip(stop - join, 0, None)
    n_acts = np.where(engaged, rng.poisson(act_rate * span), 0)
    owner = np.repeat(np.arange(n), n_acts)
    day = join[owner] + np.floor(rng.random(owner.size) * span[owner]).astype(np.int64)
    kind = np.array(ENGAGEMENT_KINDS, dtype=object)[rng.integers(0, 5, size=owner.size)]
    score = np.where(kind == "survey_response", rng.integers(6, 11, size=owner.size), -1)

    # Complaints: most leavers complain shortly before leaving, and it stays open;
    # a few stayers complain too, and theirs get resolved.
    leaver_complains = leaves & (rng.random(n) < 0.6)
    stayer_complains = buyer & ~leaves & (rng.random(n) < 0.05)
    c_owner = np.flatnonzero(leaver_complains | stayer_complains)
    c_day = np.where(
        leaves[c_owner],
        dropout_day[c_owner] - rng.integers(0, 60, size=c_owner.size),
        rng.integers(join[c_owner], last_day + 1),
    )
    c_day = np.maximum(c_day, join[c_owner])
    resolved = ~leaves[c_owner]
    resolved_day = np.where(resolved, c_day + rng.integers(1, 20, size=c_owner.size), -1)

    # Low satisfaction before leaving: a last survey with a poor score.
    s_owner = np.flatnonzero(leaves & engaged & (rng.random(n) < 0.5))
    s_day = np.maximum(dropout_day[s_owner] - rng.integers(0, 40, size=s_owner.size), join[s_owner])

    frames = [
        _event_frame(pk[owner], kind, day, score, None, None),
        _event_frame(
            pk[c_owner],
            np.full(c_owner.size, "complaint", dtype=object),
            c_day,
            np.full(c_owner.size, -1),
            resolved,
            resolved_day,
        ),
        _event_frame(
            pk[s_owner],
            np.full(s_owner.size, "survey_response", dtype=object),
            s_day,
            rng.integers(0, 5, size=s_owner.size),
            None,
            None,
        ),
        _referrals(rng, pk, engaged, join, last_day),
    ]
    events = pl.concat(frames, how="vertical")
    return events.filter(pl.col("occurred_date") <= _date(last_day)).select(
        [pl.col(c).cast(t) for c, t in EVENTS.items()]
    )


def _date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def _event_frame(
    customer: np.ndarray,
    kind: np.ndarray,
    day: np.ndarray,
    score: np.ndarray,
    resolved: np.ndarray | None,
    resolved_day: np.ndarray | None,
) -> pl.DataFrame:
    """Event rows; a negative score or resolution day means none."""
    size = customer.size
    frame = pl.DataFrame(
        {
            "customer_pk": customer.astype(np.int64),
            "event_type": pl.Series(kind.tolist(), dtype=pl.String),
            "occurred_date": day.astype(np.int32),
            "score": score.astype(np.int64),
            "resolved": resolved if resolved is not None else np.zeros(size, dtype=bool),
            "resolved_day": resolved_day if resolved_day is not None else np.full(size, -1),
        }
    )
    unresolved_flag = resolved is None
    return frame.select(
        "customer_pk",
        "event_type",
        pl.col("occurred_date").cast(pl.Date),
        pl.lit(None, dtype=pl.Int64).alias("referred_customer_pk"),
        pl.lit(None, dtype=pl.Boolean).alias("referred_bought"),
        pl.when(pl.col("score") >= 0).then(pl.col("score")).alias("score"),
        pl.lit(None, dtype=pl.Boolean).alias("adopted"),
        pl.when(not unresolved_flag).then(pl.col("resolved")).alias("resolved"),
        pl.when(pl.col("resolved_day") >= 0)
        .then(pl.col("resolved_day").cast(pl.Int32).cast(pl.Date))
        .alias("resolved_date"),
    )


def _referrals(
    rng: np.random.Generator, pk: np.ndarray, engaged: np.ndarray, join: np.ndarray, last_day: int
) -> pl.DataFrame:
    """Some engaged customers refer a customer who joined after them."""
    referrer = np.flatnonzero(engaged & (rng.random(pk.size) < 0.2))
    referred = rng.integers(0, pk.size, size=referrer.size)
    ok = join[referred] > join[referrer]
    referrer, referred = referrer[ok], referred[ok]
    size = referrer.size
    return pl.DataFrame(
        {
            "customer_pk": pk[referrer],
            "event_type": pl.Series(["referral"] * size, dtype=pl.String),
            "occurred_date": pl.Series(np.minimum(join[referred], last_day).astype(np.int32)).cast(
                pl.Date
            ),
            "referred_customer_pk": pk[referred],
            "referred_bought": pl.Series([None] * size, dtype=pl.Boolean),
            "score": pl.Series([None] * size, dtype=pl.Int64),
            "adopted": pl.Series([None] * size, dtype=pl.Boolean),
            "resolved": pl.Series([None] * size, dtype=pl.Boolean),
            "resolved_date": pl.Series([None] * size, dtype=pl.Date),
        }
    )


def _contacts(
    rng: np.random.Generator,
    pk: np.ndarray,
    dropout_day: np.ndarray,
    leaves: np.ndarray,
    buyer: np.ndarray,
    first_day: int,
    last_day: int,
) -> pl.DataFrame:
    """Outbound calls at random times; after leaving, most go unanswered."""
    n_calls = np.where(buyer, rng.poisson(4.0, size=pk.size), 0)
    owner = np.repeat(np.arange(pk.size), n_calls)
    day = rng.integers(first_day, last_day + 1, size=owner.size)
    gone = leaves[owner] & (day > dropout_day[owner] - 30)
    unanswered = rng.random(owner.size) < np.where(gone, 0.8, 0.2)
    outcome = np.where(unanswered, "not_reached", "reached")
    frame = pl.DataFrame(
        {
            "customer_pk": pk[owner],
            "occurred_date": pl.Series(day.astype(np.int32)).cast(pl.Date),
            "channel": "phone",
            "direction": "outbound",
            "outcome": outcome.tolist(),
        }
    )
    return frame.select([pl.col(c).cast(t) for c, t in CONTACTS.items()])


def hand_built(
    customers: Sequence[int],
    orders: Sequence[tuple[int, date, int]] = (),
    events: Sequence[dict[str, Any]] = (),
    *,
    lines: Sequence[tuple[int, str | None, str | None, int]] = (),
    contacts: Sequence[tuple[int, date, str, str]] = (),
    join_dates: dict[int, date] | None = None,
) -> AnalyticsFrames:
    """Frames from literal rows.

    orders: (customer_pk, date, amount_cents), numbered 1, 2, ... in the order given;
    lines: (order number, category_code, necessity, amount_cents);
    events: dicts with at least customer_pk, event_type and occurred_date;
    contacts: (customer_pk, date, direction, outcome).
    """
    joins = join_dates or {}
    customer_frame = pl.DataFrame(
        {
            "customer_pk": list(customers),
            "external_id": [f"H{c}" for c in customers],
            "join_date": [joins.get(c) for c in customers],
            "birthday": [None] * len(customers),
            "store_code": [None] * len(customers),
            "is_stub": [False] * len(customers),
            "consent_marketing": [True] * len(customers),
            "do_not_contact": [False] * len(customers),
        },
        schema=CUSTOMERS,
    )
    order_frame = pl.DataFrame(
        {
            "order_pk": list(range(1, len(orders) + 1)),
            "customer_pk": [o[0] for o in orders],
            "order_date": [o[1] for o in orders],
            "amount_cents": [o[2] for o in orders],
            "coupon_code": [None] * len(orders),
        },
        schema=ORDERS,
    )
    line_frame = pl.DataFrame(
        {
            "order_pk": [line[0] for line in lines],
            "customer_pk": [orders[line[0] - 1][0] for line in lines],
            "order_date": [orders[line[0] - 1][1] for line in lines],
            "category_code": [line[1] for line in lines],
            "necessity": [line[2] for line in lines],
            "replenishment_days": [None] * len(lines),
            "quantity": [1.0] * len(lines),
            "amount_cents": [line[3] for line in lines],
        },
        schema=ORDER_LINES,
    )
    event_rows = [{c: row.get(c) for c in EVENTS} for row in events]
    event_frame = pl.DataFrame(event_rows, schema=EVENTS) if event_rows else empty(EVENTS)
    contact_frame = pl.DataFrame(
        {
            "customer_pk": [c[0] for c in contacts],
            "occurred_date": [c[1] for c in contacts],
            "channel": ["phone"] * len(contacts),
            "direction": [c[2] for c in contacts],
            "outcome": [c[3] for c in contacts],
        },
        schema=CONTACTS,
    )
    return AnalyticsFrames(customer_frame, order_frame, line_frame, event_frame, contact_frame)


def concat_frames(first: AnalyticsFrames, second: AnalyticsFrames) -> AnalyticsFrames:
    """Both sets of rows (keys must not collide)."""
    return AnalyticsFrames(
        *(
            pl.concat([getattr(first, name), getattr(second, name)], how="vertical")
            for name in ("customers", "orders", "order_lines", "events", "contacts")
        )
    )
