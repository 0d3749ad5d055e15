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

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import lake, spark_engine
from winback.analytics.features import customer_features
from winback.analytics.pipeline import AnalysisResult, analyze
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
