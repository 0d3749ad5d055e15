"""The analysis on Apache Spark: the same features, fits and scores for bases that outgrow one
machine (``winback analyze --engine spark``; docs/scale.md, decision 0043).

Where each part runs:

- features: the one Narwhals feature query (:func:`winback.analytics.features.features_lazy`)
  on PySpark DataFrames, distributed;
- churn weights: the pipeline's own training (:func:`winback.analytics.pipeline._train`) on the
  driver, over the rows of at most ``FIT_SAMPLE`` customers chosen in Spark by the same key hash
  the pipeline samples with (all of them on a base of that size or less);
- BTYD: :func:`winback.analytics.value.fit_btyd` on the driver over the ``BTYD_FIT_SAMPLE``
  buyers it would sample itself (its fitters work on the distinct (frequency, recency, age)
  tuples with weights);
- scoring: ``mapInArrow`` passes that call the same NumPy and Polars scoring functions batch by
  batch; the few quantities that span all customers (base-rate cutoff, RFM references, tier,
  A-E and early-warning cut points) are Spark aggregates turned into thresholds on the driver.

Parity with the embedded engines (the same stages, statuses, tiers and octants, scores within
1e-9) is tested in tests/analytics/test_spark_engine.py.

The tables are Spark DataFrames in the :mod:`winback.analytics.frames` contracts (dates as
``DateType``), read from a data lake (:mod:`winback.analytics.lake`, :func:`read_tables`) and
cut to the analysis date (:func:`cut_tables`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw
import numpy as np
import polars as pl
import pyarrow as pa

from winback.analytics.churn import (
    ChurnModel,
    base_rate_status_expr,
    default_model,
    status_expr,
    with_weights,
)
from winback.analytics.early_warning import retention_action_expr
from winback.analytics.features import EPOCH, FEATURES, PREPARED, FeatureSource, features_lazy
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
from winback.analytics.indicators import CODES, model_inputs, raw_values
from winback.analytics.lifecycle import customer_type_expr, stage_expr
from winback.analytics.pipeline import (
    COUNTED,
    FEATURE_ENGINE,
    FIT_SAMPLE,
    SCORING_COLUMNS,
    _status_rule,
    _train,
    _Training,
    _triggered,
    churn_horizon,
    snapshot_rows,
    with_btyd_columns,
)
from winback.analytics.segments import ABC_CUTOFFS, rfm_octant_expr
from winback.analytics.signals import top_signals
from winback.analytics.value import (
    BTYD_FIT_SAMPLE,
    BtydFit,
    fit_btyd,
    predict_value,
    purchase_days,
    tier_bounds,
    value_index_expr,
    value_table,
)
from winback.config import BusinessProfile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The frames the engine reads, by table name, with their contracts.
TABLES: dict[str, dict[str, pl.DataType]] = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_lines": ORDER_LINES,
    "events": EVENTS,
    "contacts": CONTACTS,
    "treatments": TREATMENTS,
}
# Where each prepared feature table comes from: (frame, {prepared column: frame column}).
_SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "customers": ("customers", {"join_day": "join_date"}),
    "orders": ("orders", {"day": "order_date"}),
    "lines": ("order_lines", {"day": "order_date"}),
    "events": ("events", {"day": "occurred_date", "resolved_day": "resolved_date"}),
    "contacts": ("contacts", {"day": "occurred_date"}),
}
_SPARK_TYPES = {"int": "bigint", "day": "int", "str": "string", "bool": "boolean"}
# Spark's defaults for a local analysis; --spark-conf overrides any of them.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# Shuffle partitions per core of a local master (local_defaults).
SHUFFLE_PARTITIONS_PER_CORE = 4
_GOLDEN = 0x9E3779B97F4A7C15  # winback.analytics.sampling's Fibonacci hash
_SIGN = np.uint64(1 << 63)

SparkTables = dict[str, "DataFrame"]


def session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session on ``master`` (``local[*]``, ``yarn``, ``k8s://...``) with ``conf``.

    Without ``master``: the one spark-submit was given when it launched this process, else
    ``local[*]``."""
    from pyspark.sql import SparkSession

    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"
    builder = SparkSession.builder.appName("winback-analyze")
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        # Local workers run this interpreter (it has winback and its dependencies); on a
        # cluster the nodes' Python comes from PYSPARK_PYTHON or spark.pyspark.python.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    defaults = {**DEFAULT_CONF, **local_defaults(master)}
    for key, value in {**defaults, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_defaults(master: str | None) -> dict[str, str]:
    """Settings for a ``local[N]`` master that the caller's conf overrides: shuffles cut into
    ``SHUFFLE_PARTITIONS_PER_CORE`` partitions per core instead of Spark's 200 (sized for a
    cluster: on two cores each of the 200 tasks pays its scheduling and, for the scoring
    passes, a Python worker round trip, for a few kilobytes of rows). Adaptive execution still
    coalesces smaller shuffles further."""
    match = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", (master or "").strip())
    if match is None:
        return {}
    inside = match.group(1)  # "local" alone runs one thread
    if inside is None:
        cores = 1
    elif inside == "*":
        cores = os.cpu_count() or 1
    else:
        cores = int(inside)
    return {"spark.sql.shuffle.partitions": str(max(SHUFFLE_PARTITIONS_PER_CORE * cores, 4))}


def parse_conf(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs (the CLI's ``--spark-conf``) as a mapping; raise on a bare key."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--spark-conf wants key=value, got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf


# --- tables -------------------------------------------------------------------------------


def read_tables(spark: SparkSession, root: Path | str) -> SparkTables:
    """The tables of a data lake (:mod:`winback.analytics.lake`: ``root/<table>/part-*.parquet``)
    as Spark DataFrames, uncut (the whole history the lake holds)."""
    base = str(root).rstrip("/")
    return {name: spark.read.parquet(f"{base}/{name}") for name in TABLES}


def cut_tables(tables: SparkTables, as_of: date) -> SparkTables:
    """The tables as known on ``as_of``: :func:`winback.analytics.lake.cut` in Spark."""
    from pyspark.sql import functions as F

    day = F.lit(as_of)
    orders = tables["orders"].filter(F.col("order_date") <= day)
    first_order = tables["orders"].groupBy("customer_pk").agg(F.min("order_date").alias("_fo"))
    first_event = tables["events"].groupBy("customer_pk").agg(F.min("occurred_date").alias("_fe"))
    # least() skips nulls as pl.min_horizontal does.
    seen = F.least(F.col("join_date"), F.col("_fo"), F.col("_fe"))
    customers = (
        tables["customers"]
        .join(first_order, "customer_pk", "left")
        .join(first_event, "customer_pk", "left")
        .filter(seen.isNull() | (seen <= day))
        .withColumn(
            "join_date", F.when(F.col("join_date") > day, F.lit(None)).otherwise(F.col("join_date"))
        )
        .drop("_fo", "_fe")
    )
    later = F.coalesce(F.col("resolved_date") > day, F.lit(False))
    events = (
        tables["events"]
        .filter(F.col("occurred_date") <= day)
        .withColumn("resolved", F.when(later, F.lit(False)).otherwise(F.col("resolved")))
        .withColumn("resolved_date", F.when(later, F.lit(None)).otherwise(F.col("resolved_date")))
    )
    known = customers.select("customer_pk")
    return {
        "customers": customers,
        "orders": orders,
        "order_lines": tables["order_lines"].filter(F.col("order_date") <= day),
        "events": events,
        "contacts": tables["contacts"]
        .filter(F.col("occurred_date") <= day)
        .join(known, "customer_pk", "left_semi"),
        "treatments": tables["treatments"]
        .filter(F.col("round_start") <= day)
        .join(known, "customer_pk", "left_semi"),
    }


def _prepared(tables: SparkTables) -> dict[str, nw.LazyFrame[Any]]:
    """Spark's spelling of features._prepare: dates as Int32 day numbers named ``*_day``."""
    from pyspark.sql import functions as F

    epoch = F.lit(EPOCH.isoformat()).cast("date")
    prepared: dict[str, nw.LazyFrame[Any]] = {}
    for name, columns in PREPARED.items():
        frame, renames = _SOURCES[name]
        selected = []
        for column, kind in columns.items():
            source = renames.get(column, column)
            if kind == "day":
                value = F.datediff(F.col(source), epoch).cast("int")
            else:
                value = F.col(source).cast(_SPARK_TYPES[kind])
            selected.append(value.alias(column))
        prepared[name] = nw.from_native(tables[frame].select(*selected))
    return prepared


def spark_features(tables: SparkTables, profile: BusinessProfile, as_of: date) -> DataFrame:
    """The feature frame (``FEATURES`` contract, dates as dates) computed on Spark."""
    from pyspark.sql import functions as F

    native = features_lazy(_prepared(tables), profile, as_of).to_native()
    epoch = F.lit(EPOCH.isoformat()).cast("date")
    columns = []
    for name, dtype in FEATURES.items():
        if dtype == pl.Date:
            columns.append(F.date_add(epoch, F.col(f"{name}_day").cast("int")).alias(name))
        else:
            columns.append(F.col(name).cast(_spark_type(dtype)).alias(name))
    result: DataFrame = native.select(*columns)
    return result


def _spark_type(dtype: pl.DataType) -> str:
    if dtype == pl.Int64:
        return "bigint"
    if dtype == pl.Int32:
        return "int"
    if dtype == pl.Float64:
        return "double"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.String:
        return "string"
    raise TypeError(f"no Spark type for {dtype}")


def _ddl(schema: Mapping[str, pl.DataType]) -> str:
    return ", ".join(f"`{name}` {_spark_type(dtype)}" for name, dtype in schema.items())


def _to_polars(frame: DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Collect a (small) Spark frame to the driver as Polars, in ``schema``'s types."""
    table = frame.toArrow()
    collected = pl.from_arrow(table)
    assert isinstance(collected, pl.DataFrame)
    return collected.select([pl.col(c).cast(t) for c, t in schema.items()])


# --- deterministic samples, as winback.analytics.sampling draws them -----------------------


def _hash_keys(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """customer_pk -> the sampling hash as a signed integer that sorts like the unsigned one."""
    for batch in batches:
        keys = batch.column("customer_pk").to_numpy(zero_copy_only=False).astype(np.int64)
        hashed = keys.astype(np.uint64) * np.uint64(_GOLDEN)
        order = (hashed ^ _SIGN).view(np.int64)
        yield pa.RecordBatch.from_arrays(
            [pa.array(keys), pa.array(order)], names=["customer_pk", "_hash"]
        )


_LOW = 0xFFFFFFFF
_GOLDEN_LOW, _GOLDEN_HIGH = _GOLDEN & _LOW, _GOLDEN >> 32


def hash_order(column: str = "customer_pk") -> Any:
    """What :func:`_hash_keys` computes, as a Spark column (no Python worker): the key times
    the Fibonacci constant modulo 2**64, with the sign bit flipped and read as a signed
    integer, so it sorts like the unsigned hash.

    The product is put together from 32-bit halves so that no step leaves the signed 64-bit
    range (ANSI mode raises on overflow): with k = kh * 2**32 + kl and G = gh * 2**32 + gl,
    k * G mod 2**64 = kl * gl + 2**32 * ((kh * gl + kl * gh) mod 2**32)."""
    from pyspark.sql import functions as F

    mask, half = F.lit(_LOW), F.lit(0xFFFF)
    key = F.col(column).cast("bigint")
    kl = key.bitwiseAND(mask)
    kh = F.shiftrightunsigned(key, 32)
    low = kl * F.lit(_GOLDEN_LOW)  # < 2**63: gl < 2**31
    # kl * gh mod 2**32, with gh split into 16-bit halves (each product < 2**49)
    cross = (kl * F.lit(_GOLDEN_HIGH & 0xFFFF)) + F.shiftleft(
        (kl * F.lit(_GOLDEN_HIGH >> 16)).bitwiseAND(half), 16
    )
    middle = ((kh * F.lit(_GOLDEN_LOW)).bitwiseAND(mask) + cross.bitwiseAND(mask)).bitwiseAND(mask)
    high = (F.shiftrightunsigned(low, 32) + middle).bitwiseAND(mask)
    return F.shiftleft(high.bitwiseXOR(F.lit(1 << 31)), 32).bitwiseOR(low.bitwiseAND(mask))


def sample_keys(keys: DataFrame, size: int) -> DataFrame:
    """The keys :func:`winback.analytics.sampling.hash_sample` keeps (at most ``size``) of the
    distinct ``customer_pk`` in ``keys``."""
    distinct = keys.select("customer_pk").distinct()
    hashed = distinct.select("customer_pk", hash_order().alias("_hash"))
    result: DataFrame = hashed.orderBy("_hash").limit(size).select("customer_pk")
    return result


# --- the analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkAnalysis:
    """What :func:`analyze` returns: the snapshot stays a Spark DataFrame (SNAPSHOT contract)
    and the rest is what :class:`winback.analytics.pipeline.AnalysisResult` carries."""

    as_of: date
    scores: DataFrame
    weights: dict[str, float] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    value_table: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Params:
    """Everything a scoring batch needs besides its rows (shipped to the executors)."""

    profile: BusinessProfile
    as_of: date
    horizon: int
    btyd: BtydFit
    model: ChurnModel
    survey_mean: float  # the buyers' mean latest survey score (0.0 when nobody answered)


def analyze(
    tables: SparkTables,
    profile: BusinessProfile,
    as_of: date,
    *,
    weights: dict[str, float] | None = None,
) -> SparkAnalysis:
    """Score every customer as of ``as_of`` on Spark (see the module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    horizon = churn_horizon(profile)
    clock: dict[str, float] = {}
    started = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        clock[name] = round(now - last, 3)
        last = now

    features = spark_features(tables, profile, as_of).persist(StorageLevel.MEMORY_AND_DISK)
    lap("features")
    start = as_of - timedelta(days=horizon)
    training, sampled = _driver_training(tables, profile, as_of, start, horizon, weights)
    bought = F.col("first_purchase").isNotNull()
    btyd, value_model = _fit_btyd(tables, features.filter(bought), profile, as_of)
    lap("fit")
    survey = features.filter(bought).select(F.mean("survey_score_latest")).first()
    survey_mean = float(survey[0]) if survey is not None and survey[0] is not None else 0.0

    model = training.model
    if model is None:
        inputs = _collect_inputs(features, btyd, profile, as_of, horizon, survey_mean)
        model = default_model(inputs, training.prior, training.label)
        if weights:
            model = with_weights(model, weights, training.inputs, training.label)
    params = _Params(profile, as_of, horizon, btyd, model, survey_mean)

    first = features.mapInArrow(_batches(_first_pass, params), _ddl(_FIRST)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    buyers = first.filter(bought)
    n_buyers = buyers.count()
    features.unpersist()
    rule = _status_rule(model, training)
    status = status_expr(profile)
    if rule == "base_rate":
        lapse = training.lapse_rate or 0.0
        flagged = round(min(lapse, 1.0) * n_buyers) if lapse > 0 else 0
        found = _nth_largest(buyers, "_score100", [flagged - 1]) if flagged else {}
        cutoff = found.get(flagged - 1, float("inf"))
        status = base_rate_status_expr(profile, round(cutoff, 2))
    second = first.mapInArrow(_batches(_status_pass, status), _ddl(_SECOND)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    second.count()
    first.unpersist()
    cuts = _Cuts(
        references=_rfm_references(second.filter(bought), profile),
        records_engagement=second.filter(F.col("engagement_last").isNotNull()).limit(1).count() > 0,
        warning=_warning_cut(second, profile),
        tiers=_tier_cuts(second.filter(bought), profile.tiers, n_buyers),
        abc=_abc_cuts(second),
    )
    snapshot = second.mapInArrow(_batches(_last_pass, (params, cuts)), _ddl(SNAPSHOT))
    snapshot = snapshot.persist(StorageLevel.MEMORY_AND_DISK)
    counts = _counts(snapshot)
    # The 80/20 table sorts every buyer's value: one float per buyer on the driver.
    in_value = _to_polars(
        second.filter(bought).select("customer_pk", "value_index"),
        {"customer_pk": pl.Int64(), "value_index": pl.Float64()},
    )
    second.unpersist()
    lap("score")
    table = value_table(in_value, profile.cost_to_serve_per_year)
    clock["total"] = round(time.perf_counter() - started, 3)
    return SparkAnalysis(
        as_of=as_of,
        scores=snapshot,
        weights=dict(model.weights),
        audit=training.audit,
        backtest=training.heldout,
        counts=counts,
        timings=clock,
        value_table=table,
        model={
            "engine": "spark",
            "horizon_days": horizon,
            "training_as_of": start.isoformat(),
            "training_customers": int(training.label.size),
            **training.choice.describe(),
            "training_origin_customers": training.origin_customers,
            "training_rows_excluded_treated": training.excluded_rows,
            "training_sampled": training.sampled or sampled,
            "weights_source": model.source,
            "intercept": round(model.intercept, 6),
            "dropped": dict(sorted(model.dropped.items())),
            "value_model": value_model[0],
            "value_notes": list(value_model[1]),
            "btyd": btyd.describe(),
            "training_btyd": training.btyd.describe() if training.btyd is not None else None,
            "training_origins": list(training.origins),
            "calibration": model.calibration.describe() if model.calibration is not None else None,
            "prior_share": round(model.prior_share, 4),
            "priors_used": (["churn_weights"] if _prior_dominates(model, training) else [])
            + list(btyd.priors_used),
            "status_rule": rule,
            "lapse_rate": None if training.lapse_rate is None else round(training.lapse_rate, 6),
        },
    )


def _prior_dominates(model: ChurnModel, training: _Training) -> bool:
    from winback.analytics.priors import CHURN_PRIOR_DOMINATES

    return training.prior is not None and model.prior_share >= CHURN_PRIOR_DOMINATES


# --- fits on the driver -------------------------------------------------------------------


def _restricted(tables: SparkTables, keys: DataFrame) -> AnalyticsFrames:
    """Every table's rows of the customers in ``keys``, collected as the pipeline's frames.

    ``keys`` (a fit sample, at most ``FIT_SAMPLE`` keys) is broadcast: a sort-merge join would
    shuffle every order line of the base to keep a sample's."""
    from pyspark.sql import functions as F

    chosen = F.broadcast(keys)
    frames = {
        name: _to_polars(tables[name].join(chosen, on="customer_pk", how="left_semi"), contract)
        for name, contract in TABLES.items()
    }
    return AnalyticsFrames(**frames)


def _driver_training(
    tables: SparkTables,
    profile: BusinessProfile,
    as_of: date,
    start: date,
    horizon: int,
    weights: dict[str, float] | None,
) -> tuple[_Training, bool]:
    """The pipeline's weight fit over the customers it would learn from at the latest origin
    (those who had ordered by ``start``; the FIT_SAMPLE of them by key hash on a larger base).
    The earlier stacked origins only see customers of that sample."""
    from pyspark.sql import functions as F

    known = tables["orders"].filter(F.col("order_date") <= F.lit(start)).select("customer_pk")
    keys = sample_keys(known, FIT_SAMPLE).persist()
    sampled = keys.count() >= FIT_SAMPLE and known.distinct().count() > FIT_SAMPLE
    frames = _restricted(tables, keys)
    keys.unpersist()
    days = purchase_days(frames.orders)
    with FeatureSource(frames, backend=FEATURE_ENGINE) as source:
        training = _train(frames, profile, as_of, horizon, weights, source, days=days)
    return training, sampled


def _fit_btyd(
    tables: SparkTables, buyers: DataFrame, profile: BusinessProfile, as_of: date
) -> tuple[BtydFit, tuple[str, tuple[str, ...]]]:
    """fit_btyd over the buyers it samples itself, with their purchase days."""
    from pyspark.sql import functions as F

    keys = sample_keys(buyers, BTYD_FIT_SAMPLE).persist()
    schema = {c: FEATURES[c] for c in SCORING_COLUMNS}
    sample = F.broadcast(keys)  # at most BTYD_FIT_SAMPLE keys (see _restricted)
    chosen = _to_polars(buyers.join(sample, "customer_pk", "left_semi").select(*schema), schema)
    orders = tables["orders"].join(sample, "customer_pk", "left_semi")
    positive = orders.filter(F.col("amount_cents") > 0)
    days = _to_polars(
        positive.select("customer_pk", F.col("order_date").alias("day")).distinct(),
        {"customer_pk": pl.Int64(), "day": pl.Date()},
    )
    keys.unpersist()
    chosen = chosen.sort("customer_pk")
    fit = fit_btyd(chosen, as_of, industry=profile.industry, days=days)
    # The value model's name and notes as predict_value reports them (on the sample).
    prediction = predict_value(fit, chosen, profile, as_of)
    return fit, (prediction.value_model, tuple(prediction.notes))


# --- the scoring passes -------------------------------------------------------------------

_PREDICTED = ("p_alive", "expected_purchases_365", "clv_365")
_FIRST: dict[str, pl.DataType] = {
    **FEATURES,
    **{c: pl.Float64() for c in _PREDICTED},
    "churn_score": pl.Float64(),
    "churn_probability": pl.Float64(),
    "_score100": pl.Float64(),  # 100 * probability, unrounded (the base-rate cutoff ranks it)
    "stage": pl.String(),
    "value_index": pl.Float64(),
}
_SECOND: dict[str, pl.DataType] = {**_FIRST, "status": pl.String()}


def _batches(
    step: Callable[[pl.DataFrame, Any], pl.DataFrame], argument: Any
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A mapInArrow function applying ``step`` to each batch as a Polars frame."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(frame, pl.DataFrame)
            result = step(frame, argument)
            yield from result.to_arrow().to_batches()

    return run


def _buyer_inputs(
    buyers: pl.DataFrame, params: _Params
) -> tuple[pl.DataFrame, np.ndarray[Any, Any]]:
    """Buyers (SCORING_COLUMNS) with their BTYD predictions, and their indicator inputs."""
    prediction = predict_value(params.btyd, buyers, params.profile, params.as_of)
    buyers = pl.concat([buyers, prediction.values.drop("customer_pk")], how="horizontal")
    alive = buyers["p_alive"].to_numpy() if buyers["p_alive"].null_count() == 0 else None
    with_btyd = with_btyd_columns(buyers, alive, params.btyd, params.as_of, params.horizon)
    return buyers, model_inputs(raw_values(with_btyd, params.as_of, params.survey_mean))


def _first_pass(features: pl.DataFrame, params: _Params) -> pl.DataFrame:
    """BTYD predictions, churn probability and score, stage and value index."""
    features = conform(features, FEATURES, "features")
    bought = pl.col("first_purchase").is_not_null()
    buyers = features.select(SCORING_COLUMNS).filter(bought)
    if buyers.height:
        predicted, inputs = _buyer_inputs(buyers, params)
        probability = params.model.probability(inputs)
        values = predicted.select(
            "customer_pk",
            *_PREDICTED,
            pl.Series("churn_score", np.round(100 * probability, 2)),
            pl.Series("churn_probability", np.round(probability, 6)),
            pl.Series("_score100", 100 * probability),
        )
        frame = features.join(values, on="customer_pk", how="left", maintain_order="left")
    else:
        frame = features.with_columns(
            [pl.lit(None, dtype=pl.Float64).alias(c) for c in (*_PREDICTED, "_score100")]
            + [
                pl.lit(None, dtype=pl.Float64).alias(c)
                for c in ("churn_score", "churn_probability")
            ]
        )
    frame = frame.with_columns(pl.col("churn_score", "churn_probability").fill_null(0.0))
    frame = frame.with_columns(stage=stage_expr(params.profile))
    frame = frame.with_columns(value_index=value_index_expr(params.profile, params.as_of))
    return frame.select([pl.col(c).cast(t) for c, t in _FIRST.items()])


def _status_pass(frame: pl.DataFrame, status: pl.Expr) -> pl.DataFrame:
    frame = conform(frame, _FIRST, "scored")
    return frame.with_columns(status=status).select(list(_SECOND))


@dataclass(frozen=True)
class _Warning:
    """Early warnings go to the top ``limit`` candidates by (risk desc, key asc): those at or
    before the row (risk, customer_pk); ``None`` when no candidate is ranked."""

    risk: float | None
    customer_pk: int | None
    everyone: bool = False  # the limit reaches every ranked candidate


@dataclass(frozen=True)
class _Cuts:
    references: dict[str, float]
    records_engagement: bool
    warning: _Warning
    tiers: tuple[float | None, ...]  # value index at or above which tier i+1 (None: nobody)
    abc: tuple[float | None, ...]  # spend_365 at or above which A, B, C (None: nobody)


def _candidate() -> pl.Expr:
    return ((pl.col("stage") != "prospect") & (pl.col("status") != "lost")).fill_null(value=False)


def _early_warning(profile: BusinessProfile, cut: _Warning) -> pl.Expr:
    """early_warning_expr with the global ranking replaced by its cut point."""
    risk = pl.col("churn_probability")
    ranked = risk.is_not_null() & ~risk.is_nan()
    if cut.everyone:
        top = _candidate() & ranked
    elif cut.risk is None or cut.customer_pk is None:
        top = pl.lit(value=False)
    else:
        before = (risk > cut.risk) | (
            (risk == cut.risk) & (pl.col("customer_pk") <= cut.customer_pk)
        )
        top = _candidate() & ranked & before
    complaint = _candidate() & (pl.col("complaint_open_n") > 0).fill_null(value=False)
    return top | complaint


def _tier(cuts: tuple[float | None, ...], tiers: int) -> pl.Expr:
    value, bought = pl.col("value_index"), pl.col("first_purchase").is_not_null()
    expr: Any = pl.when(~bought).then(pl.lit(None, dtype=pl.Int64))
    for number, cut in enumerate(cuts, start=1):
        if cut is not None:
            expr = expr.when(value >= cut).then(pl.lit(number, dtype=pl.Int64))
    return expr.otherwise(pl.lit(tiers, dtype=pl.Int64))


def _abc(cuts: tuple[float | None, ...]) -> pl.Expr:
    spend = pl.col("spend_365_cents").cast(pl.Float64)
    expr: Any = pl.when(~(spend > 0)).then(pl.lit("E"))
    for (name, _), cut in zip(ABC_CUTOFFS, cuts, strict=True):
        if cut is not None:
            expr = expr.when(spend >= cut).then(pl.lit(name))
    return expr.otherwise(pl.lit("D"))


def _last_pass(frame: pl.DataFrame, argument: tuple[_Params, _Cuts]) -> pl.DataFrame:
    """Early warning, customer type, retention action, signals, octant, A-E class, tier."""
    params, cuts = argument
    profile, as_of = params.profile, params.as_of
    frame = conform(frame, _SECOND, "scored")
    frame = frame.with_columns(early_warning=_early_warning(profile, cuts.warning))
    frame = frame.with_columns(
        customer_type=customer_type_expr(profile, records_engagement=cuts.records_engagement),
        retention_action=retention_action_expr(),
    )
    bought = pl.col("first_purchase").is_not_null()
    buyers = frame.select(*SCORING_COLUMNS, *_PREDICTED, "early_warning").filter(bought)
    if buyers.height:
        _, inputs = _buyer_inputs(buyers.select(SCORING_COLUMNS), params)
        signals = top_signals(
            buyers,
            params.model.contributions(inputs),
            _triggered(buyers, profile),
            profile,
            pl.lit(as_of),
            survey_mean=params.survey_mean,
        )
        texts = buyers.select("customer_pk", signals.alias("top_signals"))
        frame = frame.join(texts, on="customer_pk", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("top_signals"))
    frame = frame.with_columns(
        pl.col("top_signals").fill_null("[]"),
        rfm_octant=rfm_octant_expr(cuts.references),
        abc_class=_abc(cuts.abc),
        tier=_tier(cuts.tiers, profile.tiers),
    )
    snapshot = snapshot_rows(frame, as_of)
    return conform(snapshot, SNAPSHOT, "scores")


# --- the quantities that span all customers -----------------------------------------------


def _nth_largest(frame: DataFrame, column: str, positions: list[int]) -> dict[int, float]:
    """The values at 0-based ``positions`` of ``column`` sorted descending (nulls and NaN
    left out), numbered by a window over the one sorted column in the JVM: no row goes
    through Python."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    wanted = sorted({p for p in positions if p >= 0})
    if not wanted:
        return {}
    value = F.col(column)
    values = frame.select(column).filter(value.isNotNull() & ~F.isnan(value))
    position = F.row_number().over(Window.orderBy(value.desc())) - 1
    found = values.select(value, position.alias("_position")).filter(
        F.col("_position").isin(wanted)
    )
    return {int(row[1]): float(row[0]) for row in found.collect()}


def _rfm_references(buyers: DataFrame, profile: BusinessProfile) -> dict[str, float]:
    """segments.rfm_references as one Spark aggregate (median: exact, interpolated)."""
    from pyspark.sql import functions as F

    columns = {"recency": "days_since_last", "frequency": "n_purchases", "monetary": "spend_cents"}
    stat = F.median if profile.rfm_reference == "median" else F.mean
    row = buyers.select([stat(F.col(c)).cast("double").alias(k) for k, c in columns.items()])
    values = row.first()
    if values is None or values[0] is None:
        return dict.fromkeys(columns, 0.0)
    return {k: float(values[k]) for k in columns}


def _warning_cut(scored: DataFrame, profile: BusinessProfile) -> _Warning:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    candidate = (F.col("stage") != "prospect") & (F.col("status") != "lost")
    candidates = scored.filter(F.coalesce(candidate, F.lit(False)))
    n = candidates.count()
    if profile.early_warning_capacity is not None:
        limit = min(n, profile.early_warning_capacity)
    else:
        limit = ceil(n * profile.early_warning_share - 1e-9)
    risk = F.col("churn_probability")
    ranked = candidates.filter(risk.isNotNull() & ~F.isnan(risk))
    if limit <= 0:
        return _Warning(None, None)
    rank = F.row_number().over(Window.orderBy(risk.desc(), F.col("customer_pk").asc()))
    found = (
        ranked.select("churn_probability", "customer_pk", rank.alias("_rank"))
        .filter(F.col("_rank") == limit)
        .collect()
    )
    if not found:
        return _Warning(None, None, everyone=True)
    row = found[0]
    return _Warning(float(row[0]), int(row[1]))


def _tier_cuts(buyers: DataFrame, tiers: int, count: int) -> tuple[float | None, ...]:
    """Cut points of value_index.tier_expr: tier i+1 when fewer than J_i buyers rank strictly
    above (J_i the least rank with (rank - 1) / count >= bound_i), that is when the value is
    at least the J_i-th largest."""
    n = max(count, 1)
    needed: list[int] = []
    for bound in tier_bounds(tiers):
        j = max(ceil(bound * n) - 1, 0)
        while j / n < bound:  # the least j with j / n >= bound, as the expression computes it
            j += 1
        while j > 0 and (j - 1) / n >= bound:
            j -= 1
        needed.append(j)
    values = _nth_largest(buyers, "value_index", [j - 1 for j in needed if 0 < j <= count])
    cuts: list[float | None] = []
    for j in needed:
        if j == 0:
            cuts.append(None)
        elif j > count:
            cuts.append(float("-inf"))
        else:
            cuts.append(values.get(j - 1))
    return tuple(cuts)


def _abc_cuts(frame: DataFrame) -> tuple[float | None, ...]:
    """Cut points of segments.abc_classes from the distinct positive spends (sums of whole
    cents are exact in float64, so the shares equal those of the row-wise running total)."""
    from pyspark.sql import functions as F

    spend = F.col("spend_365_cents").cast("double")
    histogram = _to_polars(
        frame.filter(spend > 0).groupBy(spend.alias("spend")).agg(F.sum(spend).alias("total")),
        {"spend": pl.Float64(), "total": pl.Float64()},
    ).sort("spend", descending=True)
    values = histogram["spend"].to_numpy()
    totals = histogram["total"].to_numpy()
    total = float(totals.sum())
    before = np.concatenate([[0.0], np.cumsum(totals)[:-1]]) if values.size else totals
    shares = before / total if total > 0 else np.ones_like(before)
    cuts: list[float | None] = []
    for _, cutoff in ABC_CUTOFFS:
        # share_before falls as spend rises: the class holds from the least spend under it.
        inside = np.flatnonzero(shares < cutoff)
        cuts.append(float(values[inside.max()]) if inside.size else None)
    return tuple(cuts)


def _counts(scores: DataFrame) -> dict[str, dict[str, int]]:
    """pipeline._counts as Spark aggregates."""
    counts: dict[str, dict[str, int]] = {}
    for column in COUNTED:
        rows = scores.groupBy(column).count().collect()
        found: dict[str, int] = {}
        for key, n in sorted(
            ((r[0], r[1]) for r in rows if r[0] is not None), key=lambda kv: kv[0]
        ):
            if key == "":
                continue
            found[str(key).lower() if isinstance(key, bool) else str(key)] = int(n)
        counts[column] = found
    return counts


def _collect_inputs(
    features: DataFrame,
    btyd: BtydFit,
    profile: BusinessProfile,
    as_of: date,
    horizon: int,
    survey_mean: float,
) -> np.ndarray[Any, Any]:
    """Every buyer's indicator inputs on the driver: only when there is too little history
    to learn weights (the default model standardises on them), which means a small base."""
    from pyspark.sql import functions as F

    placeholder = default_model(np.zeros((1, len(CODES))))
    params = _Params(profile, as_of, horizon, btyd, placeholder, survey_mean)
    schema = {"customer_pk": pl.Int64(), **{c: pl.Float64() for c in CODES}}

    def step(frame: pl.DataFrame, p: _Params) -> pl.DataFrame:
        buyers = conform(frame, FEATURES, "features").select(SCORING_COLUMNS)
        if not buyers.height:
            return pl.DataFrame(schema=schema)
        _, inputs = _buyer_inputs(buyers, p)
        columns = {c: inputs[:, i] for i, c in enumerate(CODES)}
        return pl.DataFrame({"customer_pk": buyers["customer_pk"], **columns}, schema=schema)

    buyers = features.filter(F.col("first_purchase").isNotNull())
    rows = _to_polars(buyers.mapInArrow(_batches(step, params), _ddl(schema)), schema)
    return rows.sort("customer_pk").select(CODES).to_numpy().astype(np.float64)
