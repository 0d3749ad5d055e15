"""Purchases over time: a BG/NBD-style buy-till-you-die process with seasonality.

Every buyer makes a first purchase on the join day. Repeat purchases follow a Poisson process
whose rate is the customer's ``rate`` times the daily demand curve. After each purchase,
including the first, the customer leaves for good with probability ``dropout_p`` (the BG/NBD
story of Fader, Hardie & Lee 2005; allowing dropout after the first purchase is the MBG/NBD
variant of Batislam, Denizel & Filiztekin 2007).

So the number of purchases a customer makes before leaving is geometric, ``K ~ Geom(p)``, and
the number of repeat purchases the window has room for is ``N ~ Poisson(rate * intensity)``.
The customer is observed to make ``min(K, N + 1)`` purchases and has left by ``end_date`` when
``K <= N + 1``. Only those purchases are drawn: the first ``m`` of ``N`` ordered uniform points
are the normalised partial sums of exponential spacings, ``U(k) = (E1 + .. + Ek) / (E1 + ..
+ E(N+1))``, and the tail ``E(m+1) + .. + E(N+1)`` is one gamma draw. Nothing scales with
purchases that never happen.

``dropout_day`` is the day of the customer's last purchase before leaving: the customer makes no
purchase (and no refund) after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from winback.simulate.industries import IndustrySpec
from winback.simulate.population import BoolArray, FloatArray, IntArray, Population

ALIVE = -1


@dataclass(frozen=True)
class Orders:
    """Purchases and refunds, one entry per order, in no particular order."""

    customer: IntArray
    day: IntArray
    minute: IntArray  # minute of the day
    refund_of: IntArray  # index of the refunded purchase, -1 for purchases
    dropout_day: IntArray  # per customer: day of the last purchase before leaving, or ALIVE
    last_purchase_day: IntArray  # per customer, -1 for prospects
    purchases: IntArray  # per customer: purchase orders (refunds excluded)
    first_purchases: int  # orders [0, first_purchases) are the customers' first purchases

    @property
    def size(self) -> int:
        return int(self.customer.size)

    @property
    def is_refund(self) -> BoolArray:
        return self.refund_of >= 0


def group_offsets(counts: IntArray) -> IntArray:
    """Start index of each group when groups of the given sizes are laid end to end."""
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def rank_in_group(counts: IntArray) -> IntArray:
    """0, 1, .. within each group of a flattened ``np.repeat(.., counts)`` layout."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_offsets(counts), counts)


def minutes_of_day(
    rng: np.random.Generator, hour_weights: tuple[float, ...], size: int
) -> IntArray:
    weights = np.asarray(hour_weights, dtype=np.float64)
    hours = rng.choice(24, size=size, p=weights / weights.sum())
    return hours * 60 + rng.integers(0, 60, size)


def _repeat_days(
    rng: np.random.Generator,
    cumulative: FloatArray,
    start_level: FloatArray,
    span: FloatArray,
    drawn: IntArray,
    available: IntArray,
) -> IntArray:
    """Days of the first ``drawn`` of ``available`` Poisson points per customer (see module)."""
    owner = np.repeat(np.arange(drawn.size), drawn)
    steps = rng.exponential(size=owner.size)
    running = np.cumsum(steps)
    starts = group_offsets(drawn)
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0.0)
    partial = running - np.repeat(before, drawn)
    has_any = drawn > 0
    tail = np.zeros(drawn.size)
    tail[has_any] = rng.gamma(available[has_any] - drawn[has_any] + 1.0)
    totals = np.zeros(drawn.size)
    totals[has_any] = partial[starts[has_any] + drawn[has_any] - 1]
    share = partial / (totals + tail)[owner]
    level = start_level[owner] + share * span[owner]
    day = np.searchsorted(cumulative, level, side="right") - 1
    clipped: IntArray = np.minimum(day, cumulative.size - 2)
    return clipped


