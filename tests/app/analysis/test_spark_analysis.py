"""`winback analyze --engine spark` on the configured database (issue 16, decision 0043).

The database is staged as a data lake under the data folder, Spark scores it, the snapshot comes
back through Parquet into the same table, and ``winback export scores`` reads it as it reads the
embedded engine's.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics.spark_engine import parse_conf
from winback.app.analysis.spark import SparkOptions

END = date(2024, 12, 31)
AS_OF = date(2024, 10, 31)
SAME = ("customer_pk", "stage", "customer_type", "status", "tier", "rfm_octant", "abc_class")
SAME += ("early_warning", "churn_score", "value_index", "top_signals")
LOCAL = SparkOptions(
    "local[2]",
    {"spark.sql.shuffle.partitions": "4", "spark.sql.execution.arrow.maxRecordsPerBatch": "200"},
)


def test_spark_conf_pairs() -> None:
    assert parse_conf(["spark.executor.memory=8g", " a.b = c=d "]) == {
        "spark.executor.memory": "8g",
        "a.b": "c=d",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_conf(["spark.executor.memory"])


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_stop_spark")
def test_spark_engine_stores_what_the_embedded_engine_stores(tmp_path: Path) -> None:
    from winback.app.analysis.service import adbc_database, analyze, export_scores
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.environment import data_dir
    from winback.simulate.generator import generate_dataset
    from winback.store.analysis.models import AnalysisRun
    from winback.store.snapshots import read_snapshots

    set_profile("retail")
    manifest = generate_dataset("retail", 300, 18, 4, tmp_path, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], tmp_path / entry["path"])

    def stored() -> pl.DataFrame:
        with adbc_database() as db:
            return read_snapshots(db, AS_OF)

    embedded = analyze(AS_OF)
    want = stored()
    on_spark = analyze(AS_OF, engine="spark", spark=LOCAL)
    got = stored()

    assert (data_dir() / "spark" / "lake" / "_winback.json").is_file()
    assert list((data_dir() / "spark" / "snapshots" / AS_OF.isoformat()).glob("*.parquet"))
    assert on_spark.customers == embedded.customers > 200
    assert AnalysisRun.objects.get(as_of=AS_OF).params["model"]["engine"] == "spark"
    assert on_spark.counts == embedded.counts
    columns = [c for c in SAME if c in want.columns]
    assert len(columns) >= 8
    assert_frame_equal(got.select(columns), want.select(columns))
    exported = export_scores(AS_OF, "csv", tmp_path / "scores.csv")
    assert exported.rows == on_spark.customers


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--engine", "pandas"], "choose duckdb or spark"),
        (["--lake", "/nonexistent/lake"], "not a folder"),
        (["--engine", "spark", "--spark-conf", "spark.executor.memory"], "key=value"),
    ],
)
def test_analyze_refuses_bad_engine_options(args: list[str], complaint: str) -> None:
    from django.utils import translation
    from typer.testing import CliRunner

    from winback.cli import app

    with translation.override("en"):  # the complaint in the language active, here English
        result = CliRunner().invoke(app, ["analyze", "--as-of", AS_OF.isoformat(), *args])
    assert result.exit_code == 2
    assert complaint in " ".join(result.output.split())


@pytest.mark.slow  # a generated business imported and analysed twice
@pytest.mark.django_db(transaction=True)
def test_analysis_from_a_lake_equals_the_analysis_from_the_database(tmp_path: Path) -> None:
    from winback.analytics.lake import write_lake
    from winback.app.analysis.service import adbc_database, analyze, extract
    from winback.app.imports.service import import_file
    from winback.app.settings.profile import set_profile
    from winback.simulate.generator import generate_dataset
    from winback.store.snapshots import read_snapshots

    profile = set_profile("retail")
    manifest = generate_dataset("retail", 200, 18, 5, tmp_path, end_date=END)
    for entry in manifest["files"]:
        import_file(entry["kind"], tmp_path / entry["path"])
    # The whole history in the lake; the analysis cuts it to the date.
    write_lake(tmp_path / "lake", extract(END, profile.time_zone), as_of=END, source="database")

    def stored() -> pl.DataFrame:
        with adbc_database() as db:
            return read_snapshots(db, AS_OF)

    from_database = analyze(AS_OF)
    want = stored()
    from_lake = analyze(AS_OF, lake=tmp_path / "lake")
    assert from_lake.counts == from_database.counts
    # Cut to the date, the lake holds what the database extract holds on that date.
    assert from_lake.params["rows"] == from_database.params["rows"]
    assert from_lake.params["rows"]["orders"] > 0
    assert_frame_equal(stored(), want)
