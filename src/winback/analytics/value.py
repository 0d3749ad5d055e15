"""Future value and value tiers (R3).

Predicted 12-month value comes from BG/NBD (Fader, Hardie & Lee 2005, Marketing Science) for
the number of purchases and Gamma-Gamma (Colombo & Jiang 1999; Fader, Hardie & Lee 2005,
JMR) for the spend per purchase, discounted at the profile's annual rate
(:func:`winback.analytics.clv.clv`). Time unit: weeks (days / 7), the convention of the BG/NBD
paper; a purchase is a purchase day. The models are fitted on a deterministic sample of at
most ``BTYD_FIT_SAMPLE`` buyers and applied to all.

When the models cannot be fitted (too few repeat buyers, or a degenerate fit) the estimate
falls back, and the result says so (``value_model``):
- "bg_nbd+mean_spend": BG/NBD purchases x the customer's own mean spend per purchase day;
- "simple_rate": 365 / personal expected interval purchases (0 once lateness reaches
  lateness_lost) x the customer's own mean spend per purchase day; P(alive) is unknown.
Both fallbacks discount by half a year at the annual rate.

value_index (currency units of margin per year) = clv_365 x gross_margin
  + referral_converted x gross_margin x 365-day spend of the customers they referred
  + sum of value_weights x acts in the last 365 days (forum posts and replies, Q&A answers,
    events, surveys, suggestions, adopted suggestions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from winback.analytics.clv import BetaGeo, GammaGamma, ModelFitError, clv
from winback.analytics.sampling import hash_sample
from winback.config import BusinessProfile

FloatArray = NDArray[np.float64]

TIME_UNIT_DAYS = 7.0
HORIZON_DAYS = 365.0
BTYD_FIT_SAMPLE = 50_000
DECILES = 10
BOTTOM_SHARE, TOP_SHARE = 0.2, 0.2
ACT_WEIGHTS: tuple[tuple[str, str], ...] = (
    ("forum_post", "forum_post_n_365"),
    ("forum_reply", "forum_reply_n_365"),
    ("qa_answer", "qa_answer_n_365"),
    ("event_attendance", "event_attendance_n_365"),
    ("survey_response", "survey_response_n_365"),
    ("suggestion", "suggestion_n_365"),
    ("suggestion_adopted", "suggestion_adopted_n_365"),
)


@dataclass(frozen=True)
class BtydFit:
    bg: BetaGeo | None
    gg: GammaGamma | None
    fitted_on: int
    notes: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {
            "time_unit_days": TIME_UNIT_DAYS,
            "fitted_on_customers": self.fitted_on,
            "bg_nbd": _rounded(self.bg.params_) if self.bg is not None else None,
            "gamma_gamma": _rounded(self.gg.params_) if self.gg is not None else None,
            "notes": list(self.notes),
        }


def _rounded(params: dict[str, float]) -> dict[str, float]:
    return {k: float(f"{v:.6g}") for k, v in params.items()}


@dataclass(frozen=True)
class Summary:
    """The BTYD summary of each buyer, in weeks."""

    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary: FloatArray  # mean repeat spend per purchase day, currency units (0: no repeat)
    mean_spend: FloatArray  # mean net spend per purchase day, currency units

    @staticmethod
    def of(buyers: pl.DataFrame, as_of: date) -> Summary:
        columns = buyers.select(
            (pl.col("n_purchases") - 1).cast(pl.Float64).alias("x"),
            (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days().alias("tx"),
            (pl.lit(as_of) - pl.col("first_purchase")).dt.total_days().alias("age"),
            (pl.col("repeat_spend_mean_cents").fill_null(0.0) / 100).alias("m"),
            (pl.col("spend_cents") / pl.col("n_purchases") / 100).clip(0.0).alias("mean"),
        )
        x = columns["x"].to_numpy().astype(np.float64)
        monetary = columns["m"].to_numpy().astype(np.float64)
        return Summary(
            frequency=x,
            recency=columns["tx"].to_numpy().astype(np.float64) / TIME_UNIT_DAYS,
            age=columns["age"].to_numpy().astype(np.float64) / TIME_UNIT_DAYS,
            # Gamma-Gamma needs a positive repeat average; refund-heavy repeaters get a cent.
            monetary=np.where(x > 0, np.maximum(monetary, 0.01), 0.0),
            mean_spend=columns["mean"].to_numpy().astype(np.float64),
        )


def fit_btyd(buyers: pl.DataFrame, as_of: date, sample_size: int = BTYD_FIT_SAMPLE) -> BtydFit:
    """Fit BG/NBD and Gamma-Gamma on a deterministic sample of the buyers."""
    keys = buyers["customer_pk"].to_numpy()
    chosen = hash_sample(keys, sample_size)
    s = Summary.of(buyers.filter(pl.Series(chosen)), as_of)
    notes: list[str] = []
    bg: BetaGeo | None = None
    gg: GammaGamma | None = None
    try:
        bg = BetaGeo().fit(s.frequency, s.recency, s.age)
    except ModelFitError as error:
        notes.append(f"bg_nbd_not_fitted: {error}")
    if bg is not None:
        positive = (s.frequency == 0) | (s.monetary > 0.01)
        try:
            gg = GammaGamma().fit(s.frequency[positive], s.monetary[positive])
        except ModelFitError as error:
            notes.append(f"gamma_gamma_not_fitted: {error}")
    return BtydFit(bg, gg, int(chosen.sum()), tuple(notes))


def p_alive(fit: BtydFit, buyers: pl.DataFrame, as_of: date) -> FloatArray | None:
    """P(alive) per buyer, or None when BG/NBD is not available for these customers."""
    if fit.bg is None:
        return None
    s = Summary.of(buyers, as_of)
    try:
        return fit.bg.p_alive(s.frequency, s.recency, s.age)
    except ValueError:
        return None


@dataclass(frozen=True)
class Prediction:
    values: pl.DataFrame  # customer_pk, p_alive, expected_purchases_365, clv_365
    value_model: str
    notes: tuple[str, ...]


def predict_value(
    fit: BtydFit, buyers: pl.DataFrame, profile: BusinessProfile, as_of: date
) -> Prediction:
    """P(alive), expected purchases and discounted value (currency units) over 365 days.

    Falls back step by step when a model is missing or cannot be evaluated for these
    customers (the notes say why): purchases from the personal rhythm, spend from the
    customer's own mean.
    """
    s = Summary.of(buyers, as_of)
    horizon = HORIZON_DAYS / TIME_UNIT_DAYS
    notes = list(fit.notes)
    alive = p_alive(fit, buyers, as_of)
    purchases: FloatArray | None = None
    value: FloatArray | None = None
    model = "simple_rate"
    if fit.bg is not None and alive is not None:
        try:
            purchases = fit.bg.expected_purchases(horizon, s.frequency, s.recency, s.age)
            model = "bg_nbd+mean_spend"
            if fit.gg is not None:
                rate = (1 + profile.annual_discount_rate) ** (TIME_UNIT_DAYS / HORIZON_DAYS) - 1
                value = clv(
                    fit.bg,
                    fit.gg,
                    s.frequency,
                    s.recency,
                    s.age,
                    s.monetary,
                    horizon=horizon,
                    discount_rate_per_period=rate,
                )
                model = "bg_nbd+gamma_gamma"
        except ValueError as error:
            notes.append(f"btyd_prediction_failed: {error}")
            model = "bg_nbd+mean_spend" if purchases is not None else "simple_rate"
    elif fit.bg is not None:
        notes.append("btyd_prediction_failed: P(alive) could not be computed")
    if purchases is None:
        alive = None
        interval = buyers["expected_interval_days"].to_numpy().astype(np.float64)
        still_here = buyers["lateness"].to_numpy() < profile.lateness_lost
        purchases = np.where(still_here, HORIZON_DAYS / interval, 0.0)
    if value is None:
        value = purchases * s.mean_spend * (1 + profile.annual_discount_rate) ** -0.5
    frame = pl.DataFrame(
        {
            "customer_pk": buyers["customer_pk"],
            "p_alive": pl.Series(alive, dtype=pl.Float64)
            if alive is not None
            else pl.Series([None] * buyers.height, dtype=pl.Float64),
            "expected_purchases_365": purchases,
            "clv_365": value,
        },
        schema={
            "customer_pk": pl.Int64,
            "p_alive": pl.Float64,
            "expected_purchases_365": pl.Float64,
            "clv_365": pl.Float64,
        },
    )
    return Prediction(frame, model, tuple(notes))


def value_index_expr(profile: BusinessProfile) -> pl.Expr:
    """Needs clv_365 (null for prospects), referred_spend_365_cents and the *_n_365 counts."""
    weights, margin = profile.value_weights, profile.gross_margin
    money = pl.col("clv_365").fill_null(0.0) * margin
    referrals = weights.referral_converted * margin * pl.col("referred_spend_365_cents") / 100
    acts = [getattr(weights, name) * pl.col(column) for name, column in ACT_WEIGHTS]
    return money + referrals + pl.sum_horizontal(acts)


def tier_bounds(tiers: int) -> list[float]:
    """Upper bounds of each tier as a share of customers ranked by value (best first).

    Tier 1 is the top 20%, the last tier the bottom 20%, the middle 60% split evenly:
    5 tiers -> 20% each; 3 -> 20/60/20; 4 -> 20/30/30/20; 2 -> 20/80; 1 -> everyone.
    """
    if tiers == 1:
        return [1.0]
    if tiers == 2:
        return [TOP_SHARE, 1.0]
    middle = (1.0 - TOP_SHARE - BOTTOM_SHARE) / (tiers - 2)
    return [TOP_SHARE + middle * i for i in range(tiers - 1)] + [1.0]


def tier_expr(tiers: int, count: int, column: str = "value_index") -> pl.Expr:
    """Tier of ``column`` among its ``count`` non-null rows (rank 1 = best, ties share)."""
    rank = pl.col(column).rank(method="min", descending=True)
    share_before = (rank - 1) / max(count, 1)
    bounds = tier_bounds(tiers)
    expr: Any = pl.when(share_before < bounds[0]).then(pl.lit(1, dtype=pl.Int64))
    for number, bound in enumerate(bounds[1:], start=2):
        expr = expr.when(share_before < bound).then(pl.lit(number, dtype=pl.Int64))
    return expr.otherwise(pl.lit(tiers, dtype=pl.Int64))


def value_table(values: pl.DataFrame, cost_per_customer: float) -> list[dict[str, Any]]:
    """The 80/20 view: value by decile of customers (best first), and whether each decile
    costs more to serve than it brings (``below_cost``). Needs customer_pk, value_index."""
    if values.height == 0:
        return []
    ordered = values.sort(["value_index", "customer_pk"], descending=[True, False])
    index = ordered["value_index"].to_numpy().astype(np.float64)
    total = float(index.sum())
    rows: list[dict[str, Any]] = []
    running = 0.0
    for decile, chunk in enumerate(np.array_split(index, DECILES), start=1):
        if chunk.size == 0:
            continue
        worth = float(chunk.sum())
        running += worth
        cost = cost_per_customer * chunk.size
        rows.append(
            {
                "decile": decile,
                "customers": int(chunk.size),
                "value": round(worth, 2),
                "share": round(worth / total, 6) if total > 0 else None,
                "cumulative_share": round(running / total, 6) if total > 0 else None,
                "cost_to_serve": round(cost, 2),
                "below_cost": worth < cost,
            }
        )
    return rows
