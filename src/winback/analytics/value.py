"""Future value and value tiers (R3).

Predicted 12-month value = discounted expected purchases from a count model x expected spend
per purchase, at the profile's annual discount rate. Time unit: weeks (days / 7), the
convention of the BG/NBD paper; a purchase is a purchase day. The models are fitted on a
deterministic sample of at most ``BTYD_FIT_SAMPLE`` buyers and applied to all.

- Count model: chosen per business among ``COUNT_MODELS`` (BG/NBD, Fader, Hardie & Lee 2005,
  Marketing Science; others when available) by their purchases predicted in a 26-week holdout
  (winback.analytics.btyd_choice), then refitted on the full history. Fits with runaway
  parameters are refused and the next candidate is used.
- Small bases (< 200 repeat buyers) have BG/NBD and Gamma-Gamma pulled toward per-industry
  prior parameters (winback.analytics.priors); ``describe()["priors_used"]`` says so.
- Spend per purchase: Gamma-Gamma (Colombo & Jiang 1999; FHL 2005, JMR), unless refused or
  its assumption that spend does not depend on frequency fails (|Spearman| between frequency
  and mean repeat spend > ``GG_CORRELATION_LIMIT``): then each customer's own mean shrunk
  toward the mean of customers of similar frequency (:class:`GroupSpend`).

When the models cannot be fitted the estimate falls back, and the result says so
(``value_model``, e.g. "bg_nbd+gamma_gamma", "bg_nbd+group_spend"):
- "<model>+mean_spend": count-model purchases x the customer's own mean spend per purchase day;
- "simple_rate": 365 / personal expected interval purchases (0 once lateness reaches
  lateness_lost) x the customer's own mean spend per purchase day; P(alive) is unknown.
Both fallbacks discount by half a year at the annual rate. Predictions are checked finite
before use; non-finite ones fall back the same way.

value_index (currency units of margin per year) = clv_365 x gross_margin x spend mix
  + (referral_converted x gross_margin x 365-day spend of the customers they referred
     + sum of value_weights x acts in the last 365 days) x credit decay x P(alive)
where spend mix = (necessary_spend_weight x necessary + discretionary_spend_weight x
discretionary + unclassified spend) / all spend (all time; 1 without spend), and credit decay
= 0.5 ^ (days since the last purchase or engagement / credit_half_life_days); P(alive) is 1
where unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.stats import rankdata

from winback.analytics.btyd._common import MIN_REPEAT_BUYERS, group_rows
from winback.analytics.btyd.beta_geo import future_purchases
from winback.analytics.btyd.beta_geo import p_alive as bg_p_alive
from winback.analytics.btyd.pareto_nbd import ParetoNBD
from winback.analytics.btyd.pareto_nbd import future_purchases as pnbd_future_purchases
from winback.analytics.btyd.pareto_nbd import p_alive as pnbd_p_alive
from winback.analytics.btyd_choice import (
    COUNT_MODELS,
    CountFactory,
    CountModel,
    choose_count_model,
    fit_checked,
    holdout_split,
    runaway,
    with_params,
)
from winback.analytics.clv import BetaGeo, GammaGamma, ModelFitError
from winback.analytics.priors import (
    SMALL_BASE_REPEAT_BUYERS,
    bg_nbd_prior,
    btyd_prior_weight,
    gamma_gamma_prior,
    shrink,
)
from winback.analytics.sampling import hash_sample
from winback.config import BusinessProfile

FloatArray = NDArray[np.float64]

TIME_UNIT_DAYS = 7.0
HORIZON_DAYS = 365.0
BTYD_FIT_SAMPLE = 50_000
DECILES = 10
BOTTOM_SHARE, TOP_SHARE = 0.2, 0.2
# Above this |Spearman| between frequency and mean repeat spend, Gamma-Gamma is not used
# (decision 0025: where Gamma-Gamma's assumption holds the group spend gives the same
# numbers; on CDNOW (0.21) it ties, on simulated industries (0.12-0.20) it is 3-8% better).
GG_CORRELATION_LIMIT = 0.1
SPEND_GROUPS = 7  # frequency groups of GroupSpend: x = 1, ..., 6, 7+
GENERIC_STEP_WEEKS = 4.0
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
class GroupSpend:
    """Spend per purchase when Gamma-Gamma is refused or its independence assumption fails.

    Each repeat buyer's own mean repeat spend z-bar, shrunk toward the mean of the repeat
    buyers with a similar frequency (x = 1, ..., 6, 7+) with ``pseudo_purchases`` k:
    (x z-bar + k m_group) / (x + k). k is Gamma-Gamma's own (q - 1) / p when it was fitted
    (its conditional expectation weighs z-bar by x / (x + (q - 1) / p)), else 1. Customers
    without a repeat purchase get the mean over all repeat buyers. Centring on the frequency
    group keeps the spend-frequency relation Gamma-Gamma assumes away.
    """

    group_means: FloatArray  # x = 1, ..., SPEND_GROUPS - 1, SPEND_GROUPS+
    overall: float
    pseudo_purchases: float

    @staticmethod
    def of(frequency: FloatArray, monetary: FloatArray, pseudo: float) -> GroupSpend | None:
        repeat = frequency > 0
        if not repeat.any():
            return None
        group = np.minimum(frequency[repeat], SPEND_GROUPS).astype(np.int64) - 1
        size = np.bincount(group, minlength=SPEND_GROUPS).astype(np.float64)
        sums = np.bincount(group, weights=monetary[repeat], minlength=SPEND_GROUPS)
        overall = float(monetary[repeat].mean())
        means = np.where(size > 0, sums / np.maximum(size, 1.0), overall)
        return GroupSpend(means, overall, pseudo)

    def expected_spend(self, frequency: FloatArray, monetary: FloatArray) -> FloatArray:
        group = np.clip(frequency, 1, SPEND_GROUPS).astype(np.int64) - 1
        k = self.pseudo_purchases
        shrunk = (frequency * monetary + k * self.group_means[group]) / (frequency + k)
        result: FloatArray = np.where(frequency > 0, shrunk, self.overall)
        return result

    def describe(self) -> dict[str, Any]:
        return {
            "pseudo_purchases": float(f"{self.pseudo_purchases:.6g}"),
            "overall_mean": round(self.overall, 4),
            "group_means": [round(float(v), 4) for v in self.group_means],
        }


@dataclass(frozen=True)
class BtydFit:
    bg: CountModel | None  # the chosen count model (BG/NBD, or another candidate)
    gg: GammaGamma | None  # None when refused, or when its independence check failed
    fitted_on: int
    notes: tuple[str, ...]
    count_model: str | None = None
    choice: dict[str, Any] = field(default_factory=dict)  # candidates, scores, rule
    spend: GroupSpend | None = None  # used instead of gg when set
    spend_check: dict[str, float] | None = None  # frequency-spend correlation (FHL 2005)
    priors_used: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        params = _rounded(self.bg.params_) if self.bg is not None else None
        return {
            "time_unit_days": TIME_UNIT_DAYS,
            "fitted_on_customers": self.fitted_on,
            "count_model": self.count_model,
            "count_params": params,
            "bg_nbd": params if self.count_model == "bg_nbd" else None,
            "model_choice": self.choice,
            "gamma_gamma": _rounded(self.gg.params_) if self.gg is not None else None,
            "spend_model": "gamma_gamma"
            if self.gg is not None
            else ("group_spend" if self.spend is not None else None),
            "group_spend": self.spend.describe() if self.spend is not None else None,
            "spend_frequency_check": self.spend_check,
            "priors_used": list(self.priors_used),
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


def purchase_days(orders: pl.DataFrame) -> pl.DataFrame:
    """Distinct (customer_pk, day) with an order of positive amount: the purchase days the
    features count (winback.analytics.features)."""
    return (
        orders.filter(pl.col("amount_cents") > 0)
        .select("customer_pk", pl.col("order_date").alias("day"))
        .unique()
    )


def spend_frequency_correlation(frequency: FloatArray, monetary: FloatArray) -> dict[str, float]:
    """Pearson and Spearman correlation of frequency and mean repeat spend among repeat buyers:
    Gamma-Gamma assumes none (Fader, Hardie & Lee 2005, JMR)."""
    repeat = frequency > 0
    x, m = frequency[repeat], monetary[repeat]
    result = {"repeat_buyers": float(x.size), "pearson": 0.0, "spearman": 0.0}
    if x.size >= MIN_REPEAT_BUYERS and np.ptp(x) > 0 and np.ptp(m) > 0:
        result["pearson"] = round(float(np.corrcoef(x, m)[0, 1]), 4)
        result["spearman"] = round(float(np.corrcoef(rankdata(x), rankdata(m))[0, 1]), 4)
    result["limit"] = GG_CORRELATION_LIMIT
    return result


def fit_btyd(
    buyers: pl.DataFrame,
    as_of: date,
    sample_size: int = BTYD_FIT_SAMPLE,
    *,
    industry: str | None = None,
    days: pl.DataFrame | None = None,
    candidates: Sequence[CountFactory] = COUNT_MODELS,
) -> BtydFit:
    """Choose and fit the count model and the spend model on a deterministic sample.

    ``days`` (distinct purchase days, :func:`purchase_days`) allows choosing the count model
    on a holdout (winback.analytics.btyd_choice); without it the lowest AIC wins. With
    ``industry`` a small base (< SMALL_BASE_REPEAT_BUYERS repeat buyers) is shrunk toward that
    industry's prior parameters (winback.analytics.priors).
    """
    keys = buyers["customer_pk"].to_numpy()
    chosen = hash_sample(keys, sample_size)
    sample = buyers.filter(pl.Series(chosen))
    s = Summary.of(sample, as_of)
    notes: list[str] = []
    repeaters = int(np.count_nonzero(s.frequency))
    small = (
        s.frequency.size > 0
        and repeaters < SMALL_BASE_REPEAT_BUYERS
        and bg_nbd_prior(industry) is not None
    )
    priors: list[str] = []
    if small:
        model, name, choice = _small_base_count(s, industry, repeaters, notes)
        priors.append("btyd")
    else:
        holdout = None
        if days is not None:
            in_sample = days.filter(pl.col("customer_pk").is_in(sample["customer_pk"].implode()))
            holdout = holdout_split(in_sample, as_of, TIME_UNIT_DAYS)
        picked = choose_count_model(candidates, s.frequency, s.recency, s.age, holdout)
        model, name = picked.model, picked.name
        notes.extend(picked.notes)
        choice = {
            "candidates": list(picked.candidates),
            "chosen": name,
            "rule": picked.reason,
            "holdout": {"cut": holdout.cut.isoformat(), "weeks": round(holdout.weeks, 3)}
            if holdout is not None
            else None,
        }
        if model is None:
            notes.append(f"bg_nbd_not_fitted: {picked.reason}")
    gg: GammaGamma | None = None
    spend: GroupSpend | None = None
    check: dict[str, float] | None = None
    if model is not None:
        gg, spend, check = _spend_model(s, industry if small else None, repeaters, notes)
    return BtydFit(
        model,
        gg,
        int(chosen.sum()),
        tuple(notes),
        count_model=name,
        choice=choice,
        spend=spend,
        spend_check=check,
        priors_used=tuple(priors),
    )


def _small_base_count(
    s: Summary, industry: str | None, repeaters: int, notes: list[str]
) -> tuple[CountModel | None, str | None, dict[str, Any]]:
    """BG/NBD pulled toward the industry prior (or the prior itself when it cannot be fitted)."""
    prior = bg_nbd_prior(industry)
    assert prior is not None
    weight = btyd_prior_weight(repeaters)
    own, refused = fit_checked(BetaGeo, s.frequency, s.recency, s.age)
    if own is None:
        notes.append(f"bg_nbd_not_fitted: {refused}")
        weight = 1.0
        params = prior
    else:
        params = shrink(dict(own.params_), prior, weight)
    notes.append(
        f"small_base: {repeaters} repeat buyer(s) < {SMALL_BASE_REPEAT_BUYERS}; BG/NBD "
        f"parameters pulled toward the {industry} prior with weight {weight:.3g}"
    )
    choice = {
        "candidates": [],
        "chosen": "bg_nbd",
        "rule": "small base: BG/NBD with the industry prior (no model choice)",
        "prior_weight": round(weight, 4),
        "holdout": None,
    }
    return with_params(own if own is not None else BetaGeo(), params), "bg_nbd", choice


def _spend_model(
    s: Summary, industry: str | None, repeaters: int, notes: list[str]
) -> tuple[GammaGamma | None, GroupSpend | None, dict[str, float] | None]:
    """Gamma-Gamma when it fits, is not runaway and its independence check passes; else the
    frequency-group spend (GroupSpend). ``industry`` set: a small base, shrink toward its prior."""
    positive = (s.frequency == 0) | (s.monetary > 0.01)
    x, m = s.frequency[positive], s.monetary[positive]
    repeat_mean = float(m[x > 0].mean()) if (x > 0).any() else 0.0
    gg: GammaGamma | None = None
    try:
        gg = GammaGamma().fit(x, m)
        reason = runaway(dict(gg.params_), spend_scale=repeat_mean)
        if reason is not None:
            notes.append(f"gamma_gamma_refused: {reason}")
            gg = None
    except ModelFitError as error:
        notes.append(f"gamma_gamma_not_fitted: {error}")
    prior = gamma_gamma_prior(industry, repeat_mean)
    if prior is not None:
        weight = btyd_prior_weight(repeaters)
        params = shrink(dict(gg.params_), prior, weight) if gg is not None else prior
        gg = GammaGamma()
        gg.params_ = params
        gg.log_likelihood_ = float("nan")
        notes.append(f"small_base: Gamma-Gamma pulled toward the {industry} prior")
    check = spend_frequency_correlation(x, m)
    pseudo = (gg.params_["q"] - 1) / gg.params_["p"] if gg is not None else 1.0
    # Small bases keep Gamma-Gamma (with its prior): seven group means need many customers.
    large = repeaters >= SMALL_BASE_REPEAT_BUYERS
    if gg is not None and large and abs(check["spearman"]) > GG_CORRELATION_LIMIT:
        notes.append(
            f"gamma_gamma_dependence: frequency and repeat spend correlate (Spearman "
            f"{check['spearman']:.3g}, limit {GG_CORRELATION_LIMIT}); spend per purchase from "
            "the frequency-group means instead"
        )
        gg = None
    spend = GroupSpend.of(x, m, pseudo) if gg is None else None
    return gg, spend, check


def p_alive(fit: BtydFit, buyers: pl.DataFrame, as_of: date) -> FloatArray | None:
    """P(alive) per buyer, or None when no count model is available for these customers."""
    if fit.bg is None:
        return None
    s = Summary.of(buyers, as_of)
    try:
        alive = fit.bg.p_alive(s.frequency, s.recency, s.age)
    except ValueError:
        return None
    return alive if bool(np.all(np.isfinite(alive))) else None


# Count models whose E[Y(t) | x, t_x, T] is the product of two functions of their module,
# future_purchases(params, t, x, T) x p_alive(params, x, t_x, T), exactly as their own
# ``expected_purchases`` computes it. P(alive) does not depend on t, so the prediction and each
# discounting step reuse it instead of computing it again (for Pareto/NBD a quadrature per
# customer); the products are the same floating-point operations, so the values are identical.
Factors = tuple[
    Callable[[dict[str, float], FloatArray, FloatArray, FloatArray], FloatArray],
    Callable[[dict[str, float], FloatArray, FloatArray, FloatArray], FloatArray],
]
FACTORED: dict[type, Factors] = {
    BetaGeo: (future_purchases, bg_p_alive),
    ParetoNBD: (pnbd_future_purchases, pnbd_p_alive),
}


def expected_purchases(
    model: CountModel, s: Summary, horizon: float, alive: FloatArray
) -> FloatArray:
    """E[Y(horizon) | x, t_x, T] per customer, as ``model.expected_purchases``; ``alive`` is
    ``model.p_alive`` of the same customers (reused by the factored models)."""
    factors = FACTORED.get(type(model))
    if factors is None:
        generic: FloatArray = model.expected_purchases(horizon, s.frequency, s.recency, s.age)
        return generic
    future, _ = factors
    result: FloatArray = np.atleast_1d(
        future(dict(model.params_), np.asarray(horizon, dtype=np.float64), s.frequency, s.age)
        * alive
    )
    return result


def discounted_purchases(
    model: CountModel, s: Summary, horizon: float, rate: float, alive: FloatArray | None = None
) -> FloatArray:
    """Expected purchases over ``horizon`` weeks, each step discounted at ``rate`` per week.

    BG/NBD: weekly steps on distinct (x, T) as in winback.analytics.clv.clv. Other count
    models: steps of GENERIC_STEP_WEEKS on distinct (x, t_x, T) through expected_purchases
    (P(alive) computed once per distinct summary for the models in ``FACTORED``).
    ``alive``: the customers' P(alive) when already known (``model.p_alive``).
    """
    if isinstance(model, BetaGeo):
        params = dict(model.params_)
        (gx, gage), _, inverse = group_rows(s.frequency, s.age)
        times = np.minimum(
            np.arange(1, int(np.ceil(horizon - 1e-9)) + 1, dtype=np.float64), horizon
        )
        total = np.zeros_like(gx)
        previous = np.zeros_like(gx)
        for time, discount in zip(times, (1 + rate) ** -times, strict=True):
            current = future_purchases(params, np.asarray(time), gx, gage)
            total += (current - previous) * discount
            previous = current
        if alive is None:
            alive = bg_p_alive(params, s.frequency, s.recency, s.age)
        result: FloatArray = total[inverse] * alive
        return result
    (gx, gt, gage), _, inverse = group_rows(s.frequency, s.recency, s.age)
    count = int(np.ceil(horizon / GENERIC_STEP_WEEKS - 1e-9))
    times = np.minimum(np.arange(1, count + 1) * GENERIC_STEP_WEEKS, horizon)
    factors = FACTORED.get(type(model))
    params = dict(model.params_) if factors is not None else {}
    group_alive = factors[1](params, gx, gt, gage) if factors is not None else None
    total = np.zeros_like(gx)
    previous = np.zeros_like(gx)
    for time, discount in zip(times, (1 + rate) ** -times, strict=True):
        if factors is not None and group_alive is not None:
            step = np.asarray(float(time), dtype=np.float64)
            current = np.atleast_1d(factors[0](params, step, gx, gage) * group_alive)
        else:
            current = model.expected_purchases(float(time), gx, gt, gage)
        total += (current - previous) * discount
        previous = current
    generic: FloatArray = total[inverse]
    return generic


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
    customers, or gives non-finite numbers (the notes say why): purchases from the personal
    rhythm, spend from the frequency-group means or the customer's own mean.
    """
    s = Summary.of(buyers, as_of)
    horizon = HORIZON_DAYS / TIME_UNIT_DAYS
    notes = list(fit.notes)
    alive = p_alive(fit, buyers, as_of)
    purchases: FloatArray | None = None
    value: FloatArray | None = None
    name = fit.count_model or "bg_nbd"
    model = "simple_rate"
    if fit.bg is not None and alive is not None:
        try:
            purchases = _finite(expected_purchases(fit.bg, s, horizon, alive))
            model = f"{name}+mean_spend"
            spend = _expected_spend(fit, s)
            if spend is not None:
                rate = (1 + profile.annual_discount_rate) ** (TIME_UNIT_DAYS / HORIZON_DAYS) - 1
                value = _finite(spend[0] * discounted_purchases(fit.bg, s, horizon, rate, alive))
                model = f"{name}+{spend[1]}"
        except ValueError as error:
            notes.append(f"btyd_prediction_failed: {error}")
            model = f"{name}+mean_spend" if purchases is not None else "simple_rate"
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


