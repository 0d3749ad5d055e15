"""Offers that learn: Thompson sampling per leave reason x tier over the menu's options (R5).

Agents present the menu's first option, so which option comes first is the decision that is
learned. For every cell (reason, tier, offer) the chance that a treated customer who was
presented the offer came back within the round's horizon gets a Beta posterior (Russo et al.,
*A Tutorial on Thompson Sampling*, 2018):

* **prior** - two levels. The pooled came-back rate of every presented offer, shrunk towards
  ``default_rate`` by ``prior_strength`` pseudo-customers (default 2: before any round has
  matured it is ``default_rate``), is the prior of the rate of each (reason, offer) across
  tiers; that rate, measured on the *other* tiers of the same reason and offer, is the prior
  mean of a cell, worth ``tier_pooling`` pseudo-customers (default 10). A cell with few
  presentations thus borrows from the same offer for the same reason in other tiers, a cell
  with many follows its own data; ``tier_pooling=0`` gives every cell the weak pooled prior.
* **posterior** - Beta(prior alpha + came back, prior beta + presented - came back).
* **draw** - for every customer, one draw from each of their menu options' posteriors (one
  vector over all customer x option rows: the inverse Beta CDF of a uniform that is a fixed
  hash of the round seed, the customer and the offer, so re-planning one customer's menu
  draws what the plan drew); the option with the largest draw goes first,
  the other options stay behind in their fit order.
* **exploration floor** - with probability ``min(1, floor x options)`` a customer's first option
  is instead drawn uniformly among their options, so every option that passed the caps is
  first with probability at least ``floor`` (default 0.05) whatever the posteriors say; the
  data keep coming for options that looked bad early.

The options are the menu's (already through eligibility, the depth and fairness caps and the
fit ranking): learning reorders a menu, it never adds an offer the caps refused. Customers
without a known reason form the reason cell ``"unknown"``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from winback.programme.frames import Contract

UNKNOWN_REASON = "unknown"
DEFAULT_FLOOR = 0.05
MAX_FLOOR = 0.2  # with menus of up to 5 options, floor x options stays <= 1
DEFAULT_PRIOR_STRENGTH = 2.0
DEFAULT_TIER_POOLING = 10.0
DEFAULT_RATE = 0.10

# Matured rounds' presentations: one row per (reason, tier, offer) or per customer.
OFFER_COUNTS = Contract(
    "offer counts",
    required={"tier": pl.Int64(), "offer_code": pl.String()},
    optional={
        "reason_code": (pl.String(), None),
        "presented": (pl.Int64(), 1),
        "came_back": (pl.Int64(), 0),
    },
)
_KEYS = ["reason_key", "tier", "offer_code"]


@dataclass(frozen=True)
class OfferLearning:
    """The posterior table and the draw's settings handed to :func:`offer_menus`."""

    posteriors: pl.DataFrame  # reason_key, tier, offer_code, presented, came_back, alpha, beta
    prior_alpha: float
    prior_beta: float
    floor: float = DEFAULT_FLOOR
    seed: int = 0
    # reason_key, offer_code, alpha, beta: the prior of a cell without data of its own
    parents: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor <= MAX_FLOOR:
            raise ValueError(f"exploration floor must be in [0, {MAX_FLOOR}]")
        if not (self.prior_alpha > 0 and self.prior_beta > 0):
            raise ValueError("prior alpha and beta must be positive")

    def summary(self) -> dict[str, Any]:
        """What the round summary records (``summary["offers"]["learning"]``)."""
        return {
            "policy": "thompson_sampling",
            "posterior_cells": self.posteriors.height,
            "presented": int(self.posteriors["presented"].sum()),
            "reason_offer_priors": 0 if self.parents is None else self.parents.height,
            "prior_alpha": round(self.prior_alpha, 6),
            "prior_beta": round(self.prior_beta, 6),
            "floor": self.floor,
            "seed": self.seed,
        }