def simulate_orders(
    rng: np.random.Generator, spec: IndustrySpec, people: Population, intensity: FloatArray
) -> Orders:
    n = people.size
    days = intensity.size
    cumulative = np.concatenate([[0.0], np.cumsum(intensity)])
    buyer = ~people.prospect
    start_level = cumulative[np.minimum(people.join_day + 1, days)]
    span = cumulative[days] - start_level

    available = np.where(buyer, rng.poisson(people.rate * span), 0)
    lifetime = rng.geometric(people.dropout_p)  # purchases made before leaving, >= 1
    drawn = np.where(buyer, np.minimum(lifetime - 1, available), 0)
    left = buyer & (lifetime <= available + 1)

    repeat_owner = np.repeat(np.arange(n), drawn)
    repeat_day = _repeat_days(rng, cumulative, start_level, span, drawn, available)
    buyers = np.flatnonzero(buyer)
    customer = np.concatenate([buyers, repeat_owner])
    day = np.concatenate([people.join_day[buyers], repeat_day])
    minute = minutes_of_day(rng, spec.hour_weights, customer.size)

    last_purchase_day = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_purchase_day, customer, day)
    purchases = np.bincount(customer, minlength=n).astype(np.int64)
    dropout_day = np.where(left, last_purchase_day, ALIVE)

    refund_of, refund_day, refund_minute = _refunds(
        rng, spec, customer, day, minute, last_purchase_day
    )
    return Orders(
        customer=np.concatenate([customer, customer[refund_of]]),
        day=np.concatenate([day, refund_day]),
        minute=np.concatenate([minute, refund_minute]),
        refund_of=np.concatenate([np.full(customer.size, -1, dtype=np.int64), refund_of]),
        dropout_day=dropout_day,
        last_purchase_day=last_purchase_day,
        purchases=purchases,
        first_purchases=int(buyers.size),
    )


COUPON_NONE, COUPON_WELCOME, COUPON_SEASONAL = -1, 0, 1


def coupons(
    rng: np.random.Generator, people: Population, orders: Orders
) -> tuple[IntArray, FloatArray]:
    """Which orders used a coupon (price-sensitive customers use more), and the discount.
    First purchases sometimes use the welcome coupon."""
    first_purchases = orders.first_purchases
    sensitivity = people.price_sensitivity[orders.customer]
    seasonal = rng.random(orders.size) < 0.03 + 0.25 * sensitivity
    kind = np.where(seasonal, COUPON_SEASONAL, COUPON_NONE)
    welcome = np.zeros(orders.size, dtype=bool)
    welcome[:first_purchases] = rng.random(first_purchases) < 0.3
    kind = np.where(welcome, COUPON_WELCOME, kind)
    kind = np.where(orders.is_refund, COUPON_NONE, kind)
    discount = np.where(kind == COUPON_WELCOME, 0.85, np.where(kind == COUPON_SEASONAL, 0.9, 1.0))
    return kind, discount


def _refunds(
    rng: np.random.Generator,
    spec: IndustrySpec,
    customer: IntArray,
    day: IntArray,
    minute: IntArray,
    last_purchase_day: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """A share of purchases is partly refunded within two weeks, never after the customer's
    last purchase (a refund is an order too, and leavers order nothing after leaving)."""
    refund_of = np.flatnonzero(rng.random(customer.size) < spec.refund_share)
    delay = np.minimum(rng.geometric(0.25, refund_of.size) - 1, 14)
    refund_day = np.minimum(day[refund_of] + delay, last_purchase_day[customer[refund_of]])
    refund_minute = minutes_of_day(rng, spec.hour_weights, refund_of.size)
    same_day = refund_day == day[refund_of]
    refund_minute = np.where(
        same_day, np.maximum(refund_minute, np.minimum(minute[refund_of] + 1, 1439)), refund_minute
    )
    return refund_of, refund_day, refund_minute


@dataclass(frozen=True)
class Lines:
    """Order lines, grouped by order (``order`` ascending) with ``line_no`` from 1.

    Narrow integer types keep twenty million lines in about half a gigabyte.
    """

    order: npt.NDArray[np.int32]
    line_no: npt.NDArray[np.int16]
    category: npt.NDArray[np.int16]
    product: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.int16]  # negative on refunds
    amount_cents: IntArray  # negative on refunds


