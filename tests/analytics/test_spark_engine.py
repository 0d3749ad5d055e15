"""The Spark engine gives what the embedded engine gives (issue 16, decision 0043).

One generated history is written as a data lake, analysed by the pipeline on DuckDB/Polars
(``read_lake``) and by the Spark engine on ``local[2]`` (``spark.read.parquet`` on the same
paths). Small Arrow batches and several lake parts make every scoring pass see many batches,
so a rule that only holds within one batch would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import lake, spark_engine
from winback.analytics.features import customer_features
from winback.analytics.pipeline import AnalysisResult, analyze
from winback.analytics.sampling import hash_sample
from winback.config import BusinessProfile, preset

from .synth import synth_history

pytestmark = [pytest.mark.slow, pytest.mark.spark]

AS_OF = date(2025, 6, 30)
EXACT = ("stage", "customer_type", "status", "tier", "rfm_octant", "abc_class", "early_warning")
EXACT += ("retention_action", "days_since_last", "top_signals", "as_of")
CLOSE = ("churn_score", "churn_probability", "p_alive", "expected_purchases_365", "clv_365")
CLOSE += ("value_index", "expected_interval_days")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session = spark_engine.session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.execution.arrow.maxRecordsPerBatch": "300",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    frames = synth_history(1200, seed=3).frames
    lake.write_lake(root, frames, as_of=date(2025, 12, 31), source="generator", part_rows=4000)
    return root


@pytest.fixture(scope="module")
def retail() -> BusinessProfile:
    return preset("retail")


@pytest.fixture(scope="module")
def embedded(lake_dir: Path, retail: BusinessProfile) -> AnalysisResult:
    return analyze(lake.read_lake(lake_dir, AS_OF), retail, AS_OF)


@pytest.fixture(scope="module")
def spark_result(
    spark: object, lake_dir: Path, retail: BusinessProfile
) -> spark_engine.SparkAnalysis:
    tables = spark_engine.cut_tables(spark_engine.read_tables(spark, lake_dir), AS_OF)
    return spark_engine.analyze(tables, retail, AS_OF)


@pytest.fixture(scope="module")
def on_spark(spark_result: spark_engine.SparkAnalysis) -> pl.DataFrame:
    scores = pl.from_arrow(spark_result.scores.toArrow())
    assert isinstance(scores, pl.DataFrame)
    return scores.sort("customer_pk")


def test_features_on_spark_equal_the_embedded_engine(
    spark: object, lake_dir: Path, retail: BusinessProfile
) -> None:
    tables = spark_engine.cut_tables(spark_engine.read_tables(spark, lake_dir), AS_OF)
    native = spark_engine.spark_features(tables, retail, AS_OF)
    got = pl.from_arrow(native.toArrow())
    assert isinstance(got, pl.DataFrame)
    want = customer_features(lake.read_lake(lake_dir, AS_OF), retail, AS_OF, backend="duckdb")
    assert want.height > 1000
    assert_frame_equal(got.select(want.columns).sort("customer_pk"), want, check_exact=True)


def test_same_customers_classes_and_scores(
    embedded: AnalysisResult, on_spark: pl.DataFrame
) -> None:
    want = embedded.scores
    assert on_spark["customer_pk"].to_list() == want["customer_pk"].to_list()
    # The history has every class worth comparing (else the test could not fail on them).
    assert want["status"].n_unique() == 3
    assert want["tier"].drop_nulls().n_unique() >= 3
    assert want["early_warning"].sum() > 0
    assert_frame_equal(on_spark.select(EXACT), want.select(EXACT), check_exact=True)
    assert_frame_equal(
        on_spark.select(CLOSE), want.select(CLOSE), check_exact=False, rel_tol=0.0, abs_tol=1e-9
    )


def test_counts_and_model_match(
    spark_result: spark_engine.SparkAnalysis, embedded: AnalysisResult
) -> None:
    result = spark_result
    assert result.counts == embedded.counts
    assert result.weights == embedded.weights
    assert result.model["status_rule"] == embedded.model["status_rule"]
    assert result.model["value_model"] == embedded.model["value_model"]
    assert result.value_table == embedded.value_table


def test_sample_keys_keep_the_customers_hash_sample_keeps(spark: object) -> None:
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    rng = np.random.default_rng(5)
    extremes = [0, 1, -1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, -(2**63)]
    drawn = rng.integers(-(2**63), 2**63 - 1, size=3000, dtype=np.int64)
    keys = np.unique(np.concatenate([drawn, np.arange(2000), extremes]).astype(np.int64))
    frame = spark.createDataFrame(pa.table({"customer_pk": pa.array(keys)}).to_pandas())
    # The hash itself, against NumPy's wrapping uint64 product (sign bit flipped).
    hashed = pl.from_arrow(
        frame.select("customer_pk", spark_engine.hash_order().alias("h")).toArrow()
    )
    assert isinstance(hashed, pl.DataFrame)
    hashed = hashed.sort("customer_pk")
    product = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    want = (product ^ np.uint64(1 << 63)).view(np.int64)
    assert np.array_equal(hashed["h"].to_numpy(), want[np.argsort(keys)])
    for size in (7, 1500, keys.size + 1):
        chosen = pl.from_arrow(spark_engine.sample_keys(frame, size).toArrow())
        assert isinstance(chosen, pl.DataFrame)
        assert sorted(chosen["customer_pk"].to_list()) == sorted(
            keys[hash_sample(keys, size)].tolist()
        )


def test_nth_largest_counts_ties_and_leaves_out_nulls_and_nan(spark: object) -> None:
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    rng = np.random.default_rng(8)
    values = rng.integers(0, 40, size=500).astype(np.float64)  # many ties
    index = np.arange(values.size)
    values[index % 23 == 0] = np.nan
    column = pa.array(values, mask=index % 17 == 0)
    frame = spark.createDataFrame(pa.table({"x": column}).to_pandas()).repartition(3)
    kept = np.sort(values[(index % 17 != 0) & ~np.isnan(values)])[::-1]
    positions = [0, 1, 57, 200, kept.size - 1, kept.size, -1]
    found = spark_engine._nth_largest(frame, "x", positions)
    assert found == {p: float(kept[p]) for p in positions if 0 <= p < kept.size}


def test_the_callers_shuffle_partitions_win_over_the_local_default(spark: object) -> None:
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    assert spark_engine.local_defaults("local[2]")["spark.sql.shuffle.partitions"] != "4"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"  # the fixture's