def learn(
    counts: pl.DataFrame,
    *,
    floor: float = DEFAULT_FLOOR,
    seed: int = 0,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    tier_pooling: float = DEFAULT_TIER_POOLING,
    default_rate: float = DEFAULT_RATE,
) -> OfferLearning:
    """Beta posteriors per (reason, tier, offer) from ``counts`` (:data:`OFFER_COUNTS`)."""
    if prior_strength <= 0:
        raise ValueError("prior_strength must be positive")
    if tier_pooling < 0:
        raise ValueError("tier_pooling cannot be negative")
    if not 0.0 < default_rate < 1.0:
        raise ValueError("default_rate must be in (0, 1)")
    frame = OFFER_COUNTS.conform(counts)
    if frame.filter(
        (pl.col("presented") < 0)
        | (pl.col("came_back") < 0)
        | (pl.col("came_back") > pl.col("presented"))
    ).height:
        raise ValueError("offer counts: need 0 <= came_back <= presented")
    cells = (
        frame.with_columns(reason_key=_reason_key(pl.col("reason_code")))
        .group_by(_KEYS)
        .agg(pl.col("presented").sum(), pl.col("came_back").sum())
        .filter(pl.col("presented") > 0)
        .sort(_KEYS)
    )
    n = int(cells["presented"].sum())
    k = int(cells["came_back"].sum())
    # Pooled rate, itself shrunk towards the default so 0/n or n/n never gives a degenerate prior.
    pooled = (k + default_rate * prior_strength) / (n + prior_strength)
    a0, b0 = pooled * prior_strength, (1.0 - pooled) * prior_strength
    if tier_pooling == 0:
        posteriors = cells.with_columns(
            alpha=pl.lit(a0) + pl.col("came_back").cast(pl.Float64),
            beta=pl.lit(b0) + (pl.col("presented") - pl.col("came_back")).cast(pl.Float64),
        )
        return OfferLearning(posteriors, a0, b0, floor=floor, seed=seed)

    def shrunk(k: pl.Expr, n: pl.Expr) -> pl.Expr:  # the pooled prior's mean after k of n
        return (k.cast(pl.Float64) + pooled * prior_strength) / (n + prior_strength)

    parent_keys = ["reason_key", "offer_code"]
    totals = cells.group_by(parent_keys).agg(
        _n=pl.col("presented").sum(), _k=pl.col("came_back").sum()
    )
    parents = totals.select(
        *parent_keys,
        alpha=shrunk(pl.col("_k"), pl.col("_n")) * tier_pooling,
        beta=(1.0 - shrunk(pl.col("_k"), pl.col("_n"))) * tier_pooling,
    ).sort(parent_keys)
    # A cell's prior mean: the same reason and offer in the other tiers (its own data is
    # counted once, in the posterior).
    mean = shrunk(pl.col("_k") - pl.col("came_back"), pl.col("_n") - pl.col("presented"))
    posteriors = (
        cells.join(totals, on=parent_keys)
        .with_columns(
            alpha=mean * tier_pooling + pl.col("came_back").cast(pl.Float64),
            beta=(1.0 - mean) * tier_pooling
            + (pl.col("presented") - pl.col("came_back")).cast(pl.Float64),
        )
        .drop("_n", "_k")
        .sort(_KEYS)
    )
    return OfferLearning(posteriors, a0, b0, floor=floor, seed=seed, parents=parents)


def _parents(learning: OfferLearning) -> pl.DataFrame:
    schema = {
        "reason_key": pl.String(),
        "offer_code": pl.String(),
        "_p_alpha": pl.Float64(),
        "_p_beta": pl.Float64(),
    }
    if learning.parents is None:
        return pl.DataFrame(schema=schema)
    return learning.parents.select(
        "reason_key", "offer_code", _p_alpha="alpha", _p_beta="beta"
    ).cast(schema)  # type: ignore[arg-type]