@dataclass(frozen=True)
class Catalogue:
    category_of_product: IntArray
    unit_price_cents: IntArray
    first_product: IntArray  # per category
    product_count: IntArray  # per category
    max_quantity: IntArray  # per category
    popularity: FloatArray  # per category, sums to 1


def _purchase_lines(
    rng: np.random.Generator,
    spec: IndustrySpec,
    people: Population,
    catalogue: Catalogue,
    customer: IntArray,
    discount: FloatArray,
) -> tuple[IntArray, Lines]:
    """Lines of purchase orders: categories from the customer's preferences, dearer products
    and larger quantities for customers of higher value."""
    value = people.value[customer]
    count = 1 + rng.poisson(spec.extra_lines_mean * value**0.3)
    order = np.repeat(np.arange(customer.size, dtype=np.int32), count)
    line_customer = customer[order]
    size = order.size

    pick = rng.random(size)
    category = np.where(
        pick < 0.55,
        people.preferred_category[line_customer],
        people.secondary_category[line_customer],
    ).astype(np.int16)
    anywhere = pick >= 0.8
    category[anywhere] = rng.choice(
        catalogue.popularity.size, size=int(anywhere.sum()), p=catalogue.popularity
    )
    tier = people.value_pct[line_customer] + rng.normal(0.0, 0.25, size)
    np.clip(tier, 0.0, 0.9999, out=tier)
    product = catalogue.first_product[category] + (tier * catalogue.product_count[category])
    del tier
    # Extra units are geometric: P(extra >= k) = q**k, q growing with the customer's value.
    q = np.clip(0.15 + 0.12 * np.sqrt(people.value[line_customer]), 0.05, 0.8)
    extra = np.floor(np.log1p(-rng.random(size)) / np.log(q))
    quantity = np.minimum(1 + extra, catalogue.max_quantity[category]).astype(np.int16)
    del q, extra
    amount = catalogue.unit_price_cents[product.astype(np.int32)] * (quantity * discount[order])
    lines = Lines(
        order=order,
        line_no=(np.arange(size, dtype=np.int64) - group_offsets(count)[order] + 1).astype(
            np.int16
        ),
        category=category,
        product=product.astype(np.int32),
        quantity=quantity,
        amount_cents=np.rint(amount).astype(np.int64),
    )
    return count, lines


def simulate_lines(
    rng: np.random.Generator,
    spec: IndustrySpec,
    people: Population,
    catalogue: Catalogue,
    orders: Orders,
    discount: FloatArray,
) -> tuple[Lines, IntArray]:
    """All order lines, and each order's amount (the sum of its lines).

    A refund returns one line of the refunded purchase: same product and category, negative
    quantity and amount.
    """
    purchase = np.flatnonzero(~orders.is_refund)  # purchases come first in ``orders``
    count, bought = _purchase_lines(
        rng, spec, people, catalogue, orders.customer[purchase], discount[purchase]
    )
    refunds = np.flatnonzero(orders.is_refund)
    refunded = orders.refund_of[refunds]
    offsets = group_offsets(count)
    source = offsets[refunded] + rng.integers(0, count[refunded])
    returned = Lines(
        order=refunds.astype(np.int32),
        line_no=np.ones(refunds.size, dtype=np.int16),
        category=bought.category[source],
        product=bought.product[source],
        quantity=-bought.quantity[source],
        amount_cents=-bought.amount_cents[source],
    )
    lines = Lines(
        **{
            name: np.concatenate([getattr(bought, name), getattr(returned, name)])
            for name in Lines.__dataclass_fields__
        }
    )
    # Sums of integer cents stay exact in float64 far beyond any order total.
    total = np.bincount(lines.order, weights=lines.amount_cents, minlength=orders.size)
    return lines, np.rint(total).astype(np.int64)
