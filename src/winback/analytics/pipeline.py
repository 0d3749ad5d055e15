"""One call from extracted frames to a snapshot per customer (R2, R3, R9, R12).

features -> indicators, lifecycle, types, RFM -> BTYD P(alive), CLV -> churn score + signals
-> value index, tiers -> early warning.

The churn weights are learned on the business's own history before ``as_of``: indicators as
of ``as_of - horizon`` and the label "no purchase in (as_of - horizon, as_of]". One customer
in five (by a hash of the key) is held out to report the fit's metrics; the weights used are
then refitted on everyone. On very large bases the fit uses a deterministic sample of at most
``FIT_SAMPLE`` customers; scoring always covers everyone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from winback.analytics.btyd_choice import COUNT_MODELS, CountFactory, same_kind
from winback.analytics.calibration import Calibration, fit_calibration
from winback.analytics.churn import (
    ChurnModel,
    base_rate_cutoff,
    base_rate_status_expr,
    default_model,
    fit_churn_model,
    indicator_audit,
    indicator_ranks,
    learnable,
    status_expr,
    with_calibration,
    with_weights,
)
from winback.analytics.early_warning import early_warning_expr, retention_action_expr, triggers
from winback.analytics.features import Backend, FeatureSource
from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    SNAPSHOT,
    TREATMENTS,
    AnalyticsFrames,
    conform,
)
from winback.analytics.indicators import CODES, btyd_no_return, model_inputs, raw_values
from winback.analytics.lifecycle import customer_type_expr, stage_expr
from winback.analytics.metrics import compare_scores
from winback.analytics.priors import (
    CHURN_PRIOR_DOMINATES,
    CHURN_PRIOR_STRENGTH,
    churn_weight_prior,
)
from winback.analytics.sampling import hash_fold, hash_sample
from winback.analytics.segments import abc_classes, rfm_octant_expr, rfm_references
from winback.analytics.signals import top_signals
from winback.analytics.threads import analysis_pools, fit_pools, side_by_side
from winback.analytics.training_set import TRAINING_RULE, TrainingChoice, untouched
from winback.analytics.value import (
    TIME_UNIT_DAYS,
    BtydFit,
    Prediction,
    Summary,
    fit_btyd,
    p_alive,
    predict_value,
    tier_expr,
    value_index_expr,
    value_table,
)
from winback.config import BusinessProfile

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FIT_SAMPLE = 100_000
HOLDOUT_FOLDS = 5
STACK_OFFSETS = (0, 30, 60)  # training origins: as_of - horizon - each of these days
# The analysis's feature engine. The engines agree bit for bit (tests/analytics/test_features.py).
# With the streams prepared once per analysis (decision 0044) Polars took less CPU and memory
# than DuckDB at every size measured: at 1,000,000 customers / 20 M order lines, the four dates
# took 21.2 CPU-s and a 3.85 GiB peak against 25.4 CPU-s and 4.19 GiB; on small bases DuckDB's
# query planning dominates (about 1.5 s against 0.2 s per as-of date on 2,500 customers).
FEATURE_ENGINE: Backend = "polars"
# The feature columns that scoring, signals and segments read for the buyers.
SCORING_COLUMNS = (
    "customer_pk",
    "first_purchase",
    "last_purchase",
    "n_purchases",
    "n_purchases_365",
    "n_purchases_prev_365",
    "spend_cents",
    "spend_365_cents",
    "spend_prev_365_cents",
    "repeat_spend_mean_cents",
    "expected_interval_days",
    "days_since_last",
    "lateness",
    "has_prior_year",
    "categories_365",
    "categories_prev_365",
    "engagement_n_365",
    "engagement_n_prev_365",
    "engagement_last",
    "contacts_unanswered_90",
    "complaint_open_n",
    "complaint_oldest_open",
    "survey_score_latest",
)
COUNTED = (
    "stage",
    "status",
    "tier",
    "customer_type",
    "rfm_octant",
    "abc_class",
    "early_warning",
    "retention_action",
)


@dataclass(frozen=True)
class AnalysisResult:
    as_of: date
    scores: pl.DataFrame  # winback.analytics.frames.SNAPSHOT columns, sorted by customer_pk
    weights: dict[str, float] = field(default_factory=dict)  # indicator -> weight used
    audit: dict[str, Any] = field(default_factory=dict)  # indicator audit, JSON-ready
    backtest: dict[str, Any] = field(default_factory=dict)  # metrics of the weight fit
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # by stage/status/tier/...
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    value_table: list[dict[str, Any]] = field(default_factory=list)  # 80/20 view by decile
    model: dict[str, Any] = field(default_factory=dict)  # horizon, sources, BTYD fits, notes


def churn_horizon(profile: BusinessProfile) -> int:
    """Days the churn score looks ahead: the profile's setting, else the business's own "lost"
    threshold (lifecycle.lost_from): the score is the probability that the customer stays
    away long enough to be lost by the business's definition. A shorter horizon would label
    customers who buy less often than the horizon as leavers even while they are loyal."""
    return profile.churn_horizon_days or profile.lifecycle.lost_from


def analyze(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    *,
    weights: dict[str, float] | None = None,
) -> AnalysisResult:
    """Score every customer as of ``as_of`` using only data on or before that date.

    ``weights`` overrides the indicator weights; by default they are learned from the
    business's own history with a time-split backtest.
    """
    return run_analysis(frames, profile, as_of, weights=weights)


def run_analysis(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    *,
    weights: dict[str, float] | None = None,
    horizon_days: int | None = None,
    recalibrate: bool = False,
) -> AnalysisResult:
    """:func:`analyze` with an explicit churn horizon (the backtest's). ``recalibrate`` maps
    the probability through a recalibration learned one horizon earlier (off by default: on
    real data it made the probability worse, see docs/decisions/0026)."""
    frames = conformed(frames)
    horizon = horizon_days or churn_horizon(profile)
    clock = _Clock()
    # The streams are prepared once for the scoring date and every training origin.
    with analysis_pools(), FeatureSource(frames, backend=_backend(frames)) as source:
        # Only the source reads the order lines: let go of them (a caller that handed its
        # frames over frees the columns the source does not share, docs/decisions/0053).
        frames = replace(frames, order_lines=frames.order_lines.clear())
        features = source.features(profile, as_of)
        clock.lap("features")
        days = source.purchase_days()
        # The scoring date's count and spend models need nothing from the training: they are
        # fitted beside it (NumPy on one core while the training runs its feature queries
        # and its own fits), with the same inputs and so the same result as in sequence.
        with side_by_side(1) as beside:
            scoring_btyd = beside.submit(_scoring_btyd, features, profile, as_of, days)
            training = _train(
                frames, profile, as_of, horizon, weights, source, recalibrate=recalibrate, days=days
            )
            clock.lap("fit")
            btyd = scoring_btyd.result()
        source.close()  # scoring reads the features taken: free the prepared streams first
        scored = _score(features, training, profile, as_of, weights, horizon, btyd=btyd)
        clock.lap("score")
    scores = scored.snapshot
    return AnalysisResult(
        as_of=as_of,
        scores=scores,
        weights=dict(scored.model.weights),
        audit=training.audit,
        backtest=training.heldout,
        counts=_counts(scores),
        timings=clock.laps,
        value_table=scored.value_table,
        model={
            "horizon_days": horizon,
            "training_as_of": (as_of - timedelta(days=horizon)).isoformat(),
            "training_customers": int(training.label.size),  # rows over the stacked origins
            **training.choice.describe(),  # at the latest origin
            "training_origin_customers": training.origin_customers,
            "training_rows_excluded_treated": training.excluded_rows,
            "training_sampled": training.sampled,
            "weights_source": scored.model.source,
            "intercept": round(scored.model.intercept, 6),
            "dropped": dict(sorted(scored.model.dropped.items())),
            "value_model": scored.prediction.value_model,
            "value_notes": list(scored.prediction.notes),
            "btyd": scored.btyd.describe(),
            "training_btyd": training.btyd.describe() if training.btyd is not None else None,
            "training_origins": list(training.origins),
            "calibration": scored.model.calibration.describe()
            if scored.model.calibration is not None
            else None,
            "prior_share": round(scored.model.prior_share, 4),
            "priors_used": (
                ["churn_weights"]
                if training.prior is not None and scored.model.prior_share >= CHURN_PRIOR_DOMINATES
                else []
            )
            + list(scored.btyd.priors_used),
            "status_rule": scored.status_rule,
            "lapse_rate": None if training.lapse_rate is None else round(training.lapse_rate, 6),
        },
    )


def _backend(frames: AnalyticsFrames) -> Backend:
    return FEATURE_ENGINE


def conformed(frames: AnalyticsFrames) -> AnalyticsFrames:
    """Every frame checked against its contract and cast to it."""
    return AnalyticsFrames(
        customers=conform(frames.customers, CUSTOMERS, "customers"),
        orders=conform(frames.orders, ORDERS, "orders"),
        order_lines=conform(frames.order_lines, ORDER_LINES, "order_lines"),
        events=conform(frames.events, EVENTS, "events"),
        contacts=conform(frames.contacts, CONTACTS, "contacts"),
        treatments=conform(frames.treatments, TREATMENTS, "treatments"),
    )


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self.laps["total"] = round(now - self._start, 3)
        self._last = now


@dataclass(frozen=True)
class _Training:
    model: ChurnModel | None  # None: too little history, prior/default weights at scoring
    inputs: FloatArray
    label: BoolArray
    audit: dict[str, Any]
    heldout: dict[str, Any]
    btyd: BtydFit | None
    sampled: bool
    lapse_rate: float | None  # share of the latest origin's buyers who did not come back
    choice: TrainingChoice  # who the weights were learned from (the untouched customers)
    origin_customers: int  # training customers at the latest origin
    excluded_rows: int  # treated rows left out over all stacked origins
    origins: tuple[str, ...] = ()  # training origins stacked into the fit
    prior: dict[str, float] | None = None


@dataclass(frozen=True)
class _Origin:
    """The training rows of one origin: buyers as of ``day``, label = no purchase in
    (day, day + horizon]."""

    day: date
    keys: NDArray[np.int64]
    inputs: FloatArray
    label: BoolArray
    days_since_last: FloatArray
    alive: FloatArray | None
    btyd: BtydFit | None
    sampled: bool
    choice: TrainingChoice


def purchasers(orders: pl.DataFrame, after: date, upto: date) -> pl.Series:
    """Customers with a purchase (an order of positive amount) in (after, upto]."""
    day = pl.col("order_date")
    bought = (day > after) & (day <= upto) & (pl.col("amount_cents") > 0)
    return orders.filter(bought)["customer_pk"].unique()


def training_buyers(features: pl.DataFrame) -> pl.DataFrame:
    """The customers a weight fit learns from, at one origin: everyone who had bought by then.
    This is the one place where the training customers are chosen (to leave some out, filter
    here)."""
    return features.filter(pl.col("first_purchase").is_not_null())


def with_btyd_columns(
    buyers: pl.DataFrame, alive: FloatArray | None, fit: BtydFit | None, as_of: date, horizon: int
) -> pl.DataFrame:
    """``p_alive`` and ``btyd_no_return`` (P(no purchase within ``horizon`` days) under
    BG/NBD) for the buyers; null when the model is not available. The zero-class term needs
    only the gamma purchase rate (r, alpha) that BG/NBD, MBG/NBD and Pareto/NBD share."""
    params = dict(getattr(fit.bg, "params_", {})) if fit is not None else {}
    if alive is None or not {"r", "alpha"} <= set(params):
        # No model, or one without a gamma purchase rate (r, alpha) for the zero class.
        missing = pl.lit(None, dtype=pl.Float64)
        alive_column = pl.lit(None, dtype=pl.Float64) if alive is None else pl.Series(alive)
        return buyers.with_columns(alive_column.alias("p_alive"), missing.alias("btyd_no_return"))
    s = Summary.of(buyers, as_of)
    quiet = btyd_no_return(params, alive, s.frequency, s.age, horizon / TIME_UNIT_DAYS)
    return buyers.with_columns(
        pl.Series("p_alive", alive, dtype=pl.Float64),
        pl.Series("btyd_no_return", quiet, dtype=pl.Float64),
    )


@dataclass(frozen=True)
class _OriginRows:
    """Who one origin trains on and what happened to them, before any model is fitted."""

    day: date
    buyers: pl.DataFrame
    label: BoolArray
    sampled: bool
    choice: TrainingChoice


def _origin_rows(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    day: date,
    horizon: int,
    source: FeatureSource,
) -> _OriginRows:
    known = frames.orders.filter(pl.col("order_date") <= day)["customer_pk"].unique().sort()
    chosen = known.filter(pl.Series(hash_sample(known.to_numpy(), FIT_SAMPLE)))
    sampled = chosen.len() < known.len()
    # Only the columns the training reads (those scoring reads): about half the query's work.
    features = source.features(
        profile, day, only=chosen if sampled else None, columns=SCORING_COLUMNS
    )
    end = day + timedelta(days=horizon)
    buyers, choice = untouched(training_buyers(features), frames.treatments, day, end)
    came_back = purchasers(frames.orders, day, end)
    label = (~buyers["customer_pk"].is_in(came_back.implode())).to_numpy().astype(bool)
    return _OriginRows(day, buyers, label, sampled, choice)


def _origin_fit(
    rows: _OriginRows,
    profile: BusinessProfile,
    horizon: int,
    days: pl.DataFrame | None,
    candidates: Sequence[CountFactory],
) -> _Origin:
    """The count and spend models fitted at one origin, and the training inputs they feed.

    Pure NumPy/SciPy on the origin's own rows (no feature engine): safe to run beside the
    feature queries of the other origins."""
    buyers, day = rows.buyers, rows.day
    btyd = (
        fit_btyd(buyers, day, industry=profile.industry, days=days, candidates=candidates)
        if buyers.height
        else None
    )
    alive = p_alive(btyd, buyers, day) if btyd is not None else None
    buyers = with_btyd_columns(buyers, alive, btyd, day, horizon)
    return _Origin(
        day=day,
        keys=buyers["customer_pk"].to_numpy().astype(np.int64),
        inputs=model_inputs(raw_values(buyers, day)),
        label=rows.label,
        days_since_last=buyers["days_since_last"].to_numpy().astype(np.float64),
        alive=alive,
        btyd=btyd,
        sampled=rows.sampled,
        choice=rows.choice,
    )


def _stack(origins: list[_Origin]) -> tuple[FloatArray, BoolArray]:
    inputs = np.vstack([o.inputs for o in origins]) if origins else np.zeros((0, len(CODES)))
    label = np.concatenate([o.label for o in origins]) if origins else np.zeros(0, dtype=bool)
    return inputs, label


_Kind = tuple[type, float] | None  # the count model's class and penalty; None: choose


def _refit_kind(fit: BtydFit | None) -> _Kind:
    """What the next origin refits after this origin's fit: the same kind of count model
    (class and penalty, :func:`same_kind`) when it was fitted on the data alone."""
    if fit is None or fit.bg is None or fit.priors_used:
        return None
    return type(fit.bg), float(getattr(fit.bg, "penalizer", 0.0))


def _origins(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    latest: date,
    horizon: int,
    cache: dict[date, _Origin],
    source: FeatureSource,
    days: pl.DataFrame | None = None,
) -> list[_Origin]:
    """The stacked origins ``latest - k`` (k in STACK_OFFSETS) that have buyers.

    The count model is chosen (on a holdout, when ``days`` is given) at the latest origin
    only; the earlier ones refit the chosen kind, which costs one fit instead of a choice.

    The work overlaps (:func:`side_by_side`); every origin's result is the one the loop in
    sequence gives. The latest origin's feature query runs first, on its own: its model
    choice is the longest chain of the training, and starts as soon as its rows are there.
    The earlier origins' queries then run beside that choice, at once when the source allows
    it (:attr:`FeatureSource.concurrent`) and the base has at most FIT_SAMPLE customers
    (else one after the other, in this thread). Once a kind is chosen,
    the earlier origins' refits run side by side; each refit is used only when it was made
    with the kind the origin before it handed on, and redone otherwise (the rare case of a
    refit refused there and a penalised fallback taken instead)."""
    first = frames.orders["order_date"].min()
    wanted = [latest - timedelta(days=offset) for offset in STACK_OFFSETS]
    wanted = [day for day in wanted if isinstance(first, date) and day >= first]
    todo = [day for day in wanted if day not in cache]
    rows: dict[date, Future[_OriginRows]] = {}
    pending: dict[date, tuple[Future[_Origin], _Kind]] = {}
    chosen = []
    kind: _Kind = None
    # Past FIT_SAMPLE customers each query still scans every stream whole: one at a time,
    # so that the largest bases never hold several queries' intermediate tables at once.
    at_once = source.concurrent and frames.customers.height <= FIT_SAMPLE

    def rows_at(day: date) -> Future[_OriginRows]:
        if day not in rows:
            if at_once:
                rows[day] = pool.submit(_origin_rows, frames, profile, day, horizon, source)
            else:  # one query at a time, from this thread
                rows[day] = Future()
                rows[day].set_result(_origin_rows(frames, profile, day, horizon, source))
        return rows[day]

    def fit_at(day: date) -> Future[_Origin]:
        if kind is None:
            candidates: Sequence[CountFactory] = COUNT_MODELS
            choosing = days
        else:
            candidates, choosing = (same_kind(kind[0](penalizer=kind[1])),), None
        rows_of = rows_at(day).result()
        return pool.submit(_origin_fit, rows_of, profile, horizon, choosing, candidates)

    with fit_pools(), side_by_side(2 * len(todo)) as pool:
        for at, day in enumerate(wanted):
            later = [d for d in wanted[at + 1 :] if d not in cache]
            if day not in cache:
                job = pending.pop(day, None)
                if job is None or job[1] != kind:
                    job = (fit_at(day), kind)
                for other in later:
                    rows_at(other)
                cache[day] = job[0].result()
                del rows[day]
            refit = _refit_kind(cache[day].btyd)
            if refit is not None:
                kind = refit
                for other in later:
                    if other in rows and pending.get(other, (None, None))[1] != kind:
                        pending[other] = (fit_at(other), kind)
            if cache[day].label.size:
                chosen.append(cache[day])
    return chosen


def _train(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    as_of: date,
    horizon: int,
    weights: dict[str, float] | None,
    source: FeatureSource,
    *,
    recalibrate: bool = False,
    days: pl.DataFrame | None = None,
) -> _Training:
    start = as_of - timedelta(days=horizon)
    prior = churn_weight_prior(profile.industry)
    cache: dict[date, _Origin] = {}
    origins = _origins(frames, profile, start, horizon, cache, source, days)
    latest = origins[0] if origins and origins[0].day == start else None
    lapse = float(latest.label.mean()) if latest is not None else None
    inputs, y = _stack(origins)
    sampled = any(o.sampled for o in origins)
    stacked = tuple(o.day.isoformat() for o in origins)
    choice = latest.choice if latest is not None else TrainingChoice(TRAINING_RULE, 0, 0)
    counts = (
        int(latest.label.size) if latest is not None else 0,
        sum(o.choice.excluded_treated for o in origins),
    )
    if latest is None or not learnable(y):
        audit = {"customers": int(y.size), "positives": int(y.sum()), "note": "too_little_history"}
        return _Training(
            None, inputs, y, audit, {}, None, sampled, lapse, choice, *counts, stacked, prior
        )
    # Held-out metrics: one customer in five (by key) is left out of every stacked origin.
    held_rows = np.concatenate([hash_fold(o.keys, HOLDOUT_FOLDS) for o in origins])
    # The held-out fit, the fit on everyone and the indicators' ranks (for the audit) are
    # independent: computed side by side (one BLAS thread each, the limit held around all of
    # them so that no thread's limit undoes another's).
    with fit_pools(), side_by_side(2) as beside:
        partial_fit = beside.submit(_fit, inputs[~held_rows], y[~held_rows], weights, prior)
        ranking = beside.submit(indicator_ranks, inputs)
        model = _fit(inputs, y, weights, prior)
        partial = partial_fit.result()
        ranks = ranking.result()
    held = hash_fold(latest.keys, HOLDOUT_FOLDS)
    heldout = compare_scores(
        latest.label[held],
        partial.raw_probability(latest.inputs[held]),
        latest.days_since_last[held],
        latest.alive[held] if latest.alive is not None else None,
    )
    heldout["training_as_of"] = start.isoformat()
    heldout["horizon_days"] = horizon
    if recalibrate and not weights:
        model = with_calibration(
            model, _calibration(frames, profile, latest, horizon, prior, cache, source, days)
        )
    audit = indicator_audit(inputs, y, model, ranks=ranks)
    return _Training(
        model,
        inputs,
        y,
        audit,
        heldout,
        latest.btyd,
        sampled,
        lapse,
        choice,
        *counts,
        stacked,
        prior,
    )


def _calibration(
    frames: AnalyticsFrames,
    profile: BusinessProfile,
    latest: _Origin,
    horizon: int,
    prior: dict[str, float] | None,
    cache: dict[date, _Origin],
    source: FeatureSource,
    days: pl.DataFrame | None,
) -> Calibration | None:
    """The same model fitted one horizon earlier, applied to the latest training origin
    (whose outcome is known): how its raw probabilities map to what happened there."""
    earlier = _origins(
        frames, profile, latest.day - timedelta(days=horizon), horizon, cache, source, days
    )
    inputs, label = _stack(earlier)
    if not learnable(label):
        return None
    model = _fit(inputs, label, None, prior)
    raw = model.raw_probability(latest.inputs)
    return fit_calibration(raw, latest.label, latest.day.isoformat())


def _fit(
    inputs: FloatArray,
    label: BoolArray,
    weights: dict[str, float] | None,
    prior: dict[str, float] | None,
) -> ChurnModel:
    with fit_pools():
        model = fit_churn_model(inputs, label, prior, CHURN_PRIOR_STRENGTH if prior else 0.0)
    return with_weights(model, weights, inputs, label) if weights else model


@dataclass(frozen=True)
class _Scored:
    snapshot: pl.DataFrame
    model: ChurnModel
    status_rule: str  # "probability_cutoff" | "base_rate"
    btyd: BtydFit
    prediction: Prediction
    value_table: list[dict[str, Any]]


def _score(
    features: pl.DataFrame,
    training: _Training,
    profile: BusinessProfile,
    as_of: date,
    weights: dict[str, float] | None,
    horizon: int,
    *,
    days: pl.DataFrame | None = None,
    btyd: BtydFit | None = None,
) -> _Scored:
    """The snapshot of every customer; ``btyd``: the scoring date's models, when already
    fitted by :func:`_scoring_btyd` (else fitted here, with ``days``)."""
    bought = pl.col("first_purchase").is_not_null()
    is_buyer = features.select(bought).to_series().to_numpy()
    buyers = _scoring_buyers(features)
    if btyd is None:
        with fit_pools():
            btyd = _scoring_btyd(features, profile, as_of, days)
    prediction = predict_value(btyd, buyers, profile, as_of)
    buyers = pl.concat([buyers, prediction.values.drop("customer_pk")], how="horizontal")
    alive = buyers["p_alive"].to_numpy() if buyers["p_alive"].null_count() == 0 else None
    inputs = model_inputs(raw_values(with_btyd_columns(buyers, alive, btyd, as_of, horizon), as_of))
    model = training.model
    if model is None:
        model = default_model(inputs, training.prior, training.label)
        if weights:
            model = with_weights(model, weights, training.inputs, training.label)
    probability = model.probability(inputs)
    rule = _status_rule(model, training)
    # Buyers' values spread back over all customers by position (no join, no copy).
    frame = features.with_columns(
        _spread("p_alive", is_buyer, prediction.values["p_alive"]),
        _spread("expected_purchases_365", is_buyer, prediction.values["expected_purchases_365"]),
        _spread("clv_365", is_buyer, prediction.values["clv_365"]),
        _spread("churn_score", is_buyer, pl.Series(np.round(100 * probability, 2))).fill_null(0.0),
        _spread("churn_probability", is_buyer, pl.Series(np.round(probability, 6))).fill_null(0.0),
    )
    status = status_expr(profile)
    if rule == "base_rate":
        cutoff = base_rate_cutoff(100 * probability, training.lapse_rate or 0.0)
        status = base_rate_status_expr(profile, round(cutoff, 2))
    frame = _classify(frame, profile, status, records_engagement=_records_engagement(features))
    buyers = frame.select(*SCORING_COLUMNS, "p_alive", "early_warning").filter(bought)
    signals = top_signals(
        buyers, model.contributions(inputs), _triggered(buyers, profile), profile, pl.lit(as_of)
    )
    frame = frame.with_columns(_spread("top_signals", is_buyer, signals).fill_null("[]"))
    frame = _segment(frame, buyers, profile, as_of)
    snapshot = snapshot_rows(frame, as_of)
    in_value = frame.filter(pl.col("first_purchase").is_not_null()).select(
        "customer_pk", "value_index"
    )
    table = value_table(in_value, profile.cost_to_serve_per_year)
    return _Scored(conform(snapshot, SNAPSHOT, "scores"), model, rule, btyd, prediction, table)


def _scoring_buyers(features: pl.DataFrame) -> pl.DataFrame:
    """The buyers' columns that scoring reads (a copy of only those), sorted by key like
    ``features``."""
    return features.select(SCORING_COLUMNS).filter(pl.col("first_purchase").is_not_null())


def _scoring_btyd(
    features: pl.DataFrame, profile: BusinessProfile, as_of: date, days: pl.DataFrame | None
) -> BtydFit:
    """The count and spend models of the scoring date, fitted on its buyers."""
    return fit_btyd(_scoring_buyers(features), as_of, industry=profile.industry, days=days)


def _status_rule(model: ChurnModel, training: _Training) -> str:
    """ "probability_cutoff" when the score is a probability learned mostly from the business's
    own history; else "base_rate" (statuses follow its lapse rate), as long as there is a
    lapse rate to follow."""
    trusted = model.source.startswith("learned") and model.prior_share < CHURN_PRIOR_DOMINATES
    if trusted or training.lapse_rate is None:
        return "probability_cutoff"
    return "base_rate"


def _spread(name: str, mask: BoolArray, values: pl.Series) -> pl.Series:
    """``values`` (one per True in ``mask``) at the True positions, null elsewhere."""
    full = pl.Series(name, [None] * mask.size, dtype=values.dtype)
    return full.scatter(np.flatnonzero(mask), values) if values.len() else full


def _records_engagement(features: pl.DataFrame) -> bool:
    return bool(features["engagement_last"].is_not_null().any())


def _classify(
    frame: pl.DataFrame, profile: BusinessProfile, status: pl.Expr, *, records_engagement: bool
) -> pl.DataFrame:
    """Stage -> status -> early warning -> customer type -> retention action."""
    frame = frame.with_columns(stage=stage_expr(profile))
    frame = frame.with_columns(status=status)
    # Ranked by the calibrated probability when the frame has it (same order as the score).
    risk = "churn_probability" if "churn_probability" in frame.columns else "churn_score"
    frame = frame.with_columns(early_warning=early_warning_expr(profile, risk))
    return frame.with_columns(
        customer_type=customer_type_expr(profile, records_engagement=records_engagement),
        retention_action=retention_action_expr(),
    )


def _triggered(buyers: pl.DataFrame, profile: BusinessProfile) -> BoolArray:
    """Which indicators fired an early-warning rule, per flagged customer (CODES order)."""
    rules = triggers(profile)
    flagged = pl.col("early_warning")
    columns = [
        (flagged & rules[c]).fill_null(value=False).alias(c)
        if c in rules
        else pl.lit(False).alias(c)
        for c in CODES
    ]
    result: BoolArray = (
        buyers.select(columns).to_numpy().astype(bool).reshape(buyers.height, len(CODES))
    )
    return result


def _segment(
    frame: pl.DataFrame, buyers: pl.DataFrame, profile: BusinessProfile, as_of: date
) -> pl.DataFrame:
    """RFM octant, A-E class, value index and tier."""
    references = rfm_references(buyers, profile)
    frame = frame.with_columns(
        rfm_octant=rfm_octant_expr(references),
        abc_class=abc_classes(frame),
        value_index=value_index_expr(profile, as_of),
    )
    bought = pl.col("first_purchase").is_not_null()
    ranked = frame.with_columns(pl.when(bought).then(pl.col("value_index")).alias("_value"))
    return ranked.with_columns(
        tier=pl.when(bought).then(tier_expr(profile.tiers, buyers.height, column="_value"))
    ).drop("_value")


def _counts(scores: pl.DataFrame) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for column in COUNTED:
        groups = scores.group_by(column).len().drop_nulls(column).sort(column)
        counts[column] = {
            str(key).lower() if isinstance(key, bool) else str(key): int(n)
            for key, n in groups.iter_rows()
            if key != ""
        }
    return counts


def snapshot_rows(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The snapshot's columns of a scored frame, rounded as stored (one definition for every
    engine, so their snapshots compare exactly)."""
    return frame.select(
        pl.col("customer_pk"),
        pl.lit(as_of).alias("as_of"),
        "stage",
        "customer_type",
        "status",
        "churn_score",
        "churn_probability",
        pl.col("p_alive").round(6),
        pl.col("expected_purchases_365").round(4),
        pl.col("clv_365").round(2),
        pl.col("value_index").round(2),
        "tier",
        "rfm_octant",
        "abc_class",
        "early_warning",
        "retention_action",
        "days_since_last",
        pl.col("expected_interval_days").round(2),
        "top_signals",
    )