def _expected_spend(fit: BtydFit, s: Summary) -> tuple[FloatArray, str] | None:
    if fit.gg is not None:
        return _finite(fit.gg.expected_spend(s.frequency, s.monetary)), "gamma_gamma"
    if fit.spend is not None:
        return _finite(fit.spend.expected_spend(s.frequency, s.monetary)), "group_spend"
    return None


def _finite(values: FloatArray) -> FloatArray:
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise ValueError(f"{bad} prediction(s) are not finite")
    return values


def value_index_expr(profile: BusinessProfile, as_of: date | None = None) -> pl.Expr:
    """The value index (module docstring).

    Needs clv_365 (null for prospects), spend_{necessary,discretionary,unclassified}_cents,
    referred_spend_365_cents, the *_n_365 counts, days_since_last and p_alive (null where
    unknown) and, with ``as_of``, engagement_last (engagement counts as activity only then).
    """
    weights, margin = profile.value_weights, profile.gross_margin
    money = pl.col("clv_365").fill_null(0.0) * margin * spend_mix_expr(profile)
    referrals = weights.referral_converted * margin * pl.col("referred_spend_365_cents") / 100
    acts = [getattr(weights, name) * pl.col(column) for name, column in ACT_WEIGHTS]
    idle = pl.col("days_since_last").cast(pl.Float64)
    if as_of is not None:
        engaged = (pl.lit(as_of) - pl.col("engagement_last")).dt.total_days().cast(pl.Float64)
        idle = pl.min_horizontal(idle, engaged)
    decay = (0.5 ** (idle.clip(0.0) / weights.credit_half_life_days)).fill_null(1.0)
    alive = pl.col("p_alive").fill_null(1.0)
    return money + (referrals + pl.sum_horizontal(acts)) * decay * alive


def spend_mix_expr(profile: BusinessProfile) -> pl.Expr:
    """Weighted share of necessary / discretionary spend (unclassified weighs 1); 1 without
    positive spend. Refunds can make a kind negative; each kind counts from 0."""
    weights = profile.value_weights
    necessary = pl.col("spend_necessary_cents").fill_null(0).clip(0).cast(pl.Float64)
    discretionary = pl.col("spend_discretionary_cents").fill_null(0).clip(0).cast(pl.Float64)
    other = pl.col("spend_unclassified_cents").fill_null(0).clip(0).cast(pl.Float64)
    total = necessary + discretionary + other
    weighted = (
        weights.necessary_spend_weight * necessary
        + weights.discretionary_spend_weight * discretionary
        + other
    )
    return pl.when(total > 0).then(weighted / total).otherwise(1.0)


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