def _reason_key(reason: pl.Expr) -> pl.Expr:
    return pl.when(reason.is_null() | (reason == "")).then(pl.lit(UNKNOWN_REASON)).otherwise(reason)


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: a well-spread 64-bit hash of each value (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: npt.NDArray[np.uint64] = (z ^ (z >> np.uint64(31))) & _MASK64
    return out


def _uniform(
    seed: int, customer: npt.NDArray[np.uint64], offer: npt.NDArray[np.uint64], stream: int
) -> npt.NDArray[np.float64]:
    """A uniform in (0, 1) per row, a fixed function of (seed, customer, offer, stream)."""
    key = _mix(np.full(customer.shape, np.uint64(seed % 2**64)) ^ np.uint64(stream))
    key = _mix(key ^ customer)
    key = _mix(key ^ offer)
    return ((key >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


def _code_keys(codes: pl.Series) -> npt.NDArray[np.uint64]:
    """A stable 64-bit key per offer code (CRC-32 of the few distinct codes, not per row)."""
    distinct = codes.fill_null("").unique().to_list()
    table = {c: zlib.crc32(c.encode("utf-8")) for c in distinct}
    keys = codes.fill_null("").replace_strict(table, return_dtype=pl.UInt64)
    return keys.to_numpy().astype(np.uint64)


def order_menus(
    menu: pl.DataFrame, segments: pl.DataFrame, learning: OfferLearning
) -> pl.DataFrame:
    """``menu`` (customer_pk, menu_rank, offer_code, ...) with each customer's first option
    drawn by Thompson sampling with the exploration floor; the rest keep their order.

    ``segments`` gives each customer's ``tier`` and ``reason_code``. Adds the column
    ``explored`` (the first option came from the floor's uniform draw). Each customer's draw depends
    only on ``learning.seed``, the customer and the menu's offers."""
    if menu.height == 0:
        return menu.with_columns(explored=pl.lit(False))
    seg = segments.select(
        pl.col("customer_pk").cast(pl.Int64),
        pl.col("tier").cast(pl.Int64),
        reason_key=_reason_key(pl.col("reason_code").cast(pl.String)),
    )
    rows = (
        menu.sort(["customer_pk", "menu_rank"])
        .join(seg, on="customer_pk", how="left")
        .join(
            learning.posteriors.select(*_KEYS, "alpha", "beta"),
            on=_KEYS,
            how="left",
        )
        .join(_parents(learning), on=["reason_key", "offer_code"], how="left")
        .with_columns(
            alpha=pl.coalesce("alpha", "_p_alpha", pl.lit(learning.prior_alpha)),
            beta=pl.coalesce("beta", "_p_beta", pl.lit(learning.prior_beta)),
        )
    )
    # Draws keyed by (round seed, customer, offer), not by position: re-planning one
    # customer's menu later draws exactly what the round's plan drew for them.
    customer = rows["customer_pk"].to_numpy().astype(np.uint64)
    offer = _code_keys(rows["offer_code"])
    theta = special.betaincinv(
        rows["alpha"].to_numpy(),
        rows["beta"].to_numpy(),
        _uniform(learning.seed, customer, offer, 1),
    )
    uniform = _uniform(learning.seed, customer, offer, 2)
    explore_u = _uniform(learning.seed, customer, np.zeros_like(offer), 3)
    rows = rows.with_columns(
        _theta=pl.Series(theta, dtype=pl.Float64),
        _uniform=pl.Series(uniform, dtype=pl.Float64),
        _u=pl.Series(explore_u, dtype=pl.Float64),
    ).with_columns(
        explored=pl.col("_u") < (pl.len().over("customer_pk") * learning.floor).clip(0.0, 1.0)
    )
    score = pl.when("explored").then(pl.col("_uniform")).otherwise(pl.col("_theta"))
    rows = rows.with_columns(_score=score).with_columns(
        _first_rank=pl.col("menu_rank")
        .sort_by("_score", descending=True)
        .first()
        .over("customer_pk")
    )
    new_rank = (
        pl.when(pl.col("menu_rank") == pl.col("_first_rank"))
        .then(1)
        .when(pl.col("menu_rank") < pl.col("_first_rank"))
        .then(pl.col("menu_rank") + 1)
        .otherwise(pl.col("menu_rank"))
    )
    out = rows.with_columns(menu_rank=new_rank.cast(pl.Int64))
    return out.select(*menu.columns, "explored").sort(["customer_pk", "menu_rank"])


# --- results per option -------------------------------------------------------------------------

OPTION_RESULTS: dict[str, pl.DataType] = {
    "reason_code": pl.String(),
    "tier": pl.Int64(),
    "offer_code": pl.String(),
    "presented": pl.Int64(),
    "redeemed": pl.Int64(),
    "came_back": pl.Int64(),
    "redemption_rate": pl.Float64(),
    "came_back_rate": pl.Float64(),
    "option_margin": pl.Float64(),
    "option_margin_per_presented": pl.Float64(),
}


def option_results(
    presented: pl.DataFrame,
    outcomes: pl.DataFrame,
    offers_made: pl.DataFrame,
    *,
    gross_margin: float,
) -> pl.DataFrame:
    """Per reason x tier x offer: customers presented the offer, how many redeemed it (an
    order with its coupon), came back, and the margin of their purchases in the window net of
    the redeemed offers' cost (:data:`OPTION_RESULTS`; reason ``"unknown"`` when none).

    ``presented``: customer_pk, tier, reason_code, offer_code (one row per customer);
    ``outcomes``: customer_pk, came_back, spend, offer_redeemed at one horizon
    (:func:`winback.programme.attribution.round_outcomes`); ``offers_made``: customer_pk,
    offer_cost of the offer each chose. The margin is not incremental (the control group is
    offered nothing): it compares options with each other, not with no call."""
    rows = (
        presented.select(
            pl.col("customer_pk").cast(pl.Int64),
            pl.col("tier").cast(pl.Int64),
            reason_code=_reason_key(pl.col("reason_code").cast(pl.String)),
            offer_code=pl.col("offer_code").cast(pl.String),
        )
        .join(
            outcomes.select(
                pl.col("customer_pk").cast(pl.Int64),
                pl.col("came_back").cast(pl.Boolean).fill_null(False),
                pl.col("spend").cast(pl.Float64).fill_null(0.0),
                pl.col("offer_redeemed").cast(pl.Boolean).fill_null(False),
            ),
            on="customer_pk",
            how="left",
        )
        .join(
            offers_made.select(
                pl.col("customer_pk").cast(pl.Int64), pl.col("offer_cost").cast(pl.Float64)
            ),
            on="customer_pk",
            how="left",
        )
        .with_columns(
            pl.col("came_back").fill_null(False),
            pl.col("spend").fill_null(0.0),
            pl.col("offer_redeemed").fill_null(False),
        )
        .with_columns(
            _margin=pl.col("spend") * gross_margin
            - pl.when("offer_redeemed").then(pl.col("offer_cost").fill_null(0.0)).otherwise(0.0)
        )
    )
    return (
        rows.group_by("reason_code", "tier", "offer_code")
        .agg(
            presented=pl.len().cast(pl.Int64),
            redeemed=pl.col("offer_redeemed").sum().cast(pl.Int64),
            came_back=pl.col("came_back").sum().cast(pl.Int64),
            option_margin=pl.col("_margin").sum(),
        )
        .with_columns(
            redemption_rate=pl.col("redeemed") / pl.col("presented"),
            came_back_rate=pl.col("came_back") / pl.col("presented"),
            option_margin_per_presented=pl.col("option_margin") / pl.col("presented"),
        )
        .select([pl.col(c).cast(t) for c, t in OPTION_RESULTS.items()])
        .sort("reason_code", "tier", "offer_code")
    )
