"""Which count model a business gets, and which fits are refused (R2, R3).

Each candidate count model (BG/NBD and MBG/NBD; Pareto/NBD when present) is fitted on a
calibration period, the buyers' history up to ``as_of - holdout``, and scored on what they
really bought in the holdout:

- ``holdout_mae``: purchases predicted vs actual in the holdout, averaged within groups of
  calibration frequency (0, 1, ..., 6, 7+; the check of Fader, Hardie & Lee 2005, fig. 4),
  as the customer-weighted mean absolute error of the group means (purchases per customer);
- ``holdout_correlation``: Pearson correlation of predicted and actual purchases per customer;
- ``log_likelihood`` and ``aic`` of the calibration fit (all candidates have 4 parameters, so
  AIC orders them like the likelihood; it is recorded for comparison, not used to choose
  when a holdout exists).

The candidate with the smallest holdout MAE wins (a tie within 2% goes to the lower AIC);
without a usable holdout (too short a history, too few repeat buyers before the split) the
lowest AIC wins. The winner is refitted on the full history; when that refit fails or runs
away, the next candidate in the ranking is refitted instead.

A fit is refused (:func:`runaway`) when a parameter is non-finite, above 1e6 or below 1e-6
(Gamma-Gamma's scale v is judged relative to the mean repeat spend, so the currency does not
matter), or Gamma-Gamma's q <= 1 (infinite mean spend); a count model also when its own
predictions contradict the data it was fitted on (:func:`inconsistent`). When every
candidate is refused, BG/NBD with a small penalizer (``FALLBACK_MODELS``) is tried before
giving up.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from winback.analytics.clv import BetaGeo, ModelFitError, ModifiedBetaGeo, ParetoNBD

FloatArray = NDArray[np.float64]

PARAM_FLOOR, PARAM_CEILING = 1e-6, 1e6
HOLDOUT_DAYS = 182  # 26 weeks
# A holdout is used only when the calibration period is at least this many times longer.
MIN_CALIBRATION_RATIO = 1.5  # 39 weeks of calibration, as in the CDNOW studies
MIN_HOLDOUT_REPEAT_BUYERS = 30
TIE_SHARE = 0.02
CONSISTENCY = (0.5, 2.0)  # predicted / actual repeat purchases a fit may expect of its data
FREQUENCY_GROUPS = 8  # 0, 1, ..., 6, 7+
MODEL_NAMES = {"BetaGeo": "bg_nbd", "ModifiedBetaGeo": "mbg_nbd", "ParetoNBD": "pareto_nbd"}


class CountModel(Protocol):
    """The contract every count model keeps (see winback.analytics.clv.BetaGeo)."""

    params_: dict[str, float]
    log_likelihood_: float

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any: ...

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray: ...

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray: ...


CountFactory = Callable[[], CountModel]
# The candidates, in order of preference when scores tie.
COUNT_MODELS: tuple[CountFactory, ...] = (BetaGeo, ModifiedBetaGeo, ParetoNBD)


def _penalised(penalizer: float) -> CountFactory:
    return lambda: BetaGeo(penalizer=penalizer)


# Tried in order when every candidate is refused: the penalty keeps a and b finite on data
# with almost no heterogeneity in dropout (e.g. yearly visits, where unpenalised b > 1e6).
FALLBACK_MODELS: tuple[CountFactory, ...] = (_penalised(0.001), _penalised(0.01))


def same_kind(model: object) -> CountFactory:
    """A factory of unfitted models of the same class and penalty as ``model`` (a fitted
    count model), so a choice made once can be reused on nearby dates without refitting
    every candidate."""
    kind: Any = type(model)
    penalizer = float(getattr(model, "penalizer", 0.0))

    def make() -> CountModel:
        made: CountModel = kind(penalizer=penalizer)
        return made

    return make


def model_name(model: object) -> str:
    name = MODEL_NAMES.get(type(model).__name__, type(model).__name__)
    penalizer = getattr(model, "penalizer", 0.0)
    return f"{name}(penalizer={penalizer:g})" if penalizer else name


def runaway(params: dict[str, float], *, spend_scale: float | None = None) -> str | None:
    """Why these fitted parameters cannot be used, or None when they can.

    With ``spend_scale`` (the mean repeat spend) the parameters are Gamma-Gamma's: v is
    judged as v / spend_scale and q must exceed 1.
    """
    for name, value in params.items():
        judged = value / spend_scale if spend_scale and name == "v" else value
        if not math.isfinite(judged):
            return f"parameter {name} is not finite"
        if judged > PARAM_CEILING or judged < PARAM_FLOOR:
            return f"parameter {name} = {value:.4g} ran away (outside [1e-6, 1e6])"
    if spend_scale is not None and params.get("q", 2.0) <= 1:
        return f"q = {params['q']:.4g} <= 1 (infinite mean spend)"
    return None


def fit_checked(
    factory: CountFactory, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> tuple[CountModel | None, str | None]:
    """A fitted model, or None and the reason it was refused."""
    model = factory()
    try:
        model.fit(frequency, recency, age)
    except (ModelFitError, FloatingPointError, ValueError) as error:
        return None, str(error)
    reason = runaway(dict(model.params_)) or inconsistent(model, frequency, age)
    return (None, reason) if reason is not None else (model, None)


def inconsistent(model: CountModel, frequency: FloatArray, age: FloatArray) -> str | None:
    """Why a fit's own predictions contradict the data it was fitted on, or None.

    A maximum-likelihood fit expects about as many repeat purchases, sum of E[X(T)] over
    the customers, as they made. Parameters at the edge of what the formulas can evaluate
    (say b = 9.99e5 with a = 9e4) can pass the range check yet predict no purchases at all;
    outside [1/2, 2] times the actual count the fit is refused.
    """
    ages, counts = np.unique(age, return_counts=True)
    try:
        expected = model.expected_purchases_new(ages)
    except (ValueError, FloatingPointError) as error:
        return f"expected purchases could not be computed: {error}"
    predicted = float(np.dot(counts, expected))
    actual = float(frequency.sum())
    if not math.isfinite(predicted):
        return "expected purchases are not finite"
    if actual > 0 and not CONSISTENCY[0] <= predicted / actual <= CONSISTENCY[1]:
        return (
            f"it expects {predicted:.4g} repeat purchases where the customers made "
            f"{actual:.4g}: the fit is numerically broken"
        )
    return None


def with_params(model: CountModel, params: dict[str, float]) -> CountModel:
    """A copy of a fitted (or fresh) model carrying ``params`` instead of its own."""
    twin = copy.copy(model)
    twin.params_ = dict(params)
    twin.log_likelihood_ = float("nan")
    return twin


@dataclass(frozen=True)
class Holdout:
    """The calibration summary (weeks) of the buyers known before the split, and the purchase
    days each made in the holdout."""

    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    actual: FloatArray
    weeks: float
    cut: date


def holdout_split(
    purchase_days: pl.DataFrame, as_of: date, time_unit_days: float
) -> Holdout | None:
    """Split distinct purchase days (customer_pk, day) at as_of - HOLDOUT_DAYS.

    None when the history before the split is shorter than MIN_CALIBRATION_RATIO holdouts
    or has fewer than MIN_HOLDOUT_REPEAT_BUYERS repeat buyers.
    """
    if purchase_days.height == 0:
        return None
    cut = as_of - timedelta(days=HOLDOUT_DAYS)
    first_day = purchase_days["day"].min()
    if not isinstance(first_day, date) or (cut - first_day).days < (
        MIN_CALIBRATION_RATIO * HOLDOUT_DAYS
    ):
        return None
    day = pl.col("day")
    before = day <= cut
    summary = (
        purchase_days.filter(day <= as_of)
        .group_by("customer_pk")
        .agg(
            first=day.filter(before).min(),
            last=day.filter(before).max(),
            n=before.sum(),
            later=(~before).sum(),
        )
        .filter(pl.col("n") > 0)
        .sort("customer_pk")
        .select(
            (pl.col("n") - 1).cast(pl.Float64).alias("x"),
            (pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64).alias("tx"),
            (pl.lit(cut) - pl.col("first")).dt.total_days().cast(pl.Float64).alias("age"),
            pl.col("later").cast(pl.Float64).alias("actual"),
        )
    )
    x = summary["x"].to_numpy()
    if int(np.count_nonzero(x)) < MIN_HOLDOUT_REPEAT_BUYERS:
        return None
    return Holdout(
        frequency=x,
        recency=summary["tx"].to_numpy() / time_unit_days,
        age=summary["age"].to_numpy() / time_unit_days,
        actual=summary["actual"].to_numpy(),
        weeks=HOLDOUT_DAYS / time_unit_days,
        cut=cut,
    )


def holdout_scores(model: CountModel, holdout: Holdout) -> dict[str, float]:
    """Holdout MAE by calibration-frequency group and the per-customer correlation."""
    predicted = model.expected_purchases(
        holdout.weeks, holdout.frequency, holdout.recency, holdout.age
    )
    if not np.all(np.isfinite(predicted)):
        raise ValueError("holdout predictions are not finite")
    group = np.minimum(holdout.frequency, FREQUENCY_GROUPS - 1).astype(np.int64)
    size = np.bincount(group, minlength=FREQUENCY_GROUPS).astype(np.float64)
    filled = size > 0
    predicted_sum = np.bincount(group, weights=predicted, minlength=FREQUENCY_GROUPS)[filled]
    actual_sum = np.bincount(group, weights=holdout.actual, minlength=FREQUENCY_GROUPS)[filled]
    predicted_mean = predicted_sum.astype(np.float64) / size[filled]
    actual_mean = actual_sum.astype(np.float64) / size[filled]
    mae = float(np.sum(size[filled] * np.abs(predicted_mean - actual_mean)) / size.sum())
    spread = float(np.std(predicted)) * float(np.std(holdout.actual))
    correlation = (
        float(np.mean((predicted - predicted.mean()) * (holdout.actual - holdout.actual.mean())))
        / spread
        if spread > 0
        else 0.0
    )
    return {
        "holdout_mae": mae,
        "holdout_mae_share": mae / max(float(holdout.actual.mean()), 1e-12),
        "holdout_correlation": correlation,
        "holdout_predicted_total": float(predicted.sum()),
        "holdout_actual_total": float(holdout.actual.sum()),
    }


@dataclass(frozen=True)
class Choice:
    model: CountModel | None
    name: str | None
    candidates: tuple[dict[str, Any], ...]
    reason: str
    notes: tuple[str, ...]


def choose_count_model(
    candidates: Sequence[CountFactory],
    frequency: FloatArray,
    recency: FloatArray,
    age: FloatArray,
    holdout: Holdout | None,
) -> Choice:
    """Score every candidate, pick one (module docstring), refit it on the full history."""
    scored: list[dict[str, Any]] = []
    notes: list[str] = []
    factories: dict[str, CountFactory] = {}
    fitted: dict[str, CountModel] = {}
    for factory in candidates:
        name = model_name(factory())
        factories[name] = factory
        row: dict[str, Any] = {"model": name}
        x, t_x, t = (
            (holdout.frequency, holdout.recency, holdout.age)
            if holdout is not None
            else (frequency, recency, age)
        )
        model, refused = fit_checked(factory, x, t_x, t)
        if model is None:
            row["refused"] = refused
            notes.append(f"{name}_refused: {refused}")
            scored.append(row)
            continue
        fitted[name] = model
        row["log_likelihood"] = float(model.log_likelihood_)
        row["aic"] = 2 * len(model.params_) - 2 * float(model.log_likelihood_)
        row["fitted_on"] = "calibration" if holdout is not None else "full_history"
        if holdout is not None:
            try:
                row.update(holdout_scores(model, holdout))
            except ValueError as error:
                row["refused"] = f"holdout prediction failed: {error}"
                notes.append(f"{name}_refused: {row['refused']}")
        scored.append(row)
    usable = [row for row in scored if "refused" not in row]
    if holdout is not None:
        best = min((row["holdout_mae"] for row in usable), default=0.0)
        ranking = sorted(
            usable,
            key=lambda row: (row["holdout_mae"] > best * (1 + TIE_SHARE) + 1e-12, row["aic"]),
        )
        rule = "smallest holdout MAE by frequency group (ties within 2%: lower AIC)"
    else:
        ranking = sorted(usable, key=lambda row: row["aic"])
        rule = "lowest AIC (no usable holdout)"
    for row in ranking:
        name = str(row["model"])
        if holdout is None:  # already fitted on the full history
            row["chosen"] = True
            return Choice(fitted[name], name, _tidy(scored), rule, tuple(notes))
        model, refused = fit_checked(factories[name], frequency, recency, age)
        if model is not None:
            row["chosen"] = True
            return Choice(model, name, _tidy(scored), rule, tuple(notes))
        row["refused"] = f"refit on the full history: {refused}"
        notes.append(f"{name}_refused: {row['refused']}")
    # Nothing usable: the full history in order (when the calibration period failed), then
    # the penalised fallbacks.
    retry = list(candidates) if holdout is not None and not usable else []
    for factory in [*retry, *FALLBACK_MODELS]:
        model, refused = fit_checked(factory, frequency, recency, age)
        if model is not None:
            name = model_name(model)
            rule = "first that fits" if factory in retry else "penalised fallback"
            notes.append(f"count_model_fallback: {name} ({rule})")
            return Choice(model, name, _tidy(scored), rule, tuple(notes))
        notes.append(f"{model_name(factory())}_refused: {refused}")
    return Choice(None, None, _tidy(scored), "no candidate could be fitted", tuple(notes))


def _tidy(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Scores at 6 significant digits, for reports."""
    return tuple(
        {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in row.items()}
        for row in rows
    )
